package actors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// recoveriesEnded reads exo_health_recoveries_total{outcome}.
func recoveriesEnded(t *testing.T, n *testNode, outcome string) float64 {
	t.Helper()
	fams, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "exo_health_recoveries_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// hangingRunner starts a node whose monitor finds a silent runner after 3
// s and recovers it after 2 unhealthy checks, and a runner that hangs right
// after Ready; it returns once the runner is Ready.
func hangingRunner(t *testing.T, mods ...func(*actors.NodeConfig)) (*testNode, *clock.Fake, *healthChecks, string) {
	t.Helper()
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, HeartbeatGrace: time.Second,
		HeartbeatLimit: 3 * time.Second, UnhealthyChecks: 2}, mods...)
	id, err := n.SpawnRunner(ctxT(t), builtin("--fault", "hang"))
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	return n, fc, checks, id
}

// escalatedRecovery starts a node whose error policy escalates the
// unhealthy kind, and a runner that hangs right after Ready; it steps the
// monitor's checks until its recovery asked for the forced restart, which
// the policy escalates: the runner is retired. It waits for the escalation.
func escalatedRecovery(t *testing.T, mods ...func(*actors.NodeConfig)) (*testNode, *clock.Fake, *healthChecks, string) {
	t.Helper()
	mods = append([]func(*actors.NodeConfig){func(c *actors.NodeConfig) {
		c.ErrorPolicy.Rules = []errhandler.Rule{{Name: "test: unhealthy escalates", Kind: errhandler.KindUnhealthy,
			Severity: errhandler.Critical, Action: errhandler.Escalate, Reason: "the forced restart is escalated: the runner is retired"}}
	}}, mods...)
	n, fc, checks, id := hangingRunner(t, mods...)
	for i := 0; ; i++ {
		if i == 30 {
			t.Fatal("no forced restart within 30 checks")
		}
		step(t, fc, checks, time.Second)
		if r := runnerHealth(t, n, id); r.Recovering != nil &&
			r.Recovering.Steps[len(r.Recovering.Steps)-1].Name == health.StepForceRestart {
			break
		}
	}
	waitEscalated(t, n, id)
	return n, fc, checks, id
}

// TestHealthRecoveryOfARetiredRunnerEndsFailed: a recovery whose forced
// restart the error policy escalates (the runner is retired, "gone") ends
// failed at the check that finds the runner gone, with a reason naming the
// retirement; it is counted in exo_health_recoveries_total, listed in the
// gone runner's recoveries (/status), and its recovering alert resolves.
// Before, it stayed in progress for good: never counted, not listed (a gone
// runner shows only ended records).
func TestHealthRecoveryOfARetiredRunnerEndsFailed(t *testing.T) {
	n, fc, checks, id := escalatedRecovery(t)
	r := runnerHealth(t, n, id)
	for i := 0; r.State != actors.RunnerGone; i++ {
		if i == 10 {
			t.Fatalf("the retired runner is not gone after 10 checks: state %q", r.State)
		}
		step(t, fc, checks, time.Second)
		r = runnerHealth(t, n, id)
	}
	step(t, fc, checks, time.Second) // a check after the one that found it gone
	r = runnerHealth(t, n, id)
	if r.Recovering != nil || len(r.Recoveries) != 1 || r.Recoveries[0].Outcome != health.RecoveryFailed {
		t.Fatalf("retired runner: recovering %+v, recoveries %+v; want one recovery, failed", r.Recovering, r.Recoveries)
	}
	steps := r.Recoveries[0].Steps
	if end := steps[len(steps)-1]; end.Name != "end" || !strings.Contains(end.Note, "retired") {
		t.Errorf("the recovery's end %+v, want a note naming the retirement", end)
	}
	if got := recoveriesEnded(t, n, health.RecoveryFailed); got != 1 {
		t.Errorf("exo_health_recoveries_total{outcome=failed} %v, want 1", got)
	}
	rep, err := n.Health(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := activeAlert(rep, id, health.ConditionRecovering); ok {
		t.Errorf("the recovering alert still holds: %+v", a)
	}
}

// TestHealthRecoveryOfAForgottenRunnerIsCounted: a runner retired during
// its recovery and forgotten by retention before a check saw it gone
// (KeepRemoved < 0) has its recovery ended failed and counted before the
// monitor drops its view. Before, the record went with the view, uncounted.
func TestHealthRecoveryOfAForgottenRunnerIsCounted(t *testing.T) {
	n, fc, checks, id := escalatedRecovery(t, func(c *actors.NodeConfig) { c.Retention.KeepRemoved = -1 })
	if err := n.AwaitRunnerRemovedForTest(ctxT(t), id); err != nil {
		t.Fatalf("the escalated runner was not forgotten (Retention.KeepRemoved < 0): %v", err)
	}
	step(t, fc, checks, time.Second)
	if got := recoveriesEnded(t, n, health.RecoveryFailed); got != 1 {
		t.Errorf("exo_health_recoveries_total{outcome=failed} %v, want 1", got)
	}
	rep, err := n.Health(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := activeAlert(rep, id, health.ConditionRecovering); ok {
		t.Errorf("the recovering alert still holds: %+v", a)
	}
}

// TestHealthRecoveryOfAStoppedRunnerIsCancelled: a runner stopped on
// request (StopRunner) while its recovery is under way ends that recovery
// "cancelled", counted as such, not "failed": the operator's own stop is
// no verdict on the recovery. Before, it ended failed, and an alert on
// exo_health_recoveries_total{outcome="failed"} fired for the stop; and a
// stop that met the forced restart's failure (StopResult ended by
// "failure") was announced by no RunnerStopped, so the runner was called
// "retired: the error policy escalated its failure" (state gone).
func TestHealthRecoveryOfAStoppedRunnerIsCancelled(t *testing.T) {
	n, fc, checks, id := hangingRunner(t)
	for i := 0; ; i++ {
		if i == 30 {
			t.Fatal("no recovery within 30 checks")
		}
		step(t, fc, checks, time.Second)
		if r := runnerHealth(t, n, id); r.Recovering != nil {
			break
		}
	}
	res, err := n.StopRunner(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stop: %+v", res)
	r := runnerHealth(t, n, id)
	for i := 0; r.Recovering != nil; i++ {
		if i == 10 {
			t.Fatalf("the stopped runner's recovery still in progress after 10 checks: state %q", r.State)
		}
		step(t, fc, checks, time.Second)
		r = runnerHealth(t, n, id)
	}
	if r.State != actors.RunnerStoppedState || len(r.Recoveries) != 1 || r.Recoveries[0].Outcome != health.RecoveryCancelled {
		t.Fatalf("stopped runner (state %q): recoveries %+v; want one, cancelled", r.State, r.Recoveries)
	}
	if got := recoveriesEnded(t, n, health.RecoveryCancelled); got != 1 {
		t.Errorf("exo_health_recoveries_total{outcome=cancelled} %v, want 1", got)
	}
	if got := recoveriesEnded(t, n, health.RecoveryFailed); got != 0 {
		t.Errorf("exo_health_recoveries_total{outcome=failed} %v, want 0", got)
	}
}
