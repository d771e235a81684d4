package actors_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// healthNode starts a node whose runner clock (liveness, and the health
// monitor's checks) is a fake the test steps; supervision runs on the real
// clock with a 1 ms backoff. checks receives each check's number and knows
// the node, so that a step waits for its resource closes first. Its
// timeouts are not checked (startNodeUnchecked): a test may ask for a
// heartbeat once an hour, so no heartbeat races the stepped clock.
func healthNode(t *testing.T, hc health.Config, mods ...func(*actors.NodeConfig)) (*testNode, *clock.Fake, *healthChecks) {
	t.Helper()
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	checks := make(chan uint64, 1024) // never closed
	n := startNodeUnchecked(t, func(c *actors.NodeConfig) {
		c.RunnerClock = fc
		// The runner's own watchdogs stay out of the way: only the monitor acts.
		c.Timeouts = actors.RunnerTimeouts{Handshake: time.Hour, HeartbeatInterval: 20 * time.Millisecond,
			HeartbeatTimeout: time.Hour, ProgressTimeout: time.Hour, LoadingStall: time.Hour,
			ExitGrace: 500 * time.Millisecond, StopGrace: 2 * time.Second, TermWait: time.Second, Drain: 500 * time.Millisecond}
		c.ErrorPolicy = errhandler.Config{Backoff: errhandler.BackoffConfig{Base: time.Millisecond, Max: 10 * time.Millisecond}}
		c.Health = actors.HealthConfig{Config: hc, OnCheck: func(n uint64) {
			select {
			case checks <- n:
			default:
			}
		}}
		for _, m := range mods {
			m(c)
		}
	})
	return n, fc, &healthChecks{c: checks, n: n}
}

// healthChecks is a stepped node's check numbers, and the node.
type healthChecks struct {
	c chan uint64
	n *testNode
}

// step advances the fake clock by one interval and waits for the check it
// triggers. An Advance of several intervals lets the monitor's tick re-arm
// and run again within it, racing the Advance (one check or several, late
// or on time): a pause of several intervals is a jump (stepJump).
func step(t *testing.T, fc *clock.Fake, checks *healthChecks, d time.Duration) {
	t.Helper()
	stepBy(t, checks, func() { fc.Advance(d) })
}

// stepJump is step for a node paused for d: the clock jumps, and the one
// tick due runs late (TestHealthLateCheckDoesNotJudgeHeartbeat).
func stepJump(t *testing.T, fc *clock.Fake, checks *healthChecks, d time.Duration) {
	t.Helper()
	stepBy(t, checks, func() { fc.Jump(d) })
}

// stepBy moves the clock with move and waits for the check it triggers.
// Before each move it waits for the node's resource closes: their timeouts
// run on this clock and their work in real time (a stopped runner's pipes
// close when its reader has seen EOF), so a clock moved on while one runs
// times it out however quick it is. It did, in CI: 5 steps during one pipe
// close, "close did not return within 5s", and an alert for a runner
// stopped on request.
func stepBy(t *testing.T, checks *healthChecks, move func()) {
	t.Helper()
	for {
		select {
		case <-checks.c: // drain checks that ran before this step
			continue
		default:
		}
		break
	}
	// A round completes when every runner it probed answered; a probe sent
	// to a runner actor that was stopping (retired, removed) is never
	// answered, and the monitor then scores that round at its next tick,
	// as in production. So a tick that brought no check within a few
	// seconds is followed by another.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := checks.n.WaitResourceOpsForTest(ctxT(t)); err != nil {
			t.Fatalf("a resource close or reset still running after 30s: %v", err)
		}
		move()
		wait := time.NewTimer(3 * time.Second)
		select {
		case <-checks.c:
			wait.Stop()
			return
		case <-wait.C:
		}
		if time.Now().After(deadline) {
			t.Fatal("no health check within 20s of advancing the clock")
		}
	}
}

func runnerHealth(t *testing.T, n *testNode, id string) actors.RunnerHealth {
	t.Helper()
	rep, err := n.Health(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Runners {
		if r.RunnerID == id {
			return r
		}
	}
	t.Fatalf("runner %s not in the health report %+v", id, rep)
	return actors.RunnerHealth{}
}

func healthAlerts(evs []actors.Event, id string) []*actors.HealthAlert {
	var out []*actors.HealthAlert
	for _, e := range evs {
		if a, ok := e.(*actors.HealthAlert); ok && a.RunnerID == id {
			out = append(out, a)
		}
	}
	return out
}

// A healthy runner scores 1 on every component, and its level is announced.
func TestHealthHealthyRunner(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second})
	id := readyRunner(t, n)
	for i := 0; i < 3; i++ {
		step(t, fc, checks, time.Second)
	}
	r := runnerHealth(t, n, id)
	if r.State != actors.RunnerLive || r.Level != health.Healthy || r.Value < 0.9 || r.Components.Status != 1 || r.Components.Resources != 1 || r.Components.Errors != 1 || !r.Alive || r.RSS == 0 {
		t.Errorf("healthy runner: %+v", r)
	}
	evs := n.rec.snapshot()
	var changed []*actors.HealthChanged
	for _, e := range evs {
		if c, ok := e.(*actors.HealthChanged); ok && c.RunnerID == id {
			changed = append(changed, c)
		}
	}
	if len(changed) == 0 || changed[0].To != health.Healthy {
		t.Errorf("health changes %+v, want a first one to healthy", changed)
	}
	if a := healthAlerts(evs, id); len(a) != 0 {
		t.Errorf("alerts for a healthy runner: %+v", a)
	}
}

// TestHealthForgetsRemovedRunners: the monitor keeps a view only of the
// runners the supervisor still lists (the live ones and the removed ones
// its retention keeps), not of every runner ever spawned; with the views
// kept forever uptime_heap_growth measured 2.2 (1.2 KiB per spawn/stop).
func TestHealthForgetsRemovedRunners(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second}, func(c *actors.NodeConfig) {
		c.Retention.KeepRemoved = 1
	})
	ctx := ctxT(t)
	var ids []string
	for range 3 {
		id := readyRunner(t, n)
		step(t, fc, checks, time.Second) // seen by the monitor while live
		if _, err := n.StopRunner(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	live := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	rep, err := n.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Runners {
		got = append(got, r.RunnerID)
	}
	if want := []string{ids[2], live}; !slices.Equal(got, want) {
		t.Fatalf("health report lists %v, want %v (the one removed runner retention keeps, then the live one)", got, want)
	}
}

// TestHealthGoneRunnerKeepsNoLiveScore: a runner stopped between two
// checks is reported stopped, with no score (it is not judged: level 0,
// "unknown" on /status), not with its last live check's. Before, it kept
// that check's score, level, pid and memory for as long as it was listed
// ("gone", 0.74 degraded, a dead pid: seen by a new operator on /status);
// then it showed "gone", 0 and unhealthy, for a runner stopped on purpose.
func TestHealthGoneRunnerKeepsNoLiveScore(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second})
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	if r := runnerHealth(t, n, id); r.State != actors.RunnerLive || r.Value == 0 || r.Pid == 0 {
		t.Fatalf("live runner: %+v", r)
	}
	if _, err := n.StopRunner(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	step(t, fc, checks, time.Second)
	r := runnerHealth(t, n, id)
	if r.State != actors.RunnerStoppedState || r.Value != 0 || r.Level != 0 || r.Reason != "stopped (not scored)" ||
		r.Pid != 0 || r.Alive || r.RSS != 0 || r.HeartbeatAge != 0 {
		t.Errorf("stopped runner: state %s, score %v %s %q, pid %d, alive %v, rss %d, heartbeat age %s; want stopped, no score or level, \"stopped (not scored)\", no pid, memory or heartbeat",
			r.State, r.Value, r.Level, r.Reason, r.Pid, r.Alive, r.RSS, r.HeartbeatAge)
	}
}

// A hung runner's score falls below the threshold; after K unhealthy checks
// it is recovered once, in order (its resource in error reset, then a forced
// restart through the supervisor: FORCE_CLEANUP then RETRY); the restarted
// runner hangs again, so it is persistently failed: stopped gracefully, with
// one CRITICAL alert. Alerts fire once per condition and resolve.
func TestHealthHungRunnerRecoveredThenStopped(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, HeartbeatGrace: time.Second,
		HeartbeatLimit: 3 * time.Second, UnhealthyChecks: 2, MaxRecoveries: 1, RecoveryWindow: 24 * time.Hour})
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, builtin("--fault", "hang")) // hangs right after Ready, every generation
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	// A resource of the runner's, broken: the recovery's first step resets it.
	reset := make(chan struct{}, 1)
	if err := n.RegisterResources(ctx, resources.Spec{Name: "kv-cache", Owner: id,
		Close: func(context.Context) error { return nil },
		Reset: func(context.Context) error {
			select { // one reset is expected; a second must not block (a step waits for resets)
			case reset <- struct{}{}:
			default:
			}
			return nil
		}}); err != nil {
		t.Fatal(err)
	}
	if err := n.ReportResourceError(ctx, "kv-cache", errors.New("corrupted")); err != nil {
		t.Fatal(err)
	}

	var trail []string
	below, resetSeen := false, false
	stopped := func() bool {
		for _, e := range n.rec.snapshot() {
			if s, ok := e.(*actors.RunnerStopped); ok && s.Result.RunnerID == id {
				return true
			}
		}
		return false
	}
	// Step the clock one interval at a time. While the runner is not live
	// (its process is being killed, restarted, or is starting), real time
	// must pass too: wait for its next event (or 50 ms) before the next step.
	deadline := time.Now().Add(30 * time.Second)
	for !stopped() && time.Now().Before(deadline) {
		step(t, fc, checks, time.Second)
		r := runnerHealth(t, n, id)
		trail = append(trail, fmt.Sprintf("g%d %s %.3f %s", r.Generation, r.State, r.Value, r.Level))
		if r.State == actors.RunnerLive && r.Value < 0.8 {
			below = true
		}
		// The recovery's reset runs on a goroutine, bounded by a timeout
		// on this stepped clock: let it be called before the clock moves
		// on, or a goroutine late on a loaded machine reads as a reset
		// that timed out after 5 s of steps (it did, once, under two full
		// suites at once: "reset did not return within 5s").
		if !resetSeen && resetRequested(r) {
			select {
			case <-reset:
				resetSeen = true
			case <-time.After(20 * time.Second):
				t.Fatal("the recovery asked for the resource's reset, and Reset was not called within 20s")
			}
		}
		// Its stop was asked, and the hung process lives until the stop's
		// escalation ends it: the report must not say it is not running
		// (it did, while /status listed its live pid). RunnerStopped is
		// recorded (a synchronous hook) before the supervisor drops the
		// runner, so a stop that is over is never taken for one under way.
		if r.State == actors.RunnerPersistent && !stopped() && r.Reason != "persistently failed: being stopped gracefully" {
			t.Errorf("persistently failed runner being stopped: reason %q; want it named as being stopped", r.Reason)
		}
		if r.State != actors.RunnerLive {
			seen := len(n.rec.snapshot())
			_, _ = n.rec.await(50*time.Millisecond, "next event", func(evs []actors.Event) bool { return len(evs) > seen })
		}
	}
	t.Logf("checks: %s", strings.Join(trail, " | "))
	if !below {
		t.Error("the hung runner's score never fell below the healthy threshold")
	}
	if !stopped() {
		t.Fatal("the runner that stays broken was not stopped")
	}
	if !resetSeen { // the recovery may have ended between two looks
		select {
		case <-reset:
			resetSeen = true
		default:
		}
	}
	if !resetSeen {
		t.Error("the resource in error was never reset")
	}
	step(t, fc, checks, time.Second) // a check that finds it persistently failed
	r := runnerHealth(t, n, id)
	if r.State != actors.RunnerPersistent {
		t.Errorf("state %q, want %q", r.State, actors.RunnerPersistent)
	}
	// Not scored any more: no score series, as for an escalated or stopped
	// runner (before, it kept its last live score for as long as it was
	// listed, while an escalated runner lost its series at once).
	if s := scoreSeries(t, n, id); len(s) > 0 {
		t.Errorf("persistently failed runner still has score series: %v", s)
	}
	// Two records: the recovery (its steps in order; it ends failed when the
	// new process hung before a check saw it healthy, succeeded when one
	// did), then the stop of the persistently failed runner.
	var recs []string
	restarts := 0
	for _, rec := range r.Recoveries {
		var steps []string
		for _, s := range rec.Steps {
			steps = append(steps, s.Name+":"+s.Outcome)
			if s.Name == health.StepForceRestart && s.Outcome == "requested" {
				restarts++
			}
		}
		recs = append(recs, strings.Join(steps, " ")+" →"+rec.Outcome)
	}
	first := "reset_resources:requested reset_resources:ok force_restart:requested force_restart:ok"
	if len(recs) != 2 || (recs[0] != first+" end:failed →failed" && recs[0] != first+" →succeeded") ||
		recs[1] != "stop_persistent:requested stop_persistent:ok end:stopped →stopped" {
		t.Errorf("recovery records:\n%s\nwant %q (then failed or succeeded), then the stop", strings.Join(recs, "\n"), first)
	}
	if restarts != 1 {
		t.Errorf("%d forced restarts, want exactly 1", restarts)
	}
	evs := n.rec.snapshot()
	// The forced restart went through the error policy.
	var unhealthy []*actors.SupervisionDecision
	for _, d := range decisions(evs, id) {
		if d.Record.Kind == errhandler.KindUnhealthy {
			unhealthy = append(unhealthy, d)
		}
	}
	if len(unhealthy) != 1 || unhealthy[0].Record.Decision.Action != errhandler.ForceCleanup || unhealthy[0].Record.Decision.Then != errhandler.Retry {
		t.Errorf("decisions of kind unhealthy: %+v, want one FORCE_CLEANUP then RETRY", unhealthy)
	}
	if f := failures(evs, id); len(f) == 0 || f[0].Source != actors.SourceHealth {
		t.Errorf("failures %+v, want the first detected by the health monitor", f)
	}
	// Alerts: exactly one CRITICAL; per condition firing and resolved alternate.
	critical := 0
	state := map[string]actors.AlertState{}
	for _, a := range healthAlerts(evs, id) {
		if a.Severity == errhandler.Critical && a.State == actors.AlertFiring {
			critical++
		}
		if state[a.Condition] == a.State {
			t.Errorf("alert %s %s twice in a row (not deduplicated)", a.Condition, a.State)
		}
		state[a.Condition] = a.State
	}
	if critical != 1 {
		t.Errorf("%d CRITICAL alerts, want 1; alerts: %+v", critical, healthAlerts(evs, id))
	}
	if state[health.ConditionPersistent] != actors.AlertFiring {
		t.Errorf("persistent failure alert %q, want firing", state[health.ConditionPersistent])
	}
	if state[health.ConditionUnhealthy] != actors.AlertResolved || state[health.ConditionRecovering] != actors.AlertResolved {
		t.Errorf("alert states at the end %v: unhealthy and recovering should have resolved", state)
	}
	// And resolved before persistent_failure fires, not at a later check:
	// a node that shuts itself down over it (node_shutdown_share) never
	// runs that check, and held "unhealthy" beside "persistent_failure" to
	// its end (an SRE's trial).
	held := map[string]bool{}
	for _, a := range healthAlerts(evs, id) {
		if a.Condition == health.ConditionPersistent {
			if held[health.ConditionUnhealthy] || held[health.ConditionDegraded] {
				t.Errorf("persistent_failure fired with %v still held", held)
			}
			break
		}
		held[a.Condition] = a.State == actors.AlertFiring
	}
	// Once the stop is over, the persistent_failure alert /status holds
	// says so (before, its reason said "stopping it gracefully" for ever).
	var reason string
	for range 5 {
		step(t, fc, checks, time.Second)
		rep, err := n.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range rep.Alerts {
			if a.RunnerID == id && a.Condition == health.ConditionPersistent {
				reason = a.Reason
			}
		}
		if strings.Contains(reason, "; stopped: ") {
			break
		}
	}
	if !strings.Contains(reason, "persistently failed: needed a recovery again after 1 within 24h0m0s: ") ||
		!strings.Contains(reason, "; stopped: ") || strings.Contains(reason, "being stopped") || strings.Contains(reason, "stopping it") {
		t.Errorf("persistent_failure alert after the stop: reason %q; want it to say the stop is over", reason)
	}
}

func TestHealthConfigRefused(t *testing.T) {
	_, err := actors.StartNode(actors.NodeConfig{Logger: quietLogger(), Health: actors.HealthConfig{Config: health.Config{
		Weights: health.Weights{Process: 0.5, Status: 0.5, Resources: 0.5, Errors: 0.5}}}})
	if err == nil || !strings.Contains(err.Error(), "health weights sum to 2") {
		t.Fatalf("StartNode with bad weights: %v", err)
	}
}

// TestHealthLeavesAStartingRunnerToItsHandshakeTimeout: a runner that has
// not said Hello yet is judged by its handshake timeout alone; the monitor
// reports it "starting" and neither scores nor recovers it. Before, it took
// the time since the process started for a heartbeat age (no heartbeat is
// allowed before HelloAccepted), so a runner whose Hello came within the
// documented 5 s was killed at about 4.6 s as "unhealthy (score 0.00): no
// heartbeat for 4.577s (limit 2.5s)" (a Node.js runner, on a node with the
// default timeouts), and a silent one was not told it never said Hello.
func TestHealthLeavesAStartingRunnerToItsHandshakeTimeout(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, HeartbeatGrace: time.Second,
		HeartbeatLimit: 3 * time.Second, UnhealthyChecks: 2})
	ctx := ctxT(t)
	// A process that never says Hello; its handshake timeout is an hour away.
	id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "silent", Command: "sleep", Args: []string{"600"}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "the process started", func(evs []actors.Event) bool { return pidOf(evs, id, 1) > 0 })
	for range 10 {
		step(t, fc, checks, time.Second)
	}
	if r := runnerHealth(t, n, id); r.State != actors.RunnerStarting || r.Recovering != nil {
		t.Errorf("runner 10 s into its handshake: state %s, score %.2f %s (%s), want %s and no recovery",
			r.State, r.Value, r.Level, r.Reason, actors.RunnerStarting)
	}
	for _, e := range n.rec.snapshot() {
		if f, ok := e.(*actors.RunnerFailed); ok && f.Failure.RunnerID == id {
			t.Errorf("runner failed during its handshake: %s", f.Failure.Message)
		}
	}
}

// scoreSeries lists runner id's exo_health_score and exo_health_component
// series.
func scoreSeries(t *testing.T, n *testNode, id string) []string {
	t.Helper()
	fams, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fams {
		if f.GetName() != "exo_health_score" && f.GetName() != "exo_health_component" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "runner" && l.GetValue() == id {
					out = append(out, f.GetName()+" "+strings.TrimSpace(m.String()))
				}
			}
		}
	}
	return out
}

// resetRequested reports whether the recovery under way asked for its
// reset_resources step.
func resetRequested(r actors.RunnerHealth) bool {
	if r.Recovering == nil {
		return false
	}
	for _, st := range r.Recovering.Steps {
		if st.Name == health.StepResetResources && st.Outcome == "requested" {
			return true
		}
	}
	return false
}
