package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// sink collects what the gate sends it; flushes counts the flush notes.
type sink struct {
	got     chan proto.Message
	flushes chan struct{}
}

func (s *sink) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *flushNote, *gateSent:
		s.flushes <- struct{}{}
	case proto.Message:
		s.got <- m
	}
}

// The window: a message goes while it fits, or while at most a quarter is
// in flight; past that a relay's message waits in the gate's queue (the
// gate sends it in its turn and tells the relay once) and a sender waits
// behind it until an ack; each message carries the byte count at its end;
// close lets everything go.
func TestOutGate(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	s := &sink{got: make(chan proto.Message, 16), flushes: make(chan struct{}, 16)}
	to := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return s }))
	ev := func(n int) *exov1.GwTaskEvent {
		return &exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_PackedChunks{PackedChunks: make([]byte, n)}}
	}
	size := func(n int) uint64 { return uint64(proto.Size(ev(n))) + 11 }
	g := newOutGate(sys, 1000)
	ctx := context.Background()
	if err := g.send(ctx, to, ev(600)); err != nil { // nothing in flight
		t.Fatal(err)
	}
	first := (<-s.got).(*exov1.GwTaskEvent)
	if first.GetOutEnd() != size(600) {
		t.Fatalf("out_end %d, want %d", first.GetOutEnd(), size(600))
	}
	// 600+ in flight, more than a quarter: a relay's message waits in
	// the gate's queue, and a sender that comes after it waits behind it.
	if g.trySend(to, to, ev(500)) {
		t.Fatal("trySend past the window went")
	}
	done := make(chan error, 1)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	go func() { done <- g.send(wctx, to, ev(600)) }()
	select {
	case m := <-s.got:
		t.Fatalf("sent past the window: %v", m)
	case <-time.After(100 * time.Millisecond): // a negative: cannot fail falsely
	}
	g.ack(first.GetOutEnd() - 1) // partial: 1 byte still in flight, under a quarter: the relay's goes, first in line
	relayed := (<-s.got).(*exov1.GwTaskEvent)
	if relayed.GetOutEnd() != size(600)+size(500) {
		t.Fatalf("out_end %d, want %d", relayed.GetOutEnd(), size(600)+size(500))
	}
	<-s.flushes // the relay, told its message went
	g.ack(relayed.GetOutEnd())
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	second := (<-s.got).(*exov1.GwTaskEvent)
	if second.GetOutEnd() != 2*size(600)+size(500) {
		t.Fatalf("out_end %d, want %d", second.GetOutEnd(), 2*size(600)+size(500))
	}
	select {
	case <-s.flushes:
		t.Fatal("a relay got two notes for one message")
	case <-time.After(50 * time.Millisecond):
	}
	g.ack(1)                        // below the last ack: ignored
	g.ack(second.GetOutEnd() + 100) // beyond what was sent: ignored
	if got := g.inFlight(); got != size(600) {
		t.Fatalf("in flight %d, want %d", got, size(600))
	}
	g.close()
	if !g.trySend(to, to, ev(5000)) {
		t.Fatal("a closed gate refused")
	}
}

// A relay that stops while it waits for the window leaves the gate's list
// of waiting relays: a session whose client never acknowledges, opening and
// closing subscriptions, grew that list by one entry per subscription.
func TestOutGateForgetsStoppedRelays(t *testing.T) {
	sys := actor.NewActorSystemWithConfig(actor.Configure(actor.WithDeadLetterThrottleInterval(time.Millisecond)))
	defer sys.Shutdown()
	s := &sink{got: make(chan proto.Message, 16), flushes: make(chan struct{}, 16)}
	to := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return s }))
	g := newOutGate(sys, 1000)
	ev := &exov1.GwDelivery{CallId: 1, Packed: make([]byte, 600)}
	if err := g.send(context.Background(), to, ev); err != nil {
		t.Fatal(err)
	}
	<-s.got
	st := streams.New("test", streams.Config{})
	if _, err := st.Spawn(sys.Root, "test"); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close(context.Background()) }()
	for range 3 {
		r := &relay{g: &Gateway{system: sys}, stream: st, to: to, gate: g, req: &exov1.GwSubscribe{CallId: 1}}
		pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return r }))
		if g.trySend(pid, to, &exov1.GwDelivery{CallId: 1, Packed: make([]byte, 600)}) {
			t.Fatal("trySend past the window went")
		}
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	n := len(g.queue)
	g.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d stopped relays still wait for the window; want 0", n)
	}
}

// Once its session ended (its context, then the gate closed), a forwarder
// sends nothing more: it read the chunks its handle held without waiting,
// and the closed gate let every one of them go to the gone client.
func TestOutGateSendAfterTheSessionEnded(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	s := &sink{got: make(chan proto.Message, 16), flushes: make(chan struct{}, 16)}
	to := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return s }))
	g := newOutGate(sys, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g.close()
	if err := g.send(ctx, to, &exov1.GwTaskEvent{CallId: 1}); err == nil {
		t.Fatal("send after the session ended: no error")
	}
	g.mu.Lock()
	sent := g.sent
	g.mu.Unlock()
	if sent != 0 {
		t.Fatalf("%d bytes sent after the session ended; want none", sent)
	}
}

// recv returns the next message the sink got, failing after wait.
func (s *sink) recv(t *testing.T) proto.Message {
	t.Helper()
	select {
	case m := <-s.got:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("nothing sent within 10s")
		return nil
	}
}

// TestOutGateServesWaitersInArrivalOrder: a relay refused by a full
// window goes before a forwarder that asks after it. Before, the opened
// window woke the forwarder's goroutine at once while the relay only got
// a flush note to try again, so the forwarder took the window first.
func TestOutGateServesWaitersInArrivalOrder(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	s := &sink{got: make(chan proto.Message, 16), flushes: make(chan struct{}, 16)}
	to := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return s }))
	g := newOutGate(sys, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.send(ctx, to, &exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_PackedChunks{PackedChunks: make([]byte, 900)}}); err != nil {
		t.Fatal(err)
	}
	first := s.recv(t).(*exov1.GwTaskEvent)
	relayMsg := &exov1.GwDelivery{CallId: 7, Packed: make([]byte, 100)}
	if g.trySend(to, to, relayMsg) {
		t.Fatal("trySend past the window went")
	}
	done := make(chan error, 1)
	go func() { // a forwarder that asks after the relay
		done <- g.send(ctx, to, &exov1.GwTaskEvent{CallId: 2, Body: &exov1.GwTaskEvent_PackedChunks{PackedChunks: make([]byte, 900)}})
	}()
	g.ack(first.GetOutEnd())
	switch m := s.recv(t).(type) {
	case *exov1.GwDelivery:
	default:
		t.Fatalf("after the window opened the first message out was a %T, not the relay's delivery, which waited first", m)
	}
	g.close()
	if err := <-done; err != nil {
		t.Logf("forwarder: %v", err)
	}
}

// TestOutGateFloodingTaskCannotStarveAnother: a forwarder that always has
// a message ready (a flooding task) lets a waiting relay's message go
// after at most one message of its own: waiters are served in arrival
// order and each holds one place in the queue. The test acknowledges each
// message as it arrives, as a client with a small window does.
func TestOutGateFloodingTaskCannotStarveAnother(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	s := &sink{got: make(chan proto.Message, 64), flushes: make(chan struct{}, 64)}
	to := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return s }))
	g := newOutGate(sys, 1000)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const flood = 40
	done := make(chan error, 1)
	go func() {
		for range flood {
			if err := g.send(ctx, to, &exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_PackedChunks{PackedChunks: make([]byte, 900)}}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	relayMsg := func() *exov1.GwDelivery { return &exov1.GwDelivery{CallId: 7, Packed: make([]byte, 100)} }
	var floodEnds []uint64
	var askedAt, relayEnd uint64 // the gate's byte count when the relay asked; the relay's out_end
	for relayEnd == 0 || len(floodEnds) < flood {
		select {
		case <-s.flushes: // told to try again (the gate before the fix)
			if relayEnd == 0 {
				_ = g.trySend(to, to, relayMsg())
			}
		case m := <-s.got:
			switch m := m.(type) {
			case *exov1.GwTaskEvent:
				floodEnds = append(floodEnds, m.GetOutEnd())
				if len(floodEnds) == 3 {
					g.mu.Lock()
					askedAt = g.sent
					g.mu.Unlock()
					_ = g.trySend(to, to, relayMsg())
				}
				g.ack(m.GetOutEnd())
			case *exov1.GwDelivery:
				relayEnd = m.GetOutEnd()
				g.ack(relayEnd)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("stuck after %d flood messages (relay's out_end %d)", len(floodEnds), relayEnd)
		}
	}
	ahead := 0
	for _, e := range floodEnds {
		if e > askedAt && e < relayEnd {
			ahead++
		}
	}
	t.Logf("%d messages of the flooding task went between the relay's request and its message", ahead)
	if ahead > 1 {
		t.Fatalf("%d messages of the flooding task went after the relay asked and before its message; want at most 1", ahead)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
