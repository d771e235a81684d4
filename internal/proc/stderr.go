package proc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// StderrTruncatedFormat is the marker StderrLine.Text appends to a
// truncated line, with the number of bytes dropped: a line of 10,000 bytes
// with the default StderrLineMax reads "xxxx… …[truncated 5904 bytes]".
const StderrTruncatedFormat = " …[truncated %d bytes]"

// Text is the line as it should be shown and logged: Line, followed by the
// truncation marker (StderrTruncatedFormat) when bytes were dropped.
func (l *StderrLine) Text() string {
	if l.Truncated == 0 {
		return l.Line
	}
	return l.Line + fmt.Sprintf(StderrTruncatedFormat, l.Truncated)
}

// splitLines reads r to its end and calls emit with each line, without its
// "\n" and a "\r" before it. A line longer than lineMax bytes is cut to
// at most lineMax bytes at a UTF-8 boundary (a rune is never split) and
// the rest of it, up to its "\n", is read and dropped: emit gets the count
// of the bytes dropped. A last line without "\n" is emitted too. Memory is
// bounded by 2 × lineMax whatever the line lengths, and is taken only once
// the first byte arrived: most runners never write to stderr, and the two
// buffers were 8 KiB of every idle runner's memory (docs/performance.md,
// "Events round"). emit's slice is valid only during the call.
func splitLines(r io.Reader, lineMax int, emit func(line []byte, truncated int)) {
	first := make([]byte, 1)
	n, err := r.Read(first)
	for n == 0 && err == nil {
		n, err = r.Read(first)
	}
	if n == 0 {
		return // ended (or failed) before any byte: no line
	}
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(first), r), max(lineMax, 16))
	cur := make([]byte, 0, lineMax)
	dropped, full, have := 0, false, false
	add := func(b []byte) {
		switch room := lineMax - len(cur); {
		case full:
			dropped += len(b)
		case len(b) <= room:
			cur = append(cur, b...)
		default:
			cur = append(cur, b[:room]...)
			dropped += len(b) - room
			// A rune cut in two (here, or at the end of an earlier chunk)
			// goes with the dropped bytes.
			k := partialRune(cur)
			cur, dropped = cur[:len(cur)-k], dropped+k
			full = true
		}
	}
	// heldCR: the last chunk filled the reader's buffer and ended with a
	// "\r", held back: it ends the line if the next chunk is just its "\n",
	// and is the line's own byte otherwise. (Before, a "\r\n" line whose
	// "\r" was the buffer's last byte, one of 4095 bytes with the
	// defaults, kept its "\r".)
	heldCR := false
	for {
		chunk, err := br.ReadSlice('\n')
		ended := err == nil // chunk ends with the line's "\n"
		if ended {
			chunk = chunk[:len(chunk)-1]
			if n := len(chunk); n > 0 && chunk[n-1] == '\r' {
				chunk = chunk[:n-1]
			} else if n == 0 {
				heldCR = false // "\r" "\n": the line's end
			}
		}
		if len(chunk) > 0 || ended {
			have = true
		}
		if heldCR {
			add(cr)
			heldCR = false
		}
		if n := len(chunk); errors.Is(err, bufio.ErrBufferFull) && n > 0 && chunk[n-1] == '\r' {
			chunk, heldCR = chunk[:n-1], true
		}
		add(chunk)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue // the line goes on
		}
		if have {
			emit(cur, dropped)
		}
		cur, dropped, full, have = cur[:0], 0, false, false
		if err != nil {
			return
		}
	}
}

// cr is the "\r" splitLines adds back when it was not the line's end.
var cr = []byte{'\r'}

// partialRune returns the length of the incomplete UTF-8 rune b ends with,
// 0 when b ends with a whole rune (or with bytes that are no UTF-8 at
// all, kept as they are).
func partialRune(b []byte) int {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if c := b[len(b)-i]; utf8.RuneStart(c) {
			if c >= utf8.RuneSelf && !utf8.FullRune(b[len(b)-i:]) {
				return i
			}
			return 0
		}
	}
	return 0
}

// stderrBuffer holds the stderr lines the reader read and the owner has
// not taken: a ring of at most max lines and about StderrBufferBytes
// bytes; past either bound the oldest line goes and is counted. rung says
// a StderrReady is on its way to the owner and no take has happened
// since, so the reader does not ring again.
type stderrBuffer struct {
	mu      sync.Mutex
	max     int
	lines   []StderrLine // ring; len is the capacity once full
	head, n int
	bytes   int
	dropped int
	rung    bool
}

// push adds a line, dropping the oldest past the bounds, and says whether
// the owner must be rung.
func (b *stderrBuffer) push(l StderrLine) (ring bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.n > 0 && (b.n >= b.max || b.bytes+len(l.Line) > StderrBufferBytes) {
		b.bytes -= len(b.lines[b.head].Line)
		b.lines[b.head] = StderrLine{}
		b.head = (b.head + 1) % len(b.lines)
		b.n--
		b.dropped++
	}
	if b.n == len(b.lines) {
		// Every slot is taken (and, after the drops above, fewer than max):
		// the ring grows, in order, so a runner that writes little keeps
		// a small one.
		grown := make([]StderrLine, b.n, min(max(2*b.n, 8), b.max))
		for i := range b.n {
			grown[i] = b.lines[(b.head+i)%len(b.lines)]
		}
		b.lines, b.head = append(grown, l), 0
	} else {
		b.lines[(b.head+b.n)%len(b.lines)] = l
	}
	b.n++
	b.bytes += len(l.Line)
	if b.rung {
		return false
	}
	b.rung = true
	return true
}

// take returns the lines, oldest first, and the count dropped since the
// last take, and empties the buffer.
func (b *stderrBuffer) take() ([]StderrLine, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]StderrLine, b.n)
	for i := range b.n {
		j := (b.head + i) % len(b.lines)
		out[i] = b.lines[j]
		b.lines[j] = StderrLine{}
	}
	d := b.dropped
	b.head, b.n, b.bytes, b.dropped, b.rung = 0, 0, 0, 0, false
	return out, d
}
