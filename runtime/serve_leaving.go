package runtime

// Leaving tells the clients that ask for the node's status (NodeStatus)
// that it is shutting down, from now on: call it when the node leaves its
// cluster on its way to a Shutdown, before it leaves, so that a
// ClusterClient that sees the member leave the view follows the tasks
// still running there until they drain, instead of taking the member for
// lost (docs/cluster.md, "A node that leaves gracefully"). Irreversible.
func (srv *Server) Leaving() { srv.gw.SetLeaving() }
