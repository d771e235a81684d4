package health_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
)

// observe advances one interval and observes the runner with score s.
func (c *checker) observe(live bool, gen uint64, s health.Score) health.Decision {
	c.clk.Advance(c.cfg.Interval)
	return c.tr.Observe(health.Observation{At: c.clk.Now(), Live: live, Generation: gen, Score: s})
}

// restarted drives a tracker with the defaults through K unhealthy checks
// (no resource in error: reset skipped) to an accepted forced restart,
// then one check waiting in backoff.
func restarted(t *testing.T) *checker {
	t.Helper()
	c := newChecker(t, nil)
	for i := 0; i < c.cfg.UnhealthyChecks; i++ {
		if d := c.check(true, 1, time.Minute); i == c.cfg.UnhealthyChecks-1 && d.Action != health.Restart {
			t.Fatalf("check %d: %s, want force_restart", i+1, d.Action)
		}
	}
	c.tr.StepDone(health.StepForceRestart, c.clk.Now(), "ok", "accepted")
	c.check(false, 1, 0)
	return c
}

// settledDegraded is the score of a restarted runner whose one resource
// stays in Error (its reset failed), one failure in the window:
// 0.4 + 0.2 + 0 + 0.2·0.9 = 0.78, degraded for good.
func settledDegraded(c *checker) health.Score {
	return health.Compute(c.cfg, health.Inputs{Alive: true, Status: ready, Resources: 1, ResourcesInError: 1, Failures: 1})
}

// A restarted runner that settles at degraded (neither healthy nor K
// unhealthy checks in a row) ends its recovery "degraded" 10·K checks
// after the new process was first checked live. Before, the recovery
// stayed in progress for good: the recovering alert never resolved.
func TestTrackerRecoverySettledDegradedEnds(t *testing.T) {
	c := restarted(t)
	s := settledDegraded(c)
	if s.Level != health.Degraded || s.Value < 0.779 || s.Value > 0.781 {
		t.Fatalf("the scenario's score %.3f %s, want 0.78 degraded", s.Value, s.Level)
	}
	ended := 0
	for i := 1; i <= 10_000; i++ {
		if d := c.observe(true, 2, s); d.Action != health.None {
			t.Fatalf("degraded check %d: %s, want none", i, d.Action)
		}
		if _, ok := c.tr.Current(); !ok && ended == 0 {
			ended = i
		}
	}
	if cur, ok := c.tr.Current(); ok {
		t.Fatalf("after 10,000 degraded checks of the new process: recovery %q, steps %v", cur.Outcome, stepNames(cur))
	}
	if want := 10*c.cfg.UnhealthyChecks + 1; ended != want {
		t.Errorf("ended at the %dth check of the new process, want the %dth (its first, then 10·K more)", ended, want)
	}
	recs, _ := c.tr.Recoveries()
	if len(recs) != 1 || recs[0].Outcome != health.RecoveryDegraded {
		t.Fatalf("records %+v, want one %q", recs, health.RecoveryDegraded)
	}
	end := recs[0].Steps[len(recs[0].Steps)-1]
	if end.Name != "end" || !strings.Contains(end.Note, "degraded") || !strings.Contains(end.Note, s.Reason) {
		t.Errorf("end step %+v, want a note saying it settled at degraded, and why (%q)", end, s.Reason)
	}
	// The next unhealthy run starts a new recovery.
	var d health.Decision
	for i := 0; i < c.cfg.UnhealthyChecks; i++ {
		d = c.check(true, 2, time.Minute)
	}
	if d.Action != health.Restart {
		t.Errorf("K unhealthy checks after a recovery that ended degraded: %s, want a new recovery's force_restart", d.Action)
	}
}

// A forced restart whose runner never comes back live (Live false at every
// check) ends failed, 20·K checks after the request. Before, the recovery
// stayed in progress for good and was never counted.
func TestTrackerRestartNeverLiveEnds(t *testing.T) {
	c := restarted(t)
	for i := 0; i < 100; i++ {
		c.check(false, 1, 0)
	}
	if cur, ok := c.tr.Current(); ok {
		t.Fatalf("after 100 checks not live: recovery %q, steps %v", cur.Outcome, stepNames(cur))
	}
	recs, _ := c.tr.Recoveries()
	if len(recs) != 1 || recs[0].Outcome != health.RecoveryFailed {
		t.Fatalf("records %+v, want one failed", recs)
	}
	if end := recs[0].Steps[len(recs[0].Steps)-1]; end.Name != "end" || !strings.Contains(end.Note, "no live new process within 60 checks") {
		t.Errorf("end step %+v, want it to name the bound", end)
	}
}

// script steps for TestTrackerTransitions.
type trackerStep func(c *checker) health.Decision

func checks(n int, live bool, gen uint64, level health.Level) trackerStep {
	return func(c *checker) health.Decision {
		s := map[health.Level]health.Score{
			health.Healthy:   health.Compute(c.cfg, health.Inputs{Alive: true, Status: ready}),
			health.Degraded:  settledDegraded(c),
			health.Unhealthy: health.Compute(c.cfg, health.Inputs{Alive: true, HeartbeatAge: time.Minute, Status: ready}),
		}[level]
		var last health.Decision
		for i := 0; i < n; i++ {
			c.clk.Advance(c.cfg.Interval)
			d := c.tr.Observe(health.Observation{At: c.clk.Now(), Live: live, Generation: gen, Score: s, ErroredResources: c.errored})
			if d.Action != health.None {
				last = d
			}
		}
		return last
	}
}

func stepDone(step, outcome string) trackerStep {
	return func(c *checker) health.Decision {
		c.tr.StepDone(step, c.clk.Now(), outcome, "test")
		return health.Decision{}
	}
}

func removed(why string) trackerStep {
	return func(c *checker) health.Decision {
		c.tr.Removed(c.clk.Now(), why)
		return health.Decision{}
	}
}

// TestTrackerTransitions drives the tracker through each row of its phase
// table (tracker.go) with the defaults (K 3, RestartChecks 60,
// SettleChecks 30): the actions it asks for, the outcomes of the records,
// and the end note of the last.
func TestTrackerTransitions(t *testing.T) {
	const K = 3
	unh, deg, ok := health.Unhealthy, health.Degraded, health.Healthy
	down := checks(K, true, 1, unh) // starts a recovery
	tests := []struct {
		name     string
		errored  []string
		steps    []trackerStep
		actions  []health.Action
		outcomes []string
		note     string // in the last record's end step
		current  bool   // a recovery still in progress
	}{
		{name: "reset, then healthy", errored: []string{"kv"},
			steps:   []trackerStep{down, stepDone(health.StepResetResources, "ok"), checks(1, true, 1, ok)},
			actions: []health.Action{health.ResetResources}, outcomes: []string{health.RecoverySucceeded}},
		{name: "reset, then not live", errored: []string{"kv"},
			steps:   []trackerStep{down, checks(1, false, 1, unh)},
			actions: []health.Action{health.ResetResources}, outcomes: []string{health.RecoveryFailed}, note: "stopped being live"},
		{name: "reset done, still unhealthy: restart", errored: []string{"kv"},
			steps:   []trackerStep{down, stepDone(health.StepResetResources, "ok"), checks(1, true, 1, unh)},
			actions: []health.Action{health.ResetResources, health.Restart}, current: true},
		{name: "reset never answered: restart after 10·K", errored: []string{"kv"},
			steps:   []trackerStep{down, checks(10*K, true, 1, unh)},
			actions: []health.Action{health.ResetResources, health.Restart}, current: true},
		{name: "restart refused",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "refused")},
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoveryFailed}, note: "restart refused"},
		{name: "restarted, healthy",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(1, false, 1, unh), checks(1, true, 2, ok)},
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoverySucceeded}},
		{name: "restart: no live new process within RestartChecks",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(20*K-1, false, 1, unh)},
			actions: []health.Action{health.Restart}, current: true},
		{name: "restart: no live new process at RestartChecks",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(20*K, false, 1, unh)},
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoveryFailed}, note: "no live new process within 60 checks"},
		{name: "restart: the old process still live, healthy: no verdict",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(20*K, true, 1, ok)},
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoveryFailed}, note: "no live new process"},
		{name: "restarted, unhealthy K more checks: failed, and the next recovery",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(1, true, 2, unh), checks(K, true, 2, unh)},
			actions: []health.Action{health.Restart, health.Restart}, outcomes: []string{health.RecoveryFailed}, note: "unhealthy again for 3 checks", current: true},
		{name: "restarted, degraded within SettleChecks",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(1, true, 2, deg), checks(10*K-1, true, 2, deg)},
			actions: []health.Action{health.Restart}, current: true},
		{name: "restarted, degraded at SettleChecks",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(1, true, 2, deg), checks(10*K, true, 2, deg)},
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoveryDegraded}, note: "it runs, degraded (score 0.78)"},
		{name: "restarted, then never live again",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(1, true, 2, deg), checks(10*K, false, 2, unh)},
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoveryFailed}, note: "not live at the last"},
		{name: "restarted, unhealthy and degraded by turns, unhealthy at the bound",
			steps: append([]trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(1, true, 2, unh)},
				slices.Repeat([]trackerStep{checks(1, true, 2, deg), checks(2, true, 2, unh)}, 10)...),
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoveryFailed}, note: "unhealthy at the last"},
		{name: "removed while resetting", errored: []string{"kv"},
			steps:   []trackerStep{down, removed("the runner was retired")},
			actions: []health.Action{health.ResetResources}, outcomes: []string{health.RecoveryFailed}, note: "the runner was retired"},
		{name: "removed while restarting",
			steps:   []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(1, false, 1, unh), removed("the runner was retired")},
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoveryFailed}, note: "the runner was retired"},
		{name: "removed while watching, twice",
			steps: []trackerStep{down, stepDone(health.StepForceRestart, "ok"), checks(1, true, 2, deg),
				removed("the runner was stopped"), removed("again")},
			actions: []health.Action{health.Restart}, outcomes: []string{health.RecoveryFailed}, note: "the runner was stopped"},
		{name: "removed without a recovery",
			steps: []trackerStep{checks(K-1, true, 1, unh), removed("the runner was stopped"), checks(1, true, 1, unh)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newChecker(t, nil)
			c.errored = tt.errored
			if c.cfg.UnhealthyChecks != K || c.cfg.RestartChecks() != 20*K || c.cfg.SettleChecks() != 10*K {
				t.Fatalf("defaults K %d, RestartChecks %d, SettleChecks %d", c.cfg.UnhealthyChecks, c.cfg.RestartChecks(), c.cfg.SettleChecks())
			}
			var acts []health.Action
			for _, st := range tt.steps {
				if d := st(c); d.Action != health.None {
					acts = append(acts, d.Action)
				}
			}
			if !slices.Equal(acts, tt.actions) {
				t.Errorf("actions %v, want %v", acts, tt.actions)
			}
			recs, _ := c.tr.Recoveries()
			var outs []string
			for _, r := range recs {
				outs = append(outs, r.Outcome)
			}
			if !slices.Equal(outs, tt.outcomes) {
				t.Errorf("outcomes %v, want %v", outs, tt.outcomes)
			}
			if tt.note != "" && len(recs) > 0 {
				last := recs[len(recs)-1]
				if end := last.Steps[len(last.Steps)-1]; end.Name != "end" || !strings.Contains(end.Note, tt.note) {
					t.Errorf("end step %+v, want a note with %q", end, tt.note)
				}
			}
			if _, cur := c.tr.Current(); cur != tt.current {
				t.Errorf("a recovery in progress: %v, want %v", cur, tt.current)
			}
		})
	}
}
