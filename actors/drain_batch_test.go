package actors_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// heldTimers is a fake clock whose timers never fire: time moves only when
// the test sets it, and nothing the runner actor armed runs.
type heldTimers struct{ *clock.Fake }

type heldTimer struct{}

func (heldTimer) Stop() bool { return true }

func (heldTimers) AfterFunc(time.Duration, func()) clock.Timer { return heldTimer{} }

// TestDrainDeadlineOnBatch: while a runner floods, the drain deadline of a
// stop is acted on by the first stdout batch the runner actor handles after
// it, not only by its timer, whose message waits for a goroutine to run on
// a busy node. Here the runner clock's timers never fire at all: the stop
// still cuts the flooding task (TimedOut, "drain deadline passed") once the
// clock is past the deadline, and completes on the runner's exit.
func TestDrainDeadlineOnBatch(t *testing.T) {
	fc := heldTimers{clock.NewFake(time.Unix(1_700_000_000, 0))}
	n := startNode(t, noChunks, func(c *actors.NodeConfig) {
		c.RunnerClock = fc
		c.Timeouts.StopDrain = time.Hour
	})
	ctx := ctxT(t)
	id := readyRunner(t, n)
	h := mustSubmit(t, n, id, textTask("flood", 1_000_000))
	if _, err := h.Chunk(ctx, 1000); err != nil && !errors.Is(err, actors.ErrChunkDropped) {
		t.Fatalf("%v: task %+v", err, h.Outcome())
	}
	stopped := make(chan error, 1) // never closed: one result
	var total time.Duration
	go func() {
		res, err := n.StopRunner(ctx, id)
		if res != nil {
			total = res.Total
		}
		stopped <- err
	}()
	// The stop is draining (its task still floods, its deadline an hour
	// away on the runner clock); then the clock passes the deadline.
	n.logs.waitLog(t, 20*time.Second, "the runner draining", func(e *logrus.Entry) bool {
		return e.Message == "runner lifecycle" && e.Data["runner_id"] == id && e.Data["to"] == "Draining"
	})
	fc.Set(fc.Now().Add(2 * time.Hour))
	if err := <-stopped; err != nil {
		t.Fatalf("StopRunner: %v", err)
	}
	// The stop's Total counts from the request, its drain included.
	if total < 2*time.Hour {
		t.Errorf("StopResult.Total %v, want at least the 2h drain the runner clock passed", total)
	}
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_TIMED_OUT || o.Reason != "drain deadline passed while the runner was stopped (RunnerTimeouts.StopDrain)" {
		t.Errorf("flooding task ended %s (%s), want TimedOut by the drain deadline", actors.TaskStatusName(o.Status), o.Reason)
	}
}
