package actors_test

import (
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// TestCancelledRestartIsAnnounced: StopRunner of a runner waiting in its
// restart backoff ends it for good ("restart cancelled"), and says so on
// the runner-status topic with a RunnerStopped, as every other stop does.
// Without it a subscriber waiting for the runner (System.WaitReady, which
// waits on that topic for a runner it found Restarting) was never told the
// runner would not come back and waited for its whole context, although
// host-guide.md promises ErrRunnerNotAvailable for a runner stopped first.
func TestCancelledRestartIsAnnounced(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, builtin("--fault", "exit:3"))
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "the runner waiting to restart", nDecisions(id, 1))
	res, err := n.StopRunner(ctx, id)
	if err != nil || res.EndedBy != "restart cancelled" {
		t.Fatalf("stop during backoff: %+v %v", res, err)
	}
	// The hook is synchronous: the event is in before StopRunner answers.
	var stopped []*actors.RunnerStopped
	for _, e := range n.rec.snapshot() {
		if s, ok := e.(*actors.RunnerStopped); ok && s.Result.RunnerID == id {
			stopped = append(stopped, s)
		}
	}
	if len(stopped) != 1 || stopped[0].Result.EndedBy != "restart cancelled" || stopped[0].Result.Failure == nil {
		t.Errorf("RunnerStopped events of the runner whose restart was cancelled: %+v; want one, ended by \"restart cancelled\", with its failure", stopped)
	}
}
