package health

import (
	"sort"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
)

// Alert conditions the monitor raises, per runner (Condition of an alert).
const (
	// ConditionDegraded: the score is below Healthy (LOW).
	ConditionDegraded = "degraded"
	// ConditionUnhealthy: the score is below Degraded (HIGH).
	ConditionUnhealthy = "unhealthy"
	// ConditionRecovering: an automatic recovery is in progress (MEDIUM).
	ConditionRecovering = "recovering"
	// ConditionPersistent: persistently failed and stopped (CRITICAL; it
	// never resolves).
	ConditionPersistent = "persistent_failure"
	// ConditionEscalated: the error policy escalated a failure and the
	// runner is retired (CRITICAL). Its firing is the supervisor's Alert
	// event; it holds until the runner is forgotten by the node's retention
	// (then it resolves), or is live and healthy again.
	ConditionEscalated = "escalated"
	// ConditionOverLimit: a live runner's memory or CPU is past its limit
	// (OverLimit; MEDIUM). The score falls by at most half the process weight for it (0.2
	// with the default weights), so the
	// runner may stay healthy: this alert is what says it. Resolved when
	// it is back under, or not live.
	ConditionOverLimit = "over_limit"
	// ConditionErrorPrefix + a failure kind: the error policy decided about
	// a failure of this severity (LOW, MEDIUM or HIGH; CRITICAL escalations
	// alert on their own). Resolved when the runner is healthy again.
	ConditionErrorPrefix = "error:"
)

// AlertKey identifies a condition of a runner ("" for the node).
type AlertKey struct {
	RunnerID  string `json:"runner_id"`
	Condition string `json:"condition"`
}

// ActiveAlert is a condition that holds now.
type ActiveAlert struct {
	AlertKey
	Severity errhandler.Severity `json:"severity"`
	Reason   string              `json:"reason"`
	Score    float64             `json:"score"`
	Since    time.Time           `json:"since"`
	// Repeats counts the checks that found the condition again while it
	// held (deduplicated: no new alert).
	Repeats int `json:"repeats"`
}

// Alerts deduplicates alerts: a condition fires once when it begins and
// resolves once when it clears. Not safe for concurrent use (the monitor
// actor owns it).
type Alerts struct {
	active map[AlertKey]*ActiveAlert
	// Fired, Deduplicated and Resolved count what Raise and Resolve did.
	Fired, Deduplicated, Resolved int
}

// NewAlerts returns an empty book.
func NewAlerts() *Alerts { return &Alerts{active: map[AlertKey]*ActiveAlert{}} }

// Raise notes that a condition holds; it returns true when the condition
// is new (the caller emits the alert), false for a repeat.
func (a *Alerts) Raise(k AlertKey, sev errhandler.Severity, reason string, score float64, at time.Time) bool {
	if cur := a.active[k]; cur != nil {
		cur.Repeats++
		a.Deduplicated++
		return false
	}
	a.active[k] = &ActiveAlert{AlertKey: k, Severity: sev, Reason: reason, Score: score, Since: at}
	a.Fired++
	return true
}

// Resolve notes that a condition cleared; it returns the alert that held,
// and true, when there was one (the caller emits the resolution).
func (a *Alerts) Resolve(k AlertKey) (ActiveAlert, bool) {
	cur := a.active[k]
	if cur == nil {
		return ActiveAlert{}, false
	}
	delete(a.active, k)
	a.Resolved++
	return *cur, true
}

// SetReason replaces the reason of an active alert (what it says changed
// while it holds, e.g. a stop that was under way is over); it reports
// whether the alert was active.
func (a *Alerts) SetReason(k AlertKey, reason string) bool {
	cur := a.active[k]
	if cur == nil {
		return false
	}
	cur.Reason = reason
	return true
}

// Holding returns the active conditions of a runner.
func (a *Alerts) Holding(runnerID string) []AlertKey {
	var out []AlertKey
	for k := range a.active {
		if k.RunnerID == runnerID {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Condition < out[j].Condition })
	return out
}

// Active returns every active alert, by runner then condition.
func (a *Alerts) Active() []ActiveAlert {
	out := make([]ActiveAlert, 0, len(a.active))
	for _, v := range a.active {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].RunnerID != out[j].RunnerID {
			return out[i].RunnerID < out[j].RunnerID
		}
		return out[i].Condition < out[j].Condition
	})
	return out
}
