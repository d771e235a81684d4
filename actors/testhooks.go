package actors

import "context"

// PanicRunnerForTest makes runner id's actor panic with a value that is not
// a *RunnerFailure, as a bug in the actor would, and reports whether the
// runner had a live actor. It is for tests only, here and in the packages
// that embed a Node (runtime's tests reach it through their export_test.go):
// nothing in the product calls it.
func (n *Node) PanicRunnerForTest(ctx context.Context, id string) (bool, error) {
	res, err := n.request(ctx, n.supervisor, &panicRunner{id: id})
	if err != nil {
		return false, err
	}
	return res.(bool), nil
}
