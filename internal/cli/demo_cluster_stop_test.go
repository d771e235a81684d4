package cli

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestClusterPageStopRefusal: the cluster demo's page refuses a stop as a
// single node's page does: 409 for another generation, and 409 "stopped
// for good" for a runner with no process that will not restart (escalated
// or stopped); a live runner, or one waiting to restart, may be stopped.
// Before, a stop of an escalated runner answered 200 "stopped: was not
// running" (a new user's trial).
func TestClusterPageStopRefusal(t *testing.T) {
	escalated := exo.RunnerInfo{ID: "llama-b1a6cd55d928", Generation: 4, Status: exo.StatusFailed,
		LastRecord: &exo.ErrorRecord{Kind: "exit_nonzero", Decision: exo.Decision{Action: exo.ActionEscalate}}}
	for _, tc := range []struct {
		name string
		in   exo.RunnerInfo
		gen  uint64
		want string // "" for no refusal
	}{
		{"escalated", escalated, 4, "runner llama-b1a6cd55d928@node-2 is stopped for good: it escalated at generation 4 (exit_nonzero): it has no process and will not restart"},
		{"stopped", exo.RunnerInfo{Generation: 1, Status: exo.StatusShutdown}, 1, "is stopped for good: it has no process"},
		{"another generation", exo.RunnerInfo{Generation: 5, Status: exo.StatusReady}, 4, "is at generation 5 now, not 4"},
		{"ready", exo.RunnerInfo{Generation: 2, Status: exo.StatusReady}, 2, ""},
		{"waiting to restart", exo.RunnerInfo{Generation: 2, Status: exo.StatusFailed, Restarting: true}, 2, ""},
	} {
		err := stopRefusal("llama-b1a6cd55d928@node-2", tc.in, tc.gen)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v; want no refusal", tc.name, err)
			}
			continue
		}
		var pe *pageError
		if !errors.As(err, &pe) || pe.code != http.StatusConflict || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want 409 with %q", tc.name, err, tc.want)
		}
	}
}
