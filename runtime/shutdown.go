package runtime

import (
	"strconv"
	"time"
)

// Phase is a step of the coordinated shutdown.
type Phase int

// The three phases, in order.
const (
	// PhaseSignaling: no new work is accepted (ErrShuttingDown); runners
	// take no new tasks and queued ones end Cancelled.
	PhaseSignaling Phase = iota
	// PhaseDraining: in-flight tasks finish or time out; streams flush.
	PhaseDraining
	// PhaseClosing: runners exit (Shutdown frame, SIGTERM, SIGKILL to the
	// group), resources close in reverse dependency order, streams end.
	PhaseClosing
)

// String returns "SIGNALING", "DRAINING" or "CLOSING".
func (p Phase) String() string {
	switch p {
	case PhaseSignaling:
		return "SIGNALING"
	case PhaseDraining:
		return "DRAINING"
	case PhaseClosing:
		return "CLOSING"
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// Outcome says how an actor's phase ended. A parent's outcome summarises its
// children's: the worst of its own and theirs (ok < timed out < failed <
// forced).
type Outcome string

// The outcomes of a phase.
const (
	// OutcomeOK: done within the deadline (a stream with nothing to flush is
	// ok even past it).
	OutcomeOK Outcome = "ok"
	// OutcomeTimedOut: past the deadline; what was left was cut short.
	OutcomeTimedOut Outcome = "timed out"
	// OutcomeForced: FORCE_CLEANUP, the actor did not end on its own,
	// whether or not a deadline passed: a runner that ended only by
	// SIGKILL to its group (its own stop escalation's, a phase deadline's
	// or ForceKill's) or by SIGTERM after it ignored the Shutdown frame;
	// a resource whose Close failed or timed out (left in error). The
	// note says which.
	OutcomeForced Outcome = "forced"
	// OutcomeFailed: the actor failed during the phase.
	OutcomeFailed Outcome = "failed"
)

// ShutdownReport is the result of Shutdown: the actor tree (node → runners,
// resources, streams) with each actor's three phases.
type ShutdownReport struct {
	Start time.Time
	// PhaseStart and PhaseDuration of the node as a whole, indexed by
	// Phase: the phases run back to back (in a stepped shutdown,
	// ShutdownPhase, the waits between phases are in Total, in no phase).
	PhaseStart    [3]time.Time
	PhaseDuration [3]time.Duration
	// PhaseDeadline is the deadline each phase ran with, counted from its
	// PhaseStart (zero: not run); PhaseCoordinated says it was a
	// coordinator's (ShutdownPhase with a deadline: a cluster-wide
	// shutdown's phase timeout), not the node's own ShutdownDeadlines. A
	// phase that ended before its deadline was cut short by something
	// else (a runner's own stop escalation, a resource's close).
	PhaseDeadline    [3]time.Duration
	PhaseCoordinated [3]bool
	// Total is measured from Start with its own clock reading.
	Total time.Duration
	// Root is the node's report.
	Root *ActorReport
	// Forced names the actors that were force-cleaned themselves
	// (OutcomeForced, not a parent that only summarises a forced child),
	// by path and phase.
	Forced []string
	// Errors met on the way (requests that got no answer, ...).
	Errors []string
}

// String renders the report as a tree, one actor a line.
func (r ShutdownReport) String() string { return toShutdownReport(r).String() }

// Clean reports whether the shutdown went as planned: each of the node's
// three phases ended ok (no deadline passed, nothing failed or was forced:
// a DRAINING that timed out, cutting tasks short, is not clean), and no
// request went unanswered. Shutdown's error is nil for a shutdown that ran
// to its end, clean or not: a host that must report work cut short checks
// Clean (or the phases' Outcome and TasksFailed). A runner whose failure
// was detected before Shutdown began (a WaitReady that returned it, and
// Shutdown called at once) is not a failure of the shutdown: it is absent,
// or listed ok with the note "had failed before the shutdown began: …".
func (r ShutdownReport) Clean() bool {
	if r.Root == nil || len(r.Forced) > 0 || len(r.Errors) > 0 {
		return false
	}
	for _, p := range r.Root.Phases {
		if p == nil || p.Outcome != OutcomeOK {
			return false
		}
	}
	return true
}

// ActorReport is one actor in the shutdown report tree.
type ActorReport struct {
	Name string
	// Phases is indexed by Phase; nil when the actor took no part in one.
	Phases   [3]*PhaseReport
	Children []*ActorReport
}

// PhaseReport is one actor's account of one phase, with its children's.
type PhaseReport struct {
	Actor    string
	Phase    Phase
	Start    time.Time
	Duration time.Duration
	Outcome  Outcome
	Note     string
	// TasksDrained ended normally (Complete) during the phase; TasksFailed
	// were cut short by the shutdown (queued tasks it cancelled, tasks its
	// drain deadline ended TimedOut); TasksUnfinished ended during the
	// phase by themselves without completing (Failed, e.g. never
	// acknowledged; TimedOut by their own deadline; Cancelled by their
	// client). Only a cut is the shutdown's doing: a phase whose tasks
	// ended unfinished before its deadline is still ok.
	TasksDrained, TasksFailed, TasksUnfinished int
	// EventsDelivered by a stream during the phase.
	EventsDelivered uint64
	Children        []*PhaseReport
}
