package streams

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// TestPublishBatch: a batch's events get one sequence number each, in
// order, every subscriber gets all of them (NextBatch included), Done is
// called once per batch after the stream took it, and the accounting adds
// up. A refused batch calls Done at once.
func TestPublishBatch(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{Buffer: 10_000})
	one := s.Subscribe(Filter{}, SubscribeOptions{Window: 8})
	many := s.Subscribe(Filter{}, SubscribeOptions{})
	const batches, size = 50, 37
	var done atomic.Int64
	for b := range batches {
		evs := make([]Event, size)
		for i := range evs {
			evs[i] = Event{RunnerID: "r", Kind: "chunk", Payload: b*size + i}
		}
		if err := s.PublishBatch(evs, func() { done.Add(1) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PublishBatch([]Event{{Kind: KindGap}}, func() { done.Add(1) }); !errors.Is(err, ErrReservedKind) {
		t.Fatalf("a batch with a Gap: %v", err)
	}
	const n = batches * size
	got, err := readN(t, one, n)
	if err != nil {
		t.Fatal(err)
	}
	if ev, dropped, err := checkOrder(got, 0, n); err != nil || ev != n || dropped != 0 {
		t.Fatalf("one at a time: %d events, %d dropped, %v", ev, dropped, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var all []Event
	for len(all) < n {
		if all, err = many.NextBatch(ctx, all, 0); err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) || e.Payload != i {
			t.Fatalf("NextBatch entry %d: seq %d payload %v", i, e.Seq, e.Payload)
		}
	}
	closeStream(t, s)
	if d := done.Load(); d != batches+1 {
		t.Errorf("Done called %d times, want %d (every batch once, the refused one too)", d, batches+1)
	}
	st := s.Stats()
	if err := st.Check(); err != nil || st.Published != n {
		t.Errorf("accounting: published %d, %v", st.Published, err)
	}
	if err := s.PublishBatch([]Event{{Kind: "late"}}, func() { done.Add(1) }); !errors.Is(err, ErrStreamClosed) || done.Load() != batches+2 {
		t.Errorf("batch to a closed stream: %v, Done %d", err, done.Load())
	}
}

// readN reads n events with Next.
func readN(t *testing.T, sub *Subscription, n int) ([]Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := make([]Event, 0, n)
	for len(out) < n {
		ev, err := sub.Next(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// TestPublishBatchSmallBuffer: a subscriber whose buffer is smaller than
// its window loses nothing to a batch its credit allows: the stream hands
// over whenever the buffer is full, not only at the batch's end.
func TestPublishBatchSmallBuffer(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{})
	sub := s.Subscribe(Filter{}, SubscribeOptions{Buffer: 4, Window: 64})
	evs := make([]Event, 40)
	for i := range evs {
		evs[i] = Event{Kind: "chunk", Payload: i}
	}
	if err := s.PublishBatch(evs, nil); err != nil {
		t.Fatal(err)
	}
	got, err := readN(t, sub, len(evs))
	if err != nil {
		t.Fatal(err)
	}
	if ev, dropped, err := checkOrder(got, 0, uint64(len(evs))); err != nil || dropped != 0 || ev != uint64(len(evs)) {
		t.Fatalf("%d events, %d dropped, %v", ev, dropped, err)
	}
	closeStream(t, s)
}
