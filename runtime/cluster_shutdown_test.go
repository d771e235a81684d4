package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// stepLog records when each member's phase calls start and end.
type stepLog struct {
	mu     sync.Mutex
	events []string // "start node-a DRAINING", "end node-a DRAINING"
}

func (l *stepLog) add(s string) {
	l.mu.Lock()
	l.events = append(l.events, s)
	l.mu.Unlock()
}

// stepMember is a System that logs its phase calls; frozen in DRAINING it
// answers nothing until its context ends (a node stopped with SIGSTOP).
type stepMember struct {
	name   string
	sys    *exo.System
	log    *stepLog
	freeze exo.Phase // -1: never
}

func (m *stepMember) ShutdownPhase(ctx context.Context, ph exo.Phase, deadline, goOn time.Duration) (exo.ShutdownReport, error) {
	m.log.add("start " + m.name + " " + ph.String())
	defer m.log.add("end " + m.name + " " + ph.String())
	if ph == m.freeze {
		<-ctx.Done()
		return exo.ShutdownReport{}, ctx.Err()
	}
	return m.sys.ShutdownPhase(ctx, ph, deadline, goOn)
}

// TestShutdownClusterStepsEveryMember: three Systems shut down together;
// no member is asked for a phase before every member answered (or missed)
// the one before; a member frozen in DRAINING is reported timed out in
// DRAINING with its SIGNALING report, and the rest completes.
func TestShutdownClusterStepsEveryMember(t *testing.T) {
	log := &stepLog{}
	var members []exo.ShutdownMember
	var systems []*exo.System
	for i, name := range []string{"node-a", "node-b", "node-c"} {
		sys := newSystem(t, config())
		systems = append(systems, sys)
		freeze := exo.Phase(-1)
		if i == 1 {
			freeze = exo.PhaseDraining
		}
		members = append(members, exo.ShutdownMember{Name: name, Node: &stepMember{name: name, sys: sys, log: log, freeze: freeze}})
	}
	var phases []string
	// The two live members must answer every phase within PhaseTimeout +
	// AnswerGrace, or they count as missed too: 500 ms left no room for a
	// loaded machine's stall of a second or two. Only the frozen member's
	// DRAINING waits the whole 3.2 s.
	rep, err := exo.ShutdownCluster(testCtx(t), members, exo.ClusterShutdownOptions{Cluster: "test", PhaseTimeout: 3 * time.Second,
		AnswerGrace: 200 * time.Millisecond, OnPhase: func(ph exo.Phase) { phases = append(phases, ph.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", rep)
	if got := strings.Join(phases, ","); got != "SIGNALING,DRAINING,CLOSING" {
		t.Errorf("OnPhase saw %s", got)
	}
	// Every end of a phase comes before any start of the next.
	ended := map[string]int{}
	for _, ev := range log.events {
		f := strings.Fields(ev)
		ph := f[2]
		if f[0] == "start" {
			prev := map[string]string{"DRAINING": "SIGNALING", "CLOSING": "DRAINING"}[ph]
			if prev != "" && ended[prev] != 3 {
				t.Errorf("%s began while only %d members ended %s: %v", ev, ended[prev], prev, log.events)
			}
		} else {
			ended[ph]++
		}
	}
	if len(rep.Nodes) != 3 || rep.Outcome != exo.OutcomeTimedOut {
		t.Fatalf("%d nodes, outcome %s", len(rep.Nodes), rep.Outcome)
	}
	for _, n := range rep.Nodes {
		if n.Report.Root == nil {
			t.Fatalf("node %s has no report", n.Name)
		}
		if n.Name == "node-b" {
			// Told to go on by the CLOSING call, it ran DRAINING then
			// CLOSING: its report is whole, its outcome says what it missed.
			if n.Outcome != exo.OutcomeTimedOut || len(n.Missed) != 1 || n.Missed[0] != exo.PhaseDraining || !n.Answered[exo.PhaseSignaling] ||
				n.Answered[exo.PhaseDraining] || !n.Answered[exo.PhaseClosing] || n.Report.Root.Phases[exo.PhaseDraining] == nil {
				t.Errorf("frozen node: %+v", n)
			}
			continue
		}
		if n.Outcome != exo.OutcomeOK || len(n.Missed) != 0 || n.Report.Total <= 0 {
			t.Errorf("node %s: %+v", n.Name, n)
		}
		var stages []string
		for _, c := range n.Report.Root.Children {
			stages = append(stages, c.Name)
		}
		if got := strings.Join(stages, ","); got != "runners,resources,streams" {
			t.Errorf("node %s subtree: %s", n.Name, got)
		}
	}
	if !strings.Contains(rep.String(), "node node-b: timed out — missed DRAINING (no answer within 3.2s, or lost)") {
		t.Errorf("report text lacks the frozen node's line:\n%s", rep)
	}
	// The CLOSING call reached node-b's System anyway: it has stopped.
	select {
	case <-systems[1].Done():
	case <-testCtx(t).Done():
		t.Error("the frozen member's System never stopped")
	}
}

// TestShutdownClusterBadInput: no members, or a member without a node, is
// refused with one line saying what to do.
func TestShutdownClusterBadInput(t *testing.T) {
	if _, err := exo.ShutdownCluster(testCtx(t), nil, exo.ClusterShutdownOptions{}); err == nil || !strings.Contains(err.Error(), "no members: name at least one node") {
		t.Errorf("no members: %v", err)
	}
	if _, err := exo.ShutdownCluster(testCtx(t), []exo.ShutdownMember{{Name: "x"}}, exo.ClusterShutdownOptions{}); err == nil || !strings.Contains(err.Error(), `member "x" has no node`) {
		t.Errorf("nil node: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sys := newSystem(t, config())
	if _, err := exo.ShutdownCluster(ctx, []exo.ShutdownMember{{Name: "a", Node: sys}}, exo.ClusterShutdownOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// refusingMember refuses every phase as a node started with
// --allow-remote-shutdown=false does, and counts the calls.
type refusingMember struct{ calls int }

func (m *refusingMember) ShutdownPhase(context.Context, exo.Phase, time.Duration, time.Duration) (exo.ShutdownReport, error) {
	m.calls++ // ShutdownCluster asks one phase at a time: no two calls at once
	return exo.ShutdownReport{}, fmt.Errorf("node x: %w", exo.ErrUnsupported)
}

// TestShutdownClusterAsksARefusingMemberOnce: a member that refuses a
// remote shutdown is asked for SIGNALING only, and its report has the one
// refusal; the others shut down. Before, it was asked for every phase and
// its report listed the refusal three times.
func TestShutdownClusterAsksARefusingMemberOnce(t *testing.T) {
	sys := newSystem(t, config())
	ref := &refusingMember{}
	rep, err := exo.ShutdownCluster(testCtx(t), []exo.ShutdownMember{{Name: "ok", Node: sys}, {Name: "refuses", Node: ref}}, exo.ClusterShutdownOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref.calls != 1 {
		t.Errorf("the refusing member was asked %d times, want once", ref.calls)
	}
	n := rep.Nodes[1]
	if len(n.Errors) != 1 || !strings.HasPrefix(n.Errors[0], "SIGNALING: ") || n.Outcome != exo.OutcomeFailed {
		t.Errorf("the refusing member's part: errors %q, outcome %v; want one SIGNALING refusal, failed", n.Errors, n.Outcome)
	}
	if ok := rep.Nodes[0]; !ok.Answered[exo.PhaseClosing] {
		t.Errorf("the other member did not answer CLOSING: %+v", ok)
	}
}
