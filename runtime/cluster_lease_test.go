package runtime_test

import (
	"context"
	"errors"
	"strings"
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
	var some string
	for id := range placed {
		some = id
	}
	wantClientClosed(t, f.cc, some)
	wantNoLiveRunners(ctx, t, gateways)
	f.stopNodes()
}

// wantNoLiveRunners waits until no node of gateways (node name → gateway)
// has a live runner: a leasing cluster client closed.
func wantNoLiveRunners(ctx context.Context, t *testing.T, gateways map[string]string) {
	t.Helper()
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
}

// wantClientClosed checks that every call of a closed ClusterClient
// returns ErrClientClosed itself (Close's doc), not a member's "client of
// node … closed" (Runners said that, naming one member).
func wantClientClosed(t *testing.T, cc *exo.ClusterClient, runner string) {
	t.Helper()
	ctx := context.Background()
	_, err := cc.Runners(ctx)
	check := func(call string, err error) {
		t.Helper()
		// The ClusterClient's own error, naming it and what to do (it
		// was "client closed" alone), never a member Client's.
		if !errors.Is(err, exo.ErrClientClosed) || err == nil || !strings.Contains(err.Error(), "the ClusterClient of cluster") ||
			!strings.Contains(err.Error(), "dial the cluster again (DialCluster)") || strings.Contains(err.Error(), "client of node") {
			t.Errorf("%s after Close: %v; want %v naming the cluster and saying to dial again, not a member's", call, err, exo.ErrClientClosed)
		}
	}
	check("Runners", err)
	_, err = cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	check("SpawnRunner", err)
	_, err = cc.Submit(ctx, runner, exo.Task{ID: "after-close", Kind: "text_generation"})
	check("Submit", err)
	_, err = cc.Cancel(ctx, runner, "")
	check("Cancel", err)
	_, err = cc.StopRunner(ctx, runner)
	check("StopRunner", err)
	_, err = cc.Subscribe(exo.TopicTasks, exo.Filter{RunnerID: runner}, exo.SubscribeOptions{})
	check("Subscribe", err)
	// Whatever the input: a trial got ErrInvalidRequest and ErrInvalidSpec.
	_, err = cc.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{})
	check("Subscribe without a RunnerID", err)
	_, err = cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen", Command: "/bin/true"})
	check("SpawnRunner with a Command", err)
	_, err = cc.Submit(ctx, runner, exo.Task{})
	check("Submit of an invalid task", err)
	check("WaitReady", cc.WaitReady(ctx, runner))
}

// TestClusterLeasedFailoverAndReconcile is the failover and reconcile
// scenarios of TestClusterFailoverAutomanaged with leased runners: the
// runners placed again after a kill -9 are leased too, and a frozen member
// that returns has its old runners stopped once (its own lease end and the
// client's reconcile must not leave a copy, nor make a failed stop or an
// illegal transition of it); after Close no member keeps a live runner.
func TestClusterLeasedFailoverAndReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process failover test (about 30 s)")
	}
	peers, args := automanagedArgs(t, "fo-test") // failoverScenario dials "fo-test" again
	f := newFailoverCluster(t, exo.ClusterConfig{Cluster: "fo-test", Peers: peers, Dial: []exo.DialOption{exo.WithLeasedRunners()}}, args)
	failoverScenario(t, f)
	reconcileScenario(t, f, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gateways := map[string]string{}
	for _, m := range f.cc.Members() {
		gateways[m.Node] = m.Gateway
	}
	f.cc.Close()
	wantNoLiveRunners(ctx, t, gateways)
	f.stopNodes()
}
