//go:build unix

package pollfd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// DefaultWriteLimit is the most a Writer keeps waiting for a full pipe (one
// pipe's default capacity on Linux) before Write blocks.
const DefaultWriteLimit = 64 << 10

// Writer writes to a pipe without leaving its caller blocked on a full
// pipe while it has room to keep what it was given: "write at once when the
// reader keeps up, coalesce when it does not".
//
//   - While the pipe has room, Write writes p at once, in one write(2) on
//     the caller's goroutine: an idle writer's latency is that of a plain
//     write.
//   - When the pipe is full, Write copies p into a pending buffer and
//     returns; a flusher goroutine waits (in Go's poller) until the pipe has
//     room and writes everything pending in one write. Writes that come
//     while the flusher is busy are appended behind, so the order of the
//     bytes is the order of the Writes and each p stays whole.
//   - Pending bytes are bounded by the limit (DefaultWriteLimit): a Write
//     that would go beyond it blocks until the flusher has taken the
//     pending bytes (backpressure; a single Write larger than the limit
//     waits for an empty buffer and is then kept whole).
//
// A runner that writes faster than its supervisor reads then spends one
// write(2) per pipe-full instead of one per frame, which leaves the CPU to
// the reader. The first write error is kept: every later Write returns it.
// Close writes what is pending (or gives up at the first error), stops the
// flusher and restores the file.
type Writer struct {
	f     *os.File // the non-blocking duplicate, registered with the poller
	rc    syscall.RawConn
	limit int

	mu       sync.Mutex
	cond     sync.Cond // signalled when pending is taken, an error is kept, or the flusher stops
	pending  []byte
	spare    []byte // the flusher's buffer, returned after each write
	flushing bool   // the flusher owns the pipe: Write appends to pending
	err      error
	closing  bool
	wake     chan struct{} // capacity 1: pending became non-empty while the flusher was parked
	done     chan struct{} // closed by the flusher when it returns

	restore     func()
	restoreOnce sync.Once
}

// ErrWriterClosed is what Write returns after Close.
var ErrWriterClosed = errors.New("pollfd: write after Close")

// Stdout returns a Writer for the pipe f (a process's stdout) and true, or
// (nil, false) when f is not a pipe in blocking mode or cannot be
// converted; the caller then writes f as it is. limit ≤ 0 means
// DefaultWriteLimit.
//
// The non-blocking mode belongs to the pipe's open file description, which
// f shares with the Writer's file: until Close, write f only through the
// Writer (os.File's blocking-mode writes would see EAGAIN).
func Stdout(f *os.File, limit int) (*Writer, bool) {
	pf, restore, ok := nonblockingDup(f)
	if !ok {
		return nil, false
	}
	rc, err := pf.SyscallConn()
	if err != nil {
		restore()
		return nil, false
	}
	if limit <= 0 {
		limit = DefaultWriteLimit
	}
	w := &Writer{
		f:       pf,
		rc:      rc,
		limit:   limit,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		restore: restore,
	}
	w.cond.L = &w.mu
	go w.flusher() // owned by the Writer: Close waits for it
	return w, true
}

// Write writes p, or keeps it to be written in order (see Writer). It
// returns len(p) and nil, or 0 and the first write error.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.err == nil && !w.closing && w.flushing && len(w.pending) > 0 && len(w.pending)+len(p) > w.limit {
		w.cond.Wait()
	}
	switch {
	case w.err != nil:
		return 0, w.err
	case w.closing:
		return 0, ErrWriterClosed
	case w.flushing:
		w.pending = append(w.pending, p...)
		return len(p), nil
	}
	n, err := w.tryWrite(p)
	if err != nil {
		w.fail(err)
		return 0, w.err
	}
	if n < len(p) {
		w.pending = append(w.pending, p[n:]...)
		w.flushing = true
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// tryWrite writes what the pipe takes now, without waiting; w.mu is held and
// the flusher is not writing.
func (w *Writer) tryWrite(p []byte) (int, error) {
	var (
		n    int
		werr error
	)
	err := w.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, err := unix.Write(int(fd), p[n:])
			if m > 0 {
				n += m
			}
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				werr = err
				break
			}
			if m == 0 {
				break
			}
		}
		return true // never wait here: the flusher does
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// fail keeps the first error; w.mu is held.
func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = fmt.Errorf("pollfd: writing the pipe: %w", err)
	}
	w.cond.Broadcast()
}

// flusher writes what is pending, whenever Write found the pipe full, until
// Close.
func (w *Writer) flusher() {
	defer close(w.done) // sole sender: the flusher, once, when it returns
	for {
		w.mu.Lock()
		for !w.flushing && !w.closing {
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if !w.flushing { // closing, nothing pending
			w.mu.Unlock()
			return
		}
		buf := w.pending
		w.pending = w.spare[:0]
		w.cond.Broadcast() // room again for writers held by the limit
		w.mu.Unlock()

		_, err := w.f.Write(buf) // parks in the poller until the pipe takes it all

		w.mu.Lock()
		w.spare = buf[:0]
		if cap(w.spare) > 4*w.limit {
			w.spare = nil // a Write larger than the limit once: do not keep it
		}
		if err != nil {
			w.fail(err)
			w.pending = nil
		}
		if len(w.pending) == 0 || w.err != nil {
			w.flushing = false
			w.cond.Broadcast()
		}
		stop := w.closing && !w.flushing
		w.mu.Unlock()
		if stop {
			return
		}
	}
}

// Close writes what is pending (or stops at the first write error), stops
// the flusher, and puts the pipe back in blocking mode. It returns the first
// write error, if any. Write after Close returns ErrWriterClosed; a second
// Close returns what the first did.
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closing {
		w.closing = true
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
	<-w.done
	w.restoreOnce.Do(w.restore) // a second Close restores nothing twice
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

var _ io.WriteCloser = (*Writer)(nil)

// Out is Stdout for an io.Writer: when w is an *os.File pipe that Stdout
// converts, it returns the Writer (DefaultWriteLimit) and its Close;
// otherwise w itself and a close that does nothing. Call the close once
// the last frame was written.
func Out(w io.Writer) (io.Writer, func() error) {
	if f, ok := w.(*os.File); ok {
		if pw, ok := Stdout(f, 0); ok {
			return pw, pw.Close
		}
	}
	return w, func() error { return nil }
}
