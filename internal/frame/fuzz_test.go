package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzDecode seeds from fuzzSeeds")

// fuzzMaxSize is the frame size limit FuzzDecode reads with.
const fuzzMaxSize = 1 << 16

// fuzzSeeds are FuzzDecode's seed inputs, by file name under
// testdata/fuzz/FuzzDecode. TestFuzzSeedCorpus checks the committed files
// match (go test -run TestFuzzSeedCorpus -update-seeds rewrites them). Other
// files there, crashers found by fuzzing, are regression seeds and stay.
func fuzzSeeds(tb testing.TB) map[string][]byte {
	hello := rawFrame(mustMarshal(tb, helloEnvelope()))
	chunk := appendFrame(tb, nil, tokenChunkEnvelope(tb))
	oversized := protowire.AppendVarint(nil, fuzzMaxSize+1)
	oversized = append(oversized, bytes.Repeat([]byte{0x0a}, 32)...)
	return map[string][]byte{
		"hello":            hello,
		"chunk":            chunk,
		"two-frames":       append(append([]byte(nil), hello...), chunk...),
		"truncated-length": append(append([]byte(nil), hello...), 0xff, 0xff),
		"truncated-body":   chunk[:len(chunk)-5],
		"oversized":        oversized,
		"garbage":          []byte("\x8f\x03\xde\xad\xbe\xef\x00\xff\x12\x34 not a frame at all \xc3\x28"),
		"empty-envelope":   append([]byte{0x00}, hello...),
		"unknown-field":    rawFrame(unknownVarint(mustMarshal(tb, heartbeatEnvelope(1)), 99)),
		"unknown-nested":   append(rawFrame(chunkBodyWithTokenExtra(unknownVarint(nil, 9))), chunk...),
		"bad-varint":       bytes.Repeat([]byte{0xff}, 11),
		"undecodable":      append(rawFrame([]byte{0x2a, 0x0a, 0x0a, 0x01}), hello...),
	}
}

// seedFile is data in the `go test fuzz v1` corpus file format.
func seedFile(data []byte) []byte {
	return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data)
}

// TestFuzzSeedCorpus keeps the committed seed corpus in step with fuzzSeeds.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for name, data := range fuzzSeeds(t) {
		path := filepath.Join(dir, name)
		want := seedFile(data)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("seed %s: %v (run go test ./internal/frame -run TestFuzzSeedCorpus -update-seeds)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("seed %s is stale (run go test ./internal/frame -run TestFuzzSeedCorpus -update-seeds)", name)
		}
	}
}

// decoded is what one Read returned.
type decoded struct {
	msg                *exov1.RunnerEnvelope // on success
	kind               error                 // the *Error's kind, or nil
	frame, length      uint64
	offset, nextOffset int64
}

// FuzzDecode reads RunnerEnvelope frames from arbitrary bytes until the end,
// or a fatal error, and checks: no panic; every error is an *Error of exactly
// one kind, naming a frame (>= 1, numbered in order) and the offset where the
// reader was, never past the input; a successful or non-fatal frame moves the
// offset forward and stays within the input, so frame sizes never sum past
// it; a clean io.EOF comes only at the very end; each decoded frame's bytes
// are exactly the input between the two offsets; each decoded message
// re-encodes through frame.Writer and decodes again to an equal message; and
// the read buffer's size changes nothing (the input is read twice: with the
// default 64 KiB buffer, where most frames are peeked whole, and with a
// 16-byte one, where protodelim reads most bodies into a buffer of its own).
func FuzzDecode(f *testing.F) {
	for _, data := range fuzzSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(checkDecode)
}

// Read buffers for checkDecode, reused from one input to the next: a fresh
// 64 KiB buffer per input made fuzzing (and minimizing) spend most of its time
// allocating and collecting them.
var (
	bigBuffers   = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, frame.ReadBufferSize) }}
	smallBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16) }}
)

// checkDecode is FuzzDecode's body.
func checkDecode(t *testing.T, in []byte) {
	bigBR := bigBuffers.Get().(*bufio.Reader)
	defer bigBuffers.Put(bigBR)
	smallBR := smallBuffers.Get().(*bufio.Reader)
	defer smallBuffers.Put(smallBR)
	againBR := smallBuffers.Get().(*bufio.Reader)
	defer smallBuffers.Put(againBR)

	bigBR.Reset(bytes.NewReader(in))
	smallBR.Reset(bytes.NewReader(in))
	var again bytes.Buffer
	big := decodeAll(t, in, frame.NewReader(bigBR, frame.WithMaxSize(fuzzMaxSize)), &again, againBR)
	small := decodeAll(t, in, frame.NewReader(smallBR, frame.WithMaxSize(fuzzMaxSize)), nil, nil)
	// Text is diagnosed from the bytes already buffered (the reader never
	// waits for more to decide), so the buffer size may decide where text
	// is seen: both readers agree up to a text diagnosis, and both fail there.
	for i := 0; i < min(len(big), len(small)); i++ {
		b, s := big[i], small[i]
		if b.kind == frame.ErrTextOnStdout || s.kind == frame.ErrTextOnStdout {
			if b.kind == nil || s.kind == nil || b.frame != s.frame || b.offset != s.offset {
				t.Fatalf("read %d: %+v with a 64 KiB buffer, %+v with a 16-byte one", i+1, b, s)
			}
			return
		}
	}
	if len(big) != len(small) {
		t.Fatalf("%d reads with a 64 KiB buffer, %d with a 16-byte one", len(big), len(small))
	}
	for i := range big {
		b, s := big[i], small[i]
		if b.kind != s.kind || b.frame != s.frame || b.length != s.length || b.offset != s.offset ||
			b.nextOffset != s.nextOffset || !proto.Equal(b.msg, s.msg) {
			t.Fatalf("read %d: %+v with a 64 KiB buffer, %+v with a 16-byte one", i+1, b, s)
		}
	}
}

// decodeAll reads in through r to the end or a fatal error, checking every
// result as FuzzDecode describes; with a non-nil buf, it re-encodes each
// decoded message into buf and decodes it again through br.
func decodeAll(t *testing.T, in []byte, r *frame.Reader, buf *bytes.Buffer, br *bufio.Reader) []decoded {
	var out []decoded
	var w *frame.Writer
	if buf != nil {
		w = frame.NewWriter(buf, frame.WithMaxSize(fuzzMaxSize))
	}
	for num := uint64(1); ; num++ {
		start := r.Offset()
		m := new(exov1.RunnerEnvelope)
		err := r.Read(m)
		end := r.Offset()
		if err == io.EOF {
			if start != int64(len(in)) {
				t.Fatalf("io.EOF at byte %d of %d", start, len(in))
			}
			return out
		}
		d := decoded{frame: num, offset: start, nextOffset: end}
		if err != nil {
			var fe *frame.Error
			if !errors.As(err, &fe) {
				t.Fatalf("frame %d: %v (%T), want a *frame.Error", num, err, err)
			}
			if len(out) == 0 || out[len(out)-1].kind == nil {
				_ = fe.Error() // must not panic; formatting every error of a run of them is slow
			}
			d.kind, d.frame, d.offset, d.length = fe.Kind, fe.Frame, fe.Offset, fe.Length
			out = append(out, d)
			if fe.Frame != num || fe.Offset != start {
				t.Fatalf("error names frame %d at byte %d, want frame %d at byte %d: %v", fe.Frame, fe.Offset, num, start, err)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(in)) {
				t.Fatalf("error offset %d outside the %d-byte input: %v", fe.Offset, len(in), err)
			}
			kinds := 0
			for _, k := range allKinds {
				if errors.Is(err, k) {
					kinds++
				}
			}
			if kinds != 1 || errors.Is(err, frame.ErrTooLarge) {
				t.Fatalf("error matches %d reader kinds: %v", kinds, err)
			}
			if fe.Body != "" {
				// The hex shown is the start of this frame's body, bounded
				// (a reader with a small buffer may show less of it).
				hexed, _, _ := strings.Cut(fe.Body, " …")
				raw := in[start:]
				_, n := protowire.ConsumeVarint(raw)
				if n < 0 || len(hexed) > 3*frame.BodyHexMax ||
					!strings.HasPrefix(fmt.Sprintf("% x", raw[n:n+min(len(raw)-n, frame.BodyHexMax)]), hexed) {
					t.Fatalf("frame %d: body shown as %q: %v", num, fe.Body, err)
				}
			}
			if fe.Fatal() {
				if end != start {
					t.Fatalf("fatal error moved the offset from %d to %d: %v", start, end, err)
				}
				return out
			}
		} else {
			d.msg = m
			out = append(out, d)
		}
		if end <= start || end > int64(len(in)) {
			t.Fatalf("frame %d moved the offset from %d to %d (input is %d bytes): %v", num, start, end, len(in), err)
		}
		if r.Frames() != num {
			t.Fatalf("Frames() = %d after frame %d", r.Frames(), num)
		}
		if err != nil || buf == nil {
			continue
		}

		// The frame is exactly in[start:end]: a length prefix and a body
		// that protobuf decodes to the same message.
		raw := in[start:end]
		size, n := protowire.ConsumeVarint(raw)
		if n < 0 || uint64(len(raw)-n) != size {
			t.Fatalf("frame %d: bytes %d..%d are not one frame (prefix %d, %d bytes)", num, start, end, size, n)
		}
		plain := new(exov1.RunnerEnvelope)
		if err := proto.Unmarshal(raw[n:], plain); err != nil || !proto.Equal(plain, m) {
			t.Fatalf("frame %d: proto.Unmarshal of its body gives %v, %v; the reader gave %v", num, plain, err, m)
		}

		// Re-encode and decode again.
		buf.Reset()
		if err := w.Write(m); err != nil {
			// The canonical encoding can be longer than the input's (a
			// 5-byte negative int32 becomes 10 bytes), so a message near
			// the limit may be refused, but nothing else.
			if errors.Is(err, frame.ErrTooLarge) && proto.Size(m) > fuzzMaxSize {
				continue
			}
			t.Fatalf("frame %d: re-encoding %v: %v", num, m, err)
		}
		br.Reset(buf)
		rr := frame.NewReader(br, frame.WithMaxSize(fuzzMaxSize))
		again := new(exov1.RunnerEnvelope)
		if err := rr.Read(again); err != nil {
			t.Fatalf("frame %d: decoding the re-encoded %v: %v", num, m, err)
		}
		if !proto.Equal(again, m) {
			t.Fatalf("frame %d: re-encoded and decoded %v, want %v", num, again, m)
		}
		if err := rr.Read(again); err != io.EOF {
			t.Fatalf("frame %d: re-encoding holds more than one frame: %v", num, err)
		}
	}
}
