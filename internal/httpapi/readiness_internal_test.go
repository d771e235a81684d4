package httpapi

import (
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestReadinessAfterARecoveryRestart: the monitor's last check found the
// node's only runner unhealthy, and a recovery has restarted it since (a
// new generation, Ready, not scored yet). /readyz counts it ready, and so
// must not also say that every runner is unhealthy: it answered
// {"ready":false,"ready_runners":1,…,"reason":"every runner meant to serve
// is unhealthy (1 of 1)"} until the next check (a new user's trial).
func TestReadinessAfterARecoveryRestart(t *testing.T) {
	ready := &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY}
	hrep := actors.HealthReport{
		Node:    health.NodeScore{Counted: 1, Unhealthy: 1},
		Runners: []actors.RunnerHealth{{RunnerID: "echo-000001", Generation: 1, Score: health.Score{Level: health.Unhealthy}}},
	}
	r := assess([]actors.RunnerInfo{{ID: "echo-000001", Generation: 2, Status: ready}}, hrep, nil, 0, false)
	if !r.Ready || r.ReadyRunners != 1 || r.Reason != "" {
		t.Errorf("after the restart: %+v, want ready with 1 ready runner", r)
	}
	// Restarted, but its new process still loads: the verdict stands.
	loading := &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING}
	r = assess([]actors.RunnerInfo{{ID: "echo-000001", Generation: 2, Status: loading}}, hrep, nil, 0, false)
	if r.Ready || !strings.Contains(r.Reason, "every runner meant to serve is unhealthy (1 of 1)") {
		t.Errorf("restarted, still loading: %+v", r)
	}
	// The same runner, not restarted: not ready, and why.
	r = assess([]actors.RunnerInfo{{ID: "echo-000001", Generation: 1, Status: ready}}, hrep, nil, 0, false)
	if r.Ready || r.ReadyRunners != 0 || !strings.Contains(r.Reason, "every runner meant to serve is unhealthy (1 of 1)") {
		t.Errorf("unhealthy and not restarted: %+v", r)
	}
}
