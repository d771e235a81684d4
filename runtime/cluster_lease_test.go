package runtime_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
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
	ports := testutil.ReservePorts(t, 3)
	var peers []string
	for _, p := range ports {
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(p))
	}
	port := map[string]int{"fo-a": ports[0], "fo-b": ports[1], "fo-c": ports[2]}
	args := func(name string) []string {
		return []string{"--cluster", "lease-test", "--cluster-provider", "automanaged", "--cluster-port", strconv.Itoa(port[name]),
			"--cluster-peers", strings.Join(peers, ",")}
	}
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
		tick := time.NewTicker(50 * time.Millisecond) // no client of ours hears of the stops: poll the lists
		for live := -1; live != 0; {
			rs, err := c.Runners(ctx)
			if err != nil {
				t.Fatal(err)
			}
			live = 0
			for _, r := range rs {
				if r.Status != exo.StatusShutdown && r.Status != exo.StatusFailed && r.Status != exo.StatusShuttingDown {
					live++
				}
			}
			if live == 0 {
				break
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatalf("node %s still has %d live runners after the leasing cluster client closed: %+v", node, live, rs)
			}
		}
		tick.Stop()
		c.Close()
	}
	f.stopNodes()
}
