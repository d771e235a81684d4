package gateway_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

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
