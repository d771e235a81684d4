package runtime_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteSpawnGivenUpStopsTheRunner: a SpawnRunner whose ctx ends while
// its request is in flight (here the node is frozen with SIGSTOP, so the
// request waits in its socket) returns the ctx's error; the node, once it
// runs again, spawns the runner and then stops it, since the client told
// it that its caller never learned the runner's ID. Before, the runner ran
// on with nobody knowing its ID (`remote run` whose --timeout or Ctrl-C
// came during the spawn), and with the kind's max_runners 1 every later
// spawn was refused until the node restarted.
func TestRemoteSpawnGivenUpStopsTheRunner(t *testing.T) {
	node := startNode(t, "giveup", writeConfig(t, map[string]string{"echo": `{"builtin": true, "max_runners": 1, "args": ["--layers", "1", "--layer-delay", "1ms", "--token-delay", "1ms"]}`}, ""))
	ctx := remoteCtx(t, time.Minute)
	// lostAfter 30 s: the client must not take the frozen node for lost.
	c, err := exo.Dial(ctx, node.addr, exo.WithHeartbeat(250*time.Millisecond, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(exo.TopicRunnerStatus, exo.Filter{}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	pid := node.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFrozen(t, pid) // kill returns before the signal stops the node
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	defer thaw()
	sctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	id, err := c.SpawnRunner(sctx, exo.RunnerSpec{Kind: "echo"})
	cancel()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("spawn on a frozen node: %q, %v; want the ctx's deadline", id, err)
	}
	thaw()

	// The node spawns the runner (the request was in its socket), then
	// stops it: both show on the runner-status stream.
	var spawned string
	wctx := remoteCtx(t, 15*time.Second)
	for {
		ev, err := sub.Next(wctx)
		if err != nil {
			t.Fatalf("runner %q, spawned for the given-up call, was not stopped: %v", spawned, err)
		}
		switch p := ev.Payload.(type) {
		case exo.ProcessStarted:
			spawned = p.RunnerID
		case exo.RunnerStopped:
			if p.Result.RunnerID != spawned || spawned == "" {
				t.Fatalf("stopped %q, spawned %q", p.Result.RunnerID, spawned)
			}
			t.Logf("the node stopped %s: %s", spawned, p.Result.Summary())
			// The kind's one place is free again.
			id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
			if err != nil {
				t.Fatalf("the next spawn: %v", err)
			}
			if _, err := c.StopRunner(ctx, id); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
}

// waitFrozen waits until the child process pid is stopped (waitid with
// WSTOPPED, leaving the event for nobody else: WNOWAIT), at most 10 s.
func waitFrozen(t *testing.T, pid int) {
	t.Helper()
	done := make(chan error, 1) // never closed
	go func() {
		var info unix.Siginfo
		done <- unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOWAIT, nil)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waiting for node %d to stop: %v", pid, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("node %d not stopped 10s after SIGSTOP", pid)
	}
}
