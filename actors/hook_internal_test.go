package actors

import (
	"io"
	"slices"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/streams"
)

// TestHookCloseDuringDeliver: an event handed to the async hook while the
// node shuts down is delivered or counted as dropped, even when close
// finishes draining the queue between deliver's stop check and its send
// (nobody reads the queue after that).
func TestHookCloseDuringDeliver(t *testing.T) {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	h := newHookRunner(func(Event) {}, 4, 0, logger)
	h.enqueueing = h.close
	h.deliver(&ProcessStarted{RunnerID: "r1"})
	if s := h.stats(); s.Calls+s.Dropped != 1 {
		t.Fatalf("one event delivered to a closing hook: %d calls + %d dropped, want 1 (%d left in the queue)", s.Calls, s.Dropped, s.Queued)
	}
}

// TestHookDeliverBatch: the events of a stdout batch reach a synchronous
// hook in emit order, each call counted and timed (here every call is
// slow: HookSlow 1 ns), and a call that panics is recovered and counted
// while the calls after it still happen; an async hook queues them in
// order.
func TestHookDeliverBatch(t *testing.T) {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	var evs []streams.Event
	for i := range 5 {
		evs = append(evs, streams.Event{Payload: &TaskChunk{RunnerID: "r1", TaskID: "t", Chunk: &Chunk{TaskId: "t", Index: uint64(i)}}})
	}
	var seen []uint64
	h := newHookRunner(func(e Event) {
		c := e.(*TaskChunk)
		seen = append(seen, c.Chunk.GetIndex())
		if c.Chunk.GetIndex() == 2 {
			panic("host hook bug")
		}
	}, 0, time.Nanosecond, logger)
	h.deliverBatch(evs)
	h.deliverBatch(nil)
	if !slices.Equal(seen, []uint64{0, 1, 2, 3, 4}) {
		t.Fatalf("the hook saw chunks %v, want 0..4 in order", seen)
	}
	if s := h.stats(); s.Calls != 5 || s.Slow != 5 || s.MaxCall <= 0 || s.Stalled < s.MaxCall || s.Panics != 1 {
		t.Fatalf("stats %+v: want 5 calls, all slow, MaxCall and Stalled set, 1 panic", s)
	}

	got := make(chan uint64, len(evs))
	a := newHookRunner(func(e Event) { got <- e.(*TaskChunk).Chunk.GetIndex() }, len(evs), 0, logger)
	a.deliverBatch(evs)
	for i := range uint64(len(evs)) {
		if j := <-got; j != i {
			t.Fatalf("the async hook saw chunk %d, want %d", j, i)
		}
	}
	a.close()
	if s := a.stats(); s.Calls != 5 || s.Dropped != 0 {
		t.Fatalf("async stats %+v: want 5 calls, none dropped", s)
	}
}

// clockHook advances a fake clock by step on every log entry: a logrus
// write that takes step.
type clockHook struct {
	now  *time.Duration
	step time.Duration
}

func (c clockHook) Levels() []logrus.Level   { return logrus.AllLevels }
func (c clockHook) Fire(*logrus.Entry) error { *c.now += c.step; return nil }

// TestHookBatchTimingLeavesOutItsOwnLog: in a batch, the slow-call warning
// that follows a slow call (a logrus write, here 50 ms on the fake clock)
// is not charged to the next call. Before, the clock reading taken before
// the warning was the next call's start: a 1 µs call counted as a 50 ms
// slow one (MaxCall 50ms, 2 slow calls).
func TestHookBatchTimingLeavesOutItsOwnLog(t *testing.T) {
	var now time.Duration
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	logger.AddHook(clockHook{now: &now, step: 50 * time.Millisecond})
	h := newHookRunner(func(e Event) {
		if e.(*TaskChunk).Chunk.GetIndex() == 0 {
			now += 20 * time.Millisecond // slow: warned about
		} else {
			now += time.Microsecond
		}
	}, 0, 10*time.Millisecond, logger)
	h.elapsed = func() time.Duration { return now }
	var evs []streams.Event
	for i := range 2 {
		evs = append(evs, streams.Event{Payload: &TaskChunk{RunnerID: "r1", TaskID: "t", Chunk: &Chunk{TaskId: "t", Index: uint64(i)}}})
	}
	h.deliverBatch(evs)
	if s := h.stats(); s.Calls != 2 || s.Slow != 1 || s.MaxCall != 20*time.Millisecond || s.Stalled != 20*time.Millisecond {
		t.Fatalf("stats %+v: want 2 calls, 1 slow, MaxCall and Stalled 20ms", s)
	}
}
