package actors_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// liveHeap returns the live heap after two collections.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// noChunks keeps the recorder's memory out of the flood: it records every
// event but the chunks.
func noChunks(c *actors.NodeConfig) {
	prev := c.Hook
	c.Hook = func(e actors.Event) {
		if _, ok := e.(*actors.TaskChunk); !ok {
			prev(e)
		}
	}
}

// floodHeapBound is the growth of the node's live heap a flooding runner
// may cause in TestFloodHeapBounded: the stdout hand-off holds at most
// ReadWindow batches (4 × 256 frames), the task handle HandleChunks (8192)
// chunks, the subscriber's buffer 1024 events; all of that is a few MiB.
// Before the bounds the handle held every chunk (some 50 MiB for these
// 200,000 by estimate) and nothing bounded the mailboxes.
const floodHeapBound = 32 << 20

// TestFloodHeapBounded: a runner that writes chunks as fast as it can,
// to a subscriber that never reads, cannot make the node's heap grow past
// a bound: the runner is slowed by its pipe, the handle and the
// subscriber's buffer drop what is beyond their bounds.
func TestFloodHeapBounded(t *testing.T) {
	n := startNode(t, noChunks)
	id := readyRunner(t, n)
	ctx := ctxT(t)
	sub, err := n.Subscribe(actors.TopicTasks, streams.Filter{RunnerID: id, Kinds: []string{"task_chunk"}}, streams.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close() // it never reads: the worst subscriber
	base := liveHeap()
	const chunks = 200_000
	h := mustSubmit(t, n, id, textTask("flood", chunks))
	peak := base
	tick := time.NewTicker(20 * time.Millisecond) // samples the heap; waits for nothing
	defer tick.Stop()
	done := make(chan struct{}) // sole sender: the goroutine below, once
	var (
		o    actors.TaskOutcome
		werr error
	)
	go func() {
		defer close(done) // sole sender: this goroutine
		o, werr = h.Wait(ctx)
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
			peak = max(peak, liveHeap())
		}
	}
	if werr != nil || o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE || o.Chunks != chunks {
		t.Fatalf("flood task: %+v, %v", o, werr)
	}
	growth := int64(peak) - int64(base)
	t.Logf("%d chunks: live heap grew by at most %.1f MiB (bound %d MiB)", chunks, float64(growth)/(1<<20), floodHeapBound>>20)
	if growth > floodHeapBound {
		t.Errorf("live heap grew by %.1f MiB during the flood, bound %d MiB", float64(growth)/(1<<20), floodHeapBound>>20)
	}
	if first, total := h.Held(); total != chunks || total-first > actors.DefaultHandleChunks+1024 {
		t.Errorf("handle holds chunks %d..%d, want at most the last %d (+ a block)", first, total, actors.DefaultHandleChunks)
	}
	st := n.StreamStats()[actors.TopicTasks]
	if err := st.Check(); err != nil {
		t.Errorf("tasks stream accounting: %v", err)
	}
	if st.GapDropped == 0 {
		t.Errorf("the subscriber that never reads lost nothing: %+v", st)
	}
}

// TestStopDuringFlood: a StopRunner while the runner floods completes (the
// stop does not queue behind the flood), and so does a node shutdown with a
// flooding runner; each phase's duration is logged.
func TestStopDuringFlood(t *testing.T) {
	n := startNode(t, noChunks, func(c *actors.NodeConfig) {
		c.Timeouts.StopDrain = 10 * time.Millisecond
		c.Shutdown.Draining = 50 * time.Millisecond
	})
	ctx := ctxT(t)
	flood := func(name string) (string, *actors.TaskHandle) {
		id := readyRunner(t, n)
		h := mustSubmit(t, n, id, textTask(name, 1_000_000))
		// Flooding for sure: far more chunks than the pipe and the
		// hand-off hold (a dropped chunk is past, which is as good).
		if _, err := h.Chunk(ctx, 50_000); err != nil && !errors.Is(err, actors.ErrChunkDropped) {
			t.Fatalf("%v: task %+v", err, h.Outcome())
		}
		return id, h
	}
	id, h := flood("stop-me")
	start := time.Now()
	res, err := n.StopRunner(ctx, id)
	if err != nil {
		t.Fatalf("StopRunner during a flood: %v", err)
	}
	o := wait(t, h)
	t.Logf("StopRunner during a flood answered in %s: ended by %s after %s; the task ended %s after %d chunks",
		time.Since(start).Round(time.Millisecond), res.EndedBy, res.Total.Round(time.Millisecond), actors.TaskStatusName(o.Status), o.Chunks)
	for _, st := range res.Steps {
		t.Logf("  stop step %s: %s", st.Name, st.Duration.Round(100*time.Microsecond))
	}
	if o.Status == exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("the flooding task completed: %+v", o)
	}

	_, h2 := flood("shut-me")
	rep, err := n.Shutdown(ctx)
	if err != nil {
		t.Fatalf("Shutdown during a flood: %v", err)
	}
	for ph := actors.PhaseSignaling; ph <= actors.PhaseClosing; ph++ {
		t.Logf("shutdown during a flood: %s took %s", ph, rep.PhaseDuration[ph].Round(time.Millisecond))
	}
	o2 := wait(t, h2)
	t.Logf("the task flooding during the shutdown ended %s after %d chunks: %s", actors.TaskStatusName(o2.Status), o2.Chunks, o2.Reason)
	if o2.Status == exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("the flooding task completed: %+v", o2)
	}
}

// TestSlowHookDoesNotStallStop: with HookQueue set, a hook that blocks does
// not stall the runner: it gets Ready and stops while the hook is stuck on
// the first event; the events beyond the queue are dropped and counted.
func TestSlowHookDoesNotStallStop(t *testing.T) {
	release := make(chan struct{}) // sole sender: the cleanup below, once
	var once sync.Once
	blocked := make(chan struct{}, 1) // never closed: "the hook is stuck"
	n := startNode(t, func(c *actors.NodeConfig) {
		c.HookQueue = 4
		c.Hook = func(actors.Event) {
			select {
			case blocked <- struct{}{}:
			default:
			}
			<-release
		}
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // sole sender: this cleanup; before the node's Shutdown (cleanups run last first)
	ctx := ctxT(t)
	status, err := n.Subscribe(actors.TopicRunnerStatus, streams.Filter{Kinds: []string{"status_changed"}}, streams.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer status.Close()
	id, err := n.SpawnRunner(ctx, builtin())
	if err != nil {
		t.Fatal(err)
	}
	<-blocked // the hook is stuck on the first event
	for {
		ev, err := status.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for Ready on the status stream: %v", err)
		}
		if sc, ok := ev.Payload.(*actors.StatusChanged); ok && sc.RunnerID == id && sc.To.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
			break
		}
	}
	res, err := n.StopRunner(ctx, id)
	if err != nil {
		t.Fatalf("StopRunner with the hook stuck: %v", err)
	}
	if res.EndedBy != "shutdown frame" {
		t.Errorf("stop ended by %q, want the Shutdown frame", res.EndedBy)
	}
	st := n.HookStats()
	if !st.Async || st.Dropped == 0 || st.Calls != 0 {
		t.Errorf("hook stats with the hook stuck: %+v, want async, drops counted, no call finished", st)
	}
}

// TestSlowSyncHookIsCounted: a synchronous hook's slow calls are counted
// and logged, never silent.
func TestSlowSyncHookIsCounted(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.HookSlow = time.Nanosecond })
	id := readyRunner(t, n)
	st := n.HookStats()
	if st.Async || st.Calls == 0 || st.Slow == 0 || st.MaxCall <= 0 {
		t.Errorf("hook stats: %+v, want synchronous calls counted as slow", st)
	}
	n.logs.waitLog(t, 10*time.Second, "slow hook warning", func(e *logrus.Entry) bool {
		return strings.HasPrefix(e.Message, "slow event hook")
	})
	if _, err := n.StopRunner(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
}

// TestOutputProvesLifeWithoutHeartbeats: a runner that streams chunks is
// alive even when no Heartbeat reaches the node, as under a flood, where
// its Heartbeat waits in the pipe behind chunks the node has not read yet
// (TestFloodHeapBounded and TestStopDuringFlood failed on a loaded machine
// with "runner hangs: no heartbeat for 408ms (limit 400ms)" while chunks
// kept arriving). Here the runner is asked for a heartbeat once an hour and
// the runner clock is a fake stepped 250 ms at a time, well past the 400 ms
// heartbeat timeout in all, with a chunk read after every step.
func TestOutputProvesLifeWithoutHeartbeats(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNodeUnchecked(t, noChunks, func(c *actors.NodeConfig) {
		c.RunnerClock = fc
		c.Timeouts.HeartbeatInterval = time.Hour // one Heartbeat at the start, then none
		c.Timeouts.ProgressTimeout = time.Hour
		c.Timeouts.LoadingStall = time.Hour
		c.Timeouts.Handshake = time.Hour
	})
	ctx := ctxT(t)
	id := readyRunner(t, n, "--token-delay", "20ms")
	h := mustSubmit(t, n, id, textTask("steady", 400))
	const steps = 8 // 2 s of runner clock: 5 heartbeat timeouts
	for range steps {
		_, seen := h.Held()
		fc.Advance(250 * time.Millisecond)
		// A chunk read after the step: the runner's last sign of life is
		// now, on the stepped clock.
		if _, err := h.Chunk(ctx, seen); err != nil {
			t.Fatalf("chunk %d after a step of the runner clock: %v (outcome %+v)", seen, err, h.Outcome())
		}
	}
	if _, err := n.Cancel(ctx, id, "steady"); err != nil {
		t.Fatal(err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED {
		t.Fatalf("task %+v, want it cancelled by the test, not failed as a hang", o)
	}
}

// TestPanickingHookIsRecovered: a host hook that panics (here on every
// task's Pending and on every status change) neither fails the runner
// whose actor called it nor ends the process from the async hook's
// goroutine: tasks complete, the runner stops cleanly, and the panics are
// counted and logged with their stack.
func TestPanickingHookIsRecovered(t *testing.T) {
	for _, queue := range []int{0, 16} {
		t.Run(fmt.Sprintf("queue=%d", queue), func(t *testing.T) {
			rec := newRecorder()
			n := startNode(t, func(c *actors.NodeConfig) {
				c.HookQueue = queue
				c.Hook = func(e actors.Event) {
					rec.hook(e)
					switch ev := e.(type) {
					case *actors.TaskStatusChanged:
						if ev.Status == exov1.TaskStatus_TASK_STATUS_PENDING {
							panic("host hook bug: " + ev.TaskID)
						}
					case *actors.StatusChanged:
						panic("host hook bug on a status change")
					}
				}
			})
			n.rec = rec // the helpers below read the events the hook saw
			ctx := ctxT(t)
			id := readyRunner(t, n)
			for i := range 3 {
				h := mustSubmit(t, n, id, textTask(fmt.Sprintf("t%d", i), 3))
				if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
					t.Fatalf("task %d with a panicking hook: %+v, want Complete", i, o)
				}
			}
			res, err := n.StopRunner(ctx, id)
			if err != nil || res.EndedBy != "shutdown frame" {
				t.Fatalf("stop with a panicking hook: %+v, %v; want a clean stop by the Shutdown frame", res, err)
			}
			if st := n.HookStats(); st.Panics < 3 {
				t.Errorf("hook stats %+v: want at least the 3 Pending panics counted", st)
			}
			n.logs.waitLog(t, 10*time.Second, "hook panic logged", func(e *logrus.Entry) bool {
				return strings.HasPrefix(e.Message, "event hook panicked") && strings.Contains(fmt.Sprint(e.Data["stack"]), "TestPanickingHookIsRecovered")
			})
		})
	}
}
