package streams

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

// panickyClock is a clock whose Now panics while armed: a stand-in for any
// bug that makes the stream actor fail while it holds the stream's mutex.
type panickyClock struct {
	clock.Clock
	armed atomic.Bool
}

func (c *panickyClock) Now() time.Time {
	if c.armed.CompareAndSwap(true, false) {
		panic("test: the clock failed")
	}
	return c.Clock.Now()
}

// within runs f on its own goroutine and fails the test if it does not
// return within wait: a call blocked on a mutex that a failed actor kept.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done) // sole sender: this goroutine, once f returned
		f()
	}()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatalf("%s blocked for %s after the stream actor panicked: the stream's mutex is still held", what, wait)
	}
}

// A stream actor that panics while it handles a message is resumed by its
// parent; every later Subscribe, Grant, Publish, Stats, Flush and Close
// must still go through (defect 6 of issue 15: it locked its mutex without
// defer, so the first panic deadlocked every subscriber). The Publish that
// was being handled is lost, and counted as a dead letter.
func TestStreamPanicDoesNotDeadlockSubscribers(t *testing.T) {
	for _, pid := range []bool{false, true} {
		t.Run(fmt.Sprintf("subscriber-actor=%v", pid), func(t *testing.T) {
			sys := newSystem(t)
			failed := make(chan any, 4) // never closed; the strategy sends once per failure
			clk := &panickyClock{Clock: clock.Real()}
			s := New(TopicTasks, Config{Clock: clk, Window: 2, Buffer: 4})
			root := sys.Root.Copy().WithGuardian(ParentStrategy(func(_ *actor.PID, reason any) { failed <- reason }))
			if _, err := s.Spawn(root, fmt.Sprintf("panic-%d", names.Add(1))); err != nil {
				t.Fatal(err)
			}
			sub := s.Subscribe(Filter{}, SubscribeOptions{})
			if pid {
				// A subscriber actor too: fan-out to PIDs takes the same mutex.
				sink := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
				defer sys.Root.Stop(sink)
				if _, err := sys.Root.RequestFuture(s.PID(), &Subscribe{PID: sink}, wait).Result(); err != nil {
					t.Fatal(err)
				}
			}
			clk.armed.Store(true)
			if err := s.Publish(Event{Kind: "boom"}); err != nil { // At unset: the stream asks its clock
				t.Fatal(err)
			}
			select {
			case r := <-failed:
				t.Logf("stream actor failed as planned: %v", r)
			case <-time.After(wait):
				t.Fatal("the stream actor did not fail")
			}
			within(t, "Subscribe", func() { s.Subscribe(Filter{}, SubscribeOptions{}).Close() })
			within(t, "Grant", func() { s.Grant(sub.ID(), 1) })
			within(t, "Stats", func() { _ = s.Stats() })
			within(t, "Publish and Next", func() {
				if err := s.Publish(Event{Kind: "after"}); err != nil {
					t.Error(err)
					return
				}
				ev, err := next(sub)
				if err != nil || ev.Kind != "after" || ev.Seq != 1 {
					t.Errorf("after the panic: got %+v, %v; want the next event with seq 1", ev, err)
				}
			})
			within(t, "Flush", func() {
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				if err := s.Flush(ctx); err != nil {
					t.Error(err)
				}
			})
			within(t, "Close", func() { closeStream(t, s) })
			if _, err := readAll(sub); !errors.Is(err, ErrEndOfStream) {
				t.Fatalf("subscription ended with %v, want ErrEndOfStream", err)
			}
			st := s.Stats()
			if err := st.Check(); err != nil {
				t.Fatal(err)
			}
			if st.DeadLettered != 1 || st.Published != 1 {
				t.Fatalf("published %d, dead-lettered %d: want 1 and 1 (the Publish lost to the panic)", st.Published, st.DeadLettered)
			}
		})
	}
}
