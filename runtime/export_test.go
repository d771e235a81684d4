package runtime

import "context"

// PanicRunnerForTest makes runner id's actor panic as a bug in exo-actors
// would (actors.Node.PanicRunnerForTest), and reports whether the runner
// had a live actor.
func (s *System) PanicRunnerForTest(ctx context.Context, id string) (bool, error) {
	return s.node.PanicRunnerForTest(ctx, id)
}

// FollowedRunners reports, for tests, how many runners the ClusterClient
// keeps in its map: live (it would place tasks on them and fail them over)
// and all (live, lost, replaced and gone).
func (cc *ClusterClient) FollowedRunners() (live, all int) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, r := range cc.runners {
		if r.state == runnerLive {
			live++
		}
	}
	return live, len(cc.runners)
}

// BlastCountsForTest reports how many Blast calls the Client keeps a
// count of (entries of its map of GwBlastItems received).
func (c *Client) BlastCountsForTest() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.blasted)
}

// SetBeforeSpawnForTest makes every placement call f with its caller's
// context just before the spawn on the chosen member.
func (cc *ClusterClient) SetBeforeSpawnForTest(f func(context.Context)) { cc.beforeSpawn = f }

// SetAfterMemberSpawnForTest makes every placement's spawn goroutine call f
// once the member's SpawnRunner answered.
func (cc *ClusterClient) SetAfterMemberSpawnForTest(f func()) {
	cc.afterMemberSpawn = func(string) { f() }
}

// SetAfterMemberSpawnOnForTest is SetAfterMemberSpawnForTest with the ID
// of the member whose SpawnRunner answered.
func (cc *ClusterClient) SetAfterMemberSpawnOnForTest(f func(member string)) { cc.afterMemberSpawn = f }

// DeclareLostForTest declares the member with that ID lost, as the view's
// or the connection's verdict would (its connection ends; its runners go to
// failover), and reports whether the client followed it.
func (cc *ClusterClient) DeclareLostForTest(member string) bool {
	cc.mu.Lock()
	mc := cc.members[member]
	cc.mu.Unlock()
	if mc == nil {
		return false
	}
	cc.declareLost(mc, "declared lost by the test", false)
	return true
}

// ClosingForTest is closed once Close began (the client's context ended).
func (cc *ClusterClient) ClosingForTest() <-chan struct{} { return cc.ctx.Done() }

// ReadPeersForTest returns the automanaged peers the next read of the
// membership asks: ClusterConfig.Peers, then the learned ones.
func (cc *ClusterClient) ReadPeersForTest() []string { return cc.readPeers() }
