//go:build unix

package pollfd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
)

// pipe returns a pipe whose write end is in blocking mode, as a child's
// inherited stdout is.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	_ = w.Fd() // blocking mode
	return r, w
}

func (w *Writer) pendingLen() (n int, flushing bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending), w.flushing
}

func TestWriterIdleWritesAtOnce(t *testing.T) {
	r, pw := pipe(t)
	w, ok := Stdout(pw, 0)
	if !ok {
		t.Fatal("Stdout did not convert a pipe")
	}
	for i := 0; i < 100; i++ {
		msg := fmt.Sprintf("frame %d;", i)
		if n, err := w.Write([]byte(msg)); err != nil || n != len(msg) {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if n, flushing := w.pendingLen(); n != 0 || flushing {
			t.Fatalf("after Write %d to a pipe with room: %d bytes pending, flushing %v; want written at once", i, n, flushing)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(r, buf); err != nil || string(buf) != msg {
			t.Fatalf("read %q, %v; want %q", buf, err, msg)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if nonblocking(t, pw) {
		t.Fatal("the pipe is still non-blocking after Close")
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A writer faster than its reader: Writes keep what the pipe does not take,
// pending stays within the limit, and the reader gets every byte in order.
func TestWriterCoalescesWhenFullAndKeepsOrder(t *testing.T) {
	r, pw := pipe(t)
	const limit = 4096
	w, ok := Stdout(pw, limit)
	if !ok {
		t.Fatal("Stdout did not convert a pipe")
	}
	var want bytes.Buffer
	const frames = 50000 // ~1 MiB: far more than the pipe and the limit hold
	for i := 0; i < frames; i++ {
		fmt.Fprintf(&want, "frame %06d;", i)
	}
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	readStarted := make(chan struct{})
	go func() {
		defer wg.Done()
		<-readStarted
		_, _ = io.Copy(&got, r)
	}()
	started := false
	sawPending := false
	all := want.Bytes()
	const size = len("frame 000000;")
	for i := 0; i < frames; i++ {
		if _, err := w.Write(all[i*size : (i+1)*size]); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		n, flushing := w.pendingLen()
		if n > limit {
			t.Fatalf("after Write %d: %d bytes pending, over the limit %d", i, n, limit)
		}
		if flushing && !started {
			// The pipe is full and nothing reads it: the Write returned
			// anyway. Now let the reader in; later Writes that would pass
			// the limit wait for it.
			sawPending = true
			started = true
			close(readStarted) // sole sender: this test, once
		}
	}
	if !started {
		close(readStarted) // sole sender: this test, once
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	wg.Wait()
	if !sawPending {
		t.Fatal("the pipe never filled: no Write was kept pending")
	}
	if !bytes.Equal(got.Bytes(), all) {
		t.Fatalf("the reader got %d bytes, want %d, or out of order", got.Len(), len(all))
	}
}

func TestWriterBrokenPipeFailsEveryLaterWrite(t *testing.T) {
	r, pw := pipe(t)
	w, ok := Stdout(pw, 0)
	if !ok {
		t.Fatal("Stdout did not convert a pipe")
	}
	r.Close()
	_, err := w.Write([]byte("x"))
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write to a pipe nobody reads: %v; want EPIPE", err)
	}
	if _, err2 := w.Write([]byte("y")); !errors.Is(err2, syscall.EPIPE) {
		t.Fatalf("second Write: %v; want the first error again", err2)
	}
	if err := w.Close(); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Close: %v; want the write error", err)
	}
	if _, err := w.Write([]byte("z")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

// The reader goes away while bytes are pending: the flusher's error is kept
// and Close returns it instead of waiting forever.
func TestWriterBrokenPipeWhilePending(t *testing.T) {
	r, pw := pipe(t)
	w, ok := Stdout(pw, 1<<20)
	if !ok {
		t.Fatal("Stdout did not convert a pipe")
	}
	chunk := bytes.Repeat([]byte("a"), 4096)
	for {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if _, flushing := w.pendingLen(); flushing {
			break
		}
	}
	r.Close()
	if err := w.Close(); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Close with bytes pending and no reader: %v; want EPIPE", err)
	}
}

func TestWriterCloseWritesPending(t *testing.T) {
	r, pw := pipe(t)
	w, ok := Stdout(pw, 0)
	if !ok {
		t.Fatal("Stdout did not convert a pipe")
	}
	chunk := bytes.Repeat([]byte("b"), 1000)
	total := 0
	for {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		total += len(chunk)
		if n, _ := w.pendingLen(); n > 0 {
			break
		}
	}
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = io.Copy(&got, r) }()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	wg.Wait()
	if got.Len() != total {
		t.Fatalf("reader got %d bytes after Close, want %d", got.Len(), total)
	}
}

func TestStdoutNotAPipe(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if w, ok := Stdout(f, 0); ok || w != nil {
		t.Fatal("a regular file was converted; want false")
	}
}

func TestOut(t *testing.T) {
	var buf bytes.Buffer
	if w, closeOut := Out(&buf); w != &buf || closeOut() != nil {
		t.Fatal("Out of a non-file: want it back as is and a close that does nothing")
	}
	_, pw := pipe(t)
	w, closeOut := Out(pw)
	if _, ok := w.(*Writer); !ok {
		t.Fatalf("Out of a pipe returned %T, want *Writer", w)
	}
	if err := closeOut(); err != nil {
		t.Fatal(err)
	}
}
