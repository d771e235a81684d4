package builtinrunner

import (
	"context"
	"errors"
	"io"
	"time"
)

// errStdinEnded: stdin ended during the hello delay (the supervisor is
// gone); the runner exits without saying Hello.
var errStdinEnded = errors.New("stdin ended during the hello delay: the supervisor is gone")

// maxEarly bounds what the runner keeps of what stdin brings during the
// hello delay (a supervisor writes nothing before the Hello; one that does
// is out of protocol). Past it the runner stops reading until the delay
// ends, so the end of stdin is then seen only once Serve reads again.
const maxEarly = 64 << 10

// earlyRead is what one read of stdin during the hello delay returned.
type earlyRead struct {
	p   []byte
	err error
}

// earlyReader is the runner's stdin from the hello delay on. During the
// delay (wait) it reads stdin, one read at a time on a goroutine, so that
// the end of stdin ends the delay: a runner exits when its stdin closes
// (docs/traps.md), also before its Hello. What it read, and the read still
// in flight when the delay ended, are Serve's first reads, in order; then
// it reads stdin directly.
//
// The goroutine of a read in flight is owned by the earlyReader: its result
// goes to a channel with room for it, so it never blocks, and whoever goes
// on takes it: earlyReader.Read (the SDK's reader goroutine) when the delay
// ended, or stop when ctx ended first. stop interrupts the read when stdin
// can be (a deadline: the pipe the runner reads through Go's poller,
// pollfd.Stdin, which is what a supervised runner has) and waits for the
// goroutine. Stdin without deadlines (a terminal, an in-process io.Pipe)
// cannot be interrupted: then the goroutine ends when its read returns, and
// its owner is the process, whose exit (Run returned after ctx's end)
// ends it; Serve's own stdin reader follows the same rule (runtime/runner
// doc.go, "Goroutines").
type earlyReader struct {
	r       io.Reader
	buf     []byte         // read, not handed on yet (at most maxEarly)
	pending chan earlyRead // the read in flight, or nil
	err     error          // the error that ended reading, once taken
}

func newEarlyReader(r io.Reader) *earlyReader { return &earlyReader{r: r} }

// start begins one read of stdin on a goroutine.
func (e *earlyReader) start() {
	ch := make(chan earlyRead, 1) // room for the one result: the sender never blocks
	e.pending = ch
	go func() { // owner: e; ends when its read returns, its result taken by wait or Read
		p := make([]byte, 32<<10)
		n, err := e.r.Read(p)
		ch <- earlyRead{p: p[:n], err: err}
	}()
}

// take notes a read's result.
func (e *earlyReader) take(r earlyRead) {
	e.pending = nil
	e.buf = append(e.buf, r.p...)
	e.err = r.err
}

// wait returns nil when delay fires, errStdinEnded when stdin ends first
// (io.EOF, or any error reading it), and ctx's error when ctx ends first.
// It reads stdin meanwhile and keeps what it read for Read.
func (e *earlyReader) wait(ctx context.Context, delay <-chan time.Time) error {
	for {
		if e.pending == nil && e.err == nil && len(e.buf) < maxEarly {
			e.start()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-delay:
			return nil
		case r := <-e.pending: // nil (never ready) when no read is in flight
			e.take(r)
			if e.err != nil {
				return errStdinEnded
			}
		}
	}
}

// stop ends the read in flight, when there is one and stdin takes a read
// deadline, and waits for its goroutine (ctx ended during the delay: the
// runner exits). It reports whether no read goroutine is left; without a
// deadline it leaves the read in flight (see earlyReader).
func (e *earlyReader) stop() bool {
	if e.pending == nil {
		return true
	}
	d, ok := e.r.(interface{ SetReadDeadline(time.Time) error })
	if !ok || d.SetReadDeadline(time.Now()) != nil {
		return false
	}
	e.take(<-e.pending)
	_ = d.SetReadDeadline(time.Time{})
	return true
}

// Read hands on what the delay read, then the read it left in flight, then
// reads stdin directly.
func (e *earlyReader) Read(p []byte) (int, error) {
	for {
		if len(e.buf) > 0 {
			n := copy(p, e.buf)
			e.buf = e.buf[n:]
			return n, nil
		}
		if e.pending != nil {
			e.take(<-e.pending)
			continue
		}
		if e.err != nil {
			return 0, e.err
		}
		return e.r.Read(p)
	}
}

// helloDelay waits d before the Hello, reading stdin meanwhile (earlyReader):
// true when the runner goes on to its Hello, false when stdin or ctx ended
// first (the runner then exits without a Hello).
func (b *builtin) helloDelay(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	e := newEarlyReader(b.in.r)
	t := time.NewTimer(d)
	defer t.Stop()
	switch err := e.wait(ctx, t.C); {
	case errors.Is(err, errStdinEnded):
		b.log.Info("exo-runner: stdin ended during the hello delay: the supervisor is gone; exiting without a Hello", "delay", d.String(), "read_error", e.err.Error())
		return false
	case err != nil:
		e.stop() // ctx ended (SIGTERM: the supervisor gave up on it)
		return false
	}
	b.in.r = e
	return true
}
