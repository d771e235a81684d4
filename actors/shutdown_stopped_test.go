package actors_test

import (
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
)

// runnersBranch returns the names under the report's runners branch.
func runnersBranch(t *testing.T, rep actors.ShutdownReport) []string {
	t.Helper()
	if rep.Root == nil {
		t.Fatalf("no report tree:\n%s", rep)
	}
	for _, c := range rep.Root.Children {
		if c.Name == "runners" {
			var names []string
			for _, r := range c.Children {
				names = append(names, r.Name)
			}
			return names
		}
	}
	t.Fatalf("no runners branch in the report:\n%s", rep)
	return nil
}

// TestRunnerStoppedBeforeShutdownIsNotInTheReport: the runners branch of
// the shutdown report lists the runners Shutdown stopped. A runner whose
// StopRunner returned before Shutdown began was not one of them, and it
// is never listed, whether it ended by its stop or by a failure during it.
// (It was listed in some runs and not in others: the runner answered
// StopRunner before it told the supervisor it was done.)
func TestRunnerStoppedBeforeShutdownIsNotInTheReport(t *testing.T) {
	t.Run("stopped", func(t *testing.T) {
		n := startNode(t)
		keep := readyRunner(t, n)
		gone := readyRunner(t, n)
		stopThenShutdown(t, n, keep, gone)
	})
	t.Run("failed during its stop", func(t *testing.T) {
		n := startNode(t)
		keep := readyRunner(t, n)
		gone := readyRunner(t, n, "--token-delay", "20ms")
		h := mustSubmit(t, n, gone, textTask("t1", 1000, "fault", "crash-after:5"))
		if _, err := h.Chunk(ctxT(t), 0); err != nil { // running: StopRunner drains it, and it crashes
			t.Fatal(err)
		}
		res := stopThenShutdown(t, n, keep, gone)
		if res.Failure == nil || !strings.Contains(res.EndedBy, "failure") {
			t.Logf("the runner's stop ended by %q, not by its crash (the crash came first): the test did not cover the failure path this run", res.EndedBy)
		}
	})
}

// stopThenShutdown stops runner gone, then shuts n down, and checks that
// the report's runners branch lists keep only; it returns gone's stop.
func stopThenShutdown(t *testing.T, n *testNode, keep, gone string) *actors.StopResult {
	t.Helper()
	res, err := n.StopRunner(ctxT(t), gone)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := n.Shutdown(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := runnersBranch(t, rep); len(got) != 1 || got[0] != keep {
		t.Errorf("runners branch %v, want only %s (%s ended by %q before Shutdown):\n%s", got, keep, gone, res.EndedBy, rep)
	}
	return res
}
