package streams

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

// subscribeAndDrop subscribes and drops the handle without Close, as a host
// that lost interest would; it returns the subscriber's ID.
//
//go:noinline
func subscribeAndDrop(s *Stream) uint64 {
	return s.Subscribe(Filter{}, SubscribeOptions{}).ID()
}

// collected runs the garbage collector until cond holds, or fails the test
// after wait. The runtime runs cleanups on a goroutine of its own that
// signals nothing, so this is the one wait in these tests that polls.
func collected(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s of garbage collections", what, wait)
		}
		runtime.GC()
		select {
		case <-time.After(time.Millisecond):
		case <-t.Context().Done():
			return
		}
	}
}

// A Subscription dropped without Close is removed once the garbage collector
// finds it unreachable: its buffer is counted as discarded, it is listed as
// abandoned, and it holds back no Flush (defect 6 of issue 15: it stayed
// subscribed forever, kept its buffer and stretched every DRAINING to its
// deadline).
func TestAbandonedSubscriptionIsRemoved(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{Window: 2})
	kept := s.Subscribe(Filter{}, SubscribeOptions{})
	id := subscribeAndDrop(s)
	for range 10 {
		if err := s.Publish(Event{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	statsOf(t, sys, s) // every Publish was taken
	collected(t, "the abandoned subscriber was not removed", func() bool { return s.Stats().Subscribers == 1 })
	st := s.Stats()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	d, ok := departed(st, id)
	if !ok || !d.Left || !d.Abandoned || d.Discarded != 8 || st.Abandoned != 1 {
		t.Fatalf("abandoned subscriber %d: %+v (found %v), stream abandoned %d; want left, abandoned, 8 discarded", id, d, ok, st.Abandoned)
	}
	// The subscriber still there reads everything; nothing else holds the
	// Flush back.
	for range 10 {
		if _, err := next(kept); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// A Subscription closed by its owner is not counted as abandoned when
	// the handle is collected later.
	closed := s.Subscribe(Filter{}, SubscribeOptions{})
	closedID := closed.ID()
	closed.Close()
	runtime.GC()
	closeStream(t, s)
	st = s.Stats()
	if d, _ := departed(st, closedID); d.Abandoned || st.Abandoned != 1 {
		t.Fatalf("closed subscription %+v, stream abandoned %d: want not abandoned, 1", d, st.Abandoned)
	}
	runtime.KeepAlive(kept) // in use to the end: not abandoned
}

// DRAINING flushes every stream; a subscriber that reads nothing (abandoned
// but still referenced, or just stuck) must not hold the flush until the
// phase deadline: once it acknowledged nothing for Config.Stall it is
// stalled and the flush stops waiting for it. Its events stay buffered and
// CLOSING hands them over.
func TestDrainingDoesNotWaitForAbandonedSubscriber(t *testing.T) {
	sys := newSystem(t)
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := spawn(t, sys, TopicTasks, Config{Window: 2, Clock: fake})
	idle := s.Subscribe(Filter{}, SubscribeOptions{}) // never reads
	reader := s.Subscribe(Filter{}, SubscribeOptions{})
	for range 10 {
		if err := s.Publish(Event{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	flushed := make(chan error, 1) // never closed; one send
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		flushed <- s.Flush(ctx)
	}()
	for range 10 {
		if _, err := next(reader); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := fake.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("no stall timer armed for the subscriber that holds the flush back: %v", err)
	}
	select {
	case err := <-flushed:
		t.Fatalf("flush returned (%v) while the idle subscriber was not yet stalled", err)
	default:
	}
	fake.Advance(DefaultStall)
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatalf("flush: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("flush still waits for a stalled subscriber")
	}
	st := s.Stats()
	if len(st.PerSubscriber) != 2 || !st.PerSubscriber[0].Stalled || st.PerSubscriber[1].Stalled || st.Buffered != 8 {
		t.Fatalf("subscribers %+v, buffered %d: want the idle one stalled with 8 buffered", st.PerSubscriber, st.Buffered)
	}
	closeStream(t, s)
	got, err := readAll(idle)
	if _, _, oerr := checkOrder(got, 0, 10); !errors.Is(err, ErrEndOfStream) || oerr != nil {
		t.Fatalf("the stalled subscriber after the close: %v, %v", err, oerr)
	}
	if err := s.Stats().Check(); err != nil {
		t.Fatal(err)
	}
}

// A reader that keeps reading, however slowly, is waited for: returning
// events from Next is progress even between two grants (half a window
// apart), so Flush does not give up on it.
func TestFlushWaitsForASlowReaderThatKeepsReading(t *testing.T) {
	sys := newSystem(t)
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := spawn(t, sys, TopicTasks, Config{Window: 64, Clock: fake})
	slow := s.Subscribe(Filter{}, SubscribeOptions{})
	for range 100 {
		if err := s.Publish(Event{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	flushed := make(chan error, 1) // never closed; one send
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		flushed <- s.Flush(ctx)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	read := 0
	// Ten rounds of one event each, one stall bound apart: never a grant
	// (that takes 32 events), but progress every round.
	for round := range 10 {
		if err := fake.WaitForTimers(ctx, 1); err != nil {
			t.Fatalf("round %d: no stall timer: %v", round, err)
		}
		if _, err := next(slow); err != nil {
			t.Fatal(err)
		}
		read++
		fake.Advance(DefaultStall)
		select {
		case err := <-flushed:
			t.Fatalf("round %d: flush returned (%v) while the reader kept reading", round, err)
		default:
		}
	}
	for ; read < 100; read++ {
		if _, err := next(slow); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("flush did not return once the reader had read everything")
	}
	closeStream(t, s)
}
