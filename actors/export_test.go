package actors

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
