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
	live := waitLive(ctx, t, watcher, "leased runner "+leased+" stopped after the frozen node resumed", func(live map[string]bool) bool {
		return !live[leased] || !live[kept]
	})
	if !live[kept] {
		t.Fatalf("runner %s, spawned without a lease, was stopped", kept)
	}
}
