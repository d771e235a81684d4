package runtime

import (
	"fmt"
	"strings"
)

// nodeShutDown is how a Client ends when its node's gateway said, before
// it stopped, that the node shut down (a GwError with call_id 0 and code
// SHUTTING_DOWN, sent after the last outcomes of the client's tasks). It
// wraps ErrNodeLost, as every end of a node does, and ErrShuttingDown: the
// node's shutdown stopped its runners, so there is nothing left to stop
// there (`remote run`'s cleanup says so instead of failing).
type nodeShutDown struct {
	node, addr string
	text       string // the node's: "node n1 shut down: its shutdown stopped every runner it ran"
	// fault: the node shut itself down over a node-wide fault (the note's
	// detail NODE_FAULT), on no one's request: no planned leave.
	fault bool
	// forced: the node's shutdown was forced (the note's detail
	// SHUTDOWN_FORCED: ForceKill, a second SIGTERM): a planned leave, not
	// a graceful one.
	forced bool
}

func (e *nodeShutDown) Error() string {
	return fmt.Sprintf("node %s (%s) %s", e.node, e.addr, strings.TrimPrefix(e.text, "node "+e.node+" "))
}

// Is makes errors.Is(err, ErrNodeLost) and errors.Is(err, ErrShuttingDown)
// hold.
func (e *nodeShutDown) Is(target error) bool {
	return target == ErrNodeLost || target == ErrShuttingDown
}
