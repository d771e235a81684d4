package actors_test

import (
	"context"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
)

// TestShutdownOfARunnerInItsHandshakeIsNotForced: a runner that has not
// said Hello cannot read a Shutdown frame; its stop starts at SIGTERM, and
// its exit on it is its graceful stop: CLOSING ok, nothing forced. A demo
// interrupted 50 ms after its start reported such runners forced and
// itself "shut down, not cleanly".
func TestShutdownOfARunnerInItsHandshakeIsNotForced(t *testing.T) {
	n := startNode(t)
	id, err := n.SpawnRunner(ctxT(t), builtin("--hello-delay", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "its process started", func(evs []actors.Event) bool {
		for _, e := range evs {
			if s, ok := e.(*actors.ProcessStarted); ok && s.RunnerID == id {
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rep, err := n.Shutdown(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Root.Phases[actors.PhaseClosing]; p == nil || p.Outcome != actors.OutcomeOK || len(rep.Forced) != 0 {
		t.Errorf("CLOSING %+v, forced %v: want ok, nothing forced (SIGTERM is how a runner in its handshake stops)\n%s", p, rep.Forced, rep)
	}
}
