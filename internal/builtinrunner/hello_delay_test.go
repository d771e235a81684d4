package builtinrunner

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

// TestEarlyReaderEndsOnEOF: stdin's end ends the hello delay, also after
// the supervisor wrote something (out of protocol) during it; ctx's end
// ends it too.
func TestEarlyReaderEndsOnEOF(t *testing.T) {
	pr, pw := io.Pipe()
	e := newEarlyReader(pr)
	done := make(chan error, 1)
	go func() { done <- e.wait(context.Background(), nil) }() // owner: this test, which takes its result
	if _, err := pw.Write([]byte("early")); err != nil {      // returns once the delay's read took it
		t.Fatal(err)
	}
	_ = pw.Close()
	select {
	case err := <-done:
		if !errors.Is(err, errStdinEnded) {
			t.Fatalf("wait: %v, want errStdinEnded", err)
		}
	case <-time.After(inProcWait):
		t.Fatalf("the delay did not end within %v after stdin closed", inProcWait)
	}

	pr, pw = io.Pipe()
	defer pw.Close()
	e = newEarlyReader(pr)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.wait(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("wait with an ended ctx: %v, want context.Canceled", err)
	}
	_ = pr.Close() // ends the read the delay left in flight
}

// TestEarlyReaderHandsOnWhatItRead: when the delay ends, what stdin brought
// during it, then the read still in flight, then stdin itself reach the
// reader after the delay, in order and whole.
func TestEarlyReaderHandsOnWhatItRead(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	e := newEarlyReader(pr)
	delay := make(chan time.Time)
	done := make(chan error, 1)
	go func() { done <- e.wait(context.Background(), delay) }() // owner: this test, which takes its result
	for _, s := range []string{"abc", "def"} {
		if _, err := pw.Write([]byte(s)); err != nil { // returns once a read of the delay took it
			t.Fatal(err)
		}
	}
	close(delay) // sole sender: this test
	if err := <-done; err != nil {
		t.Fatalf("wait: %v, want nil (the delay ended)", err)
	}
	wrote := make(chan error, 1)
	go func() { // owner: this test, which takes its result
		_, err := pw.Write([]byte("ghi"))
		_ = pw.Close()
		wrote <- err
	}()
	got, err := io.ReadAll(e)
	if err != nil || string(got) != "abcdefghi" {
		t.Errorf("read after the delay: %q, %v; want %q, nil", got, err, "abcdefghi")
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
}

// readWatch is stdin with a read deadline (an *os.File pipe, as the
// runner's stdin through Go's poller) whose reads say when they returned.
type readWatch struct {
	*os.File
	returned chan struct{} // sole sender: Read, on the one read this test makes
}

func (r *readWatch) Read(p []byte) (int, error) {
	n, err := r.File.Read(p)
	close(r.returned) // sole sender: the early reader's one read goroutine
	return n, err
}

// TestHelloDelayWaitsForItsReadWhenCtxEnds: ctx ends during the hello delay
// (SIGTERM): the read of stdin in flight is interrupted (a deadline) and
// its goroutine has ended when helloDelay returns. Before, helloDelay
// returned with the goroutine still blocked on stdin, owned by nobody.
func TestHelloDelayWaitsForItsReadWhenCtxEnds(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	defer pr.Close()
	r := &readWatch{File: pr, returned: make(chan struct{})}
	b := &builtin{in: &faultReader{r: r}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the delay's wait starts its read first, then sees ctx's end
	if b.helloDelay(ctx, time.Hour) {
		t.Fatal("helloDelay went on to the Hello after ctx ended")
	}
	select {
	case <-r.returned:
	default:
		t.Fatal("helloDelay returned with its read of stdin still in flight")
	}
}
