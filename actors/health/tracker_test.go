package health_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// checker drives a tracker on a fake clock, one check per Interval.
type checker struct {
	t   *testing.T
	clk *clock.Fake
	cfg health.Config
	tr  *health.Tracker
	// errored names the resources in error at each check of a script
	// (TestTrackerTransitions).
	errored []string
}

func newChecker(t *testing.T, mod func(*health.Config)) *checker {
	c := health.Config{}.WithDefaults(5 * time.Second)
	if mod != nil {
		mod(&c)
	}
	var seq uint64
	return &checker{t: t, clk: clock.NewFake(time.Unix(1_700_000_000, 0)), cfg: c, tr: health.NewTracker(c, "r1", &seq)}
}

// check advances one interval and observes a runner with the given heartbeat age.
func (c *checker) check(live bool, gen uint64, hbAge time.Duration, errored ...string) health.Decision {
	c.clk.Advance(c.cfg.Interval)
	s := health.Compute(c.cfg, health.Inputs{Alive: true, HeartbeatAge: hbAge, Status: ready})
	return c.tr.Observe(health.Observation{At: c.clk.Now(), Live: live, Generation: gen, Score: s, ErroredResources: errored})
}

func actions(ds ...health.Decision) []health.Action {
	var out []health.Action
	for _, d := range ds {
		out = append(out, d.Action)
	}
	return out
}

func stepNames(r health.Recovery) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name+":"+s.Outcome)
	}
	return out
}

// A hung runner (its heartbeat ages past the limit) falls below the
// threshold; after K unhealthy checks it is recovered once, in order: reset
// its errored resource, then a forced restart; the new generation is healthy.
func TestTrackerHungRunnerRecoveredOnce(t *testing.T) {
	c := newChecker(t, nil)
	hb := time.Duration(0)
	var ds []health.Decision
	var scores []float64
	for i := 0; i < 6; i++ { // the runner hangs: no heartbeat from now on
		hb += c.cfg.Interval
		s := health.Compute(c.cfg, health.Inputs{Alive: true, HeartbeatAge: hb, Status: ready})
		scores = append(scores, s.Value)
		ds = append(ds, c.check(true, 1, hb, "r1/g1/pipes"))
		if ds[len(ds)-1].Action != health.None {
			break
		}
	}
	// 1s fresh; 2s: heartbeat 1/3, process 2/3, score 0.867; ≥2.5s silent: 0 → reset at the 3rd unhealthy check.
	if want := []float64{1, 0.867, 0, 0, 0}; !reflect.DeepEqual(scores, want) {
		t.Errorf("scores while hung %v, want %v", scores, want)
	}
	if got, want := actions(ds...), []health.Action{health.None, health.None, health.None, health.None, health.ResetResources}; !reflect.DeepEqual(got, want) {
		t.Fatalf("actions %v, want %v", got, want)
	}
	if d := ds[len(ds)-1]; !reflect.DeepEqual(d.Resources, []string{"r1/g1/pipes"}) || d.Reason != "no heartbeat for 5s (limit 2.5s)" {
		t.Errorf("reset decision %+v", d)
	}
	c.tr.StepDone(health.StepResetResources, c.clk.Now(), "ok", "r1/g1/pipes active again")
	// Still silent at the next check: step 2, the forced restart.
	if d := c.check(true, 1, hb+c.cfg.Interval); d.Action != health.Restart {
		t.Fatalf("after the reset: %s, want force_restart", d.Action)
	}
	c.tr.StepDone(health.StepForceRestart, c.clk.Now(), "ok", "accepted by the supervisor")
	// Waiting in backoff (not live), then the new generation, healthy.
	if d := c.check(false, 1, 0); d.Action != health.None {
		t.Fatalf("while restarting: %s", d.Action)
	}
	if d := c.check(true, 2, 100*time.Millisecond); d.Action != health.None {
		t.Fatalf("after the restart: %s", d.Action)
	}
	recs, _ := c.tr.Recoveries()
	if len(recs) != 1 || recs[0].Outcome != health.RecoverySucceeded {
		t.Fatalf("recoveries %+v, want one that succeeded", recs)
	}
	want := []string{"reset_resources:requested", "reset_resources:ok", "force_restart:requested", "force_restart:ok"}
	if got := stepNames(recs[0]); !reflect.DeepEqual(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	for i := 1; i < len(recs[0].Steps); i++ {
		if recs[0].Steps[i].At.Before(recs[0].Steps[i-1].At) {
			t.Errorf("steps out of time order: %+v", recs[0].Steps)
		}
	}
	if c.tr.Persistent() {
		t.Error("persistent after one successful recovery")
	}
}

// A runner that stays broken after its recoveries (M=1) is persistently
// failed: the next time it needs one, the tracker asks to stop it, once.
func TestTrackerPersistentFailure(t *testing.T) {
	c := newChecker(t, func(c *health.Config) { c.MaxRecoveries = 1; c.UnhealthyChecks = 2 })
	silent := 10 * time.Second
	var got []health.Action
	gen := uint64(1)
	for i := 0; i < 20; i++ {
		d := c.check(true, gen, silent)
		got = append(got, d.Action)
		switch d.Action {
		case health.Restart:
			c.tr.StepDone(health.StepForceRestart, c.clk.Now(), "ok", "")
			gen++ // the new process hangs too
		case health.StopPersistent:
			c.tr.StepDone(health.StepStop, c.clk.Now(), "ok", "ended by shutdown frame")
		}
	}
	want := map[health.Action]int{health.Restart: 1, health.StopPersistent: 1}
	count := map[health.Action]int{}
	for _, a := range got {
		if a != health.None {
			count[a]++
		}
	}
	if !reflect.DeepEqual(count, want) {
		t.Fatalf("actions %v, want one restart and one stop", got)
	}
	if !c.tr.Persistent() {
		t.Error("not persistent")
	}
	recs, _ := c.tr.Recoveries()
	if len(recs) != 2 || recs[0].Outcome != health.RecoveryFailed || recs[1].Outcome != "stopped" {
		t.Errorf("records %+v, want a failed recovery then a stop", recs)
	}
}

// Recoveries older than the window do not count towards M.
func TestTrackerWindow(t *testing.T) {
	c := newChecker(t, func(c *health.Config) { c.MaxRecoveries = 1; c.UnhealthyChecks = 1; c.RecoveryWindow = 5 * time.Second })
	if d := c.check(true, 1, time.Minute); d.Action != health.Restart {
		t.Fatalf("first: %s", d.Action)
	}
	c.tr.StepDone(health.StepForceRestart, c.clk.Now(), "ok", "")
	if d := c.check(true, 2, 0); d.Action != health.None {
		t.Fatalf("healthy: %s", d.Action)
	}
	c.clk.Advance(10 * time.Second)
	if d := c.check(true, 2, time.Minute); d.Action != health.Restart {
		t.Fatalf("after the window: %s, want a new recovery", d.Action)
	}
}

// A refused restart ends the recovery failed; a healthy runner resets the count.
func TestTrackerRefusedAndFlapping(t *testing.T) {
	c := newChecker(t, func(c *health.Config) { c.UnhealthyChecks = 2 })
	c.check(true, 1, time.Minute)
	c.check(true, 1, 0) // healthy in between: the count starts over
	if d := c.check(true, 1, time.Minute); d.Action != health.None {
		t.Fatalf("one unhealthy check after a healthy one: %s", d.Action)
	}
	if d := c.check(true, 1, time.Minute); d.Action != health.Restart {
		t.Fatalf("second in a row: %s", d.Action)
	}
	c.tr.StepDone(health.StepForceRestart, c.clk.Now(), "refused", "runner is not running")
	recs, _ := c.tr.Recoveries()
	if len(recs) != 1 || recs[0].Outcome != health.RecoveryFailed {
		t.Fatalf("records %+v", recs)
	}
	if _, ok := c.tr.Current(); ok {
		t.Error("a recovery still in progress after the refusal")
	}
}

func TestAlertsDedupAndResolve(t *testing.T) {
	a := health.NewAlerts()
	at := time.Unix(0, 0)
	k := health.AlertKey{RunnerID: "r1", Condition: health.ConditionUnhealthy}
	if !a.Raise(k, errhandler.High, "no heartbeat", 0, at) {
		t.Fatal("first raise did not fire")
	}
	for i := 0; i < 3; i++ {
		if a.Raise(k, errhandler.High, "no heartbeat", 0, at) {
			t.Fatal("a repeat fired again")
		}
	}
	if got := a.Active(); len(got) != 1 || got[0].Repeats != 3 {
		t.Fatalf("active %+v", got)
	}
	if _, ok := a.Resolve(k); !ok {
		t.Fatal("resolve found nothing")
	}
	if _, ok := a.Resolve(k); ok {
		t.Fatal("resolved twice")
	}
	if !a.Raise(k, errhandler.High, "again", 0, at) {
		t.Fatal("a new episode did not fire")
	}
	if a.Fired != 2 || a.Deduplicated != 3 || a.Resolved != 1 {
		t.Errorf("counts fired %d dedup %d resolved %d", a.Fired, a.Deduplicated, a.Resolved)
	}
}
