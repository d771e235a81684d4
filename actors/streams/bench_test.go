package streams

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// BenchmarkFanOut measures publishing one event to 1 and 4 subscribers.
//
//   - actor: Stream.Publish → the actor's mailbox → fan-out → each reader's
//     Next, with the readers on their own goroutines. Allocations per event:
//     the Publish message and protoactor's mailbox node; nothing per
//     subscriber (credit is granted by a call, not a message).
//   - fanout: the stream's fan-out alone (sequence number, filter, buffer,
//     hand-over, Next) on one goroutine: no allocation at all.
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("actor/subscribers=%d", n), func(b *testing.B) {
			sys := newSystem(b)
			s := spawn(b, sys, TopicTasks, Config{})
			var wg sync.WaitGroup
			for range n {
				sub := s.Subscribe(Filter{}, SubscribeOptions{})
				wg.Go(func() {
					for {
						if _, err := sub.Next(context.Background()); err != nil {
							return
						}
					}
				})
			}
			ev := Event{RunnerID: "r1", TaskID: "t1", Kind: "chunk"}
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Publish(ev)
			}
			closeStream(b, s)
			wg.Wait()
			st := s.Stats()
			if err := st.Check(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(st.GapDropped)/float64(st.Published), "dropped/event")
		})
		b.Run(fmt.Sprintf("fanout/subscribers=%d", n), func(b *testing.B) {
			s := New(TopicTasks, Config{})
			subs := make([]*Subscription, n)
			for i := range subs {
				subs[i] = s.Subscribe(Filter{Kinds: []string{"chunk"}}, SubscribeOptions{})
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				ev := Event{RunnerID: "r1", TaskID: "t1", Kind: "chunk"}
				s.mu.Lock()
				s.accept(&ev)
				s.mu.Unlock()
				for _, sub := range subs {
					if _, err := sub.Next(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			// (No Stats.Check: accept is called without the actor, so
			// nothing was offered through Publish.)
			if st := s.Stats(); st.Delivered != st.Published*uint64(n) {
				b.Fatalf("%+v", st)
			}
		})
	}
}
