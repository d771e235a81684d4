package gateway

import (
	"fmt"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// NodeShutDownText ends the text of the GwError (call_id 0, code
// SHUTTING_DOWN) a gateway sends each client as it stops because its node
// shut down (or is shutting down). A client ends on it as lost, with an
// error that also wraps ErrShuttingDown: the node's runners were stopped
// by that shutdown, so a client's cleanup has nothing to stop there.
const NodeShutDownText = "its shutdown stopped every runner it ran"

// shutDownNote is what the gateway tells each client as it stops: that
// its node shut down (or is shutting down), e.g. "node n1 shut down: its
// shutdown stopped every runner it ran"; nil when the node runs on (a host
// closed only its server: the client then sees its gateway terminate, a
// lost node). A client that does not know it (call_id 0 answers no call)
// ignores it.
func (g *Gateway) shutDownNote() *exov1.GwError {
	if !g.cfg.Node.ShuttingDown() {
		return nil
	}
	done := false
	select {
	case <-g.cfg.Node.Done():
		done = true
	default:
	}
	return noteOf(g.cfg.Name, done, g.cfg.Node.Fault(), g.cfg.Node.ShutdownForced())
}

// noteOf is the shutdown note of node name: shut down (done) or shutting
// down, whether over a node-wide fault (fault, else nil), and whether
// the shutdown was forced (forced: ForceKill during it).
func noteOf(name string, done bool, fault error, forced bool) *exov1.GwError {
	what := "is shutting down"
	if done {
		what = "shut down"
	}
	note := &exov1.GwError{Code: exov1.GwCode_GW_CODE_SHUTTING_DOWN, Text: fmt.Sprintf("node %s %s: %s", name, what, NodeShutDownText)}
	if fault != nil {
		// It shut itself down over a node-wide fault, on no one's
		// request: a cluster client counts its runners' loss as a
		// failure (backoff, restart intensity), not a planned leave, so a
		// runner that takes its node down cannot hop from node to node
		// without bound (a review).
		note.Detail = exov1.GwCode_GW_CODE_NODE_FAULT
		note.Text += " (it shut itself down: node-wide fault: " + fault.Error() + ")"
	}
	if forced {
		// Its shutdown was forced (a second SIGTERM): a cluster client
		// must not call the leave graceful (a docs-only trial read "left
		// cluster trial gracefully" after one). A fault's detail stays:
		// it decides the backoff; the text says both.
		if note.Detail == exov1.GwCode_GW_CODE_UNSPECIFIED {
			note.Detail = exov1.GwCode_GW_CODE_SHUTDOWN_FORCED
		}
		note.Text += " (its shutdown was forced: every runner's process group got SIGKILL)"
	}
	return note
}
