package actors_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func TestShutdownPhasesSumToTotal(t *testing.T) {
	n := startNode(t)
	for i := 0; i < 2; i++ {
		readyRunner(t, n)
	}
	rep, err := n.Shutdown(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	// The phases lie end to end inside the total: the first starts at or
	// after the shutdown's start, the last ends at or before its end, so
	// they sum to the total but for the moments before SIGNALING and after
	// CLOSING. (This compared the sum with the total within 1 ms: a wall-
	// clock bound a loaded CI machine missed by 0.1 ms.)
	var sum time.Duration
	for _, d := range rep.PhaseDuration {
		sum += d
	}
	last := len(rep.PhaseStart) - 1
	if sum > rep.Total || rep.PhaseStart[0].Before(rep.Start) ||
		rep.PhaseStart[last].Add(rep.PhaseDuration[last]).After(rep.Start.Add(rep.Total)) {
		t.Errorf("phases (sum %s, from %s to %s) do not lie inside the shutdown (total %s, from %s)", sum,
			rep.PhaseStart[0].Format(time.StampMicro), rep.PhaseStart[last].Add(rep.PhaseDuration[last]).Format(time.StampMicro),
			rep.Total, rep.Start.Format(time.StampMicro))
	}
	t.Logf("phases sum to %s of a total %s", sum, rep.Total)
	for i := 1; i < len(rep.PhaseStart); i++ {
		if !rep.PhaseStart[i].Equal(rep.PhaseStart[i-1].Add(rep.PhaseDuration[i-1])) {
			t.Errorf("phase %d does not start where phase %d ended", i, i-1)
		}
	}
	if rep.Root == nil || len(rep.Root.Children) == 0 || len(rep.Root.Children[0].Children) != 2 {
		t.Fatalf("report tree:\n%s", rep)
	}
	for _, r := range rep.Root.Children[0].Children {
		for ph, p := range r.Phases {
			if p == nil || p.Outcome != actors.OutcomeOK {
				t.Errorf("runner %s phase %d: %+v", r.Name, ph, p)
			}
		}
	}
	t.Logf("\n%s", rep)
}

func TestShutdownTwiceAndConcurrentlySameReport(t *testing.T) {
	n := startNode(t)
	readyRunner(t, n)
	var wg sync.WaitGroup
	reps := make([]actors.ShutdownReport, 3)
	for i := range reps {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			reps[i], _ = n.Shutdown(context.Background())
		}(i)
	}
	wg.Wait()
	again, _ := n.Shutdown(ctxT(t))
	for i, r := range append(reps, again) {
		if !r.Start.Equal(reps[0].Start) || r.Total != reps[0].Total {
			t.Errorf("report %d differs: start %v total %s vs %v %s", i, r.Start, r.Total, reps[0].Start, reps[0].Total)
		}
	}
}

func TestNoTaskStartsAfterSignaling(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Shutdown = actors.ShutdownDeadlines{Draining: 5 * time.Second}
	})
	id := readyRunner(t, n, "--token-delay", "2ms")
	ctx := ctxT(t)
	running := mustSubmit(t, n, id, textTask("running", 40))
	queued := mustSubmit(t, n, id, textTask("queued", 5))
	if _, err := running.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	rep, err := n.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The running task drained; the queued one never started.
	if o := wait(t, running); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("in-flight task: %+v, want it drained to Complete", o)
	}
	if o := wait(t, queued); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED || !strings.Contains(o.Reason, "shutting down") {
		t.Errorf("queued task: %+v", o)
	}
	tr := strings.Join(taskTrace(n.rec.snapshot(), id), " ")
	if strings.Contains(tr, "task:queued:Running") {
		t.Errorf("a task started after SIGNALING: %s", tr)
	}
	if _, err := n.Submit(ctx, id, textTask("late", 1)); !errors.Is(err, actors.ErrShuttingDown) {
		t.Errorf("submit after shutdown: %v", err)
	}
	r := rep.Root.Children[0].Children[0]
	if p := r.Phases[actors.PhaseDraining]; p.TasksDrained != 1 {
		t.Errorf("DRAINING report %+v, want 1 drained", p)
	}
	if p := r.Phases[actors.PhaseSignaling]; p.TasksFailed != 1 {
		t.Errorf("SIGNALING report %+v, want 1 cut short (the queued task)", p)
	}
}

func TestDrainDeadlineTimesOutTasks(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Shutdown = actors.ShutdownDeadlines{Draining: 300 * time.Millisecond}
	})
	id := readyRunner(t, n, "--token-delay", "2ms")
	h := mustSubmit(t, n, id, textTask("endless", 1000000))
	if _, err := h.Chunk(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	rep, err := n.Shutdown(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_TIMED_OUT {
		t.Errorf("task: %+v", o)
	}
	// A runner that failed before DRAINING (e.g. its heartbeat missed on an
	// overloaded machine) has no DRAINING report: say so, do not crash.
	if p := rep.Root.Children[0].Children[0].Phases[actors.PhaseDraining]; p == nil || p.Outcome != actors.OutcomeTimedOut || p.TasksFailed != 1 {
		t.Errorf("DRAINING of the runner: %+v\n%s", p, rep)
	}
}

func TestShutdownForcesRunnerThatIgnoresShutdown(t *testing.T) {
	n := startNode(t)
	id := readyRunner(t, n, "--fault", "ignore-shutdown:forever")
	to := fastTimeouts()
	start := time.Now()
	rep, err := n.Shutdown(ctxT(t))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Root.Children[0].Children[0].Phases[actors.PhaseClosing]
	if p.Outcome != actors.OutcomeForced || !strings.Contains(p.Note, "SIG") {
		t.Errorf("CLOSING of %s: %+v, want forced", id, p)
	}
	if len(rep.Forced) != 1 || !strings.Contains(rep.Forced[0], id) {
		t.Errorf("forced list %v", rep.Forced)
	}
	// Killed within grace + SIGTERM wait (+ the SIGKILL itself); generous
	// slack for a loaded machine, but far below any phase deadline.
	if limit := to.StopGrace + to.TermWait + 5*time.Second; took > limit {
		t.Errorf("shutdown took %s, want under %s", took, limit)
	}
}

func TestShutdownWhileRunnersCrashAndDuringStartup(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	// Starting: the runners are loading when the shutdown begins.
	for i := 0; i < 3; i++ {
		if _, err := n.SpawnRunner(ctx, builtin("--layers", "20", "--layer-delay", "5ms")); err != nil {
			t.Fatal(err)
		}
	}
	// Crashing: these die right after Ready.
	for i := 0; i < 3; i++ {
		if _, err := n.SpawnRunner(ctx, builtin("--fault", "exit:2")); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := n.Shutdown(ctx)
	if err != nil {
		t.Fatalf("shutdown: %v\n%s", err, rep)
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	if _, err := n.SpawnRunner(ctx, builtin()); !errors.Is(err, actors.ErrShuttingDown) {
		t.Errorf("spawn after shutdown: %v", err)
	}
}

func TestForceKillDuringShutdownIsReportedAsSIGKILL(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Timeouts.StopGrace = time.Minute // only the force can end it quickly
	})
	id := readyRunner(t, n, "--fault", "ignore-shutdown:forever")
	type result struct {
		rep actors.ShutdownReport
		err error
	}
	done := make(chan result, 1) // never closed; one send
	go func() {
		rep, err := n.Shutdown(context.Background())
		done <- result{rep, err}
	}()
	n.rec.waitFor(t, 20*time.Second, "ShuttingDown", hasStatus(id, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN))
	if k, err := n.ForceKill(ctxT(t)); err != nil || k != 1 {
		t.Fatalf("ForceKill: %d %v", k, err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	p := r.rep.Root.Children[0].Children[0].Phases[actors.PhaseClosing]
	if p.Outcome != actors.OutcomeForced || !strings.Contains(p.Note, "SIGKILL") {
		t.Errorf("CLOSING: %+v", p)
	}
	var stopped *actors.StopResult
	for _, e := range n.rec.snapshot() {
		if s, ok := e.(*actors.RunnerStopped); ok && s.Result.RunnerID == id {
			stopped = &s.Result
		}
	}
	if stopped == nil || stopped.EndedBy != "SIGKILL" {
		t.Errorf("stop result %+v, want ended by SIGKILL", stopped)
	}
}
