package actors

import (
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Phase is a step of the coordinated shutdown.
type Phase int

// The three phases, in order.
const (
	// PhaseSignaling: no new work is accepted; runners take no new tasks.
	PhaseSignaling Phase = iota
	// PhaseDraining: in-flight tasks finish or time out; streams flush.
	PhaseDraining
	// PhaseClosing: runners exit, resources close in reverse dependency
	// order, streams end, actors stop.
	PhaseClosing
	numPhases
)

func (p Phase) String() string {
	switch p {
	case PhaseSignaling:
		return "SIGNALING"
	case PhaseDraining:
		return "DRAINING"
	case PhaseClosing:
		return "CLOSING"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Outcome says how an actor's phase ended.
type Outcome string

// The outcomes of a phase.
const (
	OutcomeOK       Outcome = "ok"
	OutcomeTimedOut Outcome = "timed out" // past the deadline; what was left was cut short
	OutcomeForced   Outcome = "forced"    // FORCE_CLEANUP: it did not end on its own (runtime.OutcomeForced says when)
	OutcomeFailed   Outcome = "failed"    // the actor failed during the phase
)

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

	// id is the phase request this report answers: a parent files it only
	// under that request, so a late answer to an earlier phase (or an
	// earlier shutdown) is never taken for the current one.
	id uint64
}

// ActorReport is one actor in the shutdown report tree, with its three phases.
type ActorReport struct {
	Name     string
	Phases   [numPhases]*PhaseReport // nil when the actor did not take part in a phase
	Children []*ActorReport
}

// ShutdownReport is the result of a node's shutdown: the actor tree with each
// actor's phases, and the total measured on its own clock reading.
type ShutdownReport struct {
	Start time.Time
	// PhaseStart and PhaseDuration of the node as a whole: the phases run
	// back to back, each starting at the clock reading that ended the last
	// (in a stepped shutdown, ShutdownPhase, a phase asked for later starts
	// when asked: the wait is in Total, in no phase).
	PhaseStart    [numPhases]time.Time
	PhaseDuration [numPhases]time.Duration
	// PhaseDeadline is the deadline each phase of the node ran with,
	// counted from its PhaseStart (zero: not run); PhaseCoordinated says
	// it was a coordinator's (ShutdownPhase with a deadline: a cluster-wide
	// shutdown's phase timeout), not the node's own ShutdownDeadlines. A
	// host that says which setting to raise reads them.
	PhaseDeadline    [numPhases]time.Duration
	PhaseCoordinated [numPhases]bool
	// Total is measured from Start with its own clock reading, not summed.
	Total time.Duration
	Root  *ActorReport
	// Forced names the actors that were force-cleaned past a deadline.
	Forced []string
	// Errors met on the way (requests that got no answer, ...).
	Errors []string
}

// merge adds a phase report tree into the actor tree.
func (r *ActorReport) merge(p *PhaseReport) {
	r.Phases[p.Phase] = p
	for _, c := range p.Children {
		var child *ActorReport
		for _, have := range r.Children {
			if have.Name == c.Actor {
				child = have
			}
		}
		if child == nil {
			child = &ActorReport{Name: c.Actor}
			r.Children = append(r.Children, child)
		}
		child.merge(c)
	}
}

func (r *ActorReport) forced(prefix string, out *[]string) {
	name := prefix + r.Name
	for i, p := range r.Phases {
		// A parent's outcome summarises its children's: name only the
		// actors that were forced themselves, not their ancestors.
		if p != nil && p.Outcome == OutcomeForced && !r.childForced(i) {
			*out = append(*out, name+" ("+p.Phase.String()+")")
		}
	}
	for _, c := range r.Children {
		c.forced(name+"/", out)
	}
}

func (r *ActorReport) childForced(phase int) bool {
	for _, c := range r.Children {
		if p := c.Phases[phase]; p != nil && p.Outcome == OutcomeForced {
			return true
		}
	}
	return false
}

// outcomeRank orders outcomes from best to worst; a parent's outcome is the
// worst of its own and its children's.
func outcomeRank(o Outcome) int {
	switch o {
	case OutcomeOK:
		return 0
	case OutcomeTimedOut:
		return 1
	case OutcomeFailed:
		return 2
	case OutcomeForced:
		return 3
	}
	return 0
}

// WorseOutcome returns the worse of two outcomes (ok < timed out < failed <
// forced): how a parent summarises its children's.
func WorseOutcome(a, b Outcome) Outcome {
	if outcomeRank(b) > outcomeRank(a) {
		return b
	}
	return a
}

// String renders the report as a tree, one actor a line.
func (s ShutdownReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "shutdown report: total %s (SIGNALING %s, DRAINING %s, CLOSING %s)\n", round(s.Total),
		round(s.PhaseDuration[PhaseSignaling]), round(s.PhaseDuration[PhaseDraining]), round(s.PhaseDuration[PhaseClosing]))
	if s.Root != nil {
		s.Root.render(&b, "", "")
	}
	for _, f := range s.Forced {
		fmt.Fprintf(&b, "forced: %s\n", f)
	}
	for _, e := range s.Errors {
		fmt.Fprintf(&b, "error: %s\n", e)
	}
	return b.String()
}

func (r *ActorReport) render(b *strings.Builder, lead, childLead string) {
	var parts []string
	for _, p := range r.Phases {
		if p == nil {
			continue
		}
		s := fmt.Sprintf("%s %s %s", p.Phase, p.Outcome, round(p.Duration))
		var extra []string
		if p.TasksDrained > 0 {
			extra = append(extra, fmt.Sprintf("%d drained", p.TasksDrained))
		}
		if p.TasksFailed > 0 {
			extra = append(extra, fmt.Sprintf("%d cut short", p.TasksFailed))
		}
		if p.TasksUnfinished > 0 {
			extra = append(extra, fmt.Sprintf("%d ended unfinished", p.TasksUnfinished))
		}
		if p.EventsDelivered == 1 {
			extra = append(extra, "1 event")
		} else if p.EventsDelivered > 0 {
			extra = append(extra, fmt.Sprintf("%d events", p.EventsDelivered))
		}
		if p.Note != "" {
			extra = append(extra, p.Note)
		}
		if len(extra) > 0 {
			s += " (" + strings.Join(extra, ", ") + ")"
		}
		parts = append(parts, s)
	}
	fmt.Fprintf(b, "%s%-*s %s\n", lead, max(1, 28-len([]rune(lead))), r.Name, strings.Join(parts, " | "))
	for i, c := range r.Children {
		if i == len(r.Children)-1 {
			c.render(b, childLead+"└── ", childLead+"    ")
		} else {
			c.render(b, childLead+"├── ", childLead+"│   ")
		}
	}
}

func round(d time.Duration) time.Duration { return RoundDuration(d) }

// RoundDuration rounds a duration for a shutdown report: to 10 ms from a
// second up, to 0.1 ms from a millisecond up, else to a microsecond.
func RoundDuration(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// phaseRequest asks an actor to carry out a phase by deadline and answer with
// a *PhaseReport once its children have answered.
type phaseRequest struct {
	phase    Phase
	deadline time.Time
	id       uint64 // unique per node and phase; echoed in every report
}

// phaseDeadline is the timer message of a collector.
type phaseDeadline struct{ seq uint64 }

// collector gathers the children's answers for one phase of one parent.
type collector struct {
	report  *PhaseReport
	replyTo *actor.PID
	pending map[string]bool // names of the children that have not answered
	timer   timerSlot
}

func newCollector(name string, req *phaseRequest, replyTo *actor.PID, now time.Time) *collector {
	return &collector{
		report:  &PhaseReport{Actor: name, Phase: req.phase, Start: now, Outcome: OutcomeOK, id: req.id},
		replyTo: replyTo,
		pending: map[string]bool{},
	}
}

// add records a child's answer; true when it was awaited. An answer to
// another phase request (a late DRAINING report during CLOSING) is stale:
// ignored.
func (c *collector) add(r *PhaseReport) bool {
	if r.id != c.report.id || r.Phase != c.report.Phase || !c.pending[r.Actor] {
		return false
	}
	delete(c.pending, r.Actor)
	c.report.Children = append(c.report.Children, r)
	c.report.TasksDrained += r.TasksDrained
	c.report.TasksFailed += r.TasksFailed
	c.report.TasksUnfinished += r.TasksUnfinished
	c.report.EventsDelivered += r.EventsDelivered
	return true
}

// answerFor records a report for a pending child that cannot answer.
func (c *collector) answerFor(r *PhaseReport) {
	r.id = c.report.id
	if c.pending[r.Actor] {
		delete(c.pending, r.Actor)
		c.report.Children = append(c.report.Children, r)
		c.report.TasksFailed += r.TasksFailed
		c.report.TasksUnfinished += r.TasksUnfinished
	}
}

// summarise makes the parent's outcome the worst of its own and its
// children's, so a report read from the top never says "ok" above a child
// that timed out or was forced.
func (c *collector) summarise() {
	for _, ch := range c.report.Children {
		c.report.Outcome = WorseOutcome(c.report.Outcome, ch.Outcome)
	}
}

func (c *collector) done() bool { return len(c.pending) == 0 }

// finish closes the report and sends it.
func (c *collector) finish(ctx actor.Context, now time.Time) {
	if c.timer.t != nil {
		c.timer.t.Stop()
		c.timer.t = nil
	}
	c.report.Duration = now.Sub(c.report.Start)
	c.summarise()
	if c.replyTo != nil {
		ctx.Send(c.replyTo, c.report)
	}
}
