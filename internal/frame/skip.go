package frame

import "google.golang.org/protobuf/encoding/protowire"

// Await waits until at least one byte of the next frame is buffered; it
// returns an error instead when the stream ends or fails (the next Read
// reports it properly). A reader that skips frames (Skip) calls it instead
// of letting Read block, so that the first frame of a read is looked at by
// Skip too.
func (r *Reader) Await() error {
	_, err := r.br.Peek(1)
	return err
}

// Skip consumes, without decoding them, the frames at the head of the buffer
// whose body drop reports: only whole frames already buffered, so it never
// reads from the stream nor blocks, and it stops at the first frame drop
// does not report (or that is not all buffered, or whose length is bad or
// over the limit: Read then handles it). It returns how many frames it
// skipped. A skipped frame counts in Frames and Offset like one read, so the
// positions in later errors stay those of the stream, and in Skipped.
//
// The body is only what drop looks at: nothing checks it decodes, so use
// Skip for frames the caller would discard anyway, never to filter what it
// keeps.
func (r *Reader) Skip(drop func(body []byte) bool) int {
	n := 0
	for {
		b, _ := r.br.Peek(r.br.Buffered())
		size, m := protowire.ConsumeVarint(b)
		if m < 0 || size > uint64(r.opts.maxSize) || uint64(len(b)-m) < size {
			return n
		}
		if !drop(b[m : m+int(size)]) {
			return n
		}
		_, _ = r.br.Discard(m + int(size))
		r.advance(m, size)
		r.skipped++
		n++
	}
}

// Skipped returns how many frames Skip consumed.
func (r *Reader) Skipped() uint64 { return r.skipped }
