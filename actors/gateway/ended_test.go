package gateway_test

import (
	"testing"

	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestPingWithoutSessionSaysWhyItEnded: a ping after the session ended is
// answered with why it ended (the goodbye here), and a ping of a client
// the node never had a session with says so. Before, every such answer
// said "no heartbeat for 2s", whatever had ended the session (a review).
func TestPingWithoutSessionSaysWhyItEnded(t *testing.T) {
	f := newFixture(t)
	f.send(&exov1.GwPing{Seq: 1})
	wantError(t, f.next(t), 0, gateway.ErrNoSession, "the node has no session of this client")
	f.hello(t)
	f.send(&exov1.GwBye{})
	f.send(&exov1.GwPing{Seq: 2})
	wantError(t, f.next(t), 0, gateway.ErrNoSession, "this client's session was dropped (the client said goodbye); dial again")
}

// TestPingWithoutSenderIsIgnored: a GwPing that comes without a sender
// (nobody to answer) is dropped. Before, the answer's key dereferenced the
// nil sender, the gateway actor panicked and restarted, and every session
// ended with it (a review).
func TestPingWithoutSenderIsIgnored(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.node.System().Root.Send(f.gw.PID(), &exov1.GwPing{Seq: 1})
	f.send(&exov1.GwPing{Seq: 2})
	if pong, ok := f.next(t).(*exov1.GwPong); !ok || pong.GetSeq() != 2 {
		t.Fatalf("after a ping without sender: %v; want the session's pong 2", pong)
	}
}
