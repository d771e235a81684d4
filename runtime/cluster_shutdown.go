package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/internal/errjoin"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// PhasedShutdowner is a node whose shutdown can run one phase at a time, so
// that a coordinator (ShutdownCluster) runs the phases of several nodes in
// step. *System (an embedded node) and *Client (a node's gateway) are both.
type PhasedShutdowner interface {
	// ShutdownPhase runs phase ph of the node's shutdown (phases run in
	// order, each once; a later phase first runs those in between) with
	// deadline as the phase's deadline on the node (zero: the node's own),
	// and returns the node's report so far, with the errors of the phases
	// this call ran (an earlier call's are not returned again; Shutdown,
	// once the shutdown is over, returns them all). After a phase other than
	// CLOSING, if no later phase is asked for within goOnAfter (when
	// positive), the node goes on with the rest alone.
	ShutdownPhase(ctx context.Context, ph Phase, deadline, goOnAfter time.Duration) (ShutdownReport, error)
}

// ShutdownPhase runs one phase of the System's shutdown (see
// PhasedShutdowner). After CLOSING the System has stopped, as after
// Shutdown; Shutdown during a stepped shutdown runs the phases left.
func (s *System) ShutdownPhase(ctx context.Context, ph Phase, deadline, goOnAfter time.Duration) (ShutdownReport, error) {
	rep, err := s.node.ShutdownPhase(ctx, actors.Phase(ph), deadline, goOnAfter)
	if ph == PhaseClosing {
		err = errjoin.OneLine(err, s.stopHTTP(ctx))
	}
	return fromShutdownReport(rep), err
}

// ShutdownPhase asks the node to run one phase of its shutdown (see
// PhasedShutdowner; the node must allow remote shutdown, ServeConfig.
// AllowShutdown). After CLOSING the node process exits.
func (c *Client) ShutdownPhase(ctx context.Context, ph Phase, deadline, goOnAfter time.Duration) (ShutdownReport, error) {
	gp := gateway.PhaseToProto(actors.Phase(ph))
	if gp == exov1.GwPhase_GW_PHASE_UNSPECIFIED {
		return ShutdownReport{}, fmt.Errorf("shutdown phase %d: want PhaseSignaling, PhaseDraining or PhaseClosing", int(ph))
	}
	req := &exov1.GwShutdownPhase{Phase: gp}
	if deadline > 0 {
		req.Deadline = durationpb.New(deadline)
	}
	if goOnAfter > 0 {
		req.GoOnAfter = durationpb.New(goOnAfter)
	}
	res, err := answer[*exov1.GwShutdownPhaseReport](c.call(ctx, req))
	if err != nil {
		return ShutdownReport{}, err
	}
	return fromGwShutdownReport(res.GetReport()), nil
}

// ShutdownMember is one node of a cluster-wide shutdown.
type ShutdownMember struct {
	// Name and Addr name the node in the report (Addr may be empty).
	Name, Addr string
	Node       PhasedShutdowner
}

// ClusterShutdownOptions configure ShutdownCluster; zero fields take the
// defaults.
type ClusterShutdownOptions struct {
	// Cluster names the cluster in the report.
	Cluster string
	// PhaseTimeout is each member's deadline for each phase (its actors
	// past it are force-cleaned by the node itself); default 30s.
	PhaseTimeout time.Duration
	// AnswerGrace is how long past PhaseTimeout the coordinator waits for
	// a member's answer before it reports the member timed out in that
	// phase and goes on; default 2s.
	AnswerGrace time.Duration
	// GoOnAfter is sent with every phase: a member that hears of no later
	// phase this long after it finished one goes on alone (the coordinator
	// died, or gave up on it). Default PhaseTimeout + AnswerGrace + 5s.
	GoOnAfter time.Duration
	// OnPhase, when set, is called as each phase starts, before any member
	// is asked (progress lines; tests).
	OnPhase func(ph Phase)
}

func (o ClusterShutdownOptions) withDefaults() ClusterShutdownOptions {
	if o.PhaseTimeout <= 0 {
		o.PhaseTimeout = 30 * time.Second
	}
	if o.AnswerGrace <= 0 {
		o.AnswerGrace = 2 * time.Second
	}
	if o.GoOnAfter <= 0 {
		o.GoOnAfter = o.PhaseTimeout + o.AnswerGrace + 5*time.Second
	}
	return o
}

// ClusterShutdownReport is the result of ShutdownCluster: the cluster as
// the root, each node's own shutdown report as its subtree.
type ClusterShutdownReport struct {
	Cluster string
	Start   time.Time
	// PhaseStart and PhaseDuration are the cluster's, indexed by Phase: a
	// phase ends when every member answered it or its wait ran out.
	PhaseStart    [3]time.Time
	PhaseDuration [3]time.Duration
	Total         time.Duration
	PhaseTimeout  time.Duration
	AnswerGrace   time.Duration
	// Outcome is the worst of the nodes'.
	Outcome Outcome
	Nodes   []NodeShutdown
}

// NodeShutdown is one node's part of a cluster-wide shutdown.
type NodeShutdown struct {
	Name, Addr string
	// Outcome is the worst of the node's own report and how it answered:
	// OutcomeTimedOut when it missed a phase, OutcomeFailed when a call
	// failed.
	Outcome Outcome
	// Answered says, per Phase, whether the node answered in time;
	// Answer is how long its answer took from the phase's start.
	Answered [3]bool
	Answer   [3]time.Duration
	// Missed are the phases the node did not answer within PhaseTimeout +
	// AnswerGrace, or during which its client lost it (ErrNodeLost: a
	// frozen or dead node stops answering heartbeats), in order. It was
	// still asked for every later phase (a lost client cannot ask: such a
	// node goes on alone after GoOnAfter, as any node that hears nothing).
	Missed []Phase
	// Errors are the calls that failed (the node refused or was lost). A
	// node that refused a phase because it does not accept a remote
	// shutdown (ErrUnsupported) is not asked for the later ones.
	Errors []string
	// Report is the node's own report as of its last answer: runners,
	// resources, streams, its phase durations. Its Root is nil when it
	// answered no phase.
	Report ShutdownReport
}

// phaseAnswer is one member's answer to one phase, sent once by the
// goroutine that asked.
type phaseAnswer struct {
	i    int
	rep  ShutdownReport
	err  error
	took time.Duration
}

// ShutdownCluster shuts the members down together, phase by phase: every
// member is asked for SIGNALING and answers (or misses PhaseTimeout +
// AnswerGrace) before any is asked for DRAINING, and likewise before
// CLOSING, so in-flight work everywhere drains before anything closes. A
// member that does not answer a phase in time is reported timed out in
// its subtree, naming the phase, and the rest goes on; it is still asked
// for every later phase and goes on alone after GoOnAfter, so no member is
// left waiting for ever. It returns once CLOSING was answered or timed out
// everywhere; the error is nil unless ctx ended or there are no members
// (a member's failure is in the report).
func ShutdownCluster(ctx context.Context, members []ShutdownMember, o ClusterShutdownOptions) (ClusterShutdownReport, error) {
	o = o.withDefaults()
	rep := ClusterShutdownReport{Cluster: o.Cluster, Start: time.Now(), PhaseTimeout: o.PhaseTimeout, AnswerGrace: o.AnswerGrace, Outcome: OutcomeOK}
	if len(members) == 0 {
		return rep, errors.New("cluster shutdown: no members: name at least one node")
	}
	for _, m := range members {
		if m.Node == nil {
			return rep, fmt.Errorf("cluster shutdown: member %q has no node to ask", m.Name)
		}
		rep.Nodes = append(rep.Nodes, NodeShutdown{Name: m.Name, Addr: m.Addr, Outcome: OutcomeOK})
	}
	answers := make(chan phaseAnswer, len(members)) // never closed: each asker sends once, ShutdownCluster receives them all
	// refused: the member refused a phase (ErrUnsupported: it does not
	// accept a remote shutdown); it is not asked again. Before, it was
	// asked for every phase and its report listed the refusal three times.
	refused := make([]bool, len(members))
	for ph := PhaseSignaling; ph <= PhaseClosing; ph++ {
		if err := ctx.Err(); err != nil {
			rep.Total = time.Since(rep.Start)
			return rep, fmt.Errorf("cluster shutdown stopped before %s: %w", ph, err)
		}
		if o.OnPhase != nil {
			o.OnPhase(ph)
		}
		start := time.Now()
		rep.PhaseStart[ph] = start
		asked := 0
		for i, m := range members {
			if refused[i] {
				continue
			}
			asked++
			go func() { // owner: ShutdownCluster, which receives its one answer below
				pctx, cancel := context.WithTimeout(ctx, o.PhaseTimeout+o.AnswerGrace)
				defer cancel()
				r, err := m.Node.ShutdownPhase(pctx, ph, o.PhaseTimeout, o.GoOnAfter)
				answers <- phaseAnswer{i: i, rep: r, err: err, took: time.Since(start)}
			}()
		}
		for range asked {
			a := <-answers
			n := &rep.Nodes[a.i]
			n.Answer[ph] = a.took
			switch {
			case a.err == nil:
				n.Answered[ph] = true
				n.Report = a.rep
			case errors.Is(a.err, context.DeadlineExceeded) && ctx.Err() == nil:
				n.Missed = append(n.Missed, ph)
				n.Outcome = actorsWorse(n.Outcome, OutcomeTimedOut)
			case errors.Is(a.err, ErrNodeLost):
				// A frozen node stops answering heartbeats before its
				// phase's wait ends: the client calls it lost. Missed too,
				// with the reason.
				n.Missed = append(n.Missed, ph)
				n.Errors = append(n.Errors, fmt.Sprintf("%s: %v", ph, a.err))
				n.Outcome = actorsWorse(n.Outcome, OutcomeTimedOut)
			default:
				n.Errors = append(n.Errors, fmt.Sprintf("%s: %v", ph, a.err))
				n.Outcome = actorsWorse(n.Outcome, OutcomeFailed)
				refused[a.i] = errors.Is(a.err, ErrUnsupported)
			}
		}
		rep.PhaseDuration[ph] = time.Since(start)
	}
	for i := range rep.Nodes {
		n := &rep.Nodes[i]
		if root := n.Report.Root; root != nil {
			for _, p := range root.Phases {
				if p != nil {
					n.Outcome = actorsWorse(n.Outcome, p.Outcome)
				}
			}
		}
		rep.Outcome = actorsWorse(rep.Outcome, n.Outcome)
	}
	rep.Total = time.Since(rep.Start)
	return rep, nil
}

func actorsWorse(a, b Outcome) Outcome {
	return Outcome(actors.WorseOutcome(actors.Outcome(a), actors.Outcome(b)))
}

// String renders the report as a tree: the cluster, then each node with
// its own shutdown report as its subtree.
func (r ClusterShutdownReport) String() string {
	var b strings.Builder
	name := r.Cluster
	if name == "" {
		name = "(unnamed)"
	}
	nodes := fmt.Sprintf("%d nodes", len(r.Nodes))
	if len(r.Nodes) == 1 {
		nodes = "1 node"
	}
	fmt.Fprintf(&b, "cluster %s shutdown: %s, %s, total %s (SIGNALING %s, DRAINING %s, CLOSING %s; phase timeout %s + %s to answer)\n",
		name, r.Outcome, nodes, roundD(r.Total), roundD(r.PhaseDuration[PhaseSignaling]), roundD(r.PhaseDuration[PhaseDraining]),
		roundD(r.PhaseDuration[PhaseClosing]), r.PhaseTimeout, r.AnswerGrace)
	for i, n := range r.Nodes {
		lead, sub := "├── ", "│   "
		if i == len(r.Nodes)-1 {
			lead, sub = "└── ", "    "
		}
		fmt.Fprintf(&b, "%s%s", lead, n.headline(r.PhaseTimeout+r.AnswerGrace))
		if n.Report.Root != nil {
			for _, line := range strings.Split(strings.TrimRight(n.Report.String(), "\n"), "\n") {
				fmt.Fprintf(&b, "%s%s\n", sub, line)
			}
		} else {
			fmt.Fprintf(&b, "%s(no report: the node answered no phase)\n", sub)
		}
	}
	return b.String()
}

func (n NodeShutdown) headline(wait time.Duration) string {
	s := "node " + n.Name
	if n.Addr != "" {
		s += " (" + n.Addr + ")"
	}
	s += ": " + string(n.Outcome)
	var why []string
	if len(n.Missed) > 0 {
		names := make([]string, len(n.Missed))
		for i, p := range n.Missed {
			names[i] = p.String()
		}
		why = append(why, fmt.Sprintf("missed %s (no answer within %s, or lost); report as of its last answer; it goes on alone", strings.Join(names, ", "), wait))
	}
	if len(n.Errors) > 0 {
		why = append(why, n.Errors[0]) // the first; the others (often the same, a lost node) are in Errors
	}
	if len(why) == 0 && n.Outcome != OutcomeOK {
		// Not a member that missed a phase: its own shutdown reached a
		// deadline (tasks cut short) or forced a runner. The same word
		// read as "did not answer" (a new user's trial).
		why = append(why, "answered every phase; its own shutdown "+n.Report.Root.worstPhase())
	}
	if len(why) > 0 {
		s += " — " + strings.Join(why, "; ")
	}
	return s + "\n"
}

func roundD(d time.Duration) time.Duration { return actors.RoundDuration(d) }

// fromGwShutdownReport reads a node's report off the wire.
func fromGwShutdownReport(r *exov1.GwNodeShutdownReport) ShutdownReport {
	if r == nil {
		return ShutdownReport{}
	}
	out := ShutdownReport{Start: r.GetStart().AsTime(), Total: r.GetTotal().AsDuration(), Root: fromGwActorReport(r.GetRoot()),
		Forced: r.GetForced(), Errors: r.GetErrors()}
	for i, ts := range r.GetPhaseStart() {
		if i < len(out.PhaseStart) {
			out.PhaseStart[i] = ts.AsTime()
		}
	}
	for i, d := range r.GetPhaseDuration() {
		if i < len(out.PhaseDuration) {
			out.PhaseDuration[i] = d.AsDuration()
		}
	}
	for i, d := range r.GetPhaseDeadline() {
		if i < len(out.PhaseDeadline) {
			out.PhaseDeadline[i] = d.AsDuration()
		}
	}
	for i, c := range r.GetPhaseCoordinated() {
		if i < len(out.PhaseCoordinated) {
			out.PhaseCoordinated[i] = c
		}
	}
	return out
}

func fromGwActorReport(r *exov1.GwActorReport) *ActorReport {
	if r == nil {
		return nil
	}
	out := &ActorReport{Name: r.GetName()}
	for _, p := range r.GetPhases() {
		if ph, ok := gateway.PhaseFromProto(p.GetPhase()); ok {
			out.Phases[ph] = fromGwPhaseReport(p)
		}
	}
	for _, c := range r.GetChildren() {
		out.Children = append(out.Children, fromGwActorReport(c))
	}
	return out
}

func fromGwPhaseReport(p *exov1.GwPhaseReport) *PhaseReport {
	ph, _ := gateway.PhaseFromProto(p.GetPhase())
	out := &PhaseReport{Actor: p.GetActor(), Phase: Phase(ph), Start: p.GetStart().AsTime(), Duration: p.GetDuration().AsDuration(),
		Outcome: Outcome(p.GetOutcome()), Note: p.GetNote(), TasksDrained: int(p.GetTasksDrained()), TasksFailed: int(p.GetTasksFailed()), TasksUnfinished: int(p.GetTasksUnfinished()),
		EventsDelivered: p.GetEventsDelivered()}
	for _, c := range p.GetChildren() {
		out.Children = append(out.Children, fromGwPhaseReport(c))
	}
	return out
}

// gatewayShutdownPhase is what a served System's gateway calls for
// GwShutdownPhase: the node's phase, and after CLOSING the System's HTTP
// endpoints stop too (as in Shutdown).
func (s *System) gatewayShutdownPhase(ctx context.Context, ph actors.Phase, deadline, goOnAfter time.Duration) (actors.ShutdownReport, error) {
	rep, err := s.node.ShutdownPhase(ctx, ph, deadline, goOnAfter)
	if ph == actors.PhaseClosing {
		err = errjoin.OneLine(err, s.stopHTTP(ctx))
	}
	return rep, err
}

// worstPhase says which of the node's phases did not end ok, for a
// member's headline: "DRAINING timed out (1 task cut short); CLOSING
// forced" ("did not end cleanly" when the report says nothing more).
func (r *ActorReport) worstPhase() string {
	if r == nil {
		return "did not end cleanly"
	}
	var parts []string
	for ph, p := range r.Phases {
		if p == nil || p.Outcome == OutcomeOK {
			continue
		}
		part := fmt.Sprintf("%s %s", Phase(ph), p.Outcome)
		if p.TasksFailed > 0 {
			part += fmt.Sprintf(" (%d %s cut short)", p.TasksFailed, map[bool]string{true: "task", false: "tasks"}[p.TasksFailed == 1])
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		return "did not end cleanly"
	}
	return strings.Join(parts, "; ") + ": below"
}
