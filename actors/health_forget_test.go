package actors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
)

// TestHealthForgottenRunnerLeavesNoAlertOrSeries: a runner that the
// supervisor's retention forgets before the monitor saw it gone (here
// KeepRemoved < 0 keeps none; with the defaults, a burst of more than 256
// removals between two checks) leaves nothing behind in the monitor: no
// active alert (its error:<kind> alert resolves as for a gone runner, so a
// webhook consumer sees the resolution) and no per-runner metric series.
// Before, both stayed for the node's life: /status listed a firing alert
// of a runner that Runners no longer knew, and every such runner added
// label sets to /metrics without bound.
func TestHealthForgottenRunnerLeavesNoAlertOrSeries(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second}, func(c *actors.NodeConfig) {
		c.Retention.KeepRemoved = -1
		c.ErrorPolicy.Rules = []errhandler.Rule{{Name: "test: retire", Severity: errhandler.High, Action: errhandler.Skip,
			Reason: "a failed runner is retired, so removed at once"}}
	})
	ctx := ctxT(t)
	stopped := readyRunner(t, n)
	step(t, fc, checks, time.Second) // scored while live: its series exist
	if _, err := n.StopRunner(ctx, stopped); err != nil {
		t.Fatal(err)
	}
	failing, err := n.SpawnRunner(ctx, builtin("--fault", "exit:3"))
	if err != nil {
		t.Fatal(err)
	}
	// Their removal emits no event (waiting on events for it timed out
	// when the actor stopped after the last one): watch the actors.
	n.rec.waitFor(t, 20*time.Second, "the failed runner's decision", nDecisions(failing, 1))
	for _, id := range []string{stopped, failing} {
		if err := n.AwaitRunnerRemovedForTest(ctx, id); err != nil {
			t.Fatalf("runner %s forgotten: %v", id, err)
		}
	}
	step(t, fc, checks, time.Second) // the failure's decision alert, for a runner no longer listed
	step(t, fc, checks, time.Second)
	rep, err := n.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Alerts {
		t.Errorf("active alert of a forgotten runner: %+v", a)
	}
	fired := false
	for _, a := range healthAlerts(n.rec.snapshot(), failing) {
		if a.State == actors.AlertFiring {
			fired = true
		}
	}
	if !fired {
		t.Errorf("no alert fired for the failed runner's decision: the test did not set up what it checks")
	}
	fams, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); v == stopped || v == failing {
					t.Errorf("metric %s still has a series for forgotten runner %s: %s", f.GetName(), v, strings.TrimSpace(m.String()))
				}
			}
		}
	}
}

// TestHealthForgottenPersistentRunnerLeavesTheCount: a persistently failed
// runner, stopped by the monitor and then forgotten by retention, no
// longer counts among the node's persistently failed runners
// (NodeScore.Persistent, the share that NodeShutdownShare checks) and its
// persistent_failure alert leaves the active alerts. Before, both stayed
// for the node's life: one more CRITICAL alert in /status per such runner
// ever, and a count that, against a node whose host replaced those
// runners, crept towards NodeShutdownShare and shut a healthy node down.
func TestHealthForgottenPersistentRunnerLeavesTheCount(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, HeartbeatGrace: time.Second,
		HeartbeatLimit: 3 * time.Second, UnhealthyChecks: 2, MaxRecoveries: 1, RecoveryWindow: 24 * time.Hour},
		func(c *actors.NodeConfig) { c.Retention.KeepRemoved = -1 })
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, builtin("--fault", "hang")) // hangs right after Ready, every generation
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	stopped := func() bool {
		for _, e := range n.rec.snapshot() {
			if s, ok := e.(*actors.RunnerStopped); ok && s.Result.RunnerID == id {
				return true
			}
		}
		return false
	}
	// As in TestHealthHungRunnerRecoveredThenStopped: one interval at a
	// time (the stop's escalation runs on this clock too), letting real
	// time pass while the runner is not live.
	deadline := time.Now().Add(30 * time.Second)
	for !stopped() && time.Now().Before(deadline) {
		step(t, fc, checks, time.Second)
		seen := len(n.rec.snapshot())
		_, _ = n.rec.await(50*time.Millisecond, "next event", func(evs []actors.Event) bool { return len(evs) > seen })
	}
	if !stopped() {
		t.Fatal("the runner that stays broken was not stopped")
	}
	// Its removal (and so retention's forgetting) may wait on timers of
	// the stepped clock: step on until Runners no longer lists it.
	listed := func() int {
		infos, err := n.Runners(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(infos)
	}
	for listed() > 0 && time.Now().Before(deadline) {
		step(t, fc, checks, time.Second)
		seen := len(n.rec.snapshot())
		_, _ = n.rec.await(50*time.Millisecond, "next event", func(evs []actors.Event) bool { return len(evs) > seen })
	}
	if listed() > 0 {
		t.Fatal("the stopped runner was not forgotten (Retention.KeepRemoved < 0)")
	}
	persistent := false
	for _, a := range healthAlerts(n.rec.snapshot(), id) {
		persistent = persistent || a.Condition == health.ConditionPersistent
	}
	if !persistent {
		t.Fatal("no persistent_failure alert: the test did not set up what it checks")
	}
	step(t, fc, checks, time.Second)
	rep, err := n.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Node.Persistent != 0 || len(rep.Alerts) != 0 || len(rep.Runners) != 0 {
		t.Errorf("after the persistently failed runner was forgotten: node persistently_failed %d, alerts %+v, runners %d; want 0, none, 0",
			rep.Node.Persistent, rep.Alerts, len(rep.Runners))
	}
}

// TestNoMonitorStillForgetsRunnersHistory: the health history is fed by
// every event, with or without a monitor, and only the monitor dropped a
// forgotten runner's; with Health.Disabled it kept every runner ever
// spawned (an audit: 8 spawned and removed, 8 held). Retention drops it
// itself now when there is no monitor.
func TestNoMonitorStillForgetsRunnersHistory(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Retention.KeepRemoved = -1 // a removed runner is forgotten at once
		c.Health.Disabled = true
	})
	ctx := ctxT(t)
	const runs = 4
	for range runs {
		id := readyRunner(t, n)
		if _, err := n.StopRunner(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := n.AwaitRunnerRemovedForTest(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if k := n.HealthHistoryRunnersForTest(); k != 0 {
		t.Errorf("the health history holds %d of %d runners spawned and forgotten; want 0", k, runs)
	}
}
