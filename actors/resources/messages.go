package resources

import "github.com/asynkron/protoactor-go/actor"

// Messages for actors that talk to the manager without blocking: send them
// with Request and handle the reply as a message. (Client wraps the same
// operations for goroutines that may block.)
type (
	// Register registers specs, all or nothing; the reply is *RegisterResult.
	Register struct{ Specs []Spec }
	// RegisterResult answers Register.
	RegisterResult struct{ Err error }
	// CloseOwner closes every resource of Owner; the reply is *CloseResult.
	CloseOwner struct{ Owner string }
	// CloseAll closes every resource; the reply is *CloseResult.
	CloseAll struct{}
	// CloseResult answers CloseOwner and CloseAll.
	CloseResult struct {
		Report CloseReport
		Err    error
	}
)

// Messages for the health monitor (and any actor that must not block).
type (
	// SnapshotQuery asks for a snapshot; the reply is *Snapshot.
	SnapshotQuery struct{}
	// ResetResource resets a resource in Error (see Client.Reset); the reply
	// is *ResetResourceResult once the reset finished (or was refused).
	ResetResource struct{ Name string }
	// ResetResourceResult answers ResetResource: Err is nil when the
	// resource is Active again.
	ResetResourceResult struct {
		Name string
		Err  error
	}
)

// resetWaiter is a caller waiting for a reset's outcome: a Client (answered
// with *errReply) or an actor that sent ResetResource (msg).
type resetWaiter struct {
	pid  *actor.PID
	name string
	msg  bool
}

func (w resetWaiter) reply(err error) any {
	if w.msg {
		return &ResetResourceResult{Name: w.name, Err: err}
	}
	return &errReply{err: err}
}
