// Package runner is the runner-side SDK: what a Go runner program imports to
// speak the runner protocol (docs/protocol.md) with the exo-actors supervisor
// that started it.
//
// A runner program implements a Handler and calls Serve, which owns the
// process's stdin (supervisor → runner frames) and stdout (runner → supervisor
// frames) until the runner is told to shut down or the supervisor goes away:
//
//	import (
//		"context"
//		"fmt"
//		"os"
//
//		exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
//		"github.com/exo-actors/exo-actors/runtime/runner"
//	)
//
//	type model struct{}
//
//	func (model) Load(ctx context.Context, s *runner.Session) error {
//		if err := s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING); err != nil {
//			return err
//		}
//		// ... Connected, then Loading(k, n) per layer, Loaded, WarmingUp ...
//		return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY)
//	}
//
//	func (model) Run(ctx context.Context, t *runner.Task) error {
//		for i := 0; i < 3; i++ {
//			if err := ctx.Err(); err != nil {
//				return err // cancelled: the SDK reports the task Cancelled
//			}
//			if err := t.Chunk(fmt.Sprintf("tok%d ", i)); err != nil {
//				return err
//			}
//		}
//		return t.Finish("stop", ".")
//	}
//
//	func main() {
//		if err := runner.Serve(context.Background(), model{}); err != nil {
//			fmt.Fprintln(os.Stderr, "runner:", err)
//			os.Exit(1)
//		}
//	}
//
// # What the SDK does for the handler
//
//   - Handshake. The first frame is Hello with the versions the runner speaks,
//     its ID (from the environment variable EXO_RUNNER_ID), its PID and
//     its capabilities. HelloAccepted fixes the version and the heartbeat
//     interval (zero means 500 ms); HelloRefused
//     makes Serve return an error wrapping ErrRefused whose text names both
//     version ranges (the supervisor's reason).
//   - Statuses. The runner starts Idle, which the supervisor assumes without
//     a report (Idle → Idle is no transition). Load reports its way to Ready
//     with Session.SetStatus and Session.Loading; every change is checked
//     against the transitions of docs/protocol.md ("Runner statuses") and an
//     illegal one is refused with ErrInvalidTransition, so a buggy handler
//     cannot break the protocol. Running, ShuttingDown, Shutdown and
//     Failed are the SDK's own.
//   - Tasks. For each Task frame the SDK sends, in this order,
//     TaskStatusUpdated(Running), StatusUpdated(Running) (unless already
//     Running) and TaskAcknowledged, then calls Handler.Run in a goroutine of
//     its own. Those three frames go out with the task's first chunk or its
//     end, whichever comes first, or as soon as the reader runs again
//     (within microseconds while a P is free; behind computing goroutines
//     on every P, up to the scheduler's 10 ms time slice; at once with
//     GOMAXPROCS 1): a task that ends at once sends its start and its end
//     in one write. When Run returns nil: TaskStatusUpdated(Complete); an error:
//     ChunkGenerated(ErrorChunk) and TaskStatusUpdated(Failed, reason); an
//     error after a Cancel: TaskStatusUpdated(Cancelled). Then
//     StatusUpdated(Ready) once no task runs. A Task with the ID of a task
//     still running is ignored (and logged). The Task's timeout field is
//     ignored: the supervisor enforces timeouts by cancelling the task.
//   - Fatal errors. Load returning an error, or Run returning a *FatalError,
//     ends the runner: StatusUpdated(Failed, with the FatalError's
//     Diagnostics) and then TerminationError carrying the error's text are
//     its last frames, and Serve returns the error. A panic in Load or Run
//     is recovered and ends the runner the same way, with the panic's
//     stack as the diagnostics (the task it happened in ends Failed, not
//     retried on this runner); a panic in BeforeShutdown is logged and the
//     shutdown goes on; an error returned by Run fails that task alone.
//     The texts are made valid UTF-8 and cut to what the supervisor keeps
//     (4096 bytes of a message, 16384 of diagnostics), so a long error still
//     reaches it; a Chunk over the frame limit (4 MiB) returns an error
//     wrapping ErrTooLarge, and one whose text is not valid UTF-8 (half of
//     a multi-byte character: join a token's bytes first) an error too;
//     either writes nothing, and the runner goes on.
//   - Heartbeats go out every interval from the SDK's own goroutine, with
//     progress counters (token chunks sent, layers loaded, tasks completed), so
//     a handler that hangs while the SDK lives shows frozen counters. A Ping is
//     answered at once by a Heartbeat echoing its nonce.
//   - Shutdown. On a Shutdown frame the SDK reports ShuttingDown, cancels the
//     running tasks (and Load), waits for them up to the frame's timeout less
//     an exit margin (500ms, or a fifth of a timeout under 2.5s; counted from
//     when the SDK takes the frame; zero: no limit), reports Shutdown and
//     Serve returns: the process exits before the supervisor's SIGTERM,
//     which comes when the timeout ends, even when a handler ignores its
//     cancellation (Serve then returns ErrAbandoned). A Handler that also
//     implements ShutdownHook sees the request first; its time counts in
//     the timeout, and nothing bounds it but the SIGTERM.
//   - Supervisor gone. When stdin ends, or Serve's context ends, the SDK
//     cancels everything, waits up to the stop grace (WithStopGrace) and Serve
//     returns nil: a runner whose supervisor died must not linger.
//   - Signals. A runner process (Serve reading os.Stdin, also through
//     WithIO; WithSignals to choose) stops on SIGTERM and SIGINT as on its
//     context's end, waiting at most SignalGrace (1 s, also when a stop is
//     already under way) for the handlers, and Serve returns nil when they
//     returned, so the process exits 0 before the supervisor's SIGKILL
//     (timeouts.term_wait after its SIGTERM); handlers that ignore their
//     cancellation make it return ErrAbandoned after SignalGrace. Exit
//     non-zero when Serve returns an error (ErrAbandoned: exit 1, as the
//     Python SDK does).
//
// # Goroutines
//
// Serve runs a main loop on the caller's goroutine. It owns, and waits for
// before returning, one heartbeat goroutine and one goroutine per Load, Run and
// BeforeShutdown call — except handlers that ignore their context past the
// stop grace or the Shutdown timeout less its exit margin: Serve then returns an error wrapping
// ErrAbandoned, and the caller should exit the process. One more goroutine
// reads stdin; a Read cannot be interrupted, so Serve does not wait for it: it
// ends when stdin ends or fails, and delivers nothing after Serve returned.
//
// The reader goroutine itself starts tasks (Running and TaskAcknowledged),
// cancels them and answers Pings; a task's goroutine writes its end and,
// unless the task failed fatally or a stop waits for it, also does the
// rest of its end without waking the main loop. Only the handshake, Load,
// Shutdown and failures go through the main loop. Each hand-off between goroutines costs a thread
// wake-up, which dominates a small task's round trip. A Shutdown is noted
// by the reader at once: ShuttingDown is reported and the running tasks
// cancelled before the main loop takes it, and a cancelled task's Chunk
// returns ErrTaskEnded without writing, so a task that floods its output
// stops within one chunk. When the input is an *os.File pipe (os.Stdin by
// default), Serve reads it through Go's network poller (a non-blocking
// duplicate, put back in blocking mode when Serve returns), so a task
// started by the reader runs at once on the reader's thread.
//
// Frames are written under one mutex, each in one Write call, and the frames
// of one step (Running, the runner's Running status and TaskAcknowledged; a
// task's end and Ready; both steps for a task that ends before the reader
// runs again) together in one Write, so several goroutines
// (heartbeats, tasks, the reader, the main loop) never interleave bytes.
// When the output is an *os.File pipe (os.Stdout by default), each Write
// goes to the pipe at once while it has room; when it is full (the
// supervisor reads slower than the runner writes), the frames that follow
// are kept, up to 64 KiB, and written in one write(2) when the pipe has
// room, so a flooding task costs one system call per pipe-full rather than
// per frame. A Write blocks only when 64 KiB are already kept; Serve writes
// what is kept before it returns, so a process that exits on its own
// (os.Exit, a fatal signal) while the pipe is full loses up to 64 KiB of
// frames it had written. Writes go through a duplicate of the descriptor,
// so a supervisor that has gone away makes a write fail with EPIPE (the
// runner then stops as for any write failure) instead of killing the
// process with SIGPIPE.
package runner
