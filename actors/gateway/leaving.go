package gateway

// SetLeaving tells the clients that ask for the node's status that it is
// shutting down (GwNodeStatusReply.shutting_down) from now on, before its
// Node's shutdown begins: a node leaves its cluster first and shuts down
// afterwards, and a ClusterClient that sees it leave the view asks it
// whether it drains (runtime/cluster_leave.go). Irreversible.
func (g *Gateway) SetLeaving() { g.leaving.Store(true) }
