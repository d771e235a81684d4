package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/httpserve"
)

// HealthConfig configures the health monitor (Config.Health): the score's
// thresholds, weights and recovery limits, the alert webhook and the HTTP
// endpoints. Zero fields take the documented defaults (docs/operations.md,
// "Health").
type HealthConfig struct {
	HealthSettings
	// OnCheck, when set, is called by the monitor after each check with the
	// check's number, on the monitor's goroutine; it must not block. The
	// checks run on Config.RunnerClock (a test steps a fake one an interval
	// at a time and waits for OnCheck; docs/host-guide.md).
	OnCheck func(check uint64)
	// Webhook is the optional alert webhook.
	Webhook WebhookConfig
	// HTTP configures /healthz, /readyz, /metrics and /status; off unless
	// Addr is set.
	HTTP HTTPConfig
}

// HealthSettings are the score's thresholds and weights, and the limits of
// automatic recovery. Zero fields take the defaults.
type HealthSettings struct {
	// Disabled turns the health monitor off (no checks, no recovery).
	Disabled bool
	// Interval between two checks of every runner; default 1s.
	Interval time.Duration
	// Healthy and Degraded are the thresholds of the levels: a score at or
	// above Healthy is healthy (default 0.8), at or above Degraded degraded
	// (default 0.5), else unhealthy. 0 < Degraded < Healthy ≤ 1.
	Healthy  float64
	Degraded float64
	// Weights of the components; the zero value means 0.4/0.2/0.2/0.2.
	Weights HealthWeights
	// HeartbeatGrace is the heartbeat age still fully fresh; default 1s,
	// or Timeouts.HeartbeatInterval when that is longer. One set below the
	// interval is refused (ErrConflictingTimeouts): a runner heartbeating
	// on time would lose score between two heartbeats.
	HeartbeatGrace time.Duration
	// HeartbeatLimit is the heartbeat age at which the process counts as
	// silent (score 0); default half the runners' HeartbeatTimeout, at
	// least 2 × Timeouts.HeartbeatInterval and 2 × HeartbeatGrace. One set
	// below 2 × the interval is refused (ErrConflictingTimeouts): a runner
	// heartbeating on time would score 0 after one late heartbeat; so is
	// one at or below HeartbeatGrace, its default included (a limit of 1s
	// alone meets the 1s default grace).
	HeartbeatLimit time.Duration
	// RSSLimit is the resident memory (bytes) at which the memory part of
	// the process component reaches 0; 0 turns the memory part off. A live
	// runner at or over it raises the MEDIUM "over_limit" alert (resolved under 90% of it); it
	// restarts nothing, and memory and CPU together take at most half of
	// Weights.Process (0.2 by default) off a score, so such a runner can
	// stay healthy.
	RSSLimit uint64
	// CPULimit is the CPU use (share of one core) above which the cpu part
	// of the process component falls (0 at twice it, where "over_limit"
	// fires); 0 turns it off.
	CPULimit float64
	// ProcInterval is how often, at most, a runner's /proc stat is read;
	// default 1s.
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
	// RecoveryWindow; needing one more makes it persistently failed (it is
	// stopped, with a CRITICAL alert); default 3.
	MaxRecoveries int
	// RecoveryWindow is the window of MaxRecoveries; default 10m.
	RecoveryWindow time.Duration
	// NodeShutdownShare: when this share of the node's runners is
	// persistently failed, the node shuts down gracefully; 0 (the default)
	// never.
	NodeShutdownShare float64
	// History bounds the recovery records and alerts kept per runner;
	// default 16.
	History int
}

// HealthWeights weigh the score's components; they must sum to 1.
type HealthWeights struct {
	Process   float64 `json:"process"`
	Status    float64 `json:"status"`
	Resources float64 `json:"resources"`
	Errors    float64 `json:"errors"`
}

// HTTPConfig configures the node's HTTP endpoints.
type HTTPConfig struct {
	// Addr is the listen address, e.g. "127.0.0.1:9464"; empty: no HTTP.
	// A host without an IP listens on loopback (":9464" → 127.0.0.1:9464).
	Addr string
	// ReadyRunners is how many runners must be ready (Ready or Running,
	// and not unhealthy at the health monitor's last check) for /readyz to
	// answer 200; default 1.
	ReadyRunners int
	// NoRunnersNeeded makes /readyz want no ready runner (ReadyRunners is
	// then ignored): 200 while the node is up, not shutting down, and not
	// every runner meant to serve is unhealthy (a node without runners is
	// ready). For a node whose runners its remote clients place, which has
	// none until a client that found it ready places one (exo-actors node).
	NoRunnersNeeded bool
	// WriteTimeout bounds each response, from the end of its request's
	// headers to its last byte (what the endpoint computes included: at
	// most 5 s): a client that stops reading is cut off then and its
	// handler and connection are freed. Default 30s.
	WriteTimeout time.Duration
	// AllowHosts names the hosts, beside loopback names and the machine's
	// own name, that the endpoints answer as a request's Host when they
	// listen on loopback (a guard against DNS rebinding refuses any other
	// with 403): the names a reverse proxy on this machine passes on as
	// Host (Caddy passes the client's by default; nginx its upstream's
	// unless told otherwise). Host names or IP addresses, without scheme,
	// port or path, e.g. "metrics.example.com"; New refuses any other form,
	// AllowHosts with an Addr that is not loopback, where every Host is
	// answered, and AllowHosts without an Addr.
	AllowHosts []string
}

// WebhookConfig configures the alert webhook: every health alert and
// escalation is POSTed as JSON to URL, never blocking the monitor.
type WebhookConfig struct {
	// URL receives the POSTs: an absolute http:// or https:// URL with a
	// host (New refuses any other, naming this field); empty: no webhook.
	URL string
	// Timeout bounds each POST; default 2s.
	Timeout time.Duration
	// Retries is how many times a failed POST is retried; default 2;
	// negative: none.
	Retries int
	// RetryDelay is the wait before a retry; default 200ms.
	RetryDelay time.Duration
	// Queue bounds the alerts waiting to be sent; default 64. When it is
	// full the new alert is dropped (the queued ones are kept, oldest
	// first) and counted (exo_alert_webhook_total{result="dropped"}): the
	// monitor never waits. In a burst the dropped ones are the latest,
	// resolutions included.
	Queue int
	// Node names the sender in each POST (the JSON field "node"), so a
	// receiver that several nodes post to can tell them apart; exo-actors
	// node sets its --name. Empty: HOST/PID (host name and process ID).
	Node string
}

func toHealthConfig(c HealthConfig) actors.HealthConfig {
	s := c.HealthSettings
	return actors.HealthConfig{
		Config: health.Config{Disabled: s.Disabled, Interval: s.Interval, Healthy: s.Healthy, Degraded: s.Degraded,
			Weights:        health.Weights(s.Weights),
			HeartbeatGrace: s.HeartbeatGrace, HeartbeatLimit: s.HeartbeatLimit, RSSLimit: s.RSSLimit, CPULimit: s.CPULimit,
			ProcInterval: s.ProcInterval, TrendSamples: s.TrendSamples, ErrorWindow: s.ErrorWindow, ErrorBudget: s.ErrorBudget,
			UnhealthyChecks: s.UnhealthyChecks, MaxRecoveries: s.MaxRecoveries, RecoveryWindow: s.RecoveryWindow,
			NodeShutdownShare: s.NodeShutdownShare, History: s.History},
		OnCheck: c.OnCheck,
		Webhook: actors.WebhookConfig(c.Webhook),
		HTTP:    actors.HTTPConfig(c.HTTP),
	}
}

// HealthLevel is a score's level.
type HealthLevel int

// The levels, best first; 0 means not checked yet.
const (
	HealthHealthy HealthLevel = iota + 1
	HealthDegraded
	HealthUnhealthy
)

// String returns "healthy", "degraded", "unhealthy" (or "unknown").
func (l HealthLevel) String() string { return health.Level(l).String() }

// HealthComponents are a score's four parts, each 0..1.
type HealthComponents struct {
	Process   float64 `json:"process"`
	Status    float64 `json:"status"`
	Resources float64 `json:"resources"`
	Errors    float64 `json:"errors"`
}

// HealthScore is a runner's health at one check: the weighted score 0..1,
// its level, its components, and in words the weakest part.
type HealthScore struct {
	Value      float64
	Level      HealthLevel
	Components HealthComponents
	Reason     string
}

func fromScore(s health.Score) HealthScore {
	return HealthScore{Value: s.Value, Level: HealthLevel(s.Level), Components: HealthComponents(s.Components), Reason: s.Reason}
}

// NodeHealth is the node's score: the mean over the runners meant to be
// running (1 when there are none), with the worst of them.
type NodeHealth struct {
	Value              float64
	Level              HealthLevel
	Counted            int
	Worst              string
	WorstScore         float64
	Unhealthy          int
	PersistentlyFailed int
	RunnersSeen        int
}

// HealthReport is the monitor's view at its last check.
type HealthReport struct {
	At       time.Time
	Checks   uint64
	Interval time.Duration
	Healthy  float64
	Degraded float64
	Weights  HealthWeights
	Node     NodeHealth
	Runners  []RunnerHealth
	// Alerts lists the conditions that hold now.
	Alerts []ActiveHealthAlert
}

// RunnerHealth is one runner in a HealthReport. State is "live",
// "draining", "starting", "restarting", "failing", "stopping", "stopped",
// "gone" or "persistently_failed" (docs/operations.md, "Runner health
// states"); a runner starting, stopping or stopped has no score (Level 0).
type RunnerHealth struct {
	RunnerID   string
	Generation uint64
	State      string
	Score      HealthScore
	// What the score was computed from.
	HeartbeatAge     time.Duration
	Pid              int
	Alive            bool
	RSS              uint64
	CPU              float64
	Resources        int
	ResourcesInError int
	Failures         int
	RestartsOK       int
	RestartsFailed   int
	UnhealthyChecks  int
	// Beside the score: tasks and the last stop.
	Tasks         RunnerTaskStats
	LastStop      []StopStep
	LastStopTotal time.Duration
	// Recovering is the recovery in progress, if any; Recoveries the last
	// ones (HealthSettings.History).
	Recovering      *HealthRecovery
	Recoveries      []HealthRecovery
	RecoveriesInWin int
}

// RunnerTaskStats are a runner's task numbers beside its score.
type RunnerTaskStats struct {
	Pending        int
	Ended          uint64
	Completed      uint64
	CompletionRate float64
	// MeanLatency and P99Latency are over the last 256 tasks, submit to end.
	MeanLatency time.Duration
	P99Latency  time.Duration
}

// HealthRecovery is one automatic recovery of a runner, its steps in order.
type HealthRecovery struct {
	ID       uint64
	RunnerID string
	Started  time.Time
	Score    float64
	Reason   string
	Steps    []RecoveryStep
	// Outcome is "in progress" until the recovery ends "succeeded",
	// "failed", "degraded" or "stopped" (docs/operations.md, "Recovery
	// and persistent failure"); a last step "end" says why when not
	// succeeded.
	Outcome string
	Ended   time.Time
}

// RecoveryStep is one step of a recovery: "reset_resources",
// "force_restart", "stop_persistent"; Outcome "requested", "ok", ...
type RecoveryStep struct {
	Name    string
	At      time.Time
	Outcome string
	Note    string
}

// ActiveHealthAlert is a health condition that holds now.
type ActiveHealthAlert struct {
	RunnerID  string
	Condition string
	Severity  Severity
	Reason    string
	Score     float64
	Since     time.Time
	// Repeats counts the checks that found it again (deduplicated).
	Repeats int
}

func fromRecovery(r health.Recovery) HealthRecovery {
	out := HealthRecovery{ID: r.ID, RunnerID: r.RunnerID, Started: r.Started, Score: r.Score, Reason: r.Reason, Outcome: r.Outcome, Ended: r.Ended}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, RecoveryStep(s))
	}
	return out
}

func fromHealthReport(r actors.HealthReport) HealthReport {
	out := HealthReport{At: r.At, Checks: r.Checks, Interval: r.Interval, Healthy: r.Healthy, Degraded: r.Degraded,
		Weights: HealthWeights(r.Weights),
		Node: NodeHealth{Value: r.Node.Value, Level: HealthLevel(r.Node.Level), Counted: r.Node.Counted, Worst: r.Node.Worst,
			WorstScore: r.Node.WorstScore, Unhealthy: r.Node.Unhealthy, PersistentlyFailed: r.Node.Persistent, RunnersSeen: r.Node.RunnersSeen}}
	for _, rh := range r.Runners {
		x := RunnerHealth{RunnerID: rh.RunnerID, Generation: rh.Generation, State: rh.State, Score: fromScore(rh.Score),
			HeartbeatAge: rh.HeartbeatAge, Pid: rh.Pid, Alive: rh.Alive, RSS: rh.RSS, CPU: rh.CPU, Resources: rh.Resources,
			ResourcesInError: rh.ResourcesInError, Failures: rh.Failures, RestartsOK: rh.RestartsOK, RestartsFailed: rh.RestartsFailed,
			UnhealthyChecks: rh.UnhealthyChecks, Tasks: RunnerTaskStats(rh.Tasks), LastStopTotal: rh.LastStopTotal,
			RecoveriesInWin: rh.RecoveriesInWin}
		for _, s := range rh.LastStop {
			x.LastStop = append(x.LastStop, StopStep(s))
		}
		if rh.Recovering != nil {
			rec := fromRecovery(*rh.Recovering)
			x.Recovering = &rec
		}
		for _, rec := range rh.Recoveries {
			x.Recoveries = append(x.Recoveries, fromRecovery(rec))
		}
		out.Runners = append(out.Runners, x)
	}
	for _, a := range r.Alerts {
		out.Alerts = append(out.Alerts, ActiveHealthAlert{RunnerID: a.RunnerID, Condition: a.Condition, Severity: Severity(a.Severity),
			Reason: a.Reason, Score: a.Score, Since: a.Since, Repeats: a.Repeats})
	}
	return out
}

// HealthAlert is an alert of the health monitor, on TopicAlerts: one when a
// condition begins (State "firing"), none while it holds (deduplicated),
// one when it clears ("resolved"). Conditions: "degraded", "unhealthy",
// "recovering", "over_limit" (MEDIUM: a live runner's memory or CPU past
// HealthSettings.RSSLimit or CPULimit), "persistent_failure" (never
// resolves), "error:<kind>" (the
// error policy decided on a failure of severity LOW to HIGH; resolved when
// the runner is healthy again, often at the same check when it restarted
// at once), "escalated" (CRITICAL, a runner retired after an escalation:
// its firing is the escalation's Alert event, and the webhook's POST; here
// only its resolution, once retention forgets the runner; it is among
// Health's active alerts until then).
type HealthAlert struct {
	Severity  Severity
	RunnerID  string
	Condition string
	Reason    string
	Score     float64
	State     string
	At        time.Time
	// Since is when the condition began (= At when firing).
	Since time.Time
}

// HealthChanged: a runner's health level changed (on TopicRunnerStatus),
// with the score and its components at that check. From is 0 at a
// runner's first check.
type HealthChanged struct {
	RunnerID   string
	Generation uint64
	From, To   HealthLevel
	Score      HealthScore
	At         time.Time
}

func (HealthAlert) isEvent()   {}
func (HealthChanged) isEvent() {}

// EventKind returns KindHealthAlert.
func (HealthAlert) EventKind() string { return KindHealthAlert }

// EventKind returns KindHealthChanged.
func (HealthChanged) EventKind() string { return KindHealthChanged }

// EventRunnerID returns the runner the alert is about.
func (e HealthAlert) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner whose health changed.
func (e HealthChanged) EventRunnerID() string { return e.RunnerID }

// Health returns the health monitor's report of its last check.
func (s *System) Health(ctx context.Context) (HealthReport, error) {
	r, err := s.node.Health(ctx)
	if err != nil {
		return HealthReport{}, err
	}
	return fromHealthReport(r), nil
}

// Metrics returns the node's own Prometheus registry (never the global
// one): serve it, or gather it into the host's.
func (s *System) Metrics() *prometheus.Registry { return s.node.Metrics() }

// StatusJSON returns the /status document (docs/operations.md, its schema
// in internal/httpapi/status.schema.json), as served on /status.
func (s *System) StatusJSON(ctx context.Context) ([]byte, error) {
	doc, err := httpapi.BuildStatus(ctx, s.node)
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// HTTPAddr returns the address the HTTP endpoints listen on, or "" when
// they are off.
func (s *System) HTTPAddr() string {
	if s.http == nil {
		return ""
	}
	return s.http.Addr()
}

func (s *System) startHTTP(cfg Config) error {
	for i, h := range cfg.Health.HTTP.AllowHosts {
		if err := httpserve.CheckHostName(h); err != nil {
			return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("Health.HTTP.AllowHosts[%d]: %w", i, err))
		}
	}
	if cfg.Health.HTTP.Addr == "" {
		if len(cfg.Health.HTTP.AllowHosts) > 0 {
			// Nothing to guard: said, not ignored (a new user's trial).
			return errjoin.Tag(ErrInvalidConfig, errors.New("Health.HTTP.AllowHosts without Health.HTTP.Addr: there are no HTTP endpoints to answer those hosts; set Addr, or leave AllowHosts empty"))
		}
		return nil
	}
	addr, err := httpapi.ListenAddr(cfg.Health.HTTP.Addr)
	if err != nil { // malformed: the config's fault
		return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("Health.HTTP.Addr: %w", err))
	}
	if host, _, _ := net.SplitHostPort(addr); len(cfg.Health.HTTP.AllowHosts) > 0 && !httpserve.LoopbackHost(host) {
		// It would do nothing, as --http-allow-host off loopback does not.
		return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("Health.HTTP.AllowHosts with Health.HTTP.Addr %q: on an address that is not loopback the endpoints answer every Host; leave AllowHosts empty, or serve on loopback behind the proxy", cfg.Health.HTTP.Addr))
	}
	srv, err := httpapi.Start(s.node, actors.HTTPConfig(cfg.Health.HTTP), s.node.Logger())
	if errors.Is(err, syscall.EADDRINUSE) {
		// Said as exo-actors node says it for --http; the raw "bind:
		// address already in use" left the host to guess what to change.
		return fmt.Errorf("Health.HTTP.Addr %q: the address is in use (another process listens there, or another System of this host): set another port, or port 0 for any free one (System.HTTPAddr then says which): %w",
			cfg.Health.HTTP.Addr, err)
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		// Said as for an address in use: the raw "bind: cannot assign
		// requested address" did not say the address is another host's.
		return fmt.Errorf("Health.HTTP.Addr %q: %s: %w", cfg.Health.HTTP.Addr, httpapi.NotThisHost(cfg.Health.HTTP.Addr, ""), err)
	}
	if err != nil {
		return fmt.Errorf("Health.HTTP.Addr: %w", err) // httpapi's error says "HTTP endpoints" and the address (EACCES, …: not the config's form)
	}
	s.http = srv
	return nil
}

func (s *System) stopHTTP(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	// Bounded whatever ctx is: a /metrics client that stopped reading
	// would hold a graceful HTTP shutdown until its response's write
	// timeout (HTTPConfig.WriteTimeout, 30s), and a ctx that has ended
	// would leave the endpoints no moment to answer what they serve. Past
	// the bound the server is closed (httpapi.Server.Shutdown).
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpStopBound)
	defer cancel()
	if end, ok := ctx.Deadline(); ok && ctx.Err() == nil && time.Until(end) < httpStopBound {
		hctx, cancel = context.WithDeadline(hctx, end)
		defer cancel()
	}
	return s.http.Shutdown(hctx)
}

// httpStopBound bounds how long a shutdown waits for the HTTP endpoints'
// requests in flight (stopHTTP).
const httpStopBound = 5 * time.Second
