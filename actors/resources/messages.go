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
	// CloseOwner closes every resource of Owner (of one process generation
	// when Generation is not 0); the reply is *CloseResult carrying Tag, so
	// a caller that asks more than once can tell the answers apart.
	CloseOwner struct {
		Owner      string
		Generation uint64
		Tag        uint64
	}
	// ResetOwner starts the Reset of every resource of Owner that is in
	// Error and has a Reset function (FORCE_CLEANUP). The reply, *ResetResult,
	// comes at once and names what was started and what was not; the
	// outcome of each reset shows in Snapshot as usual.
	ResetOwner struct {
		Owner string
		Tag   uint64
	}
	// OwnerResetResult answers ResetOwner.
	OwnerResetResult struct {
		Tag uint64
		// Started names the resources whose Reset was started.
		Started []string
		// Skipped names resources in Error that cannot be reset, with why.
		Skipped []string
	}
	// CloseAll closes every resource; the reply is *CloseResult.
	CloseAll struct{}
	// CloseResult answers CloseOwner and CloseAll.
	CloseResult struct {
		Tag    uint64 // CloseOwner's Tag
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
