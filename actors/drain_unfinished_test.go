package actors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// TestDrainTaskEndingByItselfIsNotCutShort: a task in flight at DRAINING
// that ends by itself without completing (here TimedOut by its own
// deadline; in the SRE trial, Failed because the hung runner never
// acknowledged it) was not cut short by the shutdown: the drain waited for
// it, as it should, and ended before its deadline. The report says so:
// DRAINING ok with "1 ended unfinished" (TasksUnfinished), no task cut
// short, and the shutdown is clean. Before, the trial's report read
// "DRAINING ok 5.64s (1 cut short)", an ok phase that seemed to have cut a
// task.
func TestDrainTaskEndingByItselfIsNotCutShort(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, func(c *actors.NodeConfig) {
		// Task timers and the drain deadline on the stepped clock; the
		// runner's own watchdogs out of the way.
		c.RunnerClock = fc
		c.Timeouts = actors.RunnerTimeouts{Handshake: time.Hour, HeartbeatInterval: 20 * time.Millisecond,
			HeartbeatTimeout: time.Hour, ProgressTimeout: time.Hour, LoadingStall: time.Hour,
			ExitGrace: 500 * time.Millisecond, StopGrace: 2 * time.Second, TermWait: time.Second}
		// DRAINING's deadline out of the stepping's reach: a stalled actor
		// on a loaded machine must not let the stepped clock pass it
		// before the task ended by itself (review).
		c.Shutdown.Draining = time.Hour
	})
	ctx := ctxT(t)
	id := readyRunner(t, n, "--token-delay", "5ms")
	spec := textTask("own-deadline", 1_000_000)
	spec.Timeout = 10 * time.Second
	h := mustSubmit(t, n, id, spec)
	if _, err := h.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	type result struct {
		rep actors.ShutdownReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := n.Shutdown(context.Background())
		done <- result{rep, err}
	}()
	n.logs.waitLog(t, 20*time.Second, "the runner draining", func(e *logrus.Entry) bool {
		return e.Message == "runner lifecycle" && e.Data["runner_id"] == id && e.Data["to"] == "Draining"
	})
	// Past the task's own deadline (and its cancel's wait), far before
	// DRAINING's (an hour): one second at a time until the task ended. Then the
	// clock stays, so no later deadline (CLOSING's) passes.
	ended := make(chan struct{})
	go func() {
		defer close(ended) // sole sender: this goroutine, once the task ended
		_, _ = h.Wait(context.Background())
	}()
	for end := time.Now().Add(30 * time.Second); ; {
		fc.Advance(time.Second)
		wait := time.NewTimer(50 * time.Millisecond)
		select {
		case <-ended:
			wait.Stop()
		case <-wait.C:
			if time.Now().After(end) {
				t.Fatal("the task did not end")
			}
			continue
		}
		break
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_TIMED_OUT || strings.Contains(o.Reason, "drain deadline") {
		t.Fatalf("task ended %s (%s), want TimedOut by its own deadline", actors.TaskStatusName(o.Status), o.Reason)
	}
	var runnerRep *actors.PhaseReport
	for _, st := range r.rep.Root.Children {
		if st.Name != "runners" {
			continue
		}
		for _, ch := range st.Children {
			if ch.Name == id {
				runnerRep = ch.Phases[actors.PhaseDraining]
			}
		}
	}
	if runnerRep == nil || runnerRep.Outcome != actors.OutcomeOK || runnerRep.TasksUnfinished != 1 || runnerRep.TasksFailed != 0 {
		t.Errorf("runner's DRAINING %+v; want ok, 1 ended unfinished, 0 cut short\n%s", runnerRep, r.rep)
	}
	if p := r.rep.Root.Phases[actors.PhaseDraining]; p == nil || p.TasksUnfinished != 1 || p.TasksFailed != 0 {
		t.Errorf("node's DRAINING %+v; want the runner's count summed up", p)
	}
	s := r.rep.String()
	if !strings.Contains(s, "DRAINING ok") || !strings.Contains(s, "(1 ended unfinished)") || strings.Contains(s, "cut short") {
		t.Errorf("report says a task was cut short, or not that it ended unfinished:\n%s", s)
	}
	// Every phase ok: the streams' deadlines run on the same stepped clock
	// (before clockDeadline, a fake clock set years back made their
	// deadlines long past in real time, and a stream with an event in
	// flight timed out at once).
	for _, ph := range []actors.Phase{actors.PhaseSignaling, actors.PhaseDraining, actors.PhaseClosing} {
		if p := r.rep.Root.Phases[ph]; p == nil || p.Outcome != actors.OutcomeOK {
			t.Errorf("a task that ended by its own deadline made the node's %s not ok:\n%s", ph, s)
		}
	}
}
