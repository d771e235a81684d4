package actors_test

import "testing"

// TestNodeRegistryIsCompact: a node's actor system has the small process
// registry (internal/actorsys), whose memory does not grow with the runners
// it has seen, and its runners are registered in it.
func TestNodeRegistryIsCompact(t *testing.T) {
	n := startNode(t)
	readyRunner(t, n)
	maps := n.System().ProcessRegistry.LocalPIDs.LocalPIDs
	if len(maps) != 1 {
		t.Fatalf("the node's process registry has %d concurrent maps, want 1 (actorsys.New)", len(maps))
	}
	if keys := maps[0].Count(); keys < 13 {
		t.Errorf("the registry holds %d keys with a runner up: the node's actors are registered elsewhere", keys)
	}
}
