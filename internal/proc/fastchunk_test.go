package proc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func tokenEnv(task string, index uint64, text string, id uint32, finish string) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
		TaskId: task, Index: index,
		Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: text, TokenId: id, FinishReason: finish}},
	}}}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// field appends one length-delimited field.
func field(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func varintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// checkFastAgrees decodes body with decodeTokenChunk and proto.Unmarshal:
// when the fast path takes a body, Unmarshal must accept it too, into an
// equal message, with no unknown field anywhere (the Reader's checks), and
// the result must not alias body.
func checkFastAgrees(t *testing.T, body []byte) bool {
	t.Helper()
	fast := new(exov1.RunnerEnvelope)
	if !decodeTokenChunk(body, fast) {
		if !proto.Equal(fast, new(exov1.RunnerEnvelope)) {
			t.Fatalf("declined %x but changed the message: %v", body, fast)
		}
		return false
	}
	slow := new(exov1.RunnerEnvelope)
	if err := proto.Unmarshal(body, slow); err != nil {
		t.Fatalf("fast path took %x, proto.Unmarshal refuses it: %v", body, err)
	}
	if !proto.Equal(fast, slow) {
		t.Fatalf("fast path made %v of %x, proto.Unmarshal %v", fast, body, slow)
	}
	if len(slow.ProtoReflect().GetUnknown()) > 0 || len(slow.GetChunkGenerated().ProtoReflect().GetUnknown()) > 0 ||
		len(slow.GetChunkGenerated().GetToken().ProtoReflect().GetUnknown()) > 0 {
		t.Fatalf("fast path took %x, which has unknown fields", body)
	}
	cp := proto.Clone(fast)
	for i := range body {
		body[i] ^= 0xff
	}
	if !proto.Equal(fast, cp) {
		t.Fatalf("the decoded message aliases the frame's bytes")
	}
	for i := range body {
		body[i] ^= 0xff
	}
	return true
}

// TestFastDecodeAgrees: the stdout reader's fast path for token chunk
// frames takes the plain shapes and makes of them exactly what
// proto.Unmarshal makes; every other shape is left to proto.Unmarshal.
func TestFastDecodeAgrees(t *testing.T) {
	taken := map[string]*exov1.RunnerEnvelope{
		"token":         tokenEnv("01JD2J7Q4X5M8N9P0R1S2T3V4W", 7, "tok7 ", 7, ""),
		"last":          tokenEnv("t", 99, "end", 1, "stop"),
		"zero values":   tokenEnv("", 0, "", 0, ""),
		"largest id":    tokenEnv("task", math.MaxUint64, "x", math.MaxUint32, "length"),
		"unicode":       tokenEnv("tâche", 1, "héllo 世界", 3, "stop"),
		"empty token":   {Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: "a", Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{}}}}},
		"only the text": {Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "t"}}}}},
	}
	for name, env := range taken {
		if !checkFastAgrees(t, mustMarshal(t, env)) {
			t.Errorf("%s: the fast path declined a plain token chunk frame", name)
		}
	}

	tok := mustMarshal(t, &exov1.TokenChunk{Text: "hi", TokenId: 5})
	cgOf := func(b []byte) []byte { return field(nil, 5, b) }
	cg := func(extra ...[]byte) []byte {
		b := field(nil, 1, []byte("task"))
		b = varintField(b, 2, 3)
		b = field(b, 3, tok)
		for _, e := range extra {
			b = append(b, e...)
		}
		return b
	}
	declined := map[string][]byte{
		"empty":                      nil,
		"error chunk":                mustMarshal(t, &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: "a", Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: "boom"}}}}}),
		"no chunk":                   mustMarshal(t, &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: "a", Index: 1}}}),
		"heartbeat":                  mustMarshal(t, &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{}}}),
		"status":                     mustMarshal(t, &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: "a"}}}),
		"two bodies":                 append(cgOf(cg()), cgOf(cg())...),
		"envelope unknown":           append(cgOf(cg()), varintField(nil, 99, 1)...),
		"chunk unknown":              cgOf(cg(varintField(nil, 9, 1))),
		"token unknown":              cgOf(append(field(nil, 1, []byte("task")), field(nil, 3, append(append([]byte(nil), tok...), varintField(nil, 4, 1)...))...)),
		"task twice":                 cgOf(cg(field(nil, 1, []byte("again")))),
		"token twice":                cgOf(cg(field(nil, 3, tok))),
		"text twice":                 cgOf(field(field(nil, 1, []byte("t")), 3, append(field(nil, 1, []byte("a")), field(nil, 1, []byte("b"))...))),
		"index as bytes":             cgOf(append(field(nil, 1, []byte("task")), field(field(nil, 2, []byte{1}), 3, tok)...)),
		"task as varint":             cgOf(append(varintField(nil, 1, 1), field(nil, 3, tok)...)),
		"token id too big":           cgOf(field(nil, 3, varintField(nil, 2, math.MaxUint32+1))),
		"bad utf-8 text":             cgOf(field(nil, 3, field(nil, 1, []byte{0xff, 0xfe}))),
		"bad utf-8 task":             cgOf(append(field(nil, 1, []byte{0xc3}), field(nil, 3, tok)...)),
		"truncated":                  cgOf(cg())[:10],
		"chunk length too long":      append(protowire.AppendTag(nil, 5, protowire.BytesType), 0x7f, 1, 2),
		"envelope field 5 as varint": varintField(nil, 5, 1),
	}
	for name, body := range declined {
		if checkFastAgrees(t, body) {
			t.Errorf("%s: the fast path took %x", name, body)
		}
	}
}

// TestFastDecodeAllocs: a token chunk frame costs two allocations on the
// fast path (the messages below the envelope, the strings), against six
// for proto.Unmarshal into the same envelope.
func TestFastDecodeAllocs(t *testing.T) {
	body := mustMarshal(t, tokenEnv("01JD2J7Q4X5M8N9P0R1S2T3V4W", 7, "tok7 ", 7, ""))
	env := new(exov1.RunnerEnvelope)
	if n := testing.AllocsPerRun(200, func() {
		if !decodeTokenChunk(body, env) {
			t.Fatal("declined")
		}
	}); n > 2 {
		t.Errorf("%v allocations per token chunk frame, want at most 2", n)
	}
}

// TestFastDecodeThroughReader: a stream of mixed frames reads the same
// through a frame.Reader with the fast path as without: messages, errors,
// frame numbers and offsets.
func TestFastDecodeThroughReader(t *testing.T) {
	var in bytes.Buffer
	w := frame.NewWriter(&in)
	for i := 0; i < 300; i++ {
		var m proto.Message = tokenEnv("task-1", uint64(i), "tok ", uint32(i), "")
		switch i % 7 {
		case 3:
			m = &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{}}}
		case 5:
			m = &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: "e", Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: "x"}}}}}
		}
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
		if i == 100 { // a frame with an unknown field: an error, the stream goes on
			bad := append(field(nil, 5, field(field(nil, 1, []byte("t")), 3, tok0(t))), varintField(nil, 42, 1)...)
			in.Write(protowire.AppendVarint(nil, uint64(len(bad))))
			in.Write(bad)
		}
	}
	data := in.Bytes()
	type result struct {
		msg    *exov1.RunnerEnvelope
		err    string
		offset int64
	}
	readAll := func(opts ...frame.Option) []result {
		r := frame.NewReader(bufio.NewReaderSize(bytes.NewReader(data), 512), opts...)
		var out []result
		for {
			m := new(exov1.RunnerEnvelope)
			err := r.Read(m)
			if errors.Is(err, io.EOF) {
				return out
			}
			res := result{msg: m, offset: r.Offset()}
			if err != nil {
				res.msg, res.err = nil, err.Error()
				var fe *frame.Error
				if errors.As(err, &fe) && fe.Fatal() {
					t.Fatalf("fatal: %v", err)
				}
			}
			out = append(out, res)
		}
	}
	plain, fast := readAll(), readAll(frame.WithFastDecode(decodeTokenChunk))
	if len(plain) != len(fast) || len(plain) != 301 {
		t.Fatalf("%d frames without the fast path, %d with it, want 301", len(plain), len(fast))
	}
	for i := range plain {
		p, f := plain[i], fast[i]
		if p.err != f.err || p.offset != f.offset || !proto.Equal(p.msg, f.msg) {
			t.Fatalf("frame %d: %+v without the fast path, %+v with it", i+1, p, f)
		}
	}
}

func tok0(t *testing.T) []byte { return mustMarshal(t, &exov1.TokenChunk{Text: "x"}) }

// FuzzFastDecode: on any body, the fast path either declines (leaving the
// message alone) or makes exactly what proto.Unmarshal makes, with no
// unknown field.
func FuzzFastDecode(f *testing.F) {
	f.Add(mustMarshal(f, tokenEnv("01JD2J7Q4X5M8N9P0R1S2T3V4W", 7, "tok7 ", 7, "")))
	f.Add(mustMarshal(f, tokenEnv("t", 1, "", 0, "stop")))
	f.Add(mustMarshal(f, &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{}}}))
	f.Add([]byte{0x2a, 0x02, 0x1a, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) { checkFastAgrees(t, body) })
}

// BenchmarkTokenChunkDecode compares the stdout reader's fast path with
// proto.Unmarshal on the same token chunk body (a fresh envelope each op,
// as the reader decodes).
func BenchmarkTokenChunkDecode(b *testing.B) {
	body := mustMarshal(b, tokenEnv("01JD2J7Q4X5M8N9P0R1S2T3V4W", 7, "tok7 ", 7, ""))
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if !decodeTokenChunk(body, new(exov1.RunnerEnvelope)) {
				b.Fatal("declined")
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := proto.Unmarshal(body, new(exov1.RunnerEnvelope)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
