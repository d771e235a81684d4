package actors_test

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestHealthStopRequestedRunnerNeitherCountedNorUnhealthy: a runner being
// stopped on request, and one already stopped, is not in the node score
// (the mean of the runners meant to be running) and is not scored
// unhealthy; a runner stopped before any check saw it is "stopped", not
// "starting". Before, an SRE stopping 8 runners saw the node at "0.745
// degraded" (0.392 unhealthy under spawn/stop churn) with the stopped
// runners listed "Shutdown stopping 0 … process is a zombie", and every
// runner stopped on purpose kept level "unhealthy" while retained.
func TestHealthStopRequestedRunnerNeitherCountedNorUnhealthy(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second})
	ctx := ctxT(t)
	keep := readyRunner(t, n)
	// Stopped before the monitor's first check.
	early := readyRunner(t, n)
	if _, err := n.StopRunner(ctx, early); err != nil {
		t.Fatal(err)
	}
	// Ignores the Shutdown frame: its stop lasts until SIGTERM, StopGrace
	// (2s on the stepped clock) after the request.
	slow := readyRunner(t, n, "--fault", "ignore-shutdown:forever")
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	if r := runnerHealth(t, n, early); r.State != actors.RunnerStoppedState || r.Level == health.Unhealthy {
		t.Errorf("runner stopped before its first check: state %q, level %s (%s); want %q, not unhealthy", r.State, r.Level, r.Reason, actors.RunnerStoppedState)
	}
	done := make(chan error, 1)
	go func() {
		_, err := n.StopRunner(ctx, slow)
		done <- err
	}()
	n.rec.waitFor(t, 20*time.Second, "ShuttingDown", hasStatus(slow, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN))
	step(t, fc, checks, time.Second)
	rep, err := n.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Node.Counted != 1 || rep.Node.Worst != keep {
		t.Errorf("node score while a runner is being stopped on request: %+v; want it over the one runner meant to run (%s)", rep.Node, keep)
	}
	if r := runnerHealth(t, n, slow); r.State != actors.RunnerStopping || r.Level == health.Unhealthy {
		t.Errorf("runner being stopped on request: state %q, level %s %.3f (%s); want %q, not unhealthy", r.State, r.Level, r.Value, r.Reason, actors.RunnerStopping)
	}
	for stopped := false; !stopped; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			stopped = true
		default:
			step(t, fc, checks, time.Second) // StopGrace, then SIGTERM ends it
		}
	}
	step(t, fc, checks, time.Second)
	rep, err = n.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Node.Counted != 1 || rep.Node.Worst != keep {
		t.Errorf("node score after a stop on request: %+v; want it over the one runner meant to run (%s)", rep.Node, keep)
	}
	for _, id := range []string{early, slow} {
		if r := runnerHealth(t, n, id); r.State != actors.RunnerStoppedState || r.Level == health.Unhealthy {
			t.Errorf("stopped runner %s: state %q, level %s (%s); want %q, not unhealthy", id, r.State, r.Level, r.Reason, actors.RunnerStoppedState)
		}
		for _, a := range healthAlerts(n.rec.snapshot(), id) {
			t.Errorf("alert for a runner stopped on request: %+v", a)
		}
	}
}

// zombies is a /proc reader that shows chosen processes as zombies.
type zombies struct {
	mu   sync.Mutex
	pids map[int]bool
}

func (z *zombies) mark(pid int) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.pids == nil {
		z.pids = map[int]bool{}
	}
	z.pids[pid] = true
}

func (z *zombies) read(pid int) (health.ProcStat, error) {
	z.mu.Lock()
	zombie := z.pids[pid]
	z.mu.Unlock()
	if zombie {
		return health.ProcStat{Alive: true, Zombie: true, State: 'Z'}, nil
	}
	return health.ReadProc(pid)
}

// TestHealthExitedRunnerRaisesOnlyItsDecisionAlert: a runner whose process
// has exited (a zombie not yet reaped, its exit not yet classified) is
// winding down, and its supervision decision alerts: a kill -9 raises one
// HIGH alert (error:signal), never an "unhealthy: process is a zombie" one
// as well. Before, a check that fell between the death and the reap (1 in
// 20 simultaneous kills; a crash-on-start runner's generation 1) scored the
// runner live and unhealthy and raised a HIGH "unhealthy" alert, then the
// decision a second HIGH one. Here the check sees the zombie first, always.
func TestHealthExitedRunnerRaisesOnlyItsDecisionAlert(t *testing.T) {
	z := &zombies{}
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second}, actors.WithProcReaderForTest(z.read))
	ctx := ctxT(t)
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	r := runnerHealth(t, n, id)
	if r.State != actors.RunnerLive || r.Level != health.Healthy || r.Pid == 0 {
		t.Fatalf("before the kill: %+v", r)
	}
	z.mark(r.Pid) // the check sees it dead before the runner actor hears of the exit
	step(t, fc, checks, time.Second)
	if r := runnerHealth(t, n, id); r.State != actors.RunnerFailing {
		t.Errorf("runner whose process is a zombie: state %q %s (%s); want %q", r.State, r.Level, r.Reason, actors.RunnerFailing)
	}
	if err := syscall.Kill(r.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "the decision", nDecisions(id, 1))
	n.rec.waitFor(t, 20*time.Second, "generation 2 Ready", func(evs []actors.Event) bool {
		for _, e := range evs {
			if s, ok := e.(*actors.StatusChanged); ok && s.RunnerID == id && s.Generation == 2 && s.To.GetKind() == ready {
				return true
			}
		}
		return false
	})
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	if _, err := n.Health(ctx); err != nil {
		t.Fatal(err)
	}
	var high []string
	for _, a := range healthAlerts(n.rec.snapshot(), id) {
		if a.State == actors.AlertFiring && a.Severity >= errhandler.High {
			high = append(high, a.Condition+": "+a.Reason)
		}
	}
	if len(high) != 1 || high[0][:len(health.ConditionErrorPrefix)] != health.ConditionErrorPrefix {
		t.Errorf("HIGH alerts for one kill -9: %q; want exactly one, the decision's error:signal", high)
	}
}

// TestHealthNewGenerationCarriesNoOldScore: a restarted runner's new
// generation is "starting" with no score until a check sees it; it never
// carries the old generation's score. Before, the check that found the new
// process not sampled yet kept the old generation's report (score 0,
// "process is a zombie") beside the new generation's Ready.
func TestHealthNewGenerationCarriesNoOldScore(t *testing.T) {
	z := &zombies{}
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second}, actors.WithProcReaderForTest(z.read))
	ctx := ctxT(t)
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	r := runnerHealth(t, n, id)
	z.mark(r.Pid)
	step(t, fc, checks, time.Second) // generation 1 scored 0: its process is a zombie
	if r := runnerHealth(t, n, id); r.Value != 0 {
		t.Fatalf("generation 1 seen as a zombie: %+v", r)
	}
	if err := syscall.Kill(r.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "generation 2 started", func(evs []actors.Event) bool { return pidOf(evs, id, 2) > 0 })
	rep, err := n.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range rep.Runners {
		if h.RunnerID == id && h.Generation == 2 && (h.Level != 0 || h.Reason != "") {
			t.Errorf("generation 2 before any check: %s %s %.3f (%s); want no score", h.State, h.Level, h.Value, h.Reason)
		}
	}
	// A check that finds generation 2 not sampled yet (or still in its
	// handshake) reports it starting, without generation 1's score.
	step(t, fc, checks, time.Second)
	if h := runnerHealth(t, n, id); h.State == actors.RunnerStarting && (h.Generation != 2 || h.Level != 0 || h.Reason != "") {
		t.Errorf("runner starting after the restart: generation %d, %s %.3f (%s); want generation 2, no score", h.Generation, h.Level, h.Value, h.Reason)
	}
}

// TestHealthDrainingRunnersSayIt: from the node's SIGNALING on, its live
// runners are "draining" (they take no new work and finish what they
// have), scored and counted as before. Before, they stayed "live" until
// CLOSING stopped them.
func TestHealthDrainingRunnersSayIt(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second})
	ctx := ctxT(t)
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	if _, err := n.ShutdownPhase(ctx, actors.PhaseSignaling, 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ShutdownPhase(ctx, actors.PhaseDraining, 0, 0); err != nil {
		t.Fatal(err)
	}
	step(t, fc, checks, time.Second)
	rep, err := n.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := runnerHealth(t, n, id); r.State != actors.RunnerDraining || r.Level != health.Healthy || rep.Node.Counted != 1 {
		t.Errorf("runner of a draining node: state %q, level %s (%s), node %+v; want %q, healthy and counted", r.State, r.Level, r.Reason, rep.Node, actors.RunnerDraining)
	}
}

// TestHealthUnreadableProcIsNotADeadProcess: a /proc read that fails
// (EMFILE when the node is out of file descriptors, EACCES in a sandbox)
// says nothing about the process: the runner stays live and healthy, with
// no alert and no recovery, and is judged as before once /proc reads again.
// Before, the failed read was scored as a process not running: score 0,
// a HIGH unhealthy alert, and after three checks a forced restart (SIGKILL)
// of a healthy runner (a review: every runner of a node at its fd limit).
func TestHealthUnreadableProcIsNotADeadProcess(t *testing.T) {
	var mu sync.Mutex
	failing := false
	read := func(pid int) (health.ProcStat, error) {
		mu.Lock()
		f := failing
		mu.Unlock()
		if f {
			return health.ProcStat{}, fmt.Errorf("open /proc/%d/stat: %w", pid, syscall.EMFILE)
		}
		return health.ReadProc(pid)
	}
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second}, actors.WithProcReaderForTest(read))
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	before := runnerHealth(t, n, id)
	if before.State != actors.RunnerLive || before.Level != health.Healthy || before.RSS == 0 {
		t.Fatalf("before: %+v", before)
	}
	mu.Lock()
	failing = true
	mu.Unlock()
	for i := 0; i < 5; i++ {
		step(t, fc, checks, time.Second)
		r := runnerHealth(t, n, id)
		if r.State != actors.RunnerLive || r.Level != health.Healthy || r.Components.Process == 0 || r.Recovering != nil || r.RSS != before.RSS {
			t.Fatalf("check %d with /proc unreadable: state %q level %s process %.2f reason %q rss %d recovering %v; want live, healthy, the last RSS (%d), no recovery",
				i+1, r.State, r.Level, r.Components.Process, r.Reason, r.RSS, r.Recovering, before.RSS)
		}
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	step(t, fc, checks, time.Second)
	if r := runnerHealth(t, n, id); r.State != actors.RunnerLive || r.Level != health.Healthy || r.Generation != 1 {
		t.Errorf("after /proc reads again: %+v", r)
	}
	if a := healthAlerts(n.rec.snapshot(), id); len(a) != 0 {
		t.Errorf("alerts for a healthy runner whose /proc was unreadable: %+v", a)
	}
}
