package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// steppedNode starts a node whose runner clock (the health monitor's
// checks, heartbeat age, the runners' timers) is a fake the test steps; the
// runners' own watchdogs are out of the way and the monitor never recovers
// a runner, so only its scores move. Supervision runs on the real clock.
func steppedNode(t *testing.T, mods ...func(*actors.NodeConfig)) (*testNode, *clock.Fake) {
	t.Helper()
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, append([]func(*actors.NodeConfig){func(c *actors.NodeConfig) {
		c.RunnerClock = fc
		c.Timeouts = actors.RunnerTimeouts{Handshake: time.Hour, HeartbeatInterval: 20 * time.Millisecond,
			HeartbeatTimeout: time.Hour, ProgressTimeout: time.Hour, LoadingStall: time.Hour,
			ExitGrace: 500 * time.Millisecond, StopGrace: 2 * time.Second, TermWait: time.Second, Drain: 500 * time.Millisecond}
		c.Health.Config = health.Config{Interval: time.Second, HeartbeatGrace: time.Second, HeartbeatLimit: 3 * time.Second,
			UnhealthyChecks: 1000}
	}}, mods...)...)
	return n, fc
}

// stepCheck advances the fake clock one interval and waits for the check
// it triggers (a round whose probe went unanswered is scored at the next
// tick: then it steps again).
func (n *testNode) stepCheck(t *testing.T, fc *clock.Fake) {
	t.Helper()
	for drained := false; !drained; {
		select {
		case c := <-n.checks:
			n.seen = c
		default:
			drained = true
		}
	}
	for range 10 {
		fc.Advance(time.Second)
		select {
		case c := <-n.checks:
			n.seen = c
			return
		case <-time.After(3 * time.Second):
		}
	}
	t.Fatal("no health check after 10 steps of the clock")
}

func statusJSON(t *testing.T, n *testNode) map[string]any {
	t.Helper()
	doc, err := httpapi.BuildStatus(ctxT(t), n.Node)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func statusRunner(t *testing.T, doc map[string]any, id string) map[string]any {
	t.Helper()
	for _, r := range doc["runners"].([]any) {
		if m := r.(map[string]any); m["id"] == id {
			return m
		}
	}
	t.Fatalf("runner %s not in /status", id)
	return nil
}

func readyz(t *testing.T, n *testNode, cfg actors.HTTPConfig) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	httpapi.Handler(n.Node, cfg).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9464/readyz", nil)) // a loopback Host: see TestHostGuard
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("/readyz body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, body
}

// TestReadyzNotReadyWhenEveryRunnerIsUnhealthy: a node whose every runner
// meant to serve is unhealthy is not ready, even when it wants no runner
// (NoRunnersNeeded, as on `exo-actors node`), and a hung runner is not
// counted ready. Before, kill -STOP of both runners of a node left /readyz
// at 200 with "ready_runners": 2, and /status node.ready at 2.
func TestReadyzNotReadyWhenEveryRunnerIsUnhealthy(t *testing.T) {
	n, fc := steppedNode(t)
	ctx := ctxT(t)
	var pids []int
	for range 2 {
		id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "web", Builtin: true, Args: runnerArgs})
		if err != nil {
			t.Fatal(err)
		}
		n.ev.Wait(t, 30*time.Second, "Ready", readyGen(id, 1))
		infos, err := n.Runners(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			if in.ID == id {
				pids = append(pids, in.Pid)
			}
		}
	}
	n.stepCheck(t, fc)
	cfg := actors.HTTPConfig{NoRunnersNeeded: true}
	if code, body := readyz(t, n, cfg); code != http.StatusOK {
		t.Fatalf("/readyz with two healthy runners: %d %v", code, body)
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { // before the node's shutdown (cleanups run in reverse)
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	})
	for i := 0; ; i++ {
		n.stepCheck(t, fc)
		rep, err := n.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Node.Unhealthy == 2 {
			break
		}
		if i == 10 {
			t.Fatalf("the hung runners are not both unhealthy after 10 checks: %+v", rep.Node)
		}
	}
	code, body := readyz(t, n, cfg)
	if code != http.StatusServiceUnavailable || body["ready_runners"] != 0.0 {
		t.Errorf("/readyz with both runners hung: %d %v; want 503, ready_runners 0", code, body)
	}
	if code, body := readyz(t, n, actors.HTTPConfig{ReadyRunners: 1}); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz (ReadyRunners 1) with both runners hung: %d %v; want 503", code, body)
	}
	if node := statusJSON(t, n)["node"].(map[string]any); node["ready"] != 0.0 {
		t.Errorf("/status node.ready with both runners hung: %v, want 0", node["ready"])
	}
}

// TestStatusNewGenerationShowsNoOldScore: right after a restart, before
// the monitor checked the new process, /status shows the new generation
// "starting" with no score, not the old generation's. Before, for up to an
// interval it showed the new generation Ready beside the old one's score
// (on a node: 0, "process is a zombie").
func TestStatusNewGenerationShowsNoOldScore(t *testing.T) {
	n, fc := steppedNode(t)
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "web", Builtin: true, Args: runnerArgs})
	if err != nil {
		t.Fatal(err)
	}
	n.ev.Wait(t, 30*time.Second, "Ready", readyGen(id, 1))
	n.stepCheck(t, fc)
	r := statusRunner(t, statusJSON(t, n), id)
	if r["health_state"] != "live" || r["level"] != "healthy" {
		t.Fatalf("generation 1 checked: %v", r)
	}
	if err := syscall.Kill(int(r["pid"].(float64)), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	n.ev.Wait(t, 30*time.Second, "generation 2 Ready", readyGen(id, 2))
	r = statusRunner(t, statusJSON(t, n), id)
	if r["generation"] != 2.0 || r["health_state"] != "starting" || r["level"] != "unknown" || r["score"] != 0.0 {
		t.Errorf("generation 2 before any check of it: generation %v, health_state %v, level %v, score %v; want 2, starting, unknown, 0",
			r["generation"], r["health_state"], r["level"], r["score"])
	}
}

// TestStatusRestartingGenerationNotCheckedYet: a runner whose newest
// process failed before any check saw it, and which waits in backoff, is
// "restarting" in /status, not "starting" beside "restarting in 1.3s" (a
// new user's trial, in a crash loop).
func TestStatusRestartingGenerationNotCheckedYet(t *testing.T) {
	// Supervision on a clock of its own: the restart's backoff ends when
	// the test says.
	sup := clock.NewFake(time.Unix(1_700_000_000, 0))
	n, fc := steppedNode(t, func(c *actors.NodeConfig) { c.Clock = sup })
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "web", Builtin: true, Args: runnerArgs})
	if err != nil {
		t.Fatal(err)
	}
	n.ev.Wait(t, 30*time.Second, "Ready", readyGen(id, 1))
	n.stepCheck(t, fc)
	r := statusRunner(t, statusJSON(t, n), id)
	if r["health_state"] != "live" {
		t.Fatalf("generation 1 checked: %v", r)
	}
	if err := syscall.Kill(int(r["pid"].(float64)), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDecision := func(gen uint64) {
		n.ev.Wait(t, 30*time.Second, fmt.Sprintf("generation %d's decision", gen), func(evs []actors.Event) bool {
			for _, e := range evs {
				if d, ok := e.(*actors.SupervisionDecision); ok && d.RunnerID == id && d.Generation == gen {
					return true
				}
			}
			return false
		})
	}
	waitDecision(1)
	sup.Advance(time.Minute) // past the backoff
	n.ev.Wait(t, 30*time.Second, "generation 2 Ready", readyGen(id, 2))
	infos, err := n.Runners(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("runners %v %v", infos, err)
	}
	if err := syscall.Kill(infos[0].Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitDecision(2)
	r = statusRunner(t, statusJSON(t, n), id)
	if r["restarting"] != true || r["generation"] != 2.0 {
		t.Fatalf("after generation 2's failure: %v; want it waiting in backoff", r)
	}
	if r["health_state"] != "restarting" || r["level"] != "unknown" {
		t.Errorf("generation %v failed before any check, waiting in backoff: health_state %v, level %v; want restarting, unknown",
			r["generation"], r["health_state"], r["level"])
	}
}

// TestStatusDrainingAndLiveCounts: during a shutdown's SIGNALING and
// DRAINING /status shows the live runners "draining" (their status stays
// what they report until CLOSING stops them), and node.runners counts the
// runners not removed, node.removed those retention still lists. Before,
// the runners stayed "live" for the whole drain, and node.runners counted
// removed runners too (281 with 25 live).
func TestStatusDrainingAndLiveCounts(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	var ids []string
	for range 2 {
		id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "web", Builtin: true, Args: runnerArgs})
		if err != nil {
			t.Fatal(err)
		}
		n.ev.Wait(t, 30*time.Second, "Ready", readyGen(id, 1))
		ids = append(ids, id)
	}
	if _, err := n.StopRunner(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	n.awaitChecks(t, 2)
	doc := statusJSON(t, n)
	node := doc["node"].(map[string]any)
	if node["runners"] != 1.0 || node["removed"] != 1.0 {
		t.Errorf("/status node with one live and one stopped runner: runners %v, removed %v; want 1 and 1", node["runners"], node["removed"])
	}
	if r := statusRunner(t, doc, ids[1]); r["health_state"] != "stopped" || r["level"] == "unhealthy" {
		t.Errorf("stopped runner: health_state %v, level %v; want stopped, not unhealthy", r["health_state"], r["level"])
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := n.ShutdownPhase(shutCtx, actors.PhaseSignaling, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ShutdownPhase(shutCtx, actors.PhaseDraining, 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, wait := range []bool{false, true} { // at once, and once the monitor checked
		if wait {
			n.awaitChecks(t, 1)
		}
		doc = statusJSON(t, n)
		if r := statusRunner(t, doc, ids[0]); doc["node"].(map[string]any)["state"] != "shutting_down" || r["health_state"] != "draining" {
			t.Errorf("runner of a node in DRAINING (after a check: %v): node.state %v, health_state %v, status %v; want shutting_down, draining",
				wait, doc["node"].(map[string]any)["state"], r["health_state"], r["status"])
		}
	}
}
