package actors_test

import (
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/proc"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// heldByDuration is a fake clock whose timers never fire on their own: the
// test fires the one armed for a given duration when it chooses.
type heldByDuration struct {
	*clock.Fake
	mu  sync.Mutex
	fns map[time.Duration]func()
}

func (c *heldByDuration) AfterFunc(d time.Duration, f func()) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns[d] = f
	return heldTimer{}
}

// fire runs the callback of the timer last armed for d: its message goes
// to the runner actor's mailbox now.
func (c *heldByDuration) fire(t *testing.T, d time.Duration) {
	t.Helper()
	c.mu.Lock()
	f := c.fns[d]
	c.mu.Unlock()
	if f == nil {
		t.Fatalf("no timer armed for %s", d)
	}
	f()
}

// TestTaskTimeoutAfterQueuedComplete: a task whose Complete the stdout
// reader had already delivered when its timeout fired ends Complete. The
// runner actor is held (in the event hook, at the task's
// TaskAcknowledged) while a batch holding the task's Complete reaches its
// mailbox, then the task timeout's message: the timer's message must not
// be handled ahead of the batch that came before it.
func TestTaskTimeoutAfterQueuedComplete(t *testing.T) {
	const timeout = 7 * time.Hour // names the task timer among the runner clock's
	fc := &heldByDuration{Fake: clock.NewFake(time.Unix(1_700_000_000, 0)), fns: map[time.Duration]func(){}}
	entered := make(chan struct{}, 1) // never closed
	release := make(chan struct{})    // sole sender: the test, once
	n := startNode(t, func(c *actors.NodeConfig) {
		c.RunnerClock = fc
		prev := c.Hook
		c.Hook = func(e actors.Event) {
			if a, ok := e.(*actors.TaskAcknowledged); ok && a.TaskID == "t1" {
				entered <- struct{}{}
				<-release
			}
			prev(e)
		}
	})
	id := readyRunner(t, n, "--token-delay", "1h") // acknowledges t1, then writes nothing of it
	h := mustSubmit(t, n, id, actors.TaskSpec{ID: "t1", Kind: "text_generation", Params: map[string]string{"max_tokens": "2"}, Timeout: timeout})
	<-entered // the runner actor handles t1's acknowledgement and waits
	complete := &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{
		TaskId: "t1", Status: exov1.TaskStatus_TASK_STATUS_COMPLETE}}}
	if !n.SendToRunnerForTest(id, &proc.Frames{Gen: 1, Envs: []*exov1.RunnerEnvelope{complete}}) {
		close(release) // sole sender: the test, once
		t.Fatalf("runner %s has no actor", id)
	}
	fc.fire(t, timeout) // the deadline passes after the Complete was read
	close(release)      // sole sender: the test, once
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("task ended %s (%s), want Complete: its Complete was read before its timeout fired", actors.TaskStatusName(o.Status), o.Reason)
	}
}

// armHolds is a fake clock whose timers never fire on their own; arming
// one for duration d holds the arming actor until the test releases it,
// and hands the test the timer's callback.
type armHolds struct {
	*clock.Fake
	d       time.Duration
	armed   chan func()   // capacity 1, never closed
	release chan struct{} // sole sender: the test, once
}

func (c *armHolds) AfterFunc(d time.Duration, f func()) clock.Timer {
	if d == c.d {
		c.armed <- f
		<-c.release
	}
	return heldTimer{}
}

// TestDrainDeadlineAfterQueuedComplete: a stop's drain deadline that fires
// while a batch holding the in-flight task's Complete is queued (read
// before the deadline) does not cut the task: it ends Complete. The runner
// actor is held where it arms the drain deadline; meanwhile the batch, then
// the deadline's message, reach its mailbox.
func TestDrainDeadlineAfterQueuedComplete(t *testing.T) {
	const drain = 5 * time.Hour // names the drain deadline among the runner clock's timers
	fc := &armHolds{Fake: clock.NewFake(time.Unix(1_700_000_000, 0)), d: drain, armed: make(chan func(), 1), release: make(chan struct{})}
	n := startNode(t, func(c *actors.NodeConfig) {
		c.RunnerClock = fc
		c.Timeouts.StopDrain = drain
	})
	ctx := ctxT(t)
	id := readyRunner(t, n, "--token-delay", "1h") // acknowledges t1, then writes nothing of it
	h := mustSubmit(t, n, id, actors.TaskSpec{ID: "t1", Kind: "text_generation", Params: map[string]string{"max_tokens": "2"}})
	n.rec.waitFor(t, 20*time.Second, "t1 acknowledged", func(evs []actors.Event) bool {
		for _, e := range evs {
			if a, ok := e.(*actors.TaskAcknowledged); ok && a.TaskID == "t1" {
				return true
			}
		}
		return false
	})
	stopped := make(chan error, 1) // never closed: one result
	go func() {
		_, err := n.StopRunner(ctx, id)
		stopped <- err
	}()
	fire := <-fc.armed // the runner actor drains and arms the deadline
	complete := &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{
		TaskId: "t1", Status: exov1.TaskStatus_TASK_STATUS_COMPLETE}}}
	sent := n.SendToRunnerForTest(id, &proc.Frames{Gen: 1, Envs: []*exov1.RunnerEnvelope{complete}})
	fire()            // the deadline passes after the Complete was read
	close(fc.release) // sole sender: the test, once
	if !sent {
		t.Fatalf("runner %s has no actor", id)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("StopRunner: %v", err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("task ended %s (%s), want Complete: its Complete was read before the drain deadline", actors.TaskStatusName(o.Status), o.Reason)
	}
}
