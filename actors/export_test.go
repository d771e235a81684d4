package actors

import (
	"context"

	"github.com/exo-actors/exo-actors/actors/resources"
)

// PanicRunnerForTest makes a runner actor panic with a value that is not a
// *RunnerFailure, as a bug in the actor would (tests of issue 15, defect 5).
func (n *Node) PanicRunnerForTest(ctx context.Context, id string) (bool, error) {
	res, err := n.request(ctx, n.supervisor, &panicRunner{id: id})
	if err != nil {
		return false, err
	}
	return res.(bool), nil
}

// ResourcesForTest returns a client of the node's resource manager.
func (n *Node) ResourcesForTest() *resources.Client {
	return resources.NewClient(n.system, n.cfg.resourcesPID)
}

// StartNodeFailingAt starts a node whose start fails at step ("streams",
// "resources" or "runners": before the node root spawns that child) with
// err, for tests of what a failed StartNode leaves behind.
func StartNodeFailingAt(c NodeConfig, step string, err error) (*Node, error) {
	return startNode(c, func(s string) error {
		if s == step {
			return err
		}
		return nil
	})
}

// DirectRouteForTest reports whether Submit would address runner id's actor
// directly (direct.go) rather than through the supervisor.
func (n *Node) DirectRouteForTest(id string) bool {
	v, ok := n.cfg.routes.m.Load(id)
	if !ok {
		return false
	}
	rt := v.(*directRoute)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.pid != nil
}
