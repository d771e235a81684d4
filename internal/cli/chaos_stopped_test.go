package cli

import (
	"bytes"
	"strings"
	"testing"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestChaosStoppedRunnerSeenLiveIsAViolation: the driver's invariant "a
// runner whose StopRunner returned is never live again" flags a stopped
// runner listed Ready or waiting to restart (once), and nothing for one
// that stays Shutdown or Failed, nor for a runner never stopped, nor in a
// listing asked for before the stop returned (the soak of seed 20261202
// reported such a runner: its listing raced the stop step).
func TestChaosStoppedRunnerSeenLiveIsAViolation(t *testing.T) {
	var stderr bytes.Buffer
	r := newChaosRun(&env{stderr: &stderr}, chaosOptions{seed: 5}, &bytes.Buffer{}, "")
	n := &demoNode{name: "node-1"}
	early := r.listingMark() // a listing asked for before the stops returned
	r.noteStopped(n, "llama-a", 7)
	r.noteStopped(n, "llama-b", 8)
	r.noteStopped(n, "llama-c", 9)
	// What that listing shows is how the runners were before their stops:
	// llama-c still waiting to restart is no violation.
	r.checkStopped(n, exo.RunnerInfo{ID: "llama-c", Status: exo.StatusFailed, Restarting: true, Generation: 1}, early)
	if len(r.rep.Violations) != 0 {
		t.Fatalf("a listing asked for before the stop returned was judged: %+v", r.rep.Violations)
	}
	asked := r.listingMark()
	for _, in := range []exo.RunnerInfo{
		{ID: "llama-a", Status: exo.StatusShutdown},
		{ID: "llama-b", Status: exo.StatusFailed},
		{ID: "llama-c", Status: exo.StatusFailed, Restarting: true, Generation: 1}, // revived: a violation
		{ID: "llama-c", Status: exo.StatusReady, Generation: 2},                    // reported once only
		{ID: "llama-d", Status: exo.StatusReady},                                   // never stopped
	} {
		r.checkStopped(n, in, asked)
	}
	if len(r.rep.Violations) != 1 {
		t.Fatalf("violations %+v, want one for llama-c", r.rep.Violations)
	}
	v := r.rep.Violations[0]
	if v.Invariant != "a stopped runner stays stopped" || !strings.Contains(v.Detail, "llama-c on node-1") || !strings.Contains(v.Detail, "step 9") {
		t.Errorf("violation %+v", v)
	}
	if !strings.Contains(stderr.String(), "VIOLATION") {
		t.Errorf("not printed: %q", stderr.String())
	}
}

func TestChaosRunnerLive(t *testing.T) {
	for _, c := range []struct {
		in   exo.RunnerInfo
		live bool
	}{
		{exo.RunnerInfo{Status: exo.StatusReady}, true},
		{exo.RunnerInfo{Status: exo.StatusShutdown}, false},
		{exo.RunnerInfo{Status: exo.StatusFailed}, false},
		{exo.RunnerInfo{Status: exo.StatusFailed, Restarting: true}, true},
	} {
		if got := runnerLive(c.in); got != c.live {
			t.Errorf("runnerLive(%s, restarting %v) = %v, want %v", c.in.Status, c.in.Restarting, got, c.live)
		}
	}
}

// TestChaosSecondStopKeepsTheFirstMark: two steps may stop the same runner
// (an already stopped runner's StopRunner returns too). The runner must
// stay stopped from the first stop on, so a listing asked for between the
// two stops that shows it live is still a violation: the second stop must
// not move the runner's mark past that listing.
func TestChaosSecondStopKeepsTheFirstMark(t *testing.T) {
	r := newChaosRun(&env{stderr: &bytes.Buffer{}}, chaosOptions{seed: 5}, &bytes.Buffer{}, "")
	n := &demoNode{name: "node-1"}
	r.noteStopped(n, "llama-a", 3)
	between := r.listingMark() // asked for after the first stop returned
	r.noteStopped(n, "llama-a", 4)
	r.checkStopped(n, exo.RunnerInfo{ID: "llama-a", Status: exo.StatusReady, Generation: 2}, between)
	if len(r.rep.Violations) != 1 || !strings.Contains(r.rep.Violations[0].Detail, "step 3") {
		t.Fatalf("violations %+v, want one naming the first stop (step 3)", r.rep.Violations)
	}
}
