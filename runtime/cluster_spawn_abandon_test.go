package runtime_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestClusterSpawnGivenUpLeavesNoRunner: a SpawnRunner whose caller's ctx
// ends after the member was chosen, while the spawn is on its way, returns
// an error wrapping ctx's error that says the caller's ctx ended (not
// ErrNoPlacement, not "node … did not answer"), and the runner the member
// spawned for it is stopped (event spawn_abandoned): nobody else knows its
// ID. Before, the trial's host found 3 live runners after spawning 1 with a
// full ctx and 2 with ctxs of 2 ms and 5 ms.
func TestClusterSpawnGivenUpLeavesNoRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 5 s)")
	}
	peers, _ := apiCluster(t, "api-spawn", "spawn-a")
	cc, rec := dialAPICluster(t, exo.ClusterConfig{Cluster: "api-spawn", Peers: peers}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gave, giveUp := context.WithCancel(ctx)
	cc.SetBeforeSpawnForTest(func(c context.Context) {
		if c == gave {
			giveUp() // the caller gives up once the member is chosen
		}
	})
	_, err := cc.SpawnRunner(gave, exo.RunnerSpec{Kind: "gen"})
	wantCallerEnded(t, "SpawnRunner given up during the spawn", err, context.Canceled, "the one the node may spawn for this call is stopped")
	evs := rec.Wait(t, 30*time.Second, "the abandoned runner stopped", func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.Kind == exo.ClusterSpawnAbandoned {
				return true
			}
		}
		return false
	})
	for _, e := range evs {
		if e.Kind == exo.ClusterSpawnAbandoned && (!strings.HasPrefix(e.Detail, "stopped") || strings.Contains(e.Detail, "stop failed")) {
			t.Errorf("runner %s: %s; want it stopped", e.RunnerID, e.Detail)
		}
	}
	infos, err := cc.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range infos {
		if !ri.Status.Terminal() {
			t.Errorf("runner %s is %s after the only spawn was given up; want none live", ri.ID, ri.StatusText())
		}
	}
	// A spawn with a full ctx still works, and is kept.
	id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// TestClusterSpawnGivenUpThenClosed: the caller's ctx ends and the client
// closes after the member's SpawnRunner answered with the runner's ID:
// the client still stops that runner (nobody learned its ID), Close
// waiting for the stop. Before, a closing client left it running.
func TestClusterSpawnGivenUpThenClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 5 s)")
	}
	peers, _ := apiCluster(t, "api-spawnclose", "spawnclose-a")
	cfg := exo.ClusterConfig{Cluster: "api-spawnclose", Peers: peers}
	cc, rec := dialAPICluster(t, cfg, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gave, giveUp := context.WithCancel(ctx)
	closed := make(chan struct{})
	cc.SetAfterMemberSpawnForTest(func() {
		giveUp()
		go func() { // owner: the test, which waits on closed
			cc.Close()
			close(closed) // sole sender: this goroutine
		}()
		<-cc.ClosingForTest()
	})
	if _, err := cc.SpawnRunner(gave, exo.RunnerSpec{Kind: "gen"}); err == nil {
		t.Fatal("SpawnRunner given up and closed during the spawn succeeded")
	}
	<-closed
	var abandoned []exo.ClusterEvent
	for _, e := range rec.Snapshot() {
		if e.Kind == exo.ClusterSpawnAbandoned {
			abandoned = append(abandoned, e)
		}
	}
	if len(abandoned) != 1 || !strings.HasPrefix(abandoned[0].Detail, "stopped") || strings.Contains(abandoned[0].Detail, "stop failed") {
		t.Fatalf("spawn_abandoned events after Close: %+v; want one, the runner stopped", abandoned)
	}
	cc2, _ := dialAPICluster(t, cfg, 1)
	infos, err := cc2.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range infos {
		if !ri.Status.Terminal() {
			t.Errorf("runner %s is %s after the only spawn was given up and the client closed; want none live", ri.ID, ri.StatusText())
		}
	}
}

// TestClusterSpawnCutByClose: a SpawnRunner in flight when the client
// closes returns an error wrapping ErrClientClosed, as Close documents
// (before: the member Client's "did not answer: context canceled").
func TestClusterSpawnCutByClose(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 5 s)")
	}
	peers, _ := apiCluster(t, "api-spawncut", "spawncut-a")
	cc, _ := dialAPICluster(t, exo.ClusterConfig{Cluster: "api-spawncut", Peers: peers}, 1)
	closed := make(chan struct{})
	cc.SetBeforeSpawnForTest(func(context.Context) {
		go func() { // owner: the test, which waits on closed
			cc.Close()
			close(closed) // sole sender: this goroutine
		}()
		<-cc.ClosingForTest()
	})
	_, err := cc.SpawnRunner(context.Background(), exo.RunnerSpec{Kind: "gen"})
	<-closed
	if !errors.Is(err, exo.ErrClientClosed) {
		t.Fatalf("SpawnRunner cut by Close: %v; want an error wrapping ErrClientClosed", err)
	}
}

// TestClusterSpawnOnAMemberDeclaredLost: a member declared lost while a
// placement's spawn settles there (the loss ends the member's Client,
// which ends the settle wait, and declareLost hands the member's runners
// to failover before the placement registers the new one) is no place
// for the runner: the placement tries the next member, and the member,
// still running and joined again, is told to stop the runner spawned
// there. Before (a review's finding), the runner was registered live on
// the lost member: SpawnRunner returned its ID, WaitReady waited out its
// ctx, Submit said "the cluster has not decided yet" for good, and no
// failover ever ran.
func TestClusterSpawnOnAMemberDeclaredLost(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 10 s)")
	}
	peers, _ := apiCluster(t, "api-spawnlost", "spawnlost-a", "spawnlost-b")
	cc, rec := dialAPICluster(t, exo.ClusterConfig{Cluster: "api-spawnlost", Peers: peers}, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var first atomic.Value // the member declared lost: the first one spawned on
	cc.SetAfterMemberSpawnOnForTest(func(member string) {
		if first.CompareAndSwap(nil, member) && !cc.DeclareLostForTest(member) {
			t.Errorf("member %s was not followed", member)
		}
	})
	id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatalf("SpawnRunner with its first member declared lost during the spawn: %v; want the runner placed on the other", err)
	}
	lost, _ := first.Load().(string)
	if !slices.ContainsFunc(rec.Snapshot(), func(e exo.ClusterEvent) bool { return e.Kind == exo.ClusterMemberLost && e.Member == lost }) {
		t.Fatalf("no member_lost event for member %q", lost)
	}
	if err := cc.WaitReady(ctx, id); err != nil {
		t.Fatalf("WaitReady(%s): %v", id, err)
	}
	h, err := cc.Submit(ctx, id, exo.Task{ID: "after-loss", Kind: "noop"})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := h.Wait(ctx); err != nil || out.Status != exo.TaskComplete {
		t.Fatalf("task on %s: %+v, %v; want Complete", id, out, err)
	}
	// The member is still running and in the view: joined again, it is
	// told to stop the runner spawned there as it was declared lost.
	evs := rec.Wait(t, 30*time.Second, "the lost member's runner stopped once it joined again", func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.Kind == exo.ClusterRunnerReconciled && e.Member == lost && strings.Contains(e.Detail, "spawned there as its node was declared lost") {
				return true
			}
		}
		return false
	})
	for _, e := range evs {
		if e.Kind == exo.ClusterRunnerReconciled && e.Member == lost && !strings.HasPrefix(e.Detail, "stopped") {
			t.Errorf("reconcile of %s on the returning member: %q; want it stopped", e.RunnerID, e.Detail)
		}
		if e.Kind == exo.ClusterRunnerReconciled && e.RunnerID == id {
			t.Errorf("the placed runner %s was reconciled: %q", id, e.Detail)
		}
	}
	if live, _ := cc.FollowedRunners(); live != 1 {
		t.Errorf("%d runners followed live; want 1 (the one placed)", live)
	}
}
