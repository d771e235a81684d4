package gateway_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestLostClientIsDeparted: once a client's session ended as lost, a
// message to its client actor that cannot be delivered is expected (a
// node resumed from a freeze answered its dead client's queued pings with
// "no session"): counted as to a departed client, not warned as
// send_to_stopped with an error record, as it was. The client's PID has a
// remote address this test process does not serve, so every message to it
// is a dead letter, as to a client process that has exited.
func TestLostClientIsDeparted(t *testing.T) {
	f := newFixtureTimeout(t, 300*time.Millisecond)
	gone := &actor.PID{Address: "127.0.0.1:1", Id: "client-gone"}
	root := f.node.System().Root
	root.RequestWithCustomSender(f.gw.PID(), &exov1.GwHello{CallId: 1, ClientName: "gone"}, gone)
	pollUntil(t, "the silent client's session ends as lost", func() bool { return f.gw.Stats().SessionsLost >= 1 })
	before := f.node.ForwardStats()
	root.RequestWithCustomSender(f.gw.PID(), &exov1.GwPing{Seq: 1}, gone) // answered "no session"
	pollUntil(t, "the no-session answer to the lost client counted as to a departed one", func() bool {
		return f.node.ForwardStats().ToDeparted > before.ToDeparted
	})
	if after := f.node.ForwardStats(); after.DeadLetters != before.DeadLetters || after.Records != before.Records {
		t.Errorf("the answer to a lost client was classified send_to_stopped: %+v (before %+v)", after, before)
	}
}
