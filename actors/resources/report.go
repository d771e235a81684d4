package resources

import (
	"fmt"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/errjoin"
)

// Outcome is how one close ended.
type Outcome int

// The outcomes of a close.
const (
	// CloseOK: Close returned nil within its timeout; the resource is Closed.
	CloseOK Outcome = iota + 1
	// CloseFailed: Close returned an error (or panicked); the resource ended
	// in Error.
	CloseFailed
	// CloseTimedOut: Close did not return within its timeout; the resource
	// ended in Error and its function may still be running.
	CloseTimedOut
)

// String returns "closed", "failed" or "timed out".
func (o Outcome) String() string {
	switch o {
	case CloseOK:
		return "closed"
	case CloseFailed:
		return "failed"
	case CloseTimedOut:
		return "timed out"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// MarshalText implements encoding.TextMarshaler.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// CloseEntry is one resource's close in a CloseReport.
type CloseEntry struct {
	Name       string
	Kind       string
	Owner      string
	Generation uint64
	// Started is when its Close was called, on the manager's clock.
	Started time.Time
	// Duration is how long Close ran, or the timeout for CloseTimedOut.
	Duration time.Duration
	Outcome  Outcome
	// Err is what Close returned, or an error wrapping ErrTimeout; nil for
	// CloseOK.
	Err error
	// StillRunning: the close timed out and its function had not returned
	// when the entry was made. Manager.Wait waits for it; the snapshot
	// lists it under Lingering until it returns.
	StillRunning bool
	// Dependent: the resource is outside the requested scope (another
	// owner's) and was closed first because it depends on one inside it.
	Dependent bool
	// Failure is the failure reported for a failed or timed-out close, nil
	// for CloseOK.
	Failure *errhandler.Failure
}

// CloseReport tells how one cleanup (CloseOwner, CloseAll) went.
type CloseReport struct {
	// Scope is what was asked: "owner <id>" or "all".
	Scope string
	// Started is when the cleanup started, Duration how long it took, on
	// the manager's clock.
	Started  time.Time
	Duration time.Duration
	// Entries has one entry per resource closed, in the order the closes
	// finished. A resource that another cleanup was already closing is
	// listed too, with that close's outcome.
	Entries []CloseEntry
	// Order is the names of Entries, in the same order.
	Order []string
	// Failures lists the failures of the failed and timed-out closes
	// (errhandler.KindResourceCloseFailed), in Entries order.
	Failures []errhandler.Failure
}

// Err returns nil when every close succeeded, else the Failures joined;
// errors.As finds each errhandler.Failure, errors.Is finds ErrTimeout.
func (r CloseReport) Err() error {
	if len(r.Failures) == 0 {
		return nil
	}
	errs := make([]error, len(r.Failures))
	for i, f := range r.Failures {
		errs[i] = f
	}
	return errjoin.OneLine(errs...)
}

// Entry returns the entry of the named resource, and whether there is one.
func (r CloseReport) Entry(name string) (CloseEntry, bool) {
	for _, e := range r.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return CloseEntry{}, false
}

// ResetResult is the outcome of the last Reset of a resource.
type ResetResult struct {
	At       time.Time     // when the Reset started
	Duration time.Duration // how long it ran, or the timeout
	OK       bool
	TimedOut bool
	Error    string // empty when OK
}

// ResourceInfo is one registered resource in a Snapshot.
type ResourceInfo struct {
	Name       string
	Kind       string
	Owner      string
	Generation uint64
	DependsOn  []string
	State      State
	// Registered is when it was registered, on the manager's clock.
	Registered time.Time
	// Errors counts every error of this resource: reported errors, failed
	// resets. LastError is the latest one's text.
	Errors    int
	LastError string
	// Resets and ResetFailures count Reset outcomes; LastReset is the latest.
	Resets        int
	ResetFailures int
	LastReset     *ResetResult
	// Closing: a cleanup will close it (it may be waiting for dependents).
	Closing bool
}

// Counts sums up resources, for one owner or for the node. The first group
// counts resources registered now, by state; the rest counts events since
// the manager started.
type Counts struct {
	Registered int
	Active     int
	Resetting  int
	Closing    int
	Error      int

	// Closed counts closes that ended Closed; CloseFailed those that ended
	// in Error, TimedOut (a part of CloseFailed) those by timeout.
	Closed      int
	CloseFailed int
	TimedOut    int
	// Errors counts every error: failed closes, reported errors, failed
	// resets.
	Errors        int
	Resets        int
	ResetFailures int
	// FinishedLate counts timed-out close and reset functions that returned
	// afterwards; Lingering those still running now.
	FinishedLate int
	Lingering    int
}

// InState returns the number of registered resources in state s; for
// Closed it returns the Closed count (closed resources leave the graph).
func (c Counts) InState(s State) int {
	switch s {
	case Registered:
		return c.Registered
	case Active:
		return c.Active
	case Resetting:
		return c.Resetting
	case Closing:
		return c.Closing
	case Closed:
		return c.Closed
	case Error:
		return c.Error
	}
	return 0
}

func (c *Counts) addState(s State) {
	switch s {
	case Registered:
		c.Registered++
	case Active:
		c.Active++
	case Resetting:
		c.Resetting++
	case Closing:
		c.Closing++
	case Error:
		c.Error++
	}
}

func (c *Counts) add(o Counts) {
	c.Registered += o.Registered
	c.Active += o.Active
	c.Resetting += o.Resetting
	c.Closing += o.Closing
	c.Error += o.Error
	c.Closed += o.Closed
	c.CloseFailed += o.CloseFailed
	c.TimedOut += o.TimedOut
	c.Errors += o.Errors
	c.Resets += o.Resets
	c.ResetFailures += o.ResetFailures
	c.FinishedLate += o.FinishedLate
	c.Lingering += o.Lingering
}

// Lingering is a close or reset function still running past its timeout.
type Lingering struct {
	Name       string
	Owner      string
	Generation uint64
	Op         string // "close" or "reset"
	Started    time.Time
	TimedOutAt time.Time
}

// Snapshot is the manager's state at one moment.
type Snapshot struct {
	At time.Time
	// Resources lists the registered resources in registration order.
	// Closed resources (and those whose close failed) have left; they show
	// in the counts.
	Resources []ResourceInfo
	// Owners has the counts of each owner that registered a resource and
	// was not forgotten since (ForgetOwner: a removed runner, once it has
	// nothing left); the key "" holds the resources without owner.
	Owners map[string]Counts
	// Node sums Owners and the owners forgotten.
	Node Counts
	// Lingering lists functions still running past their timeout.
	Lingering []Lingering
}

// Resource returns the named resource, and whether it is registered.
func (s Snapshot) Resource(name string) (ResourceInfo, bool) {
	for _, r := range s.Resources {
		if r.Name == name {
			return r, true
		}
	}
	return ResourceInfo{}, false
}
