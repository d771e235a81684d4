package gateway_test

import (
	"testing"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestSubscribeRefusesHugeBufferOrWindow: a peer names the Buffer and the
// Window of its subscription; the node's stream keeps up to Buffer events
// for it and hands its relay up to Window at once. Beyond the node's
// bounds the request is refused with the bound, so no peer can make the
// node hold a stream's whole history for a subscriber that never reads.
func TestSubscribeRefusesHugeBufferOrWindow(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwSubscribe{CallId: 2, Topic: streams.TopicAlerts, Window: 1, Buffer: 1 << 30})
	wantError(t, f.next(t), 2, gateway.ErrInvalidArgument, "buffer of 1073741824 events")
	f.send(&exov1.GwSubscribe{CallId: 3, Topic: streams.TopicAlerts, Window: 1 << 30})
	wantError(t, f.next(t), 3, gateway.ErrInvalidArgument, "window of 1073741824 events")
	// At the bounds: served.
	f.send(&exov1.GwSubscribe{CallId: 4, Topic: streams.TopicAlerts, Window: gateway.MaxSubscribeWindow, Buffer: gateway.MaxSubscribeBuffer})
	if m, ok := f.next(t).(*exov1.GwSubscribed); !ok || m.GetCallId() != 4 {
		t.Fatalf("got %T %v, want GwSubscribed of call 4", m, m)
	}
}
