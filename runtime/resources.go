package runtime

import (
	"context"
	"time"

	"github.com/exo-actors/exo-actors/actors/resources"
)

// Errors of RegisterResources; test with errors.Is. The messages name the
// resources concerned.
var (
	// ErrInvalidResource: a ResourceSpec lacks a name or a Close function,
	// or has a negative timeout.
	ErrInvalidResource = resources.ErrInvalidSpec
	// ErrDuplicateResource: a resource of that name is registered already.
	ErrDuplicateResource = resources.ErrDuplicate
	// ErrMissingDependency: a resource depends on a name that is not
	// registered.
	ErrMissingDependency = resources.ErrMissingDependency
	// ErrDependencyCycle: the dependencies form a cycle; the message names
	// it (a → b → a).
	ErrDependencyCycle = resources.ErrCycle
)

// ResourceSpec describes one resource a host registers with
// RegisterResources; it closes during Shutdown's CLOSING phase, after every
// resource that depends on it.
type ResourceSpec struct {
	// Name identifies the resource on this node; it must be unique.
	Name string
	// Kind says what the resource is, e.g. "tempdir", "listener".
	// Informational.
	Kind string
	// DependsOn names resources this one needs: they close only after this
	// one has. Each must be registered already or in the same call.
	DependsOn []string
	// Owner is who the resource belongs to; empty for the host's.
	Owner string
	// Generation is the owner's generation. Informational.
	Generation uint64
	// Close releases the resource; required. It runs on a goroutine of its
	// own; ctx is cancelled when CloseTimeout passes, after which the
	// resource is in error whatever Close returns later. A panic is
	// recovered and counts as a failed close.
	Close func(ctx context.Context) error
	// CloseTimeout bounds Close and Reset; zero means 5s. Negative is an
	// error.
	CloseTimeout time.Duration
	// Reset, if set, tries to bring the resource back from error to active;
	// it runs like Close.
	Reset func(ctx context.Context) error
}

// ResourceState is where a resource is in its life:
//
//	Registered ─activate─▶ Active
//	Registered, Active, Error ─cleanup─▶ Closing ─▶ Closed | Error (then removed)
//	Registered, Active ─error─▶ Error ─reset─▶ Resetting ─▶ Active | Error
type ResourceState int

// The resource states. The zero value is not a state.
const (
	ResourceRegistered ResourceState = iota + 1
	ResourceActive
	ResourceResetting
	ResourceClosing
	ResourceClosed
	ResourceError
)

// String returns the state's name in lower case, e.g. "closing".
func (s ResourceState) String() string { return resources.State(s).String() }

// ResourceSnapshot is the node's resources at one moment.
type ResourceSnapshot struct {
	At time.Time
	// Resources lists the registered resources in registration order;
	// closed ones have left (they show in the counts).
	Resources []ResourceInfo
	// Owners has the counts of each owner that ever registered a resource;
	// the key "" holds the host's.
	Owners map[string]ResourceCounts
	// Node sums Owners.
	Node ResourceCounts
	// Lingering lists close or reset functions still running past their
	// timeout.
	Lingering []LingeringResourceOp
}

// Resource returns the named resource, and whether it is registered.
func (s ResourceSnapshot) Resource(name string) (ResourceInfo, bool) {
	for _, r := range s.Resources {
		if r.Name == name {
			return r, true
		}
	}
	return ResourceInfo{}, false
}

// ResourceInfo is one registered resource in a ResourceSnapshot.
type ResourceInfo struct {
	Name       string
	Kind       string
	Owner      string
	Generation uint64
	DependsOn  []string
	State      ResourceState
	Registered time.Time
	// Errors counts every error of this resource; LastError is the latest
	// one's text.
	Errors    int
	LastError string
	// Resets and ResetFailures count Reset outcomes; LastReset is the
	// latest.
	Resets        int
	ResetFailures int
	LastReset     *ResourceReset
	// Closing: a cleanup will close it.
	Closing bool
}

// ResourceReset is the outcome of a resource's last Reset.
type ResourceReset struct {
	At       time.Time
	Duration time.Duration
	OK       bool
	TimedOut bool
	// Error is empty when OK.
	Error string
}

// ResourceCounts sums up resources, for one owner or the node: the first
// group counts resources registered now, by state; the rest counts events
// since the node started.
type ResourceCounts struct {
	Registered, Active, Resetting, Closing, Error int
	// Closed counts closes that ended Closed; CloseFailed those that ended
	// in error, TimedOut (a part of CloseFailed) those by timeout.
	Closed, CloseFailed, TimedOut int
	// Errors counts every error: failed closes, reported errors, failed
	// resets.
	Errors, Resets, ResetFailures int
	// FinishedLate counts timed-out functions that returned afterwards;
	// Lingering those still running now.
	FinishedLate, Lingering int
}

// LingeringResourceOp is a close or reset function still running past its
// timeout.
type LingeringResourceOp struct {
	Name       string
	Owner      string
	Generation uint64
	// Op is "close" or "reset".
	Op         string
	Started    time.Time
	TimedOutAt time.Time
}
