package errhandler

import (
	"fmt"
	"maps"
	"syscall"
	"time"
)

// Resolution says how a recorded failure ended.
type Resolution int

// Resolutions.
const (
	// Unresolved: nothing has fixed it yet. A restart is planned or under
	// way, or the runner was stopped before it came back.
	Unresolved Resolution = iota
	// Resolved: the runner was Ready again after the restart.
	Resolved
	// Escalated: the failure was handed to the parent.
	Escalated
	// Skipped: the decision was to carry on (SKIP); nothing to wait for.
	Skipped
)

// String returns "unresolved", "resolved", "escalated" or "skipped".
func (r Resolution) String() string {
	switch r {
	case Unresolved:
		return "unresolved"
	case Resolved:
		return "resolved"
	case Escalated:
		return "escalated"
	case Skipped:
		return "skipped"
	}
	return fmt.Sprintf("Resolution(%d)", int(r))
}

// MarshalText encodes r as its String.
func (r Resolution) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Record is one handled failure: what happened, what was decided, and how it
// ended.
type Record struct {
	// ID numbers records from 1, in the order they were handled.
	ID uint64
	// Time is when the handler handled the failure, on its clock.
	Time       time.Time
	Component  string
	Operation  string
	RunnerID   string
	Generation uint64
	Kind       Kind
	ExitCode   int
	Signal     syscall.Signal
	// Decision is the final decision, after restart intensity.
	Decision Decision
	// Note says why Decision differs from the table's answer, if it does.
	Note string
	// Attempt is the restart this record plans, counted from 1 since the
	// runner was last stable; 0 when the decision restarts nothing.
	Attempt int
	// Delay is the backoff before that restart; 0 when there is none.
	Delay time.Duration
	// Message is the failure's one-line description (Failure.Error).
	Message string
	// Causes is the cause chain, outermost first.
	Causes []string
	// Cleanup lists the steps FORCE_CLEANUP carried out before the
	// follow-up (Decision.Then), in order; empty for other actions.
	Cleanup []string
	// Resolution and ResolvedAt track how the failure ended. ResolvedAt is
	// zero while unresolved.
	Resolution Resolution
	ResolvedAt time.Time
}

// Stats counts every failure handled, including those whose records have
// since been dropped from the bounded history.
type Stats struct {
	// Total is the number of failures handled.
	Total      int
	ByKind     map[Kind]int
	BySeverity map[Severity]int
	ByAction   map[Action]int // by the final Action
	// Retries counts decisions that restart a runner (RETRY, or
	// FORCE_CLEANUP then RETRY).
	Retries int
	// SuccessesAfterRetry counts recoveries: a runner Ready again after one or
	// more restarts.
	SuccessesAfterRetry int
	// IntensityExceeded counts restarts turned into ESCALATE by the restart
	// intensity limit.
	IntensityExceeded int
	// Dropped is the number of records dropped from the history.
	Dropped int
}

// clone returns a deep copy of s.
func (s Stats) clone() Stats {
	s.ByKind = maps.Clone(s.ByKind)
	s.BySeverity = maps.Clone(s.BySeverity)
	s.ByAction = maps.Clone(s.ByAction)
	return s
}
