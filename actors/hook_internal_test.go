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
