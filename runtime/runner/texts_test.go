package runner_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/runner"
)

// failedStatus reads frames up to the runner's Failed status and returns it.
func failedStatus(t *testing.T, s *sup) *exov1.RunnerStatus {
	t.Helper()
	for {
		if st := s.next().GetStatusUpdated().GetStatus(); st.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED {
			return st
		}
	}
}

// TestFatalErrorDiagnosticsReachTheSupervisor: a FatalError's Diagnostics
// go in the Failed status, as protocol.md asks of a runner; a Go runner
// had no way to send them.
func TestFatalErrorDiagnosticsReachTheSupervisor(t *testing.T) {
	s := start(t, handler{run: func(context.Context, *runner.Task) error {
		return &runner.FatalError{Err: errors.New("device lost"), Diagnostics: "cuda: error 700 at step 12"}
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	if st := failedStatus(t, s); st.GetErrorMessage() != "device lost" || st.GetDiagnostics() != "cuda: error 700 at step 12" {
		t.Errorf("Failed status %q / %q; want the FatalError's text and diagnostics", st.GetErrorMessage(), st.GetDiagnostics())
	}
	_ = s.wait()
}

// TestPanicStackIsTheDiagnostics: a handler's panic ends the runner with
// its stack as the Failed status's diagnostics (the SDK's default logger
// discards, and a Go runner's trial lost every panic's stack).
func TestPanicStackIsTheDiagnostics(t *testing.T) {
	s := start(t, handler{run: func(context.Context, *runner.Task) error { panic("oops") }})
	s.acceptReady()
	s.send(task("t1", "gen"))
	if d := failedStatus(t, s).GetDiagnostics(); !strings.Contains(d, "goroutine") || !strings.Contains(d, "texts_test.go") {
		t.Errorf("diagnostics %q; want the panic's stack", d)
	}
	_ = s.wait()
}

// TestLongTextsAreCutAndLargeChunksRefused: a task's error text is cut to
// what the supervisor keeps, and a chunk over the frame limit fails its
// Chunk call alone; the runner goes on with the next task. Before, either
// made a frame over the limit, whose failed write ended the runner (exit 1,
// nothing said to the supervisor).
func TestLongTextsAreCutAndLargeChunksRefused(t *testing.T) {
	chunkErr := make(chan error, 1) // one: task t2's Chunk
	s := start(t, handler{run: func(_ context.Context, tk *runner.Task) error {
		switch tk.ID() {
		case "t1":
			return errors.New(strings.Repeat("x", 5<<20))
		case "t2":
			chunkErr <- tk.Chunk(strings.Repeat("y", 5<<20))
		}
		return tk.Finish("stop", ".")
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	for {
		env := s.next()
		if e := env.GetChunkGenerated().GetError(); e != nil {
			if n := len(e.GetErrorMessage()); n > protocol.TextMax || !strings.Contains(e.GetErrorMessage(), " …[truncated ") {
				t.Fatalf("error chunk of %d bytes; want it cut to %d with the marker", n, protocol.TextMax)
			}
		}
		if st := env.GetTaskStatusUpdated(); st.GetStatus() == exov1.TaskStatus_TASK_STATUS_FAILED {
			break
		}
	}
	s.send(task("t2", "gen"))
	if err := <-chunkErr; !errors.Is(err, runner.ErrTooLarge) {
		t.Errorf("Chunk of 5 MiB: %v; want an error wrapping runner.ErrTooLarge", err)
	}
	for {
		if st := s.next().GetTaskStatusUpdated(); st.GetTaskId() == "t2" && st.GetStatus() == exov1.TaskStatus_TASK_STATUS_COMPLETE {
			break
		}
	}
}

// TestSignalStopsServe: with WithSignals (on by default for a runner
// process reading os.Stdin), SIGTERM stops Serve as its context's end does,
// and Serve returns nil: the process exits 0, as the supervisor expects of
// a runner it stopped with SIGTERM. A Go runner's trial had to wire it
// itself, or its exit read "signal=15".
func TestSignalStopsServe(t *testing.T) {
	s := start(t, handler{}, runner.WithSignals(true))
	s.acceptReady() // Serve registered for the signals before its Hello
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := s.wait(); err != nil {
		t.Errorf("Serve after SIGTERM = %v, want nil", err)
	}
}

// TestSignalGraceBoundsTheStop: after SIGTERM Serve waits SignalGrace for
// handlers that ignore their cancellation, not the stop grace (here 10
// minutes; by default 2 s, the supervisor's term_wait before its SIGKILL).
// Serve watches the signal on a channel of its own: a caller's own
// NotifyContext, which ends Serve's context on the same signal, no longer
// decides the grace by winning the race (a review). The wait is read off
// ErrAbandoned's text, not timed.
func TestSignalGraceBoundsTheStop(t *testing.T) {
	release := make(chan struct{})
	defer close(release) // sole sender: this test
	running := make(chan struct{}, 1)
	s := start(t, handler{run: func(context.Context, *runner.Task) error {
		running <- struct{}{}
		<-release // ignores its cancellation
		return nil
	}}, runner.WithSignals(true), runner.WithStopGrace(10*time.Minute))
	s.acceptReady()
	s.send(task("t1", "gen"))
	<-running
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := s.wait()
	if !errors.Is(err, runner.ErrAbandoned) || !strings.Contains(err.Error(), "still running "+runner.SignalGrace.String()+" after cancellation") {
		t.Errorf("Serve after SIGTERM with a stubborn task = %v; want ErrAbandoned after SignalGrace (%s)", err, runner.SignalGrace)
	}
}

// TestTextThatIsNotUTF8: a chunk whose text is not UTF-8 (half of "€")
// fails its call alone, and an error text that is not is made valid: the
// task's end reaches the supervisor. Before, proto3 refused to marshal
// either, the write counted as failed, and the runner ended saying nothing.
func TestTextThatIsNotUTF8(t *testing.T) {
	chunkErr := make(chan error, 1) // one: task t1's Chunk
	s := start(t, handler{run: func(_ context.Context, tk *runner.Task) error {
		chunkErr <- tk.Chunk("\xe2\x82")
		return errors.New("open /models/\xff\xfe.bin: no such file")
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	if err := <-chunkErr; err == nil || !strings.Contains(err.Error(), "must be UTF-8") {
		t.Errorf("Chunk of half a character: %v; want an error saying a frame's text must be UTF-8", err)
	}
	for {
		if st := s.next().GetTaskStatusUpdated(); st.GetStatus() == exov1.TaskStatus_TASK_STATUS_FAILED {
			if st.GetReason() != "open /models/\uFFFD.bin: no such file" {
				t.Errorf("reason %q; want the error text with its bad bytes replaced", st.GetReason())
			}
			return
		}
	}
}
