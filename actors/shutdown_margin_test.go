package actors_test

import (
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// TestLatePhaseAnswerIsWaitedFor: Shutdown waits for the node root's phase
// report past the phase deadline and the tree's slack; only a root that
// cannot answer at all is given up on. With a 1 s margin, a node starved of
// CPU for 2 s (TestCoreSemanticsStress at load average 11) answered
// DRAINING after Shutdown had stopped waiting: "DRAINING: context deadline
// exceeded", and that phase's report was lost. Here the runner clock's
// timers never fire (as on a node whose timers are late), so DRAINING ends
// only when the task does, about 2 s after a 100 ms deadline.
func TestLatePhaseAnswerIsWaitedFor(t *testing.T) {
	fc := heldTimers{clock.NewFake(time.Unix(1_700_000_000, 0))}
	n := startNode(t, func(c *actors.NodeConfig) {
		c.RunnerClock = fc
		c.Shutdown = actors.ShutdownDeadlines{Signaling: time.Second, Draining: 100 * time.Millisecond, Closing: 3 * time.Second}
	})
	ctx := ctxT(t)
	id := readyRunner(t, n, "--token-delay", "20ms")
	h := mustSubmit(t, n, id, textTask("drained", 100)) // about 2 s
	if _, err := h.Chunk(ctx, 1); err != nil {
		t.Fatal(err)
	}
	rep, err := n.Shutdown(ctx)
	if err != nil {
		t.Fatalf("Shutdown: %v\n%s", err, rep)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("task: %s (%s), want Complete (drained)", o.Status, o.Reason)
	}
	if p := rep.Root.Phases[actors.PhaseDraining]; p == nil || p.TasksDrained != 1 {
		t.Errorf("no DRAINING report with the drained task:\n%s", rep)
	}
}
