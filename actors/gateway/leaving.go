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
//	serving ──SetLeaving──▶ leaving ──Close──▶ closing ──actor Stopping──▶ stopping (final)
//	   │  └──────────────────Close──────────────────▲                            ▲
//	   └────────────── actor Stopping (from serving or leaving) ─────────────────┘
//
// The move to closing is made under Gateway.admit, the lock under which
// submit starts a task's forwarder (Gateway.fwd.Add): every forwarder is
// counted before Close waits for them (fwd.Wait), or refused.
type gatewayLife int32

const (
	// gatewayServing: sessions open and are served; NodeStatus says
	// shutting down only once the node's shutdown began.
	gatewayServing gatewayLife = iota
	// gatewayLeaving: the node is leaving its cluster on its way to a
	// shutdown (SetLeaving): NodeStatus says shutting down from now on,
	// and sessions are served as before.
	gatewayLeaving
	// gatewayClosing: Close began: no task is admitted any more (submit
	// answers SHUTTING_DOWN), and Close waits for the forwarders of the
	// tasks admitted before; sessions are served otherwise as before.
	gatewayClosing
	// gatewayStopping: the gateway's actor is stopping (Close, or its
	// actor system's end) and ends every session; the sessions it ends
	// then keep their clients' watches, so that each live client gets the
	// gateway's Terminated. Final.
	gatewayStopping
	numGatewayLives
)

var gatewayLifeNames = [numGatewayLives]string{"serving", "leaving", "closing", "stopping"}

func (l gatewayLife) String() string {
	if l >= 0 && l < numGatewayLives {
		return gatewayLifeNames[l]
	}
	return fmt.Sprintf("gatewayLife(%d)", int(l))
}

// gatewayTransitions is the table of legal transitions: from → the states
// it may go to. Leaving and closing are irreversible; stopping is final
// (a SetLeaving after closing or stopping changes nothing: the gateway is
// past leaving).
var gatewayTransitions = map[gatewayLife][]gatewayLife{
	gatewayServing:  {gatewayLeaving, gatewayClosing, gatewayStopping},
	gatewayLeaving:  {gatewayClosing, gatewayStopping},
	gatewayClosing:  {gatewayStopping},
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
// leaving; a closing or stopping gateway stays so).
func (g *Gateway) SetLeaving() { g.to(gatewayLeaving) }
