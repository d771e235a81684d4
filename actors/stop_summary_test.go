package actors_test

import (
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/proc"
)

// TestStopResultSummary: how a stop ended reads as a sentence for each
// EndedBy value (which stay as they are, for programs). Before, the texts
// built as "ended by "+Ended() read "ended by not running" and "ended by
// restart cancelled".
func TestStopResultSummary(t *testing.T) {
	for _, c := range []struct {
		res  actors.StopResult
		want string
	}{
		{actors.StopResult{EndedBy: "shutdown frame", Exit: &proc.ExitStatus{}}, "ended by the Shutdown frame"},
		{actors.StopResult{EndedBy: "shutdown frame", Exit: &proc.ExitStatus{Code: 5}}, "ended by the Shutdown frame (exitcode=5)"},
		{actors.StopResult{EndedBy: "SIGTERM"}, "ended by SIGTERM"},
		{actors.StopResult{EndedBy: "SIGKILL"}, "ended by SIGKILL"},
		{actors.StopResult{EndedBy: "not running"}, "was not running"},
		{actors.StopResult{EndedBy: "restart cancelled"}, "was waiting to restart: the restart was cancelled"},
		{actors.StopResult{EndedBy: "failure"}, "ended by its failure"},
		{actors.StopResult{EndedBy: "actor stopped"}, "ended when its actor stopped"},
	} {
		if got := c.res.Summary(); got != c.want {
			t.Errorf("EndedBy %q: Summary %q, want %q", c.res.EndedBy, got, c.want)
		}
	}
}

// TestStopNotesBeginSummary: a stop its own escalation ended (SIGTERM,
// SIGKILL, with whatever exit) has a summary, and so a CLOSING note, that
// begins with the exported prefix exo-actors node's exit-4 hint looks for.
func TestStopNotesBeginSummary(t *testing.T) {
	for _, tc := range []struct {
		endedBy, prefix string
	}{{"SIGTERM", actors.StopNoteSIGTERM}, {"SIGKILL", actors.StopNoteSIGKILL}} {
		for _, exit := range []*proc.ExitStatus{nil, {Code: 143}, {Signal: 9}} {
			r := actors.StopResult{EndedBy: tc.endedBy, Exit: exit}
			if got := r.Summary(); !strings.HasPrefix(got, tc.prefix) {
				t.Errorf("EndedBy %s, exit %v: %q does not begin with %q", tc.endedBy, exit, got, tc.prefix)
			}
		}
	}
}
