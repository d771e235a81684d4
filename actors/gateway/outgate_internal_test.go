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
	case *flushNote:
		s.flushes <- struct{}{}
	case proto.Message:
		s.got <- m
	}
}

// The window: a message goes while it fits, or while at most a quarter is
// in flight; a sender waits past that until an ack; a relay refused is
// told once by a flush note; each message carries the byte count at its
// end; close lets everything go.
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
	// 600+ in flight, more than a quarter: a relay is refused and noted
	// once, a sender waits.
	if g.trySend(to, to, ev(500)) || g.trySend(to, to, ev(500)) {
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
	g.ack(first.GetOutEnd() - 1) // partial: 1 byte still in flight, under a quarter
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	second := (<-s.got).(*exov1.GwTaskEvent)
	if second.GetOutEnd() != 2*size(600) {
		t.Fatalf("out_end %d, want %d", second.GetOutEnd(), 2*size(600))
	}
	<-s.flushes // the refused relay, told once
	select {
	case <-s.flushes:
		t.Fatal("a relay noted twice got two flush notes")
	case <-time.After(50 * time.Millisecond):
	}
	g.ack(1)                        // below the last ack: ignored
	g.ack(second.GetOutEnd() + 100) // beyond what was sent: ignored
	if got := g.inFlight(); got != size(600)+1 {
		t.Fatalf("in flight %d, want %d", got, size(600)+1)
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
	n := len(g.waiting)
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
