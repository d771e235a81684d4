package actors

import (
	"fmt"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
)

// persistentReason is the reason of a persistent_failure alert: why the
// runner is persistently failed, and where its stop is: "being stopped
// gracefully" while it is under way (stopped ""), then what ended it
// ("stopped: ended by the Shutdown frame (…)").
func persistentReason(maxRecoveries int, window time.Duration, why, stopped string) string {
	s := fmt.Sprintf("persistently failed: needed a recovery again after %d within %s: %s", maxRecoveries, window, why)
	if stopped == "" {
		return s + "; being stopped gracefully"
	}
	return s + "; stopped: " + stopped
}

// persistentStopped updates the persistent_failure alert of the runner a
// stop ended (it is never resolved, and /status alerts[] holds it until
// retention forgets the runner): its reason says the stop is over and how
// it ended, instead of "being stopped gracefully" for ever. No alert is
// re-sent (the condition did not change).
func (m *healthMonitor) persistentStopped(r *StopResult) {
	if r == nil {
		return
	}
	k := health.AlertKey{RunnerID: r.RunnerID, Condition: health.ConditionPersistent}
	for _, a := range m.alerts.Active() {
		if a.AlertKey != k {
			continue
		}
		const under = "; being stopped gracefully"
		base := a.Reason
		if len(base) >= len(under) && base[len(base)-len(under):] == under {
			base = base[:len(base)-len(under)]
		}
		m.alerts.SetReason(k, base+"; stopped: "+r.Summary())
		return
	}
}
