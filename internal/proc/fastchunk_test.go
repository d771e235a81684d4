package proc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
	"unsafe"

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
	// Again through a decoder whose cache holds the task ID (the first
	// decode put it there): the same message.
	var d chunkDecoder
	for range 2 {
		cached := new(exov1.RunnerEnvelope)
		if !d.decode(body, cached) {
			t.Fatalf("a chunkDecoder declined %x, decodeTokenChunk took it", body)
		}
		if !proto.Equal(cached, slow) {
			t.Fatalf("a chunkDecoder made %v of %x, proto.Unmarshal %v", cached, body, slow)
		}
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
// fast path (the messages below the envelope, the text), against six for
// proto.Unmarshal into the same envelope; the task ID is copied only by
// the task's first chunk, and a chunk with no text and no finish reason
// costs one.
func TestFastDecodeAllocs(t *testing.T) {
	const id = "01JD2J7Q4X5M8N9P0R1S2T3V4W"
	body := mustMarshal(t, tokenEnv(id, 7, "tok7 ", 7, ""))
	env := new(exov1.RunnerEnvelope)
	var d chunkDecoder
	for name, c := range map[string]struct {
		body []byte
		want float64
	}{
		"token":         {body, 2},
		"last":          {mustMarshal(t, tokenEnv(id, 8, "end", 1, "stop")), 2},
		"empty":         {mustMarshal(t, tokenEnv(id, 9, "", 1, "")), 1},
		"finish alone":  {mustMarshal(t, tokenEnv(id, 9, "", 1, "stop")), 2},
		"no task cache": {body, 3},
	} {
		decode := d.decode
		if name == "no task cache" {
			decode = decodeTokenChunk
		}
		if n := testing.AllocsPerRun(200, func() {
			if !decode(c.body, env) {
				t.Fatal("declined")
			}
		}); n > c.want {
			t.Errorf("%s: %v allocations per token chunk frame, want at most %v", name, n, c.want)
		}
	}
}

// TestChunkDecoderTaskIDs: the task ID cache gives every chunk its own
// task's ID, whatever the order of tasks (more of them than the cache
// holds, interleaved), and chunks of a task in the cache share one string.
func TestChunkDecoderTaskIDs(t *testing.T) {
	var d chunkDecoder
	ids := []string{"task-a", "task-b", "task-c", "task-d", "task-e", "task-f", "task-a2", "task-"}
	seen := map[string]*byte{}
	shared := 0
	for i := range 200 {
		id := ids[(i*7+i/9)%len(ids)]
		env := new(exov1.RunnerEnvelope)
		if !d.decode(mustMarshal(t, tokenEnv(id, uint64(i), "x", 1, "")), env) {
			t.Fatal("declined")
		}
		got := env.GetChunkGenerated().GetTaskId()
		if got != id {
			t.Fatalf("chunk %d: task ID %q, want %q", i, got, id)
		}
		if seen[id] == unsafe.StringData(got) {
			shared++
		}
		seen[id] = unsafe.StringData(got)
	}
	// The same task twice in a row always hits the cache.
	env1, env2 := new(exov1.RunnerEnvelope), new(exov1.RunnerEnvelope)
	d.decode(mustMarshal(t, tokenEnv("again", 1, "x", 1, "")), env1)
	d.decode(mustMarshal(t, tokenEnv("again", 2, "y", 1, "")), env2)
	if unsafe.StringData(env1.GetChunkGenerated().GetTaskId()) != unsafe.StringData(env2.GetChunkGenerated().GetTaskId()) {
		t.Error("two chunks of one task in a row do not share the task ID")
	}
	if shared == 0 {
		t.Error("no chunk shared its task's ID string")
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
// as the reader decodes; its chunkDecoder keeps the task ID, as the
// reader's does for a task's chunks after its first).
func BenchmarkTokenChunkDecode(b *testing.B) {
	body := mustMarshal(b, tokenEnv("01JD2J7Q4X5M8N9P0R1S2T3V4W", 7, "tok7 ", 7, ""))
	b.Run("fast", func(b *testing.B) {
		var d chunkDecoder
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if !d.decode(body, new(exov1.RunnerEnvelope)) {
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
