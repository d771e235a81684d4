package actors

import (
	"errors"
	"strings"
	"testing"
)

// TestNoRestartAdviceOnlyWhenPlanned: a runner that failed for good (the
// error policy escalated or skipped it: a missing executable, say) never
// tells the caller to wait for its restart; it says no restart is planned
// and to fix the spec. While the decision is pending it says so.
func TestNoRestartAdviceOnlyWhenPlanned(t *testing.T) {
	const msg = `executable "/no/such/runner" not found or not executable (no such file or directory); check the runner's command and PATH (RunnerSpec.Command; on a node, kinds.<kind>.command in its config)`
	for _, tc := range []struct {
		name string
		life life
		want []string
	}{
		{"retired", lifeDone, []string{"runner ghost-9b79ae failed (" + msg + ") and no restart is planned", "fix what failed (e.g. the runner's command or spec), then spawn a new runner"}},
		{"decision pending", lifeReaping, []string{"has not yet decided whether to restart it", "submit to another runner"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &runnerActor{slot: newSlot("ghost-9b79ae", RunnerSpec{}), life: tc.life, failure: &RunnerFailure{}}
			a.failure.Message = msg
			err := a.acceptingTasks()
			if !errors.Is(err, ErrRunnerNotAvailable) {
				t.Fatalf("error %v: want ErrRunnerNotAvailable", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "wait for its restart") {
				t.Errorf("error %q advises waiting for a restart", err)
			}
		})
	}
	// The supervisor's answer once the actor is gone names the last error
	// and what to do about it.
	err := notRunning("ghost-9d8869", msg)
	if !errors.Is(err, ErrRunnerNotAvailable) || !strings.Contains(err.Error(), "not running and no restart is planned") ||
		!strings.Contains(err.Error(), "last error: "+msg+"); fix what the last error names") {
		t.Errorf("notRunning: %v", err)
	}
	if err := notRunning("echo-1", ""); !strings.Contains(err.Error(), "no restart is planned (it was stopped, or failed for good); spawn a new runner") {
		t.Errorf("notRunning without a last error: %v", err)
	}
}
