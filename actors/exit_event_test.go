package actors_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
)

// A runner's ProcessExited is held until its stdout reader has closed, so
// that no status the process reported follows its exit
// (TestNoStatusAfterProcessExited). These tests hold the reader open past
// the reap, with a process outside the runner's group that keeps stdout
// (helper mode stdout-held), and check that the held exit is never lost.

// spawnHeld spawns a runner whose stdout a process outside its group
// holds (helper mode stdout-held) and waits until it is Ready. It returns
// the runner's ID, its process's PID and the holder's; the holder is
// killed and waited for when the test ends.
func spawnHeld(t *testing.T, n *testNode) (id string, pid, held int) {
	t.Helper()
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "held", Command: helperBinary(t), Env: []string{"EXO_ACTORS_HELPER=stdout-held"}})
	if err != nil {
		t.Fatal(err)
	}
	// The grandchild's PID first (the helper prints it before its Hello),
	// and its kill registered before the wait for Ready: a runner that
	// failed its handshake on a loaded machine left the grandchild, outside
	// its group, to the next test ("processes left", a clean-clone CI).
	n.logs.waitLog(t, 20*time.Second, "the grandchild's PID", func(e *logrus.Entry) bool {
		line, _ := e.Data["line"].(string) // a runner's stderr line
		_, err := fmt.Sscanf(line, "grandchild pid %d", &held)
		return e.Data["runner_id"] == id && err == nil
	})
	t.Cleanup(func() { waitGone(t, held, 20*time.Second) })
	t.Cleanup(func() { _ = syscall.Kill(held, syscall.SIGKILL) })
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	pid = pidOf(n.rec.snapshot(), id, 1)
	return id, pid, held
}

// spawnHeldAndKill is spawnHeld, then SIGKILL to the runner only, and a
// wait until the node logged the reap: its ProcessExited is then held
// until the reader closes (Drain at most).
func spawnHeldAndKill(t *testing.T, n *testNode) (id string, held int) {
	t.Helper()
	id, pid, held := spawnHeld(t, n)
	_ = syscall.Kill(pid, syscall.SIGKILL) // the runner only: the holder keeps stdout open
	n.logs.waitLog(t, 20*time.Second, "the reap", func(e *logrus.Entry) bool {
		return e.Data["runner_id"] == id && e.Message == "runner process exited"
	})
	return id, held
}

// exitsOf returns how many ProcessExited of generation 1 of id evs holds,
// and the index of the last.
func exitsOf(evs []actors.Event, id string) (n, at int) {
	at = -1
	for i, e := range evs {
		if x, ok := e.(*actors.ProcessExited); ok && x.RunnerID == id && x.Generation == 1 {
			n, at = n+1, i
		}
	}
	return n, at
}

// The holder outlives Timeouts.Drain: the node closes its ends, the reader
// ends, and the held exit is emitted once, before the failure, while the
// holder still lives.
func TestProcessExitedWhenAStrayProcessHoldsStdout(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Timeouts.Drain = 300 * time.Millisecond })
	id, held := spawnHeldAndKill(t, n)
	evs := n.rec.waitFor(t, 20*time.Second, "the failure", failed(id))
	failAt := -1
	for i, e := range evs {
		if f, ok := e.(*actors.RunnerFailed); ok && f.Failure.RunnerID == id {
			failAt = i
			break
		}
	}
	if k, at := exitsOf(evs, id); k != 1 || at > failAt {
		t.Fatalf("%d ProcessExited of generation 1 (at %d), failure at %d: want one, before the failure:\n%s", k, at, failAt, describe(evs))
	}
	if syscall.Kill(held, 0) != nil {
		t.Fatal("the holder died first: the test did not hold the pipe past Drain")
	}
}

// The node shuts down (a caller whose context has ended: every phase has a
// zero deadline) while the exit is held: the tree stops before Drain closes
// the reader, and the exit is still published once.
func TestProcessExitedWhenTheNodeStopsWithinDrain(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Timeouts.Drain = 5 * time.Second })
	id, _ := spawnHeldAndKill(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.shutdownErrChecked = true
	_, _ = n.Shutdown(ctx) // its error names the ended context
	if k, _ := exitsOf(n.rec.snapshot(), id); k != 1 {
		t.Fatalf("%d ProcessExited of generation 1 after the node stopped: want 1:\n%s", k, describe(n.rec.snapshot()))
	}
}

// The runner actor panics (a bug: PanicRunnerForTest) while the exit is
// held: no frame of the process is handled after the panic, so the exit
// goes out then.
func TestProcessExitedWhenTheActorPanicsWithinDrain(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Timeouts.Drain = 5 * time.Second })
	id, held := spawnHeldAndKill(t, n)
	if ok, err := n.PanicRunnerForTest(ctxT(t), id); err != nil || !ok {
		t.Fatalf("PanicRunnerForTest: %v %v", ok, err)
	}
	n.rec.waitFor(t, 20*time.Second, "the panic's failure", failed(id))
	_ = syscall.Kill(held, syscall.SIGKILL) // the reader closes now
	waitGone(t, held, 20*time.Second)
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n.shutdownErrChecked = true
	_, _ = n.Shutdown(sctx)
	if k, _ := exitsOf(n.rec.snapshot(), id); k != 1 {
		t.Fatalf("%d ProcessExited of generation 1 after the node stopped: want 1:\n%s", k, describe(n.rec.snapshot()))
	}
}
