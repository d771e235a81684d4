package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/gofeaturespb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// allKinds are the sentinels an *Error can wrap.
var allKinds = []error{
	frame.ErrTruncated, frame.ErrOversized, frame.ErrBadLength, frame.ErrUndecodable,
	frame.ErrNoBody, frame.ErrUnknownFields, frame.ErrTooLarge, frame.ErrTextOnStdout, frame.ErrStalled,
}

func helloEnvelope() *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{
		MinVersion: 1, MaxVersion: 2, RunnerId: "runner-1", Pid: 4242,
		Capabilities: []string{"tokens", "errors"},
	}}}
}

func heartbeatEnvelope(seq uint64) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq}}}
}

func mustMarshal(tb testing.TB, m proto.Message) []byte {
	tb.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// rawFrame prefixes body with its varint length.
func rawFrame(body []byte) []byte {
	return append(protowire.AppendVarint(nil, uint64(len(body))), body...)
}

// field appends a length-delimited field num holding b.
func field(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// unknownVarint appends varint field num (unknown to the message) = 1.
func unknownVarint(b []byte, num protowire.Number) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, 1)
}

// chunkBodyWithTokenExtra is a RunnerEnvelope{ChunkGenerated{TokenChunk}} body
// whose TokenChunk carries tokenExtra after its text field.
func chunkBodyWithTokenExtra(tokenExtra []byte) []byte {
	token := field(nil, 1, []byte("hi")) // TokenChunk.text
	token = append(token, tokenExtra...)
	chunk := field(nil, 1, []byte("task-1")) // ChunkGenerated.task_id
	chunk = field(chunk, 3, token)           // ChunkGenerated.token
	return field(nil, 5, chunk)              // RunnerEnvelope.chunk_generated
}

// varint returns v as a varint.
func varint(v uint64) []byte { return protowire.AppendVarint(nil, v) }

func repeatByte(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// checkError asserts err is an *Error of the given kind at frame num and
// offset, wrapping exactly that one sentinel, and returns it.
func checkError(t *testing.T, err error, kind error, num uint64, offset int64) *frame.Error {
	t.Helper()
	var fe *frame.Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want a *frame.Error", err, err)
	}
	if fe.Kind != kind {
		t.Errorf("Kind = %v, want %v", fe.Kind, kind)
	}
	for _, k := range allKinds {
		if got, want := errors.Is(err, k), k == kind; got != want {
			t.Errorf("errors.Is(err, %q) = %v, want %v", k, got, want)
		}
	}
	if errors.Is(err, io.EOF) {
		t.Errorf("errors.Is(err, io.EOF): a frame error must not look like a clean end")
	}
	if fe.Frame != num || fe.Offset != offset {
		t.Errorf("frame %d at byte %d, want frame %d at byte %d", fe.Frame, fe.Offset, num, offset)
	}
	if want := fmt.Sprintf("frame %d at byte %d: %v", num, offset, kind); !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", err.Error(), want)
	}
	return fe
}

// TestReadBadFrames puts each bad frame after a good one (so frame numbers and
// offsets are not trivially 1 and 0) and, when the error is not fatal, before
// another good one that must decode.
func TestReadBadFrames(t *testing.T) {
	tokenChunk := string(proto.MessageName(&exov1.TokenChunk{}))
	chunkGenerated := string(proto.MessageName(&exov1.ChunkGenerated{}))
	envelope := string(proto.MessageName(&exov1.RunnerEnvelope{}))
	hello := string(proto.MessageName(&exov1.Hello{}))
	duration := string(proto.MessageName(&durationpb.Duration{}))

	heartbeatBody := mustMarshal(t, heartbeatEnvelope(7))
	big := mustMarshal(t, helloEnvelope()) // 33 bytes

	cases := []struct {
		name string
		bad  []byte
		opts []frame.Option
		// supervisor: decode SupervisorEnvelope frames instead of RunnerEnvelope.
		supervisor bool
		kind       error
		length     uint64 // the declared length the error reports
		fatal      bool
		cause      string // in the error text
	}{
		{name: "truncated in length prefix", bad: []byte{0x80},
			kind: frame.ErrTruncated, fatal: true, cause: "inside the length prefix"},
		{name: "truncated in long length prefix", bad: []byte{0xff, 0xff, 0xff},
			kind: frame.ErrTruncated, fatal: true, cause: "inside the length prefix"},
		{name: "truncated in body", bad: append(varint(10), heartbeatBody[:3]...),
			kind: frame.ErrTruncated, length: 10, fatal: true, cause: "inside the body"},
		{name: "truncated before body", bad: varint(5),
			kind: frame.ErrTruncated, length: 5, fatal: true, cause: "inside the body"},
		{name: "truncated body larger than the read buffer",
			bad:  append(varint(frame.ReadBufferSize+100), repeatByte(0, 10)...),
			opts: []frame.Option{frame.WithMaxSize(1 << 20)},
			kind: frame.ErrTruncated, length: frame.ReadBufferSize + 100, fatal: true, cause: "inside the body"},
		{name: "oversized with WithMaxSize", bad: rawFrame(big),
			opts: []frame.Option{frame.WithMaxSize(len(big) - 1)},
			kind: frame.ErrOversized, length: uint64(len(big)), fatal: true,
			cause: fmt.Sprintf("limit is %d bytes", len(big)-1)},
		{name: "oversized over the default limit", bad: varint(frame.DefaultMaxSize + 1),
			kind: frame.ErrOversized, length: frame.DefaultMaxSize + 1, fatal: true},
		{name: "oversized maximal varint", bad: varint(math.MaxUint64),
			kind: frame.ErrOversized, length: math.MaxUint64, fatal: true},
		{name: "malformed varint of 11 bytes", bad: repeatByte(0xff, 11),
			kind: frame.ErrBadLength, fatal: true, cause: "longer than 10 bytes"},
		{name: "malformed varint of 10 continuation bytes", bad: repeatByte(0x80, 10),
			kind: frame.ErrBadLength, fatal: true},
		{name: "malformed varint overflowing 64 bits", bad: append(repeatByte(0xff, 9), 0x02),
			kind: frame.ErrBadLength, fatal: true},
		{name: "undecodable: field number 0", bad: rawFrame([]byte{0x00}),
			kind: frame.ErrUndecodable, length: 1},
		{name: "undecodable: nested length past the body",
			bad:  rawFrame(append(append(protowire.AppendTag(nil, 5, protowire.BytesType), 10), 0x0a, 0x01)),
			kind: frame.ErrUndecodable, length: 4},
		{name: "undecodable: invalid UTF-8 in a string",
			bad:  rawFrame(field(nil, 3, field(nil, 1, []byte{0xff, 0xfe}))),
			kind: frame.ErrUndecodable, length: 6},
		{name: "undecodable: end group with no start",
			bad:  rawFrame(protowire.AppendTag(nil, 7, protowire.EndGroupType)),
			kind: frame.ErrUndecodable, length: 1},
		{name: "undecodable: larger than the read buffer",
			bad: rawFrame(append(field(nil, 3, field(nil, 3, repeatByte('p', frame.ReadBufferSize))), 0x00)),
			// The reader reads it whole through protodelim's own buffer.
			opts: []frame.Option{frame.WithMaxSize(1 << 20)}, supervisor: true,
			kind: frame.ErrUndecodable, length: uint64(len(field(nil, 3, field(nil, 3, repeatByte('p', frame.ReadBufferSize))))) + 1},
		{name: "envelope with no body", bad: []byte{0x00},
			kind: frame.ErrNoBody, cause: envelope},
		{name: "unknown field at top level", bad: rawFrame(unknownVarint(heartbeatBody, 99)),
			kind: frame.ErrUnknownFields, length: uint64(len(heartbeatBody) + 3), cause: "in " + envelope},
		{name: "unknown field inside TokenChunk", bad: rawFrame(chunkBodyWithTokenExtra(unknownVarint(nil, 9))),
			kind: frame.ErrUnknownFields, length: uint64(len(chunkBodyWithTokenExtra(unknownVarint(nil, 9)))),
			cause: "in " + tokenChunk},
		{name: "unknown field inside Hello", bad: rawFrame(field(nil, 1, unknownVarint(nil, 1000))),
			kind: frame.ErrUnknownFields, length: 5, cause: "in " + hello},
		{name: "known field with the wrong wire type",
			// ChunkGenerated.index is a varint; sent length-delimited, protobuf
			// keeps it as an unknown field.
			bad:  rawFrame(field(nil, 5, field(nil, 2, []byte("x")))),
			kind: frame.ErrUnknownFields, length: 5, cause: "in " + chunkGenerated},
		{name: "unknown field inside a well-known type", supervisor: true,
			// SupervisorEnvelope.task.timeout (a Duration) with an unknown field.
			bad:  rawFrame(field(nil, 3, field(nil, 4, unknownVarint(nil, 7)))),
			kind: frame.ErrUnknownFields, length: 6, cause: "in " + duration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			newMsg := func() proto.Message { return new(exov1.RunnerEnvelope) }
			first, last := proto.Message(heartbeatEnvelope(1)), proto.Message(heartbeatEnvelope(2))
			if tc.supervisor {
				newMsg = func() proto.Message { return new(exov1.SupervisorEnvelope) }
				first = &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Ping{Ping: &exov1.Ping{Nonce: 1}}}
				last = &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Ping{Ping: &exov1.Ping{Nonce: 2}}}
			}
			lead := rawFrame(mustMarshal(t, first))
			stream := append(append([]byte(nil), lead...), tc.bad...)
			if !tc.fatal {
				stream = append(stream, rawFrame(mustMarshal(t, last))...)
			}
			r := frame.NewReader(bytes.NewReader(stream), tc.opts...)

			m := newMsg()
			if err := r.Read(m); err != nil || !proto.Equal(m, first) {
				t.Fatalf("first frame: %v, %v", m, err)
			}
			err := r.Read(newMsg())
			fe := checkError(t, err, tc.kind, 2, int64(len(lead)))
			if fe.Length != tc.length {
				t.Errorf("Length = %d, want %d", fe.Length, tc.length)
			}
			if fe.Fatal() != tc.fatal {
				t.Errorf("Fatal() = %v, want %v", fe.Fatal(), tc.fatal)
			}
			if !strings.Contains(err.Error(), tc.cause) {
				t.Errorf("Error() = %q, want it to mention %q", err.Error(), tc.cause)
			}
			if tc.fatal {
				if r.Offset() != int64(len(lead)) || r.Frames() != 1 {
					t.Errorf("after a fatal error: Offset %d, Frames %d; want %d, 1", r.Offset(), r.Frames(), len(lead))
				}
				return
			}
			// Not fatal: the reader is past the bad frame and in sync.
			if r.Offset() != int64(len(lead)+len(tc.bad)) || r.Frames() != 2 {
				t.Errorf("after the bad frame: Offset %d, Frames %d; want %d, 2", r.Offset(), r.Frames(), len(lead)+len(tc.bad))
			}
			m = newMsg()
			if err := r.Read(m); err != nil || !proto.Equal(m, last) {
				t.Fatalf("frame after the bad one: %v, %v", m, err)
			}
			if r.Offset() != int64(len(stream)) || r.Frames() != 3 {
				t.Errorf("at the end: Offset %d, Frames %d; want %d, 3", r.Offset(), r.Frames(), len(stream))
			}
			if err := r.Read(newMsg()); err != io.EOF {
				t.Errorf("at the end: err = %v, want io.EOF", err)
			}
		})
	}
}

// TestReadAllowOptions checks the options that relax the envelope rules.
func TestReadAllowOptions(t *testing.T) {
	withUnknown := unknownVarint(mustMarshal(t, heartbeatEnvelope(3)), 99)
	var stream []byte
	stream = append(stream, rawFrame(withUnknown)...)
	stream = append(stream, 0x00) // an empty envelope

	r := frame.NewReader(bytes.NewReader(stream), frame.AllowUnknownFields(), frame.AllowNoBody())
	m := new(exov1.RunnerEnvelope)
	if err := r.Read(m); err != nil {
		t.Fatalf("unknown field with AllowUnknownFields: %v", err)
	}
	if m.GetHeartbeat().GetSeq() != 3 || len(m.ProtoReflect().GetUnknown()) == 0 {
		t.Errorf("decoded %v, want seq 3 with the unknown field kept", m)
	}
	if err := r.Read(m); err != nil {
		t.Fatalf("empty envelope with AllowNoBody: %v", err)
	}
	if m.GetBody() != nil {
		t.Errorf("decoded %v, want an empty envelope", m)
	}
	if err := r.Read(m); err != io.EOF {
		t.Errorf("err = %v, want io.EOF", err)
	}
}

// TestReadCleanEOF: the stream ending between frames is io.EOF itself, not a
// wrapped error, at the start, after frames, and on every later call.
func TestReadCleanEOF(t *testing.T) {
	for _, stream := range [][]byte{
		nil,
		rawFrame(mustMarshal(t, helloEnvelope())),
	} {
		r := frame.NewReader(bytes.NewReader(stream))
		m := new(exov1.RunnerEnvelope)
		for len(stream) > 0 && r.Offset() < int64(len(stream)) {
			if err := r.Read(m); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			if err := r.Read(m); err != io.EOF {
				t.Fatalf("%d-byte stream: err = %#v, want io.EOF unwrapped", len(stream), err)
			}
		}
	}
}

// TestReadOffsets decodes a stream of frames of varied sizes, including
// 1-, 2- and 3-byte length prefixes, and checks each frame's position.
func TestReadOffsets(t *testing.T) {
	msgs := []*exov1.RunnerEnvelope{
		helloEnvelope(),
		heartbeatEnvelope(1),
		tokenChunkEnvelope(t),
		{Body: &exov1.RunnerEnvelope_TerminationError{TerminationError: &exov1.TerminationError{Message: strings.Repeat("e", 200)}}},
		{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: &exov1.RunnerStatus{
			Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED, Diagnostics: strings.Repeat("d", 20000)}}}},
		{Body: &exov1.RunnerEnvelope_TaskAcknowledged{TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: "t"}}},
		{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{}}}, // a 2-byte body
	}
	var stream []byte
	var starts []int64
	for _, m := range msgs {
		starts = append(starts, int64(len(stream)))
		stream = append(stream, rawFrame(mustMarshal(t, m))...)
	}
	r := frame.NewReader(bytes.NewReader(stream))
	for i, want := range msgs {
		if r.Offset() != starts[i] || r.Frames() != uint64(i) {
			t.Fatalf("before frame %d: Offset %d, Frames %d; want %d, %d", i+1, r.Offset(), r.Frames(), starts[i], i)
		}
		m := new(exov1.RunnerEnvelope)
		if err := r.Read(m); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		if !proto.Equal(m, want) {
			t.Fatalf("frame %d: got %v, want %v", i+1, m, want)
		}
	}
	if r.Offset() != int64(len(stream)) {
		t.Errorf("Offset at the end = %d, want %d", r.Offset(), len(stream))
	}
	if err := r.Read(new(exov1.RunnerEnvelope)); err != io.EOF {
		t.Errorf("err = %v, want io.EOF", err)
	}

	// A bad frame in the middle is reported at its own position.
	bad := append(append([]byte(nil), stream[:starts[3]]...), 0x00)
	bad = append(bad, stream[starts[3]:]...)
	r = frame.NewReader(bytes.NewReader(bad))
	for i := range 3 {
		if err := r.Read(new(exov1.RunnerEnvelope)); err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
	}
	checkError(t, r.Read(new(exov1.RunnerEnvelope)), frame.ErrNoBody, 4, starts[3])
	for i := 3; i < len(msgs); i++ {
		m := new(exov1.RunnerEnvelope)
		if err := r.Read(m); err != nil || !proto.Equal(m, msgs[i]) {
			t.Fatalf("frame %d after the bad one: %v", i+2, err)
		}
	}
}

// errReader returns its data, then err.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

// TestReadFailingStream: a read error is reported as a fatal ErrTruncated that
// wraps it, wherever in the frame it happens. (A failure inside the body used
// to come out as a non-fatal ErrUndecodable, as if the stream were in sync.)
func TestReadFailingStream(t *testing.T) {
	errBroken := errors.New("pipe broken")
	body := mustMarshal(t, helloEnvelope())
	bigBody := mustMarshal(t, &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TerminationError{
		TerminationError: &exov1.TerminationError{Message: strings.Repeat("e", frame.ReadBufferSize)}}})
	for _, tc := range []struct {
		name   string
		data   []byte
		length uint64
	}{
		{"between frames", nil, 0},
		{"in the length prefix", rawFrame(bigBody)[:1], 0},
		{"in the body", rawFrame(body)[:10], uint64(len(body))},
		{"in a body larger than the read buffer", rawFrame(bigBody)[:1000], uint64(len(bigBody))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := frame.NewReader(&errReader{data: tc.data, err: errBroken}, frame.WithMaxSize(1<<20))
			err := r.Read(new(exov1.RunnerEnvelope))
			fe := checkError(t, err, frame.ErrTruncated, 1, 0)
			if !errors.Is(err, errBroken) {
				t.Errorf("err = %v, want it to wrap the read error", err)
			}
			if !fe.Fatal() || fe.Length != tc.length {
				t.Errorf("Fatal() = %v, Length = %d; want true, %d", fe.Fatal(), fe.Length, tc.length)
			}
		})
	}
}

// TestReadPipeDoesNotBlock: a frame that arrived whole is returned even though
// the writer keeps the pipe open, whether it came in one write or in pieces
// (a 2-byte length prefix split from its body, the body split in two).
func TestReadPipeDoesNotBlock(t *testing.T) {
	small := rawFrame(mustMarshal(t, heartbeatEnvelope(5)))
	long := &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TerminationError{
		TerminationError: &exov1.TerminationError{Message: strings.Repeat("x", 300)}}}
	longFrame := rawFrame(mustMarshal(t, long))
	for _, tc := range []struct {
		name   string
		writes [][]byte
		want   proto.Message
	}{
		{"one small frame", [][]byte{small}, heartbeatEnvelope(5)},
		{"prefix then body in pieces", [][]byte{longFrame[:1], longFrame[1:2], longFrame[2:100], longFrame[100:]}, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			errc := make(chan error, 1)
			go func() {
				for _, w := range tc.writes {
					if _, err := pw.Write(w); err != nil {
						errc <- err
						return
					}
				}
				errc <- nil // the pipe stays open
			}()
			r := frame.NewReader(pr)
			got := make(chan error, 1)
			m := new(exov1.RunnerEnvelope)
			go func() { got <- r.Read(m) }()
			select {
			case err := <-got:
				if err != nil || !proto.Equal(m, tc.want) {
					t.Errorf("Read = %v, %v; want %v", m, err, tc.want)
				}
			case <-time.After(10 * time.Second):
				pw.CloseWithError(errors.New("test timed out"))
				<-got
				t.Fatal("Read blocked on an open pipe holding a whole frame")
			}
			if err := <-errc; err != nil {
				t.Errorf("write: %v", err)
			}
			pw.Close()
			if err := r.Read(m); err != io.EOF {
				t.Errorf("after close: err = %v, want io.EOF", err)
			}
		})
	}
}

// TestReadHostileLengthAllocation: a declared length with (almost) nothing
// behind it never makes the reader allocate more than the frame size limit.
//
// What is asserted, per Read, from runtime.MemStats.TotalAlloc over many
// Reads into a reused *bufio.Reader (so the buffer is not counted):
//   - a length over the limit allocates only the error (under 1 KiB);
//   - a length within the limit but larger than the read buffer makes
//     protodelim allocate a buffer of the declared length: at most the limit
//     plus 1 KiB, never more;
//   - a length within the limit that fits in the read buffer allocates only
//     the error (the reader finds the body missing before protodelim runs).
func TestReadHostileLengthAllocation(t *testing.T) {
	const slack = 1 << 10
	for _, tc := range []struct {
		name     string
		declared uint64
		max      int
		kind     error
		maxBytes uint64 // allowed allocation per Read
	}{
		{"4 MiB - 1 under the default limit", frame.DefaultMaxSize - 1, frame.DefaultMaxSize, frame.ErrTruncated, frame.DefaultMaxSize + slack},
		{"4 MiB - 1 over a 64 KiB limit", frame.DefaultMaxSize - 1, 64 << 10, frame.ErrOversized, slack},
		{"1 KiB - 1 under a 1 KiB limit", 1<<10 - 1, 1 << 10, frame.ErrTruncated, slack},
		{"2^63 over the default limit", 1 << 63, frame.DefaultMaxSize, frame.ErrOversized, slack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			input := append(varint(tc.declared), repeatByte(0x0a, 10)...)
			src := bytes.NewReader(input)
			br := bufio.NewReaderSize(src, frame.ReadBufferSize)
			read := func() {
				src.Reset(input)
				br.Reset(src)
				err := frame.NewReader(br, frame.WithMaxSize(tc.max)).Read(new(exov1.RunnerEnvelope))
				if !errors.Is(err, tc.kind) {
					t.Fatalf("err = %v, want %v", err, tc.kind)
				}
			}
			read() // warm up
			const runs = 20
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				read()
			}
			runtime.ReadMemStats(&after)
			per := (after.TotalAlloc - before.TotalAlloc) / runs
			t.Logf("%d bytes allocated per Read", per)
			if per > tc.maxBytes {
				t.Errorf("%d bytes allocated per Read, want at most %d", per, tc.maxBytes)
			}
		})
	}
}

// TestReadFramingAllocsNothing: decoding a frame allocates exactly what
// proto.Unmarshal of its body allocates; the framing layer adds nothing.
func TestReadFramingAllocsNothing(t *testing.T) {
	one := appendFrame(t, nil, tokenChunkEnvelope(t))
	var stream []byte
	for range 1024 {
		stream = append(stream, one...)
	}
	_, n := protowire.ConsumeVarint(one)
	body := one[n:]

	r := frame.NewReader(&cycleReader{buf: stream})
	m := new(exov1.RunnerEnvelope)
	framed := testing.AllocsPerRun(1000, func() {
		if err := r.Read(m); err != nil {
			t.Fatal(err)
		}
	})
	plain := testing.AllocsPerRun(1000, func() {
		if err := proto.Unmarshal(body, m); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocations per frame: %v through frame.Reader, %v for proto.Unmarshal alone", framed, plain)
	if framed > plain {
		t.Errorf("frame.Reader allocates %v per frame, proto.Unmarshal %v: the framing adds %v", framed, plain, framed-plain)
	}
}

// countingWriter records each Write call.
type countingWriter struct {
	writes [][]byte
	err    error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}

// TestWriteOneWritePerFrame: Write makes exactly one call on the underlying
// writer per frame, holding exactly that frame.
func TestWriteOneWritePerFrame(t *testing.T) {
	msgs := []proto.Message{helloEnvelope(), tokenChunkEnvelope(t), heartbeatEnvelope(9)}
	cw := &countingWriter{}
	w := frame.NewWriter(cw)
	for _, m := range msgs {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	if len(cw.writes) != len(msgs) {
		t.Fatalf("%d Write calls for %d frames", len(cw.writes), len(msgs))
	}
	for i, m := range msgs {
		if want := rawFrame(mustMarshal(t, m)); !bytes.Equal(cw.writes[i], want) {
			t.Errorf("write %d = %x, want %x", i, cw.writes[i], want)
		}
	}
	if w.Buffered() != 0 {
		t.Errorf("Buffered() = %d after Write, want 0", w.Buffered())
	}
}

// TestWriteBufferFlushBatches: Buffer holds frames back and Flush sends them
// in one call; an empty Flush writes nothing.
func TestWriteBufferFlushBatches(t *testing.T) {
	msgs := []proto.Message{helloEnvelope(), tokenChunkEnvelope(t), heartbeatEnvelope(9)}
	cw := &countingWriter{}
	w := frame.NewWriter(cw)
	var want []byte
	for _, m := range msgs {
		if err := w.Buffer(m); err != nil {
			t.Fatal(err)
		}
		want = append(want, rawFrame(mustMarshal(t, m))...)
	}
	if len(cw.writes) != 0 || w.Buffered() != len(want) {
		t.Fatalf("before Flush: %d writes, Buffered() = %d; want 0, %d", len(cw.writes), w.Buffered(), len(want))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(cw.writes) != 1 || !bytes.Equal(cw.writes[0], want) {
		t.Fatalf("Flush made %d writes, want one of the %d frames", len(cw.writes), len(msgs))
	}
	if err := w.Flush(); err != nil || len(cw.writes) != 1 {
		t.Errorf("empty Flush: err %v, %d writes; want nil, still 1", err, len(cw.writes))
	}
	// Write sends what was buffered before it, in the same single call.
	if err := w.Buffer(heartbeatEnvelope(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(heartbeatEnvelope(2)); err != nil {
		t.Fatal(err)
	}
	if len(cw.writes) != 2 {
		t.Fatalf("%d writes, want 2", len(cw.writes))
	}
	r := frame.NewReader(bytes.NewReader(cw.writes[1]))
	for _, seq := range []uint64{1, 2} {
		m := new(exov1.RunnerEnvelope)
		if err := r.Read(m); err != nil || m.GetHeartbeat().GetSeq() != seq {
			t.Fatalf("batched frame: %v, %v; want seq %d", m, err, seq)
		}
	}
}

// TestWriteTooLarge: a message over the limit is refused with ErrTooLarge and
// nothing is written or buffered; one exactly at the limit goes through, and
// a Reader with the same limit accepts it.
func TestWriteTooLarge(t *testing.T) {
	m := helloEnvelope()
	size := proto.Size(m)
	cw := &countingWriter{}
	w := frame.NewWriter(cw, frame.WithMaxSize(size-1))
	err := w.Write(m)
	if !errors.Is(err, frame.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if err := w.Buffer(m); !errors.Is(err, frame.ErrTooLarge) {
		t.Fatalf("Buffer: err = %v, want ErrTooLarge", err)
	}
	if len(cw.writes) != 0 || w.Buffered() != 0 {
		t.Fatalf("after ErrTooLarge: %d writes, %d buffered; want 0, 0", len(cw.writes), w.Buffered())
	}
	if err := w.Write(heartbeatEnvelope(1)); err != nil {
		t.Fatalf("small frame after ErrTooLarge: %v", err)
	}

	var buf bytes.Buffer
	if err := frame.NewWriter(&buf, frame.WithMaxSize(size)).Write(m); err != nil {
		t.Fatalf("frame at the limit: %v", err)
	}
	got := new(exov1.RunnerEnvelope)
	if err := frame.NewReader(&buf, frame.WithMaxSize(size)).Read(got); err != nil || !proto.Equal(got, m) {
		t.Fatalf("frame at the limit read back: %v, %v", got, err)
	}
}

// TestWriteError: a failing stream's error comes back from Write, and the
// failed batch is dropped rather than sent again with the next frame.
func TestWriteError(t *testing.T) {
	errBroken := errors.New("pipe broken")
	cw := &countingWriter{err: errBroken}
	w := frame.NewWriter(cw)
	if err := w.Write(heartbeatEnvelope(1)); !errors.Is(err, errBroken) {
		t.Fatalf("err = %v, want %v", err, errBroken)
	}
	if w.Buffered() != 0 {
		t.Errorf("Buffered() = %d after a failed Flush, want 0", w.Buffered())
	}
	cw.err = nil
	if err := w.Write(heartbeatEnvelope(2)); err != nil {
		t.Fatal(err)
	}
	if len(cw.writes) != 1 || !bytes.Equal(cw.writes[0], rawFrame(mustMarshal(t, heartbeatEnvelope(2)))) {
		t.Errorf("writes = %x, want only the second frame", cw.writes)
	}
}

// TestRoundTrip: Reader(Writer(m)) is m for every envelope body, in both
// directions, including a frame larger than the read buffer.
func TestRoundTrip(t *testing.T) {
	runner := []*exov1.RunnerEnvelope{
		helloEnvelope(),
		{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: &exov1.RunnerStatus{
			Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, LayersLoaded: 3, TotalLayers: 32}}}},
		{Body: &exov1.RunnerEnvelope_TaskAcknowledged{TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: "t-1"}}},
		{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{
			TaskId: "t-1", Status: exov1.TaskStatus_TASK_STATUS_FAILED, Reason: "oom"}}},
		tokenChunkEnvelope(t),
		{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
			TaskId: "t-1", Index: 2, Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: "bad"}}}}},
		{Body: &exov1.RunnerEnvelope_TerminationError{TerminationError: &exov1.TerminationError{
			Message: strings.Repeat("m", 3*frame.ReadBufferSize)}}},
		{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: 1, TokensProduced: 2, LayersLoaded: 3, TasksCompleted: 4, PingNonce: 5}}},
	}
	supervisor := []*exov1.SupervisorEnvelope{
		{Body: &exov1.SupervisorEnvelope_HelloAccepted{HelloAccepted: &exov1.HelloAccepted{
			Version: 1, RunnerId: "r", HeartbeatInterval: durationpb.New(2 * time.Second)}}},
		{Body: &exov1.SupervisorEnvelope_HelloRefused{HelloRefused: &exov1.HelloRefused{Reason: "old", SupervisorMinVersion: 2, SupervisorMaxVersion: 3}}},
		{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{Id: "t-1", Kind: "generate", Payload: []byte{0, 1, 2},
			Timeout: durationpb.New(time.Minute), Params: map[string]string{"temperature": "0.7", "top_p": "0.9"}}}},
		{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{Target: &exov1.Cancel_All{All: true}}}},
		{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{Target: &exov1.Cancel_TaskId{TaskId: "t-1"}}}},
		{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{Timeout: durationpb.New(time.Second)}}},
		{Body: &exov1.SupervisorEnvelope_Ping{Ping: &exov1.Ping{Nonce: math.MaxUint64}}},
	}
	var buf bytes.Buffer
	w := frame.NewWriter(&buf)
	for _, m := range runner {
		if err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	r := frame.NewReader(bytes.NewReader(buf.Bytes()))
	for i, want := range runner {
		got := new(exov1.RunnerEnvelope)
		if err := r.Read(got); err != nil || !proto.Equal(got, want) {
			t.Fatalf("runner frame %d: %v, %v", i+1, got, err)
		}
	}
	if err := r.Read(new(exov1.RunnerEnvelope)); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}

	buf.Reset()
	for _, m := range supervisor {
		if err := w.Buffer(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r = frame.NewReader(&buf)
	for i, want := range supervisor {
		got := new(exov1.SupervisorEnvelope)
		if err := r.Read(got); err != nil || !proto.Equal(got, want) {
			t.Fatalf("supervisor frame %d: %v, %v", i+1, got, err)
		}
	}
	if err := r.Read(new(exov1.SupervisorEnvelope)); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
}

// TestReadUnknownFieldsDeep finds unknown fields wherever the tree holds
// messages: in a message-valued map, in a list (past its first element), in an
// extension; and decodes the same trees cleanly without them.
func TestReadUnknownFieldsDeep(t *testing.T) {
	value := func(extra []byte) []byte { // Value{string_value: "x"} + extra
		return append(field(nil, 3, []byte("x")), extra...)
	}
	// Struct{fields: {"a": Value{list_value: ListValue{values: [v1, v2]}}}}
	structWith := func(v1, v2 []byte) []byte {
		list := field(field(nil, 1, v1), 1, v2)
		entry := field(field(nil, 1, []byte("a")), 2, field(nil, 6, list))
		return field(nil, 1, entry)
	}
	// FeatureSet with its (pb.go) extension, GoFeatures{legacy_unmarshal_json_enum: true} + extra.
	featuresWith := func(extra []byte) []byte {
		return field(nil, 1002, append([]byte{0x08, 0x01}, extra...))
	}
	for _, tc := range []struct {
		name  string
		body  []byte
		msg   func() proto.Message
		cause string // "" for no error
	}{
		{"map and list, clean", structWith(value(nil), value(nil)),
			func() proto.Message { return new(structpb.Struct) }, ""},
		{"map and list, unknown in the second element", structWith(value(nil), value(unknownVarint(nil, 99))),
			func() proto.Message { return new(structpb.Struct) }, "in google.protobuf.Value"},
		{"extension, clean", featuresWith(nil),
			func() proto.Message { return new(descriptorpb.FeatureSet) }, ""},
		{"extension, unknown inside it", featuresWith(unknownVarint(nil, 99)),
			func() proto.Message { return new(descriptorpb.FeatureSet) }, "in " + string(proto.MessageName(&gofeaturespb.GoFeatures{}))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := frame.NewReader(bytes.NewReader(rawFrame(tc.body)))
			m := tc.msg()
			err := r.Read(m)
			if tc.cause == "" {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			checkError(t, err, frame.ErrUnknownFields, 1, 0)
			if !strings.Contains(err.Error(), tc.cause) {
				t.Errorf("Error() = %q, want it to mention %q", err.Error(), tc.cause)
			}
		})
	}
}

// TestReadDynamicMessage: a message without generated code (dynamicpb, which
// protobuf decodes by reflection) has a bad body reported as ErrUndecodable,
// not as a truncated stream, and the reader stays in sync; it decodes and
// passes the envelope checks like the generated type.
func TestReadDynamicMessage(t *testing.T) {
	md := (&exov1.RunnerEnvelope{}).ProtoReflect().Descriptor()
	// chunk_generated declares 10 bytes and holds 2.
	bad := rawFrame([]byte{0x2a, 0x0a, 0x0a, 0x01})
	good := rawFrame(mustMarshal(t, helloEnvelope()))
	r := frame.NewReader(bytes.NewReader(append(append([]byte(nil), bad...), good...)))
	err := r.Read(dynamicpb.NewMessage(md))
	if fe := checkError(t, err, frame.ErrUndecodable, 1, 0); fe.Fatal() {
		t.Errorf("Fatal() = true for a body that was read whole")
	}
	m := dynamicpb.NewMessage(md)
	if err := r.Read(m); err != nil || !proto.Equal(m, helloEnvelope()) {
		t.Fatalf("next frame: %v, %v", m, err)
	}
}

// TestFrameBuffered: FrameBuffered says yes exactly when a whole frame is in
// the buffer, so a batching reader never blocks on a frame still arriving.
func TestFrameBuffered(t *testing.T) {
	env := &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{TokensProduced: 7}}}
	body, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	one := protowire.AppendVarint(nil, uint64(len(body)))
	one = append(one, body...)
	pr, pw := io.Pipe()
	r := frame.NewReader(bufio.NewReaderSize(pr, 4096))
	if r.FrameBuffered() {
		t.Fatal("FrameBuffered on an empty buffer")
	}
	go func() {
		_, _ = pw.Write(append(append([]byte(nil), one...), one[:len(one)-1]...)) // one frame and most of another
	}()
	got := new(exov1.RunnerEnvelope)
	if err := r.Read(got); err != nil {
		t.Fatal(err)
	}
	if r.FrameBuffered() {
		t.Fatal("FrameBuffered with only part of the next frame buffered")
	}
	go func() { _, _ = pw.Write(one[len(one)-1:]); _ = pw.Close() }()
	if err := r.Read(got); err != nil {
		t.Fatal(err)
	}
	if got.GetHeartbeat().GetTokensProduced() != 7 {
		t.Fatalf("second frame decoded as %v", got)
	}
}
