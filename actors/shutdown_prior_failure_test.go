package actors_test

import (
	"context"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
)

// TestFailureBeforeShutdownIsNotTheShutdowns: a runner whose failure was
// detected before the shutdown began, but handed to the supervisor after
// SIGNALING reached it (a host whose WaitReady returned the failure called
// Shutdown at once), is answered for as having failed before: the phase is
// ok, the note says so. Before, the phase was failed ("not a runner: …")
// or the runner absent, depending on which came first: a host's trial got
// Clean() false in 3 runs of 6. The order is forced: protoactor's recovery
// of the runner's failure hand-off (recoveringHook) waits until the
// supervisor has forwarded SIGNALING.
func TestFailureBeforeShutdownIsNotTheShutdowns(t *testing.T) {
	forwarded := make(chan struct{})
	defer actors.SetPhaseForwardedHookForTest(func(p actors.Phase) {
		if p == actors.PhaseSignaling {
			close(forwarded) // sole sender: this hook, at the one SIGNALING
		}
	})()
	hook := &recoveringHook{}
	n := startNode(t, func(c *actors.NodeConfig) { c.Logger.AddHook(hook) })
	ctx := ctxT(t)
	type result struct {
		rep actors.ShutdownReport
		err error
	}
	done := make(chan result, 1) // never closed: one result
	hook.arm.Store(&recoveringArm{id: "exits-", fn: func() {
		go func() { // owner: the test, which waits on done
			rep, err := n.Shutdown(context.Background())
			done <- result{rep, err}
		}()
		<-forwarded
	}})
	if _, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "exits", Command: "/bin/sh", Args: []string{"-c", "exit 3"}}); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("the shutdown did not end")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if p := r.rep.Root.Phases[actors.PhaseSignaling]; p == nil || p.Outcome != actors.OutcomeOK {
		t.Errorf("the node's SIGNALING %+v: want ok, the runner failed before the shutdown\n%s", p, r.rep)
	}
	if s := r.rep.String(); !strings.Contains(s, "had failed before the shutdown began: ") {
		t.Errorf("the report does not say the runner had failed before:\n%s", s)
	}
}
