package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// outEnd returns m's out_end stamp, 0 when its type has none.
func outEnd(m proto.Message) uint64 {
	r := m.ProtoReflect()
	fd := r.Descriptor().Fields().ByName(protoreflect.Name("out_end"))
	if fd == nil {
		return 0
	}
	return r.Get(fd).Uint()
}

// TestBlastItemsCountAgainstTheWindow: a Blast's items are in the session's
// window like task events and deliveries, so two Blasts asked for back to
// back hold at most the window unacknowledged on the node. Before, the
// items bypassed the window and the node's one-at-a-time slot freed once
// the items were queued: a client that did not read (a slow link) let the
// whole of every Blast pile up in the node's send queue.
func TestBlastItemsCountAgainstTheWindow(t *testing.T) {
	f := newFixture(t)
	f.send(&exov1.GwHello{CallId: 1, ClientName: "unit-test", Acks: true})
	w, ok := f.next(t).(*exov1.GwWelcome)
	if !ok || w.GetOutWindow() <= 0 {
		t.Fatalf("hello: %v, want a welcome with a window", w)
	}
	win := uint64(w.GetOutWindow())
	const n = 60_000 // about 1.7 MB per blast: more than twice the window
	f.send(&exov1.GwBlast{CallId: 2, Count: n, Size: 8})
	f.send(&exov1.GwBlast{CallId: 3, Count: n, Size: 8})
	// Acknowledge as a client does, but only every half window: what the
	// node sends beyond the window before an acknowledgement shows.
	var unacked, acked, most uint64
	items, done := 0, 0
	for done < 2 {
		switch m := f.next(t).(type) {
		case *exov1.GwBlastItem:
			items++
			unacked += uint64(proto.Size(m))
			most = max(most, unacked)
			// The window admits blast items a group at a time (the
			// group's first item counts for it): at most one group beyond.
			if bound := win + gateway.BlastGroupForTest*uint64(8+gateway.BlastItemOverheadForTest); unacked > bound {
				t.Fatalf("after %d blast items, %d bytes of them arrived unacknowledged; the node's window is %d (+ one group: %d)", items, unacked, win, bound)
			}
			if end := outEnd(m); end > acked && end-acked >= win/2 {
				f.send(&exov1.GwAck{Through: end})
				acked, unacked = end, 0
			}
		case *exov1.GwBlastDone:
			done++
			if m.GetCount() != n {
				t.Fatalf("blast %d done with %d items, want %d", m.GetCallId(), m.GetCount(), n)
			}
		default:
			t.Fatalf("got %T %v during two blasts", m, m)
		}
	}
	if items != 2*n {
		t.Fatalf("%d items, want %d", items, 2*n)
	}
	t.Logf("two blasts of %d items: at most %d bytes unacknowledged, window %d", n, most, win)
}

// TestLargeEventDoesNotShareAPiece: the relay cuts a subscription's events
// into pieces of MaxOutMessage bytes; a piece holds more only when it is a
// single event. Before, a large event was appended to a piece that already
// held events, so the piece went past the cut size (and past a small
// peer's transport limit).
func TestLargeEventDoesNotShareAPiece(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwSubscribe{CallId: 2, Topic: streams.TopicAlerts, Window: 1, Buffer: 400})
	if sub, ok := f.next(t).(*exov1.GwSubscribed); !ok || sub.GetWindow() != 1 {
		t.Fatalf("subscribe: %v", sub)
	}
	s := f.node.Stream(streams.TopicAlerts)
	// 1 event for the credit, then 60 of 4 KiB (240 KiB) and one of
	// 100 KiB, all handed over at once when the stream closes.
	publish := func(i, size int) {
		if err := s.Publish(streams.Event{Kind: "x", RunnerID: fmt.Sprintf("%d-%s", i, strings.Repeat("r", size))}); err != nil {
			t.Fatal(err)
		}
	}
	const small = 61
	for i := range small {
		publish(i, 4<<10)
	}
	publish(small, 100<<10)
	publish(small+1, 10)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		m := f.next(t)
		d, ok := m.(*exov1.GwDelivery)
		if !ok || d.GetCallId() != 2 {
			t.Fatalf("got %T %v, want a delivery of call 2", m, m)
		}
		evs, err := gateway.UnpackEvents(nil, d.GetTopic(), d.GetPacked())
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 1 && len(d.GetPacked()) > gateway.MaxOutMessage {
			t.Fatalf("a delivery of %d events holds %d bytes, more than the cut size %d: a large event joined a piece that held data",
				len(evs), len(d.GetPacked()), gateway.MaxOutMessage)
		}
		got += len(evs)
		if d.GetEnd() {
			break
		}
	}
	if got != small+2 {
		t.Fatalf("%d events, want %d", got, small+2)
	}
}

// TestEventTooLargeForTheClientEndsOnlyItsSubscription: an event larger
// than what the node may send the client in one message (its transport
// limit, GwHello.max_receive here) ends that subscription with an error
// naming the size and the limit; before, the node sent it, and over gRPC
// the oversized batch broke the connection: every task and subscription of
// the client ended as "node lost".
func TestEventTooLargeForTheClientEndsOnlyItsSubscription(t *testing.T) {
	f := newFixture(t)
	const maxReceive = 800 << 10
	f.send(&exov1.GwHello{CallId: 1, ClientName: "unit-test", Acks: true, MaxReceive: maxReceive})
	if w, ok := f.next(t).(*exov1.GwWelcome); !ok {
		t.Fatalf("hello: got %T", w)
	}
	f.send(&exov1.GwSubscribe{CallId: 2, Topic: streams.TopicAlerts})
	f.send(&exov1.GwSubscribe{CallId: 3, Topic: streams.TopicErrors})
	for range 2 {
		if sub, ok := f.next(t).(*exov1.GwSubscribed); !ok {
			t.Fatalf("subscribe: %v", sub)
		}
	}
	s := f.node.Stream(streams.TopicAlerts)
	if err := s.Publish(streams.Event{Kind: "x", RunnerID: "small"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Publish(streams.Event{Kind: "x", RunnerID: strings.Repeat("r", 900<<10)}); err != nil {
		t.Fatal(err)
	}
	got := 0
	for {
		m := f.next(t)
		d, ok := m.(*exov1.GwDelivery)
		if !ok || d.GetCallId() != 2 {
			t.Fatalf("got %T %v, want a delivery of call 2", m, m)
		}
		if size := proto.Size(d); size > maxReceive {
			t.Fatalf("the node sent a delivery of %d bytes to a client that receives at most %d in one message", size, maxReceive)
		}
		evs, err := gateway.UnpackEvents(nil, d.GetTopic(), d.GetPacked())
		if err != nil {
			t.Fatal(err)
		}
		got += len(evs)
		if d.GetEnd() {
			for _, want := range []string{"bytes", fmt.Sprint(maxReceive)} {
				if !strings.Contains(d.GetReason(), want) {
					t.Fatalf("end reason %q does not name %q", d.GetReason(), want)
				}
			}
			t.Logf("end reason: %s", d.GetReason())
			break
		}
	}
	if got != 1 {
		t.Fatalf("%d events before the end, want the small one", got)
	}
	// The other subscription goes on.
	if err := f.node.Stream(streams.TopicErrors).Publish(streams.Event{Kind: "y", RunnerID: "after"}); err != nil {
		t.Fatal(err)
	}
	for {
		m := f.next(t)
		if d, ok := m.(*exov1.GwDelivery); ok && d.GetCallId() == 3 {
			if d.GetEnd() {
				t.Fatalf("the other subscription ended: %s", d.GetReason())
			}
			break
		}
	}
}
