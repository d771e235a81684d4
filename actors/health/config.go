package health

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/exo-actors/exo-actors/internal/errjoin"
)

// Weights weigh the four components of a runner's score. They must each be
// between 0 and 1 and sum to 1. The zero Weights means the defaults.
type Weights struct {
	Process   float64 `json:"process"`   // default 0.4
	Status    float64 `json:"status"`    // default 0.2
	Resources float64 `json:"resources"` // default 0.2
	Errors    float64 `json:"errors"`    // default 0.2
}

// DefaultWeights are the weights of the score: 40% process, 20% each other.
var DefaultWeights = Weights{Process: 0.4, Status: 0.2, Resources: 0.2, Errors: 0.2}

func (w Weights) sum() float64 { return w.Process + w.Status + w.Resources + w.Errors }

// Config configures the health monitor. Zero fields take the defaults named
// on each; Validate says what is wrong with the rest.
type Config struct {
	// Disabled turns the health monitor off (no checks, no recovery).
	Disabled bool
	// Interval between two checks of every runner; default 1s.
	Interval time.Duration
	// Healthy and Degraded are the thresholds of the levels: a score at or
	// above Healthy is healthy (default 0.8), at or above Degraded degraded
	// (default 0.5), else unhealthy. 0 < Degraded < Healthy ≤ 1.
	Healthy  float64
	Degraded float64
	// Weights of the components; the zero value means DefaultWeights.
	Weights Weights
	// HeartbeatGrace is the heartbeat age still fully fresh; default 1s
	// (ForRunners: at least the runners' heartbeat interval).
	HeartbeatGrace time.Duration
	// HeartbeatLimit is the heartbeat age at which the process counts as
	// silent (process component 0, score 0). Default: half the node's
	// heartbeat timeout (2.5s with the defaults), so the monitor sees a
	// hang before the runner's own watchdog fails it; ForRunners makes it
	// at least two heartbeat intervals.
	HeartbeatLimit time.Duration
	// RSSLimit is the resident memory (bytes) at which the memory part of
	// the process component reaches 0; 0 turns the memory part off. A live
	// runner at or over it raises the MEDIUM "over_limit" alert, which
	// resolves under 90% of it (ClearMargin); the alert
	// restarts nothing, and memory and CPU together take at most half of
	// Weights.Process (0.2 by default) off a score, so such a runner can
	// stay healthy.
	RSSLimit uint64
	// CPULimit is the CPU use (share of one core) above which the cpu part
	// of the process component falls (0 at twice it, where "over_limit"
	// fires); 0 turns it off.
	CPULimit float64
	// ProcInterval is how often, at most, a runner's /proc/<pid>/stat is
	// read (state, CPU, RSS); checks in between reuse the last reading (the
	// runner actor reports an exit at once). Default 1s.
	ProcInterval time.Duration
	// TrendSamples is how many readings of rising RSS make a trend; default 5.
	TrendSamples int
	// ErrorWindow is the sliding window of the errors component; default 5m.
	ErrorWindow time.Duration
	// ErrorBudget is the number of failures within ErrorWindow that brings
	// the error-rate part to 0; default 5.
	ErrorBudget int
	// UnhealthyChecks (K) is how many consecutive unhealthy checks start a
	// recovery; default 3.
	UnhealthyChecks int
	// MaxRecoveries (M) is how many recoveries a runner may have within
	// RecoveryWindow; needing one more makes it persistently failed.
	// Default 3.
	MaxRecoveries int
	// RecoveryWindow is the window of MaxRecoveries; default 10m.
	RecoveryWindow time.Duration
	// NodeShutdownShare is the share of the node's runners that, once
	// persistently failed, makes the node shut down gracefully; 0 (the
	// default) never does. At most 1.
	NodeShutdownShare float64
	// History bounds the recovery records and alerts kept per runner;
	// default 16 (older ones are dropped, and counted).
	History int
}

// WithDefaults returns c with every zero field set to its default;
// heartbeatTimeout is the node's runner heartbeat timeout (for
// HeartbeatLimit).
func (c Config) WithDefaults(heartbeatTimeout time.Duration) Config {
	if c.Interval == 0 {
		c.Interval = time.Second
	}
	if c.Healthy == 0 {
		c.Healthy = 0.8
	}
	if c.Degraded == 0 {
		c.Degraded = 0.5
	}
	if c.Weights == (Weights{}) {
		c.Weights = DefaultWeights
	}
	if c.HeartbeatGrace == 0 {
		c.HeartbeatGrace = time.Second
	}
	if c.HeartbeatLimit == 0 {
		c.HeartbeatLimit = heartbeatTimeout / 2
		if c.HeartbeatLimit <= c.HeartbeatGrace {
			c.HeartbeatLimit = 2 * c.HeartbeatGrace
		}
	}
	if c.ProcInterval == 0 {
		c.ProcInterval = time.Second
	}
	if c.TrendSamples == 0 {
		c.TrendSamples = 5
	}
	if c.ErrorWindow == 0 {
		c.ErrorWindow = 5 * time.Minute
	}
	if c.ErrorBudget == 0 {
		c.ErrorBudget = 5
	}
	if c.UnhealthyChecks == 0 {
		c.UnhealthyChecks = 3
	}
	if c.MaxRecoveries == 0 {
		c.MaxRecoveries = 3
	}
	if c.RecoveryWindow == 0 {
		c.RecoveryWindow = 10 * time.Minute
	}
	if c.History == 0 {
		c.History = 16
	}
	return c
}

// ErrConflictingTimeouts is wrapped by CheckHeartbeat's error: a HeartbeatGrace
// or HeartbeatLimit the runners' heartbeat interval would fight. It is
// actors.ErrConflictingTimeouts (and runtime's).
var ErrConflictingTimeouts = errors.New("conflicting timeouts")

// ErrInvalidConfig is wrapped by Validate's error: a setting no default
// explains (a weight outside [0, 1], thresholds out of order, …).
// actors.ErrInvalidConfig and runtime.ErrInvalidConfig are this one.
var ErrInvalidConfig = errors.New("invalid config")

// CheckHeartbeat returns an error wrapping ErrConflictingTimeouts when a
// HeartbeatGrace or HeartbeatLimit that c sets would fight runners that
// heartbeat every heartbeatInterval (RunnerTimeouts).
//
// A runner that heartbeats on time shows a heartbeat age up to one
// interval before each beat. So a HeartbeatGrace below the interval lowers
// the score of every such runner between two beats (a Loading runner then
// flaps between healthy and degraded, each time with an alert), and a
// HeartbeatLimit below two intervals scores it 0 (unhealthy) after one late
// beat (or at every check just before a beat when the limit is at or below
// the interval) and recovers (restarts) it after UnhealthyChecks such
// checks. Zero values are fine: ForRunners fits them to the interval.
//
// name turns the Go names of the three settings ("Health.HeartbeatGrace",
// "Health.HeartbeatLimit", "Timeouts.HeartbeatInterval", as NodeConfig
// and runtime.Config have them) into the names the reader knows, as
// RunnerTimeouts.CheckConflicts's does: a node config passes its keys
// ("health.heartbeat_grace"), and the error then says to leave a key out
// for its default. nil keeps the Go names, and the error says to leave
// the field 0.
func (c Config) CheckHeartbeat(heartbeatInterval time.Duration, name func(field string) string) error {
	unset := "out"
	if name == nil {
		name, unset = func(f string) string { return f }, "0"
	}
	grace, limit, ivName := name("Health.HeartbeatGrace"), name("Health.HeartbeatLimit"), name("Timeouts.HeartbeatInterval")
	iv := heartbeatInterval
	switch {
	case c.HeartbeatGrace > 0 && c.HeartbeatGrace < iv:
		return fmt.Errorf("%w: %s (%s) must be at least %s (%s): a runner that heartbeats on time would lose score between two heartbeats; raise %s to %s or more (or leave it %s for its default), or lower %s",
			ErrConflictingTimeouts, grace, c.HeartbeatGrace, ivName, iv, grace, iv, unset, ivName)
	case c.HeartbeatLimit > 0 && c.HeartbeatLimit < 2*iv:
		return fmt.Errorf("%w: %s (%s) must be at least 2 × %s (%s): a runner that heartbeats on time would score 0 (unhealthy) after a single late heartbeat and be restarted; raise %s to %s or more (or leave it %s for its default), or lower %s to %s or less",
			ErrConflictingTimeouts, limit, c.HeartbeatLimit, ivName, iv, limit, 2*iv, unset, ivName, c.HeartbeatLimit/2)
	}
	// A limit at or below the grace in force (its default included: a
	// limit set alone met the grace's default and came out of Validate
	// as "… both positive", wrapping nothing).
	g, gNote := c.HeartbeatGrace, ""
	if g == 0 {
		g = max(time.Second, iv) // as ForRunners fits it
		gNote = ", its default: max(1s, " + ivName + ")"
	}
	if c.HeartbeatLimit > 0 && c.HeartbeatLimit <= g {
		return fmt.Errorf("%w: %s (%s) must be above %s (%s%s): the age at which a heartbeat counts as silent comes after the age still fresh; raise %s above %s (e.g. %s), or set %s lower",
			ErrConflictingTimeouts, limit, c.HeartbeatLimit, grace, g, gNote, limit, g, 2*g, grace)
	}
	return nil
}

// ForRunners returns c with its defaults for runners that heartbeat every
// heartbeatInterval and are failed as hung after heartbeatTimeout
// (RunnerTimeouts): as WithDefaults, but a zero HeartbeatGrace is at least
// one interval (max(1s, interval)) and a zero HeartbeatLimit at least two
// (max(heartbeatTimeout/2, 2 × interval), and above 2 × HeartbeatGrace),
// so a runner that heartbeats on time keeps its full score (see
// CheckHeartbeat).
func (c Config) ForRunners(heartbeatInterval, heartbeatTimeout time.Duration) Config {
	iv := heartbeatInterval
	if c.HeartbeatGrace == 0 {
		c.HeartbeatGrace = max(time.Second, iv)
	}
	if c.HeartbeatLimit == 0 {
		c.HeartbeatLimit = max(heartbeatTimeout/2, 2*iv)
		if c.HeartbeatLimit <= c.HeartbeatGrace {
			c.HeartbeatLimit = 2 * c.HeartbeatGrace
		}
	}
	return c.WithDefaults(heartbeatTimeout)
}

// Validate returns every problem of a configuration (after WithDefaults),
// each naming the field, the value and what is wanted; nil if it is good.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Interval <= 0 {
		bad("health Interval %s: want a positive duration (default 1s)", c.Interval)
	}
	w := c.Weights
	for _, f := range []struct {
		name string
		v    float64
	}{{"Process", w.Process}, {"Status", w.Status}, {"Resources", w.Resources}, {"Errors", w.Errors}} {
		if f.v < 0 || f.v > 1 || math.IsNaN(f.v) {
			bad("health weight %s %g: want a value from 0 to 1", f.name, f.v)
		}
	}
	if s := w.sum(); math.Abs(s-1) > 1e-9 {
		bad("health weights sum to %.4g (process %g + status %g + resources %g + errors %g): want 1, e.g. 0.4, 0.2, 0.2, 0.2",
			s, w.Process, w.Status, w.Resources, w.Errors)
	}
	switch {
	case !(c.Healthy > 0 && c.Healthy <= 1):
		bad("health threshold Healthy %g: want a value in (0, 1] (default 0.8)", c.Healthy)
	case !(c.Degraded > 0 && c.Degraded <= 1):
		bad("health threshold Degraded %g: want a value in (0, 1] (default 0.5)", c.Degraded)
	case c.Degraded >= c.Healthy:
		bad("health thresholds out of order: Degraded %g must be below Healthy %g (defaults 0.5 < 0.8)", c.Degraded, c.Healthy)
	}
	if c.HeartbeatGrace <= 0 || c.HeartbeatLimit <= c.HeartbeatGrace {
		bad("health HeartbeatLimit %s must be above HeartbeatGrace %s, both positive", c.HeartbeatLimit, c.HeartbeatGrace)
	}
	if c.ProcInterval < 0 {
		bad("health ProcInterval %s: want a positive duration (default 1s)", c.ProcInterval)
	}
	if c.CPULimit < 0 {
		bad("health CPULimit %g: want 0 (off) or a positive share of one core", c.CPULimit)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"TrendSamples", c.TrendSamples}, {"ErrorBudget", c.ErrorBudget}, {"UnhealthyChecks", c.UnhealthyChecks},
		{"MaxRecoveries", c.MaxRecoveries}, {"History", c.History}} {
		if f.v < 1 {
			bad("health %s %d: want at least 1", f.name, f.v)
		}
	}
	if c.ErrorWindow <= 0 || c.RecoveryWindow <= 0 {
		bad("health ErrorWindow %s and RecoveryWindow %s: want positive durations", c.ErrorWindow, c.RecoveryWindow)
	}
	if c.NodeShutdownShare < 0 || c.NodeShutdownShare > 1 {
		bad("health NodeShutdownShare %g: want 0 (off) or a share in (0, 1]", c.NodeShutdownShare)
	}
	if len(errs) == 0 {
		return nil
	}
	return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("invalid health config: %w", errjoin.OneLine(errs...)))
}
