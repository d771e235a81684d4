package actors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// runnerFailures returns the RunnerFailed events of runner id.
func runnerFailures(evs []actors.Event, id string) []*actors.RunnerFailure {
	var out []*actors.RunnerFailure
	for _, e := range evs {
		if f, ok := e.(*actors.RunnerFailed); ok && f.Failure.RunnerID == id {
			out = append(out, f.Failure)
		}
	}
	return out
}

// A runner actor that panics (a bug) is a failure the error policy decides
// on: a RunnerFailed of kind actor_panic announces it, and by default the
// decision is ESCALATE (an alert; the runner is retired), recorded in the
// runner's info for its current generation. Before, a panic made no
// decision and sent no RunnerFailed: a WaitReady on the runner waited for
// its ctx (runtime's TestWaitReadyAfterRunnerActorPanic).
func TestRunnerActorPanicIsDecided(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.ErrorPolicy.Rules = nil }) // the default table
	id := readyRunner(t, n)
	pid := pidOf(n.rec.snapshot(), id, 1)
	ctx := ctxT(t)
	if ok, err := n.PanicRunnerForTest(ctx, id); err != nil || !ok {
		t.Fatalf("panic the runner: %v %v", ok, err)
	}
	evs := n.rec.waitFor(t, 20*time.Second, "the panic's decision and alert", func(evs []actors.Event) bool {
		return len(decisions(evs, id)) >= 1 && len(alerts(evs, id)) >= 1
	})
	fs := runnerFailures(evs, id)
	if len(fs) != 1 || fs[0].Kind != errhandler.KindActorPanic || fs[0].Source != actors.SourcePanic || !strings.Contains(fs[0].Message, "test hook") {
		t.Fatalf("RunnerFailed events: %+v; want one of kind actor_panic naming the panic", fs)
	}
	d := decisions(evs, id)[0]
	if d.Record.Kind != errhandler.KindActorPanic || d.Record.Decision.Action != errhandler.Escalate || d.Record.Decision.Rule != "actor-panic" || d.Generation != 1 {
		t.Errorf("decision %+v; want actor-panic ESCALATE for generation 1", d.Record)
	}
	infos, err := n.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.ID == id && (in.LastRecord == nil || in.LastRecord.Generation != in.Generation || in.Restarting || in.Status.GetKind() != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED) {
			t.Errorf("runner info %+v; want Failed, not restarting, its last record about its generation", in)
		}
	}
	waitGone(t, pid, 10*time.Second)
}

// A host's rule may restart a runner whose actor panicked: the restart is
// carried out as for any RETRY, and the runner comes back Ready as
// generation 2, its panicked process gone.
func TestRunnerActorPanicRestartedByARule(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc), func(c *actors.NodeConfig) {
		c.ErrorPolicy.Rules = []errhandler.Rule{{Name: "retry-panics", Kind: errhandler.KindActorPanic, Severity: errhandler.High, Action: errhandler.Retry}}
	})
	id := readyRunner(t, n)
	pid := pidOf(n.rec.snapshot(), id, 1)
	ctx := ctxT(t)
	if ok, err := n.PanicRunnerForTest(ctx, id); err != nil || !ok {
		t.Fatalf("panic the runner: %v %v", ok, err)
	}
	d := decisions(n.rec.waitFor(t, 20*time.Second, "decision", nDecisions(id, 1)), id)[0]
	if d.Record.Decision.Action != errhandler.Retry || d.Record.Decision.Rule != "retry-panics" {
		t.Fatalf("decision %+v; want the host's RETRY", d.Record)
	}
	waitGone(t, pid, 10*time.Second)
	advanceRestart(t, fc, d.Record.Delay)
	n.rec.waitFor(t, 20*time.Second, "generation 2 Ready", func(evs []actors.Event) bool {
		for _, e := range evs {
			if s, ok := e.(*actors.StatusChanged); ok && s.RunnerID == id && s.Generation == 2 && s.To.GetKind() == ready {
				return true
			}
		}
		return false
	})
	h := mustSubmit(t, n, id, textTask("after", 3))
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("task on the restarted runner: %+v", o)
	}
}
