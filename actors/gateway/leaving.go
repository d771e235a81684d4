package gateway

import (
	"fmt"
	"slices"
)

// gatewayLife is where a Gateway is in its life. It is the gateway's one
// lifecycle value (Gateway.life): SetLeaving's caller, the gateway's actor
// and the calls it serves off the actor read it, so it is held atomically,
// and every change goes through Gateway.to, which applies only the
// transitions in gatewayTransitions:
//
//	serving ──SetLeaving──▶ leaving ──actor Stopping──▶ stopping (final)
//	   └──────────────actor Stopping───────────────────────▲
type gatewayLife int32

const (
	// gatewayServing: sessions open and are served; NodeStatus says
	// shutting down only once the node's shutdown began.
	gatewayServing gatewayLife = iota
	// gatewayLeaving: the node is leaving its cluster on its way to a
	// shutdown (SetLeaving): NodeStatus says shutting down from now on,
	// and sessions are served as before.
	gatewayLeaving
	// gatewayStopping: the gateway's actor is stopping (Close, or its
	// actor system's end) and ends every session; the sessions it ends
	// then keep their clients' watches, so that each live client gets the
	// gateway's Terminated. Final.
	gatewayStopping
	numGatewayLives
)

var gatewayLifeNames = [numGatewayLives]string{"serving", "leaving", "stopping"}

func (l gatewayLife) String() string {
	if l >= 0 && l < numGatewayLives {
		return gatewayLifeNames[l]
	}
	return fmt.Sprintf("gatewayLife(%d)", int(l))
}

// gatewayTransitions is the table of legal transitions: from → the states
// it may go to. Leaving is irreversible; stopping is final (a SetLeaving
// after it changes nothing: the gateway is past leaving).
var gatewayTransitions = map[gatewayLife][]gatewayLife{
	gatewayServing:  {gatewayLeaving, gatewayStopping},
	gatewayLeaving:  {gatewayStopping},
	gatewayStopping: {},
}

// life returns where the gateway is now.
func (g *Gateway) life() gatewayLife { return gatewayLife(g.lifeV.Load()) }

// to moves the gateway to next when gatewayTransitions allows it from
// where it is now, and reports whether it moved.
func (g *Gateway) to(next gatewayLife) bool {
	for {
		cur := g.life()
		if !slices.Contains(gatewayTransitions[cur], next) {
			return false
		}
		if g.lifeV.CompareAndSwap(int32(cur), int32(next)) {
			return true
		}
	}
}

// SetLeaving tells the clients that ask for the node's status that it is
// shutting down (GwNodeStatusReply.shutting_down) from now on, before its
// Node's shutdown begins: a node leaves its cluster first and shuts down
// afterwards, and a ClusterClient that sees it leave the view asks it
// whether it drains (runtime/cluster_leave.go). Irreversible (serving →
// leaving; a stopping gateway stays stopping).
func (g *Gateway) SetLeaving() { g.to(gatewayLeaving) }
