package runner

import (
	"errors"

	"github.com/exo-actors/exo-actors/internal/frame"
)

// Errors Serve and the Session and Task methods return; test with errors.Is.
var (
	// ErrRefused: the supervisor answered Hello with HelloRefused. The
	// error's text names both version ranges.
	ErrRefused = errors.New("supervisor refused the handshake")
	// ErrProtocol: the supervisor sent something the protocol does not allow
	// (an undecodable frame, a frame out of place).
	ErrProtocol = errors.New("runner protocol violation")
	// ErrInvalidTransition: a handler reported a status the protocol does not
	// allow after the current one, or one only the SDK reports.
	ErrInvalidTransition = errors.New("invalid runner status transition")
	// ErrTaskEnded: Chunk or Finish was called after Finish, or after Run
	// returned.
	ErrTaskEnded = errors.New("task has ended")
	// ErrAbandoned: handlers still ran when Serve had to return (past the stop
	// grace, or the Shutdown timeout less its exit margin). Their goroutines
	// cannot be stopped; exit the process.
	ErrAbandoned = errors.New("handlers abandoned")
	// ErrClosed: a Session or Task method was called after Serve returned.
	ErrClosed = errors.New("runner session is closed")
	// ErrTooLarge: a Chunk (or Finish) whose frame would be over the frame
	// size limit (4 MiB) was refused; nothing was written and the runner
	// goes on. Send a large output in several chunks.
	ErrTooLarge = frame.ErrTooLarge
)

// FatalError, returned by Handler.Run (or Load), ends the whole runner
// instead of failing one task: the task fails, the runner reports Failed
// with Err's text and Diagnostics, sends a TerminationError with Err's text,
// and Serve returns. Use it for errors after which the runner cannot serve
// another task (out of device memory, lost model). A Load or Run that
// panics ends the runner the same way, with the panic's stack as
// Diagnostics (a BeforeShutdown that panics is logged, and the shutdown goes
// on).
//
// The texts are made valid UTF-8 (a frame carries nothing else) and cut to
// what the supervisor keeps (4096 bytes of Err's text, 16384 of
// Diagnostics), ending with " …[truncated N
// bytes]", so a long one still reaches it.
type FatalError struct {
	Err error
	// Diagnostics is what helps find the cause (a traceback, a device
	// state): the supervisor keeps it in the failure
	// (RunnerFailure.RunnerDiagnostics) beside its own diagnosis, and
	// exo-actors remote run prints it under the failure.
	Diagnostics string
}

func (e *FatalError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *FatalError) Unwrap() error { return e.Err }
