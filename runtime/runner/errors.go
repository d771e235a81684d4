package runner

import "errors"

// Errors Serve and the Session and Task methods return; test with errors.Is.
var (
	// ErrRefused: the supervisor answered Hello with HelloRefused. The error
	// also wraps a *protocol.VersionError naming both version ranges.
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
)

// FatalError, returned by Handler.Run, ends the whole runner instead of
// failing one task: the task fails, the runner reports Failed and sends a
// TerminationError with Err's text, and Serve returns. Use it for errors after
// which the runner cannot serve another task (out of device memory, lost
// model).
type FatalError struct {
	Err error
}

func (e *FatalError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *FatalError) Unwrap() error { return e.Err }
