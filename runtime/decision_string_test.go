package runtime_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/runtime"
)

// TestZeroDecisionPrintsEmpty: the zero Decision, which every ClusterEvent
// but runner_lost carries, prints as "" (as the zero Action does); it
// printed "Severity(0) Action(0)" in a %v of a member_joined event (a new
// user's trial). A decision made still prints in full.
func TestZeroDecisionPrintsEmpty(t *testing.T) {
	if s := (runtime.Decision{}).String(); s != "" {
		t.Errorf("zero Decision prints %q, want \"\"", s)
	}
	for _, k := range []runtime.ClusterEventKind{runtime.ClusterMemberJoined, runtime.ClusterMemberLost, runtime.ClusterRunnerReplaced, runtime.ClusterTaskResubmitted} {
		ev := fmt.Sprintf("%v", runtime.ClusterEvent{Kind: k, Node: "gpu-a"})
		if strings.Contains(ev, "(0)") {
			t.Errorf("%s event prints %s", k, ev)
		}
	}
	d := runtime.Decision{Rule: "hang", Severity: runtime.SeverityHigh, Action: runtime.ActionForceCleanup, Then: runtime.ActionRetry}
	if s := d.String(); s != "HIGH FORCE_CLEANUP then RETRY (rule hang)" {
		t.Errorf("decision prints %q", s)
	}
	if s := fmt.Sprintf("%v", runtime.ClusterEvent{Kind: runtime.ClusterRunnerLost, Decision: runtime.Decision{Rule: "node-lost", Severity: runtime.SeverityHigh, Action: runtime.ActionRetry}}); !strings.Contains(s, "HIGH RETRY (rule node-lost)") {
		t.Errorf("runner_lost event prints %s", s)
	}
}
