package frame_test

import (
	"io"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// tokenFrameSize is the encoded size, length prefix included, of the frame the
// decode benchmarks use: a typical streamed token chunk.
const tokenFrameSize = 64

// tokenChunkEnvelope returns RunnerEnvelope{ChunkGenerated{task_id, index,
// TokenChunk{text, token_id}}} whose frame (varint length + body) is exactly
// tokenFrameSize bytes.
func tokenChunkEnvelope(tb testing.TB) *exov1.RunnerEnvelope {
	tb.Helper()
	mk := func(text string) *exov1.RunnerEnvelope {
		return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{
			ChunkGenerated: &exov1.ChunkGenerated{
				TaskId: "01J9ZK3T8Q6W2M4X7R5B0N1C8D",
				Index:  1234,
				Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{
					Text:    text,
					TokenId: 31337,
				}},
			},
		}}
	}
	frameSize := func(m proto.Message) int {
		n := proto.Size(m)
		return protowire.SizeVarint(uint64(n)) + n
	}
	// A non-empty text costs its length plus a tag byte and a length byte.
	const text = " the quick brown fox jumps over the lazy dog"
	k := tokenFrameSize - frameSize(mk("")) - 2
	if k < 1 || k > len(text) {
		tb.Fatalf("no text length gives a %d-byte frame (k = %d)", tokenFrameSize, k)
	}
	m := mk(text[:k])
	if got := frameSize(m); got != tokenFrameSize {
		tb.Fatalf("token chunk frame is %d bytes, want %d", got, tokenFrameSize)
	}
	return m
}

// appendFrame appends m as one frame (varint length + body).
func appendFrame(tb testing.TB, b []byte, m proto.Message) []byte {
	tb.Helper()
	body, err := proto.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	b = protowire.AppendVarint(b, uint64(len(body)))
	return append(b, body...)
}

// cycleReader serves its buffer over and over without allocating. The buffer
// holds whole frames, so wrapping around lands on a frame boundary.
type cycleReader struct {
	buf []byte
	pos int
}

func (c *cycleReader) Read(p []byte) (int, error) {
	n := copy(p, c.buf[c.pos:])
	c.pos += n
	if c.pos == len(c.buf) {
		c.pos = 0
	}
	return n, nil
}

// tokenStream returns 1024 token-chunk frames back to back (64 KiB) and one
// frame's body.
func tokenStream(b *testing.B) (stream, body []byte) {
	one := appendFrame(b, nil, tokenChunkEnvelope(b))
	for range 1024 {
		stream = append(stream, one...)
	}
	_, n := protowire.ConsumeVarint(one)
	return stream, one[n:]
}

// BenchmarkDecodeTokenChunk decodes one 64-byte token-chunk frame per op
// through frame.Reader, so allocs/op is allocations per frame.
//
//   - fresh: a new RunnerEnvelope per frame, as a supervisor that hands each
//     message to another goroutine does.
//   - reused: one RunnerEnvelope for every frame (Read resets it first).
func BenchmarkDecodeTokenChunk(b *testing.B) {
	stream, _ := tokenStream(b)
	want := tokenChunkEnvelope(b)
	run := func(b *testing.B, next func() *exov1.RunnerEnvelope) {
		r := frame.NewReader(&cycleReader{buf: stream})
		b.SetBytes(tokenFrameSize)
		b.ReportAllocs()
		b.ResetTimer()
		var m *exov1.RunnerEnvelope
		for range b.N {
			m = next()
			if err := r.Read(m); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if !proto.Equal(m, want) {
			b.Fatalf("decoded %v, want %v", m, want)
		}
	}
	b.Run("fresh", func(b *testing.B) {
		run(b, func() *exov1.RunnerEnvelope { return new(exov1.RunnerEnvelope) })
	})
	b.Run("reused", func(b *testing.B) {
		m := new(exov1.RunnerEnvelope)
		run(b, func() *exov1.RunnerEnvelope { return m })
	})
}

// BenchmarkDecodeTokenChunkFloor decodes the same frame body with plain
// proto.Unmarshal: what the protobuf message itself costs, with no framing.
// BenchmarkDecodeTokenChunk minus this is the framing layer's own cost.
func BenchmarkDecodeTokenChunkFloor(b *testing.B) {
	_, body := tokenStream(b)
	want := tokenChunkEnvelope(b)
	run := func(b *testing.B, next func() *exov1.RunnerEnvelope) {
		b.SetBytes(tokenFrameSize)
		b.ReportAllocs()
		b.ResetTimer()
		var m *exov1.RunnerEnvelope
		for range b.N {
			m = next()
			if err := proto.Unmarshal(body, m); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if !proto.Equal(m, want) {
			b.Fatalf("decoded %v, want %v", m, want)
		}
	}
	b.Run("fresh", func(b *testing.B) {
		run(b, func() *exov1.RunnerEnvelope { return new(exov1.RunnerEnvelope) })
	})
	b.Run("reused", func(b *testing.B) {
		m := new(exov1.RunnerEnvelope)
		run(b, func() *exov1.RunnerEnvelope { return m })
	})
}

// BenchmarkWriteTokenChunk writes one 64-byte token-chunk frame per op to
// io.Discard.
func BenchmarkWriteTokenChunk(b *testing.B) {
	m := tokenChunkEnvelope(b)
	w := frame.NewWriter(io.Discard)
	b.SetBytes(tokenFrameSize)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := w.Write(m); err != nil {
			b.Fatal(err)
		}
	}
}
