package actors

import (
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
)

// AlertState says whether an alert begins or ends.
type AlertState string

// Alert states.
const (
	AlertFiring   AlertState = "firing"   // the condition began
	AlertResolved AlertState = "resolved" // the condition cleared
)

// HealthAlert is an alert of the health monitor, on the alerts topic: one
// when a condition begins (firing), none while it holds (deduplicated), one
// when it clears (resolved). Conditions are named in package health
// (ConditionDegraded, ConditionUnhealthy, ConditionRecovering,
// ConditionPersistent, ConditionErrorPrefix+kind).
type HealthAlert struct {
	Severity  errhandler.Severity `json:"severity"`
	RunnerID  string              `json:"runner_id"`
	Condition string              `json:"condition"`
	Reason    string              `json:"reason"`
	Score     float64             `json:"score"`
	State     AlertState          `json:"state"`
	At        time.Time           `json:"at"`
	// Since is when the condition began (= At when firing).
	Since time.Time `json:"since"`
}

// HealthChanged: a runner's health level changed (on the runner-status
// topic), with the score and its components at that check.
type HealthChanged struct {
	RunnerID   string
	Generation uint64
	From, To   health.Level // From is 0 at a runner's first check
	Score      health.Score
	At         time.Time
}

func (e *HealthAlert) eventRunnerID() string   { return e.RunnerID }
func (e *HealthChanged) eventRunnerID() string { return e.RunnerID }
