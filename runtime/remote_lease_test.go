package runtime_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestLeasedRunnerOfAFrozenNodeEndsWhenItResumes: an operator's trial froze
// a node (SIGSTOP) under a `remote run`; the client counted it lost and
// ended, and once the node resumed its runner ran on, owned by nobody, and
// counted against its kind's max_runners. A runner spawned by a client
// dialled WithLeasedRunners is stopped by the node when the client's
// session ends, which it does when the resumed node finds the client
// silent past its session timeout; one spawned without the lease stays.
func TestLeasedRunnerOfAFrozenNodeEndsWhenItResumes(t *testing.T) {
	node := startNode(t, "leases", writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, ""))
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr, exo.WithLeasedRunners(), exo.WithHeartbeat(100*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	leased, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := plain.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	plain.Close()
	if err != nil {
		t.Fatal(err)
	}

	resume := freeze(t, node.cmd.Process.Pid)
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the client did not count the frozen node lost")
	}
	if !errors.Is(c.Err(), exo.ErrNodeLost) {
		t.Fatalf("client ended with %v, want ErrNodeLost", c.Err())
	}
	c.Close()
	resume()

	watcher, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	tick := time.NewTicker(50 * time.Millisecond) // the node announces the stop to no client of ours: poll its list
	defer tick.Stop()
	for {
		runners, err := watcher.Runners(ctx)
		if err != nil {
			t.Fatal(err)
		}
		live := map[string]bool{}
		for _, r := range runners {
			live[r.ID] = r.Status != exo.StatusShutdown && r.Status != exo.StatusFailed && r.Status != exo.StatusShuttingDown
		}
		if !live[kept] {
			t.Fatalf("runner %s, spawned without a lease, was stopped: %+v", kept, runners)
		}
		if !live[leased] {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("leased runner %s still live after the frozen node resumed: %+v", leased, runners)
		}
	}
}
