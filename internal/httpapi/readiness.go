package httpapi

import (
	"fmt"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Readiness is /readyz's answer (docs/operations.md, "HTTP endpoints"):
// ready when the node is not shutting down, at least Want runners are
// ready, and not every runner meant to serve is unhealthy.
type Readiness struct {
	Ready bool `json:"ready"`
	// ReadyRunners counts the runners Ready or Running that the health
	// monitor's last check of their current process did not find
	// unhealthy (a runner not scored yet counts by its status alone).
	ReadyRunners int `json:"ready_runners"`
	Want         int `json:"want"`
	// Runners counts the runners not removed (Removed runners that
	// retention still lists are not counted).
	Runners int `json:"runners"`
	// Reason says why the node is not ready (empty when it is).
	Reason string `json:"reason,omitempty"`
}

// scoredNow returns runner in's health at the monitor's last check if that
// check scored its current process (same generation, a level).
func scoredNow(in actors.RunnerInfo, byRunner map[string]actors.RunnerHealth) (actors.RunnerHealth, bool) {
	h, ok := byRunner[in.ID]
	if !ok || h.Generation != in.Generation || h.Level == 0 {
		return actors.RunnerHealth{}, false
	}
	return h, true
}

// runnerReady says whether runner in can serve: Ready or Running, not
// removed, and not unhealthy at the last check of its current process.
func runnerReady(in actors.RunnerInfo, byRunner map[string]actors.RunnerHealth) bool {
	if in.Removed() || in.Restarting {
		return false
	}
	if k := in.Status.GetKind(); k != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY && k != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING {
		return false
	}
	h, ok := scoredNow(in, byRunner)
	return !ok || h.Level != health.Unhealthy
}

// readyCount counts the runners that can serve (runnerReady).
func readyCount(infos []actors.RunnerInfo, byRunner map[string]actors.RunnerHealth) int {
	n := 0
	for _, in := range infos {
		if runnerReady(in, byRunner) {
			n++
		}
	}
	return n
}

// liveCount counts the runners not removed.
func liveCount(infos []actors.RunnerInfo) int {
	n := 0
	for _, in := range infos {
		if !in.Removed() {
			n++
		}
	}
	return n
}

// restartedSince reports whether a runner the monitor's last check found
// unhealthy has a new process since (a recovery restarted it) that is
// Ready: that check's "every runner is unhealthy" no longer holds, and the
// runner counts by its new process's status, as readyCount counts it (a
// new process still loading leaves the check's verdict standing). Before, /readyz said
// both "ready_runners 1" and "every runner meant to serve is unhealthy
// (1 of 1)" until the next check (a new user's trial).
func restartedSince(infos []actors.RunnerInfo, byRunner map[string]actors.RunnerHealth) bool {
	for _, in := range infos {
		if h, ok := byRunner[in.ID]; ok && h.Level == health.Unhealthy && h.Generation != in.Generation && runnerReady(in, byRunner) {
			return true
		}
	}
	return false
}

// assess decides readiness from the runners, the monitor's last report
// (zero when herr is set or the monitor is disabled: then the runners'
// statuses alone decide), the runners wanted and the node's shutdown.
func assess(infos []actors.RunnerInfo, hrep actors.HealthReport, herr error, want int, shuttingDown bool) Readiness {
	byRunner := map[string]actors.RunnerHealth{}
	if herr == nil {
		for _, r := range hrep.Runners {
			byRunner[r.RunnerID] = r
		}
	}
	r := Readiness{ReadyRunners: readyCount(infos, byRunner), Want: want, Runners: liveCount(infos)}
	node := hrep.Node
	switch {
	case shuttingDown:
		r.Reason = "the node is shutting down"
	case r.ReadyRunners < want:
		r.Reason = fmt.Sprintf("%d runners ready (Ready or Running, not unhealthy), want %d", r.ReadyRunners, want)
	case herr == nil && node.Counted > 0 && node.Unhealthy == node.Counted && !restartedSince(infos, byRunner):
		r.Reason = fmt.Sprintf("every runner meant to serve is unhealthy (%d of %d)", node.Unhealthy, node.Counted)
	default:
		r.Ready = true
	}
	return r
}
