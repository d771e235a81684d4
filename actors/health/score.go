package health

import (
	"fmt"
	"math"
	"strings"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Level is where a score stands against the thresholds.
type Level int

// The levels, best first.
const (
	Healthy Level = iota + 1
	Degraded
	Unhealthy
)

// String returns "healthy", "degraded" or "unhealthy".
func (l Level) String() string {
	switch l {
	case Healthy:
		return "healthy"
	case Degraded:
		return "degraded"
	case Unhealthy:
		return "unhealthy"
	}
	return "unknown"
}

// MarshalText writes the level's name (JSON, logs).
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// LevelOf returns the level of score s under c's thresholds.
func (c Config) LevelOf(s float64) Level {
	switch {
	case s >= c.Healthy:
		return Healthy
	case s >= c.Degraded:
		return Degraded
	}
	return Unhealthy
}

// Inputs are what one check knows about one runner.
type Inputs struct {
	// Process: whether it exists and is not a zombie, how long since its last
	// heartbeat, its resident memory now and at the previous checks (oldest
	// first, the current one last), its CPU use since the last check (share
	// of one core).
	Alive        bool
	Zombie       bool
	HeartbeatAge time.Duration
	RSS          uint64
	RSSHistory   []uint64
	CPU          float64
	// Status is the runner's status; Restarting says it waits in backoff.
	Status     *exov1.RunnerStatus
	Restarting bool
	// Resources: how many the runner holds, how many are in error, and the
	// errors they counted.
	Resources        int
	ResourcesInError int
	ResourceErrors   int
	// Errors: failures within the error window; restarts within it that
	// reached Ready again, and those that failed before.
	Failures            int
	RecoveriesSucceeded int
	RecoveriesFailed    int
}

// Components are the four parts of a score, each from 0 to 1.
type Components struct {
	Process   float64 `json:"process"`
	Status    float64 `json:"status"`
	Resources float64 `json:"resources"`
	Errors    float64 `json:"errors"`
}

// Score is a runner's (or the node's) health at one check.
type Score struct {
	Value      float64    `json:"score"`
	Level      Level      `json:"level"`
	Components Components `json:"components"`
	// Reason names the weakest part in words (empty when healthy).
	Reason string `json:"reason,omitempty"`
}

// StatusValue is the documented value of each runner status for the status
// component: Ready and Running 1; Loaded and WarmingUp 0.9; Loading from 0.5
// (no layer) to 0.9 (all layers) by progress; Connected 0.5, Connecting 0.4,
// Idle 0.3; ShuttingDown 0.5; waiting to restart 0.2; Shutdown, Failed and
// unknown 0.
func StatusValue(st *exov1.RunnerStatus, restarting bool) float64 {
	if restarting {
		return 0.2
	}
	switch st.GetKind() {
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING:
		return 1
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_WARMING_UP:
		return 0.9
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING:
		if t := st.GetTotalLayers(); t > 0 {
			return 0.5 + 0.4*clamp01(float64(st.GetLayersLoaded())/float64(t))
		}
		return 0.5
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN:
		return 0.5
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING:
		return 0.4
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE:
		return 0.3
	}
	return 0
}

// Compute returns a runner's score (see the package documentation for the
// formula). c must have its defaults.
func Compute(c Config, in Inputs) Score {
	var comp Components
	var reason string
	comp.Process, reason = c.process(in)
	comp.Status = StatusValue(in.Status, in.Restarting)
	comp.Resources = 1
	if in.Resources > 0 {
		share := float64(in.Resources-in.ResourcesInError) / float64(in.Resources)
		comp.Resources = clamp01(share - min(0.5, 0.05*float64(in.ResourceErrors)))
	}
	rate := clamp01(1 - float64(in.Failures)/float64(c.ErrorBudget))
	recovery := 1.0
	if n := in.RecoveriesSucceeded + in.RecoveriesFailed; n > 0 {
		recovery = float64(in.RecoveriesSucceeded) / float64(n)
	}
	comp.Errors = 0.5*rate + 0.5*recovery
	w := c.Weights
	v := w.Process*comp.Process + w.Status*comp.Status + w.Resources*comp.Resources + w.Errors*comp.Errors
	if comp.Process == 0 {
		v = 0 // a dead or silent process: unhealthy whatever else says
	}
	s := Score{Value: round3(clamp01(v)), Components: comp.rounded()}
	s.Level = c.LevelOf(s.Value)
	if s.Level != Healthy {
		if reason == "" {
			reason = comp.weakest(in)
		}
		s.Reason = reason
	}
	return s
}

// process returns the process component and, when it is the cause, why.
func (c Config) process(in Inputs) (float64, string) {
	switch {
	case !in.Alive:
		return 0, "process not running"
	case in.Zombie:
		return 0, "process is a zombie"
	case in.HeartbeatAge >= c.HeartbeatLimit:
		return 0, fmt.Sprintf("no heartbeat for %s (limit %s)", in.HeartbeatAge.Round(time.Millisecond), c.HeartbeatLimit)
	}
	hb := 1.0
	if in.HeartbeatAge > c.HeartbeatGrace {
		hb = 1 - float64(in.HeartbeatAge-c.HeartbeatGrace)/float64(c.HeartbeatLimit-c.HeartbeatGrace)
	}
	mem := 1.0
	if c.RSSLimit > 0 {
		lim := float64(c.RSSLimit)
		mem = clamp01((lim - float64(in.RSS)) / (0.2 * lim))
	}
	if rising(in.RSSHistory, c.TrendSamples) {
		mem = max(0, mem-0.25)
	}
	cpu := 1.0
	if c.CPULimit > 0 && in.CPU > c.CPULimit {
		cpu = clamp01(1 - (in.CPU-c.CPULimit)/c.CPULimit)
	}
	p := 0.5*clamp01(hb) + 0.25*mem + 0.25*cpu
	why := ""
	if hb < 1 {
		why = fmt.Sprintf("heartbeat %s old (limit %s)", in.HeartbeatAge.Round(time.Millisecond), c.HeartbeatLimit)
	}
	return p, why
}

// OverLimit says whether a runner's process is past one of its limits:
// its RSS at or over RSSLimit (the memory part scores 0) or its CPU at or
// over twice CPULimit (the cpu part scores 0), and which, e.g. "RSS 23.5
// MiB at or over its limit of 8 MiB". A limit of 0 is off. Together the
// two parts take at most half the process weight off a score (0.4 × 0.5
// with the default weights), so a runner past
// both may still be healthy: the monitor raises ConditionOverLimit for
// it. memory says the RSS is among what is over.
func (c Config) OverLimit(in Inputs) (why string, memory, over bool) {
	if !in.Alive || in.Zombie {
		return "", false, false
	}
	var parts []string
	if c.RSSLimit > 0 && in.RSS >= c.RSSLimit {
		memory = true
		parts = append(parts, fmt.Sprintf("RSS %s at or over its limit of %s", mib(in.RSS), mib(c.RSSLimit)))
	}
	if c.CPULimit > 0 && in.CPU >= 2*c.CPULimit {
		parts = append(parts, fmt.Sprintf("CPU %.2f cores at or over twice its limit of %.2f", in.CPU, c.CPULimit))
	}
	return strings.Join(parts, "; "), memory, len(parts) > 0
}

// ClearMargin is how far under its firing threshold a runner's memory and
// CPU must fall before the over_limit alert resolves (BackUnder): RSS
// under 0.9 × RSSLimit, CPU under 0.9 × twice CPULimit. Without it, a
// runner that hovers at its limit (a cache that fills to it and is
// trimmed) raised and resolved the alert at every check, each a webhook
// call and two log lines.
const ClearMargin = 0.9

// BackUnder says whether a runner's memory and CPU are both clearly under
// the thresholds of OverLimit (by ClearMargin), or its process is not
// live: the monitor resolves a held over_limit alert only then.
func (c Config) BackUnder(in Inputs) bool {
	if !in.Alive || in.Zombie {
		return true
	}
	if c.RSSLimit > 0 && float64(in.RSS) >= ClearMargin*float64(c.RSSLimit) {
		return false
	}
	return c.CPULimit <= 0 || in.CPU < ClearMargin*2*c.CPULimit
}

// mib is a byte count in MiB, one decimal.
func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// rising reports whether the last n+1 values rose at each step and by 10%
// or more in all.
func rising(h []uint64, n int) bool {
	if len(h) < n+1 {
		return false
	}
	h = h[len(h)-n-1:]
	for i := 1; i < len(h); i++ {
		if h[i] <= h[i-1] {
			return false
		}
	}
	return float64(h[len(h)-1]) >= 1.1*float64(h[0])
}

func (c Components) weakest(in Inputs) string {
	type part struct {
		name string
		v    float64
	}
	parts := []part{{"process", c.Process}, {"status", c.Status}, {"resources", c.Resources}, {"errors", c.Errors}}
	w := parts[0]
	for _, p := range parts[1:] {
		if p.v < w.v {
			w = p
		}
	}
	switch w.name {
	case "status":
		return fmt.Sprintf("status %s (%.2f)", in.Status.GetKind(), w.v)
	case "resources":
		return fmt.Sprintf("%d of %d resources in error (%.2f)", in.ResourcesInError, in.Resources, w.v)
	case "errors":
		return fmt.Sprintf("%d failures in the error window, %d failed restarts (%.2f)", in.Failures, in.RecoveriesFailed, w.v)
	}
	return fmt.Sprintf("process (%.2f)", w.v)
}

func (c Components) rounded() Components {
	return Components{round3(c.Process), round3(c.Status), round3(c.Resources), round3(c.Errors)}
}

// NodeScore is the node's health: the mean of the counted runners' scores.
type NodeScore struct {
	Value float64 `json:"score"`
	Level Level   `json:"level"`
	// Counted is how many runners the mean is over; Worst the lowest of
	// them (empty when none).
	Counted     int     `json:"counted"`
	Worst       string  `json:"worst,omitempty"`
	WorstScore  float64 `json:"worst_score"`
	Unhealthy   int     `json:"unhealthy"`
	Persistent  int     `json:"persistently_failed"`
	RunnersSeen int     `json:"runners"`
}

// Node aggregates runner scores into the node's: the mean over the runners
// meant to be running (counted[id] true), 1 when there are none.
func (c Config) Node(scores map[string]Score, counted map[string]bool) NodeScore {
	n := NodeScore{Value: 1, WorstScore: 1, RunnersSeen: len(scores)}
	sum := 0.0
	for id, s := range scores {
		if !counted[id] {
			continue
		}
		n.Counted++
		sum += s.Value
		if s.Level == Unhealthy {
			n.Unhealthy++
		}
		if s.Value < n.WorstScore || (s.Value == n.WorstScore && (n.Worst == "" || id < n.Worst)) {
			n.Worst, n.WorstScore = id, s.Value
		}
	}
	if n.Counted > 0 {
		n.Value = round3(sum / float64(n.Counted))
	}
	n.Level = c.LevelOf(n.Value)
	return n
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return min(1, max(0, v))
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
