package runtime_test

import (
	"context"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestClusterClientLeasedRunnersEndWithIt: a ClusterClient whose Dial
// options lease its runners (ClusterConfig.Dial: WithLeasedRunners) leaves
// none behind when it closes: each member stops the runners it placed
// there as the client's session ends. Without the lease a host's
// ClusterClient that died left them on every member.
func TestClusterClientLeasedRunnersEndWithIt(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 10 s)")
	}
	peers, args := automanagedArgs(t, "lease-test")
	f := newFailoverCluster(t, exo.ClusterConfig{Cluster: "lease-test", Peers: peers, Dial: []exo.DialOption{exo.WithLeasedRunners()}}, args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	placed := map[string]bool{}
	for range 3 {
		id, err := f.cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
		if err != nil {
			t.Fatal(err)
		}
		placed[id] = true
	}
	if len(placed) != 3 {
		t.Fatalf("placed %v: want 3 runners", placed)
	}
	gateways := map[string]string{}
	for _, m := range f.cc.Members() {
		gateways[m.Node] = m.Gateway
	}
	f.cc.Close()

	for node, gw := range gateways {
		c, err := dial(ctx, gw)
		if err != nil {
			t.Fatal(err)
		}
		waitLive(ctx, t, c, "node "+node+" has no live runner after the leasing cluster client closed", func(live map[string]bool) bool {
			return len(live) == 0
		})
		c.Close()
	}
	f.stopNodes()
}
