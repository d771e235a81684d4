package actors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
)

// TestHealthNodeShutdownShareCountsEachRunnerOnce: the share that
// NodeShutdownShare checks counts a runner found persistently failed once,
// and not a runner stopped on request that retention still lists. The
// trial's node had one live runner (a `--fault hang` one) and one stopped
// by an earlier `remote run`, kept by retention.keep_removed; it shut
// itself down saying "health monitor: 1 of 2 runners persistently failed":
// the check that found the runner persistently failed counted it among the
// runners meant to run as well (its state was live when the check began).
func TestHealthNodeShutdownShareCountsEachRunnerOnce(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, HeartbeatGrace: time.Second,
		HeartbeatLimit: 3 * time.Second, UnhealthyChecks: 2, MaxRecoveries: 1, RecoveryWindow: 24 * time.Hour,
		NodeShutdownShare: 0.5})
	ctx := ctxT(t)
	// A runner stopped on request: removed, but listed (retention's default).
	stopped := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	if _, err := n.StopRunner(ctx, stopped); err != nil {
		t.Fatal(err)
	}
	id, err := n.SpawnRunner(ctx, builtin("--fault", "hang")) // hangs right after Ready, every generation
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	// One interval at a time (as TestHealthHungRunnerRecoveredThenStopped),
	// letting real time pass while the runner is not live, until the
	// monitor's share shuts the node down.
	deadline := time.Now().Add(30 * time.Second)
	for n.Fault() == nil && time.Now().Before(deadline) {
		step(t, fc, checks, time.Second)
		seen := len(n.rec.snapshot())
		_, _ = n.rec.await(50*time.Millisecond, "next event", func(evs []actors.Event) bool { return len(evs) > seen })
	}
	fault := n.Fault()
	if fault == nil {
		t.Fatal("the node did not shut itself down: the test did not set up what it checks")
	}
	if want := "health monitor: 1 of 1 runners persistently failed"; !strings.Contains(fault.Error(), want) {
		t.Errorf("node fault %q, want it to say %q: the stopped runner %s and the persistently failed one counted once each",
			fault, want, stopped)
	}
	// The node's own shutdown stops the hung runner by its escalation, on
	// the stepped clock: step it until the shutdown is over (the harness's
	// Shutdown then returns its report).
	for end := time.Now().Add(30 * time.Second); ; {
		select {
		case <-n.Done():
			return
		default:
		}
		if time.Now().After(end) {
			t.Fatal("the node's own shutdown did not end")
		}
		fc.Advance(time.Second)
		seen := len(n.rec.snapshot())
		_, _ = n.rec.await(50*time.Millisecond, "next event", func(evs []actors.Event) bool { return len(evs) > seen })
	}
}
