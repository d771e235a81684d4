package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/internal/actorguard"
	"github.com/exo-actors/exo-actors/internal/errjoin"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// HealthConfig configures the health monitor (package health has the score,
// thresholds, recovery and their defaults), its alert webhook and the HTTP
// endpoints a host may serve (runtime starts them).
type HealthConfig struct {
	health.Config
	// OnCheck, when set, is called by the monitor after each check with the
	// check's number, on the monitor's goroutine; it must not block (tests
	// and hosts that follow each check).
	OnCheck func(check uint64)
	// Webhook is the optional alert webhook.
	Webhook WebhookConfig
	// HTTP configures /healthz, /readyz, /metrics and /status; off unless
	// Addr is set.
	HTTP HTTPConfig

	// readProc reads a runner process's /proc stat (health.ReadProc when
	// nil); tests set it (export_test.go) to show a process as a zombie
	// at a chosen check.
	readProc func(pid int) (health.ProcStat, error)
}

// HTTPConfig configures the node's HTTP endpoints (internal/httpapi).
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
	// port or path, e.g. "metrics.example.com"; New refuses any other form.
	// On an address that is not loopback every Host is answered.
	AllowHosts []string
}

// setupHealth validates the health configuration and installs the metrics
// and the health history in front of the host's hook. It runs in StartNode
// before any actor is spawned.
func (n *Node) setupHealth(c NodeConfig) error {
	nc := n.cfg
	hc := c.Health.Config.ForRunners(nc.timeouts.HeartbeatInterval, nc.timeouts.HeartbeatTimeout)
	if err := hc.Validate(); err != nil {
		return err
	}
	if c.Health.HTTP.ReadyRunners < 0 {
		return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("invalid HTTP config: ReadyRunners %d: want 0 (default 1) or more", c.Health.HTTP.ReadyRunners))
	}
	if c.Health.HTTP.WriteTimeout < 0 {
		return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("invalid HTTP config: WriteTimeout %s: want 0 (default 30s) or more", c.Health.HTTP.WriteTimeout))
	}
	nc.healthCfg = c.Health
	nc.healthCfg.Config = hc
	nc.metrics = newNodeMetrics()
	nc.history = newHealthHistory(c.RunnerClock)
	m, h := nc.metrics, nc.history
	nc.observe = func(e Event) {
		if _, ok := e.(*TaskChunk); ok {
			return // neither counts chunks: skip the history's lock per token
		}
		m.observe(e)
		h.observe(e)
	}
	nc.metrics.register(newNodeCollector(n))
	nc.metrics.register(newAlertsCollector(n))                        // metrics_preinit.go
	nc.metrics.preinit(nc.policy.Rules(), c.Health.Webhook.URL != "") // metrics_preinit.go
	nc.metrics.watchDeadLetters(n.system)
	return nil
}

// HealthSettings returns the health configuration with its defaults.
func (n *Node) HealthSettings() HealthConfig { return n.cfg.healthCfg }

// spawnHealth spawns the health monitor under the node root (after the
// runner supervisor and the resource manager, whose PIDs it needs). Its
// strategy stops any child it should ever have; the node root resumes the
// monitor itself if it fails.
func (r *nodeRoot) spawnHealth(ctx actor.Context) {
	if r.node.healthCfg.Disabled || r.supervisor == nil {
		return
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newHealthMonitor(r.node, r.supervisor) },
		actor.WithSupervisor(stopOnFailure{r.node.logger}))
	pid, err := ctx.SpawnNamed(props, "health")
	if err != nil {
		r.node.logger.WithError(err).Error("could not spawn the health monitor")
		return
	}
	r.node.healthPID = pid
}

// Messages of the health monitor.
type (
	healthTick        struct{ seq uint64 }
	healthReportQuery struct{}
)

// HealthReport is the monitor's view at its last check.
type HealthReport struct {
	At       time.Time            `json:"at"`
	Checks   uint64               `json:"checks"`
	Interval time.Duration        `json:"interval_ns"`
	Healthy  float64              `json:"healthy_threshold"`
	Degraded float64              `json:"degraded_threshold"`
	Weights  health.Weights       `json:"weights"`
	Node     health.NodeScore     `json:"node"`
	Runners  []RunnerHealth       `json:"runners"`
	Alerts   []health.ActiveAlert `json:"alerts"`
}

// Runner states in a health report.
const (
	RunnerLive         = "live"       // a running incarnation
	RunnerDraining     = "draining"   // live, its node shutting down: no new work, its tasks finish
	RunnerRestarting   = "restarting" // waiting in restart backoff
	RunnerFailing      = "failing"    // winding down after a failure, or its process exited: the supervisor decides
	RunnerStopping     = "stopping"   // being stopped on request (not scored)
	RunnerStoppedState = "stopped"    // removed after a stop (StopRunner, the node's CLOSING; not scored)
	RunnerGone         = "gone"       // removed after failing: retired after an escalation
	RunnerPersistent   = "persistently_failed"
	RunnerStarting     = "starting" // a new incarnation not sampled yet, or not past its handshake (not scored)
)

// RunnerHealth is one runner in a HealthReport.
type RunnerHealth struct {
	RunnerID   string `json:"runner_id"`
	Generation uint64 `json:"generation"`
	State      string `json:"state"`
	health.Score
	HeartbeatAge     time.Duration     `json:"heartbeat_age_ns"`
	Pid              int               `json:"pid"`
	Alive            bool              `json:"alive"`
	RSS              uint64            `json:"rss_bytes"`
	CPU              float64           `json:"cpu_cores"`
	Resources        int               `json:"resources"`
	ResourcesInError int               `json:"resources_in_error"`
	Failures         int               `json:"failures_in_window"`
	RestartsOK       int               `json:"restarts_ok"`
	RestartsFailed   int               `json:"restarts_failed"`
	UnhealthyChecks  int               `json:"unhealthy_checks"`
	Tasks            TaskStats         `json:"tasks"`
	LastStop         []StopStep        `json:"last_stop_steps,omitempty"`
	LastStopTotal    time.Duration     `json:"last_stop_total_ns"`
	Recovering       *health.Recovery  `json:"recovering,omitempty"`
	Recoveries       []health.Recovery `json:"recoveries"`
	RecoveriesInWin  int               `json:"recoveries_in_window"`
}

// Health returns the health monitor's report of its last check.
func (n *Node) Health(ctx context.Context) (HealthReport, error) {
	if n.cfg.healthPID == nil {
		return HealthReport{}, errors.New("health monitor is disabled (HealthConfig.Disabled)")
	}
	res, err := n.request(ctx, n.cfg.healthPID, &healthReportQuery{})
	if err != nil {
		return HealthReport{}, err
	}
	return *res.(*HealthReport), nil
}

// runnerView is what the monitor keeps about one runner.
type runnerView struct {
	id        string
	tracker   *health.Tracker
	entry     rosterEntry
	sample    *runnerSample
	sampledAt time.Time
	fresh     bool // sampled in the current round
	state     string
	report    RunnerHealth
	level     health.Level
	rss       []uint64
	cpuTicks  uint64
	cpuAt     time.Time
	cpu       float64         // CPU use between the last two /proc readings
	proc      health.ProcStat // the last /proc reading
	procPid   int
	procErr   error // the last /proc reading failed (not "no such process")
	procAt    time.Time
	reset     map[string]bool // resets pending
	resetLog  []string
	records   int // recovery records already counted
	gone      bool
}

// healthMonitor checks every runner at the interval, by messages: it asks
// the runner supervisor for a roster (the supervisor forwards a probe to
// each live runner, which answers the monitor), reads /proc for each live
// process, asks the resource manager for a snapshot, and scores. It owns
// the trackers (recovery) and the alert book.
type healthMonitor struct {
	node       *nodeConfig
	cfg        health.Config
	clk        clock.Clock
	supervisor *actor.PID
	self       *actor.PID
	timer      clock.Timer
	tickSeq    uint64
	round      uint64
	roster     *healthRoster
	evaluated  bool
	snap       *resources.Snapshot
	snapWait   bool // this round's snapshot has not come yet
	views      map[string]*runnerView
	order      []string
	recSeq     uint64
	alerts     *health.Alerts
	checks     uint64
	nodeScore  health.NodeScore
	persistent int
	forgotten  []string // runners retention forgot, from the rosters, until the next evaluation
	faulted    bool
	last       time.Time
	sink       *webhookSink
	due        time.Time // when the armed tick is due
	late       bool      // this round's tick came late: heartbeat age is not judged
	lateSkips  int       // late rounds in a row that judged no heartbeat
}

func newHealthMonitor(node *nodeConfig, supervisor *actor.PID) actor.Actor {
	return &healthMonitor{node: node, cfg: node.healthCfg.Config, clk: node.runnerClock, supervisor: supervisor,
		views: map[string]*runnerView{}, alerts: health.NewAlerts()}
}

// Receive implements actor.Actor.
// onStopping ends the monitor's timer and its webhook sink.
func (m *healthMonitor) onStopping() {
	if m.timer != nil {
		m.timer.Stop()
	}
	if m.sink != nil {
		m.sink.close()
	}
}

func (m *healthMonitor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		m.self = ctx.Self()
		if w := m.node.healthCfg.Webhook; w.URL != "" {
			m.sink = startWebhook(w, m.node.logger, m.node.metrics)
		}
		m.arm(ctx)
	case *actor.Stopping:
		actorguard.Run(m.node.logger, "health monitor", msg, m.onStopping)
	case *healthTick:
		if msg.seq != m.tickSeq {
			return
		}
		m.late = m.tickLate(m.clk.Now())
		m.arm(ctx)
		if m.roster != nil && !m.evaluated {
			m.evaluate(ctx) // the last round did not complete: score with what came
		}
		m.round++
		m.roster, m.evaluated = nil, false
		for _, v := range m.views {
			v.fresh = false
		}
		ctx.Request(m.supervisor, &healthRound{round: m.round})
		if pid := m.node.resourcesPID; pid != nil {
			m.snapWait = true
			ctx.Request(pid, &resources.SnapshotQuery{})
		}
	case *healthRoster:
		// Also from a late roster: its forgotten runners are in no other.
		m.forgotten = append(m.forgotten, msg.forgotten...)
		if msg.round == m.round {
			m.roster = msg
			m.maybeEvaluate(ctx)
		}
	case *runnerSample:
		v := m.view(msg.id)
		v.sample, v.sampledAt = msg, m.clk.Now()
		if msg.round == m.round {
			v.fresh = true
			m.maybeEvaluate(ctx)
		}
	case *resources.Snapshot:
		m.snap, m.snapWait = msg, false
		m.maybeEvaluate(ctx)
	case *resources.ResetResourceResult:
		m.onResetResult(msg)
	case *healthRestartReply:
		v := m.view(msg.id)
		if msg.err != nil {
			m.stepDone(v, health.StepForceRestart, "refused", msg.err.Error())
		} else {
			m.stepDone(v, health.StepForceRestart, "ok", "accepted: the runner fails with kind unhealthy; the error policy decides (FORCE_CLEANUP then RETRY)")
		}
	case *StopResult:
		// The stop asked was graceful; how it ended is the summary's to say
		// ("stopped gracefully: ended by SIGKILL" read as a contradiction:
		// an operator's trial).
		m.stepDone(m.view(msg.RunnerID), health.StepStop, "ok", "stopped: "+msg.Summary())
		m.persistentStopped(msg) // health_persistent.go
	case *stopRunnerReply:
		if msg.result != nil {
			m.stepDone(m.view(msg.result.RunnerID), health.StepStop, "ok", msg.result.Summary())
			m.persistentStopped(msg.result)
		}
	case *healthReportQuery:
		ctx.Respond(m.report())
	}
}

// tickLate reports whether this tick came too late to judge heartbeat
// age by: more than an interval after it was due. Then the node itself did
// not run on time (SIGSTOP, a starved machine, a stop-the-world pause), and
// the runners' heartbeats written meanwhile may still wait unread in their
// pipes: "no heartbeat for 10.3s" would measure the node's stall, not the
// runner's (as the runner watchdog's watchdogLate). The round scores all
// else; the next tick on time judges heartbeats again, or the
// maxLateWatchdogs+1st late one in a row, so a node that stays behind still
// finds a silent runner.
func (m *healthMonitor) tickLate(now time.Time) bool {
	if !m.due.IsZero() && now.Sub(m.due) > m.cfg.Interval && m.lateSkips < maxLateWatchdogs {
		m.lateSkips++
		m.node.logger.WithFields(logrus.Fields{"late": now.Sub(m.due), "interval": m.cfg.Interval}).
			Info("health: check late (the node did not run on time): heartbeat age not judged this round")
		return true
	}
	m.lateSkips = 0
	return false
}

func (m *healthMonitor) arm(ctx actor.Context) {
	m.due = m.clk.Now().Add(m.cfg.Interval)
	m.tickSeq++
	seq, self, system := m.tickSeq, ctx.Self(), ctx.ActorSystem()
	m.timer = m.clk.AfterFunc(m.cfg.Interval, func() { system.Root.Send(self, &healthTick{seq: seq}) })
}

func (m *healthMonitor) view(id string) *runnerView {
	v := m.views[id]
	if v == nil {
		v = &runnerView{id: id, tracker: health.NewTracker(m.cfg, id, &m.recSeq), state: RunnerStarting}
		m.views[id] = v
		m.order = append(m.order, id)
	}
	return v
}

func (m *healthMonitor) maybeEvaluate(ctx actor.Context) {
	if m.roster == nil || m.evaluated || m.snapWait {
		return
	}
	for _, e := range m.roster.runners {
		if e.live && !m.view(e.info.ID).fresh {
			return
		}
	}
	m.evaluate(ctx)
}

// evaluate scores every runner of the round and acts on the trackers'
// decisions.
func (m *healthMonitor) evaluate(ctx actor.Context) {
	m.evaluated = true
	now := m.clk.Now()
	closed := m.roster.closed
	scores := map[string]health.Score{}
	counted := map[string]bool{}
	var decisions []*SupervisionDecision
	if !closed {
		decisions = m.escalationAlerts()
	}
	m.dropForgotten(m.forgotten, now, closed)
	m.forgotten = nil
	listed := make(map[string]bool, len(m.roster.runners))
	for _, e := range m.roster.runners {
		listed[e.info.ID] = true
		v := m.view(e.info.ID)
		v.entry = e
		if v.gone {
			continue
		}
		m.check(ctx, v, now, closed)
		// Scored at least once (this generation), and not found persistently
		// failed by this very check: its state was still live when the
		// check began, but it counts among m.persistent from now on, so it
		// is not meant to run, and the share below must not count it twice
		// (a node whose one live runner failed read "1 of 2 runners
		// persistently failed").
		if meantToRun(v.state) && v.report.Level != 0 && !v.tracker.Persistent() {
			scores[v.id], counted[v.id] = v.report.Score, true
		}
	}
	if !closed {
		// After the checks: an alert carries the runner's score of this
		// check, and resolves in it if the runner is healthy again (or gone).
		m.decisionAlerts(decisions, listed, now)
	}
	m.forget(listed)
	m.nodeScore = m.cfg.Node(scores, counted)
	m.nodeScore.Persistent = m.persistent
	m.node.metrics.nodeScore.Set(m.nodeScore.Value)
	m.node.metrics.checks.Inc()
	m.checks++
	m.last = now
	if m.cfg.NodeShutdownShare > 0 && !m.faulted && !closed && m.persistent > 0 {
		// The share: the runners persistently failed (listed until retention
		// forgets them, also once their stop ended: each is stopped at once,
		// so without them no share above one runner's could build up) out of
		// those plus the runners meant to run. Runners stopped on request,
		// being stopped, retired by an escalation or still starting are in
		// neither (docs/operations.md "Recovery").
		total := len(counted) + m.persistent
		if share := float64(m.persistent) / float64(total); share >= m.cfg.NodeShutdownShare {
			m.faulted = true
			m.node.logger.WithFields(logrus.Fields{"persistently_failed": m.persistent, "runners": total, "share": m.cfg.NodeShutdownShare}).
				Error("health: too many runners persistently failed: shutting the node down gracefully")
			m.emitAlert(health.AlertKey{Condition: "node_" + health.ConditionPersistent}, errhandler.Critical,
				fmt.Sprintf("%d of %d runners persistently failed (limit %.0f%%): node shutting down", m.persistent, total, 100*m.cfg.NodeShutdownShare), m.nodeScore.Value, AlertFiring, now, now)
			m.node.nodeFault(fmt.Errorf("health monitor: %d of %d runners persistently failed", m.persistent, total))
		}
	}
	if f := m.node.healthCfg.OnCheck; f != nil {
		f(m.checks)
	}
}

// forget drops the views of runners the supervisor no longer lists (its
// retention of removed runners is bounded, docs/architecture.md), so the
// monitor's memory follows the roster, not every runner ever spawned
// (uptime_heap_growth measured 2.2 with views kept forever).
func (m *healthMonitor) forget(listed map[string]bool) {
	if len(m.views) == len(listed) {
		return
	}
	for id, v := range m.views {
		if !listed[id] {
			m.endRemoved(v, m.clk.Now())
			delete(m.views, id)
		}
	}
	m.order = slices.DeleteFunc(m.order, func(id string) bool { return !listed[id] })
}

// dropForgotten drops what the monitor holds of runners the supervisor's
// retention forgot: their alerts (each resolved, as for a gone runner, but
// persistent_failure, which never resolves: it leaves the active alerts
// silently), their count among the persistently failed, their metric
// series, history and view. Without it a runner forgotten before a check
// saw it gone (KeepRemoved < 0, a burst of removals) kept its alerts and
// series for the node's life, and a persistently failed one its alert and
// its weight in NodeShutdownShare.
func (m *healthMonitor) dropForgotten(ids []string, now time.Time, closed bool) {
	for _, id := range ids {
		for _, k := range m.alerts.Holding(id) {
			if k.Condition == health.ConditionPersistent || closed {
				m.alerts.Resolve(k)
				continue
			}
			m.resolve(k, now)
		}
		if v := m.views[id]; v != nil {
			m.endRemoved(v, now)
			if v.tracker.Persistent() && m.persistent > 0 {
				m.persistent--
			}
			delete(m.views, id)
			m.order = slices.DeleteFunc(m.order, func(o string) bool { return o == id })
		}
		m.node.metrics.forget(id)
		m.node.history.forget(id)
	}
}

// meantToRun says whether a runner in state counts in the node score (once
// scored): it is meant to be running, whether it serves now (live,
// draining) or is on its way back (failing, waiting to restart). A runner
// starting is not scored yet; one being stopped on request, stopped,
// retired after an escalation or persistently failed is not meant to run.
func meantToRun(state string) bool {
	switch state {
	case RunnerLive, RunnerDraining, RunnerFailing, RunnerRestarting:
		return true
	}
	return false
}

// unscored clears the score of a runner's report when it is starting (a
// new generation, or a new actor incarnation whose process has not said
// Hello yet): the new process is not scored until a check samples it, and
// never carries its predecessor's score, level, pid or memory (for up to an
// interval /status showed a new generation Ready beside the old one's
// "0 process is a zombie"). Its history (recoveries, tasks, last stop)
// stays.
func (m *healthMonitor) unscored(v *runnerView, gen uint64) {
	if v.report.Generation == gen && v.report.Level == 0 {
		return // already unscored
	}
	old := v.report
	r := RunnerHealth{RunnerID: v.id, Generation: gen, State: RunnerStarting,
		Recoveries: old.Recoveries, RecoveriesInWin: old.RecoveriesInWin, Recovering: old.Recovering}
	m.taskFigures(&r, 0)
	v.report = r
}

// unscoredProcess is the report of a runner whose new process is not
// scored yet (starting): no score, and nothing of the last process's stays
// (its over_limit alert resolves, its memory and CPU series go).
func (m *healthMonitor) unscoredProcess(v *runnerView, in health.Inputs, now time.Time, closed bool) {
	m.unscored(v, v.entry.info.Generation)
	m.limitAlert(v, in, false, health.Score{}, now, closed)
	m.node.metrics.setProc(v.id, v.entry.info.Kind, false, 0, 0)
}

// check scores one runner.
func (m *healthMonitor) check(ctx actor.Context, v *runnerView, now time.Time, closed bool) {
	e := v.entry
	smp := v.sample
	in := health.Inputs{Status: e.info.Status, Restarting: e.info.Restarting}
	live := false
	switch {
	case v.tracker.Persistent():
		v.state = RunnerPersistent
	case e.info.Restarting:
		v.state = RunnerRestarting
	case !e.live:
		// Removed: stopped (StopRunner, a cancelled restart, the node's
		// CLOSING; its status is Shutdown or its stop was reported), or
		// retired after an escalation.
		v.state = RunnerGone
		if _, stop := m.node.history.taskStats(v.id); stop != nil || e.info.Status.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN {
			v.state = RunnerStoppedState
		}
	case smp == nil || smp.generation != e.info.Generation:
		v.state = RunnerStarting
		m.unscoredProcess(v, in, now, closed)
		return // a new incarnation that has not answered yet: score it next time
	case smp.stopping:
		v.state = RunnerStopping // asked to stop: not scored, not counted
	case smp.handshaking:
		// No Hello yet, so no heartbeat can be expected: the handshake
		// timeout judges it (a monitor that took the time since the start
		// for a heartbeat age killed runners whose Hello was on time).
		v.state = RunnerStarting
		m.unscoredProcess(v, in, now, closed)
		return
	case smp.windingDown || smp.exited:
		v.state = RunnerFailing
	case smp.draining:
		v.state = RunnerDraining // its node shuts down: scored and counted, as live
	default:
		v.state, live = RunnerLive, true
	}
	if v.state == RunnerGone || v.state == RunnerPersistent || v.state == RunnerStoppedState || v.state == RunnerStopping {
		v.tracker.Observe(health.Observation{At: now, Live: false})
		if why := removedWhy(v.state); why != "" {
			// Never checked again: a recovery under way ends now, counted
			// and listed (before, a restart the policy escalated left it
			// "in progress" for good, in no count and no report).
			if v.state == RunnerStoppedState {
				v.tracker.Cancelled(now, why) // stopped on request: no verdict on the recovery
			} else {
				v.tracker.Removed(now, why)
			}
		}
		m.syncRecords(v)
		for _, k := range m.alerts.Holding(v.id) {
			// persistent_failure and escalated hold while the runner is
			// listed (dropForgotten ends them): it failed for good.
			if k.Condition != health.ConditionPersistent && k.Condition != health.ConditionEscalated && !closed {
				m.resolve(k, now)
			}
		}
		// Its task figures and last stop as they are now: its tasks ended
		// (and its stop was reported) after its last live check, often
		// (a stopped runner kept "ended 0" of that check for good).
		r := v.report
		r.RunnerID = v.id
		m.taskFigures(&r, 0)
		// Not scored from now on: its score series go (exo_health_score,
		// exo_health_component), as they do for every runner not scored.
		m.node.metrics.forget(v.id)
		// Its errors as they were when it went: a runner retired after 7
		// failures showed an errors part of 1 (a new user's trial).
		last := health.Inputs{Status: e.info.Status}
		last.Failures, last.RecoveriesSucceeded, last.RecoveriesFailed = m.node.history.errorCounts(v.id, now, m.cfg.ErrorWindow)
		if v.state == RunnerGone || v.state == RunnerStoppedState {
			v.gone = true // removed: it never comes back
			m.node.history.forget(v.id)
		}
		// Its process is gone: no score, pid, memory or heartbeat of its
		// last live check stays in the report (a runner escalated between
		// two checks kept "0.74 degraded" and its dead pid for good). Its
		// history (recoveries, failures, tasks, last stop) stays.
		r.RunnerID, r.Generation, r.State = v.id, e.info.Generation, v.state
		r.Score = health.Compute(m.cfg, last) // not alive: 0, "process not running"
		r.Failures, r.RestartsOK, r.RestartsFailed = last.Failures, last.RecoveriesSucceeded, last.RecoveriesFailed
		r.HeartbeatAge, r.Pid, r.Alive, r.RSS, r.CPU, r.Recovering = 0, 0, false, 0, 0, nil
		switch v.state {
		case RunnerStoppedState:
			// Stopped on purpose: no health to judge, so no score and no
			// level (/status: level "unknown"), never "unhealthy".
			r.Score = health.Score{Reason: "stopped (not scored)"}
		case RunnerStopping:
			r.Score = health.Score{Reason: "being stopped on request (not scored)"}
			if smp != nil && smp.generation == e.info.Generation && !smp.exited && smp.pid > 0 {
				r.Pid = smp.pid // its process may run until the stop ends it
			}
		}
		if v.state == RunnerPersistent && e.live {
			// Persistently failed, its graceful stop asked and under way:
			// its process may run until the stop ends it (a hung one until
			// the stop's escalation), so it is not "not running".
			r.Reason = "persistently failed: being stopped gracefully"
			if smp != nil && smp.generation == e.info.Generation && !smp.exited && smp.pid > 0 {
				r.Pid = smp.pid
			}
		}
		v.report = r
		return
	}
	r := RunnerHealth{RunnerID: v.id, Generation: e.info.Generation, State: v.state}
	if smp != nil && smp.generation == e.info.Generation && !smp.exited && smp.pid > 0 && v.state != RunnerRestarting {
		age := smp.heartbeatAge
		if !v.fresh {
			age += now.Sub(v.sampledAt) // no answer this round: it only got older
		}
		in.HeartbeatAge, r.HeartbeatAge, r.Pid = age, age, smp.pid
		if m.late {
			in.HeartbeatAge = 0 // reported, not judged: the node's own stall (tickLate)
		}
		if smp.pid != v.procPid || now.Sub(v.procAt) >= m.cfg.ProcInterval {
			read := health.ReadProc
			if f := m.node.healthCfg.readProc; f != nil {
				read = f
			}
			ps, err := read(smp.pid)
			if smp.pid != v.procPid {
				v.rss, v.cpuAt, v.cpu = nil, time.Time{}, 0 // a new process
			}
			if err != nil {
				// Unreadable is unknown, not dead: the runner actor, which
				// waits for the process, says it runs (a /proc read that
				// failed with EMFILE scored every runner 0, "process not
				// running", and the monitor restarted healthy runners). Its
				// memory and CPU keep their last reading; the heartbeat is
				// judged as always.
				if v.procErr == nil || smp.pid != v.procPid {
					m.node.logger.WithError(err).WithFields(logrus.Fields{"runner_id": v.id, "pid": smp.pid}).
						Warn("health: cannot read the runner's /proc stat: its memory and CPU are not judged until it can be read (its heartbeat still is); the process is taken as running")
				}
				if smp.pid == v.procPid && v.proc.Alive {
					ps = v.proc
				} else {
					ps = health.ProcStat{Alive: true}
				}
			} else if v.procErr != nil && smp.pid == v.procPid {
				m.node.logger.WithFields(logrus.Fields{"runner_id": v.id, "pid": smp.pid}).Info("health: the runner's /proc stat can be read again")
			}
			if err == nil && ps.Alive {
				v.rss = pushBounded(v.rss, ps.RSS, m.cfg.TrendSamples+1)
				if !v.cpuAt.IsZero() && now.After(v.cpuAt) && ps.CPU >= v.cpuTicks {
					v.cpu = health.CPUSeconds(ps.CPU-v.cpuTicks) / now.Sub(v.cpuAt).Seconds()
				}
				v.cpuTicks, v.cpuAt = ps.CPU, now
			}
			v.proc, v.procPid, v.procAt, v.procErr = ps, smp.pid, now, err
		}
		in.Alive, in.Zombie, in.RSS, in.CPU = v.proc.Alive, v.proc.Zombie, v.proc.RSS, v.cpu
		if live || v.state == RunnerDraining {
			if v.procErr == nil && (!in.Alive || in.Zombie) {
				// Its process has exited (a zombie not reaped yet, or
				// reaped) before the runner actor heard of it: it is
				// failing, and the supervisor's decision on the exit
				// alerts, not the monitor (else one kill -9 raised an
				// "unhealthy: process is a zombie" HIGH alert as well).
				v.state, live = RunnerFailing, false
				r.State = v.state
			}
		}
		in.RSSHistory = v.rss
		r.Tasks.Pending = smp.queued + smp.inFlight
	}
	var errored []string
	if m.snap != nil {
		for _, res := range m.snap.Resources {
			if res.Owner != v.id {
				continue
			}
			in.Resources++
			in.ResourceErrors += res.Errors
			if res.State == resources.Error {
				in.ResourcesInError++
				errored = append(errored, res.Name)
			}
		}
	}
	in.Failures, in.RecoveriesSucceeded, in.RecoveriesFailed = m.node.history.errorCounts(v.id, now, m.cfg.ErrorWindow)
	s := health.Compute(m.cfg, in)
	r.Score, r.Alive, r.RSS, r.CPU = s, in.Alive, in.RSS, in.CPU
	r.Resources, r.ResourcesInError, r.Failures, r.RestartsOK, r.RestartsFailed = in.Resources, in.ResourcesInError, in.Failures, in.RecoveriesSucceeded, in.RecoveriesFailed
	m.taskFigures(&r, r.Tasks.Pending)
	m.node.metrics.setScore(v.id, v.entry.info.Kind, s)
	m.node.metrics.setProc(v.id, v.entry.info.Kind, in.Alive && !in.Zombie, in.RSS, in.CPU)
	if s.Level != v.level && !closed { // no events once the node shuts down: its streams close
		from := v.level
		v.level = s.Level
		m.node.emit(&HealthChanged{RunnerID: v.id, Generation: e.info.Generation, From: from, To: s.Level, Score: s, At: now})
		if from != 0 {
			m.node.logger.WithFields(logrus.Fields{"runner_id": v.id, "from": from.String(), "to": s.Level.String(),
				"score": s.Value, "reason": s.Reason}).Info("health level changed")
		}
	}
	if !closed {
		if live {
			// A runner waiting to restart or winding down is the
			// supervisor's: its decision raised its own alert.
			m.levelAlerts(v, s, now)
		}
		m.limitAlert(v, in, live, s, now, closed)
		d := v.tracker.Observe(health.Observation{At: now, Live: live, Generation: e.info.Generation, Score: s, ErroredResources: errored})
		m.act(ctx, v, d, s, now)
	}
	m.syncRecords(v)
	r.UnhealthyChecks = v.tracker.Consecutive()
	if cur, ok := v.tracker.Current(); ok {
		r.Recovering = &cur
	}
	r.Recoveries, _ = v.tracker.Recoveries()
	r.RecoveriesInWin = v.tracker.InWindow(now)
	v.report = r
}

// taskFigures sets a runner's task figures and last stop from the health
// history as it is now, with pending (the runner's own count at the last
// check; 0 once it is gone).
func (m *healthMonitor) taskFigures(r *RunnerHealth, pending int) {
	ts, stop := m.node.history.taskStats(r.RunnerID)
	ts.Pending = pending
	r.Tasks = ts
	if stop != nil {
		r.LastStop, r.LastStopTotal = stop.Steps, stop.Total
	}
}

// act carries out a tracker's decision.
func (m *healthMonitor) act(ctx actor.Context, v *runnerView, d health.Decision, s health.Score, now time.Time) {
	if d.Action == health.None {
		return
	}
	log := m.node.logger.WithFields(logrus.Fields{"runner_id": v.id, "recovery": d.Recovery.ID, "score": s.Value, "reason": d.Reason, "step": d.Action.String()})
	m.node.metrics.recoverySteps.WithLabelValues(d.Action.String(), "requested").Inc()
	switch d.Action {
	case health.ResetResources:
		log.WithField("resources", d.Resources).Warn("health recovery: resetting the runner's resources in error")
		m.emitRaise(v.id, health.ConditionRecovering, errhandler.Medium, "recovery: resetting resources in error: "+d.Reason, s.Value, now)
		v.reset, v.resetLog = map[string]bool{}, nil
		for _, name := range d.Resources {
			v.reset[name] = true
			ctx.Request(m.node.resourcesPID, &resources.ResetResource{Name: name})
		}
	case health.Restart:
		log.Warn("health recovery: forced restart through the supervisor (FORCE_CLEANUP then RETRY)")
		m.emitRaise(v.id, health.ConditionRecovering, errhandler.Medium, "recovery: forced restart: "+d.Reason, s.Value, now)
		ctx.Request(m.supervisor, &healthRestart{id: v.id, reason: d.Reason, score: s.Value})
	case health.StopPersistent:
		m.persistent++
		log.WithField("max_recoveries", m.cfg.MaxRecoveries).Error("health: runner persistently failed: stopping it gracefully")
		m.resolve(health.AlertKey{RunnerID: v.id, Condition: health.ConditionRecovering}, now)
		// persistent_failure says it all from here: the runner's level
		// and limit alerts resolve now, as they would at the check that
		// finds it stopped — which never comes when its node shuts itself
		// down over it (node_shutdown_share): an SRE's trial saw
		// "unhealthy" held beside "persistent_failure" until the end.
		for _, c := range []string{health.ConditionDegraded, health.ConditionUnhealthy, health.ConditionOverLimit} {
			m.resolve(health.AlertKey{RunnerID: v.id, Condition: c}, now)
		}
		m.emitRaise(v.id, health.ConditionPersistent, errhandler.Critical,
			persistentReason(m.cfg.MaxRecoveries, m.cfg.RecoveryWindow, d.Reason, ""), s.Value, now) // health_persistent.go
		ctx.Request(m.supervisor, &stopRunnerRequest{id: v.id})
	}
}

func (m *healthMonitor) onResetResult(r *resources.ResetResourceResult) {
	for _, v := range m.views {
		if !v.reset[r.Name] {
			continue
		}
		delete(v.reset, r.Name)
		if r.Err != nil {
			v.resetLog = append(v.resetLog, r.Name+": "+r.Err.Error())
		} else {
			v.resetLog = append(v.resetLog, r.Name+": active again")
		}
		if len(v.reset) == 0 {
			outcome := "ok"
			for _, l := range v.resetLog {
				if !strings.HasSuffix(l, "active again") {
					outcome = "failed"
				}
			}
			m.stepDone(v, health.StepResetResources, outcome, strings.Join(v.resetLog, "; "))
		}
		return
	}
}

func (m *healthMonitor) stepDone(v *runnerView, step, outcome, note string) {
	v.tracker.StepDone(step, m.clk.Now(), outcome, note)
	m.node.metrics.recoverySteps.WithLabelValues(actionOfStep(step), outcome).Inc()
	m.node.logger.WithFields(logrus.Fields{"runner_id": v.id, "step": step, "outcome": outcome, "note": note}).Info("health recovery step done")
	m.syncRecords(v)
}

func actionOfStep(step string) string {
	switch step {
	case health.StepResetResources:
		return health.ResetResources.String()
	case health.StepForceRestart:
		return health.Restart.String()
	}
	return health.StopPersistent.String()
}

// syncRecords counts recoveries that ended and resolves "recovering".
func (m *healthMonitor) syncRecords(v *runnerView) {
	recs, dropped := v.tracker.Recoveries()
	total := len(recs) + dropped
	for i := v.records; i < total; i++ {
		r := recs[i-dropped]
		m.node.metrics.recoveries.WithLabelValues(r.Outcome).Inc()
		m.node.logger.WithFields(logrus.Fields{"runner_id": v.id, "recovery": r.ID, "outcome": r.Outcome,
			"steps": len(r.Steps), "duration": r.Ended.Sub(r.Started)}).Info("health recovery ended")
	}
	v.records = total
	if _, ok := v.tracker.Current(); !ok && !v.tracker.Persistent() && (m.roster == nil || !m.roster.closed) {
		m.resolve(health.AlertKey{RunnerID: v.id, Condition: health.ConditionRecovering}, m.clk.Now())
	}
}

// levelAlerts keeps the degraded/unhealthy alerts in step with the level.
func (m *healthMonitor) levelAlerts(v *runnerView, s health.Score, now time.Time) {
	deg := health.AlertKey{RunnerID: v.id, Condition: health.ConditionDegraded}
	unh := health.AlertKey{RunnerID: v.id, Condition: health.ConditionUnhealthy}
	switch s.Level {
	case health.Healthy:
		for _, k := range m.alerts.Holding(v.id) {
			if k.Condition != health.ConditionRecovering && k.Condition != health.ConditionPersistent && k.Condition != health.ConditionOverLimit {
				m.resolve(k, now)
			}
		}
	case health.Degraded:
		m.resolve(unh, now)
		m.emitRaise(v.id, deg.Condition, errhandler.Low, "degraded: "+s.Reason, s.Value, now)
	case health.Unhealthy:
		m.resolve(deg, now)
		m.emitRaise(v.id, unh.Condition, errhandler.High, "unhealthy: "+s.Reason, s.Value, now)
	}
}

// limitAlert keeps the over_limit alert in step with a runner's memory and
// CPU (health.Config.OverLimit): raised while a live runner is past a
// limit, resolved when it is clearly back under (health.Config.BackUnder:
// under 90% of the threshold, so a runner that hovers at its limit does
// not raise and resolve it at every check) or not live. Its score alone may
// leave the runner healthy (memory and CPU take at most half the process
// weight off it, 0.2 with the default weights): an
// SRE's trial saw a runner at three times its rss_limit scored 0.9 healthy,
// with no alert, no reason and no metric.
// Nothing once the node shuts down (closed): its streams close.
func (m *healthMonitor) limitAlert(v *runnerView, in health.Inputs, live bool, s health.Score, now time.Time, closed bool) {
	if closed {
		return
	}
	k := health.AlertKey{RunnerID: v.id, Condition: health.ConditionOverLimit}
	if why, memory, over := m.cfg.OverLimit(in); over && live {
		// Memory and CPU are half the process component: with the
		// default weights 0.2 of a score, with a process weight of 0.8
		// 0.4 (the text said 0.2 whatever the weights).
		most := 0.5 * m.cfg.Weights.Process
		find := "find what grows" // memory; CPU alone: what keeps it busy (a trial read "grows" for CPU)
		if !memory {
			find = "find what keeps it busy"
		}
		m.emitRaise(v.id, k.Condition, errhandler.Medium, "over limit: "+why+
			fmt.Sprintf(" (it lowers the score by at most %.3g and restarts nothing: %s, or raise HealthSettings.RSSLimit or CPULimit, node config health.rss_limit or health.cpu_limit, if the runner needs that much)", most, find), s.Value, now)
		return
	}
	if live && !m.cfg.BackUnder(in) {
		return // between the limit and 90% of it: held if raised, not raised
	}
	m.resolve(k, now)
}

// escalationAlerts takes the decisions and escalations since the last
// check, holds each escalation's alert and returns the decisions
// (decisionAlerts raises theirs once the runners were checked).
func (m *healthMonitor) escalationAlerts() []*SupervisionDecision {
	decisions, escalations := m.node.history.take()
	for _, a := range escalations {
		// Already an event (the Alert on the alerts topic), logged and
		// counted: the book holds it (/status alerts[]) until the retired
		// runner is forgotten, and the webhook gets its firing.
		k := health.AlertKey{RunnerID: a.RunnerID, Condition: health.ConditionEscalated}
		if a.RunnerID != "" && !m.alerts.Raise(k, a.Severity, a.Message, 0, a.At) {
			continue // a repeat: already held and sent
		}
		// Logged as every other alert is ("alert", condition=escalated),
		// beside the supervisor's "runner escalated" line: a log pipeline
		// keyed on msg=alert missed escalations (an SRE's trial).
		m.node.logger.WithFields(logrus.Fields{"runner_id": a.RunnerID, "condition": health.ConditionEscalated, "severity": a.Severity.String(),
			"state": string(AlertFiring), "score": 0.0, "reason": a.Message}).Error("alert")
		if m.sink != nil {
			if b, err := m.sink.encode(&HealthAlert{Severity: a.Severity, RunnerID: a.RunnerID, Condition: health.ConditionEscalated,
				Reason: a.Message, State: AlertFiring, At: a.At, Since: a.At}); err == nil {
				m.sink.offer(b)
			}
		}
	}
	return decisions
}

// decisionAlerts raises an alert for each supervision decision of a
// severity below CRITICAL (those alert from the supervisor), one per runner
// and failure kind while the runner is not healthy again. It runs after
// this check scored the runners: the alert carries the runner's score of
// this check (0 while its process is not running: waiting to restart,
// gone), and resolves at once when the runner is live and healthy again by
// now, or gone or no longer listed (neither is checked again).
func (m *healthMonitor) decisionAlerts(decisions []*SupervisionDecision, listed map[string]bool, now time.Time) {
	for _, d := range decisions {
		r := d.Record
		if !severityAlerts(r.Decision.Severity) {
			continue
		}
		v := m.views[d.RunnerID]
		score := 0.0
		if v != nil {
			score = v.report.Value
		}
		what := r.Decision.Action.String()
		if r.Decision.Then != 0 {
			what += " then " + r.Decision.Then.String()
		}
		k := health.AlertKey{RunnerID: d.RunnerID, Condition: health.ConditionErrorPrefix + string(r.Kind)}
		m.emitRaise(k.RunnerID, k.Condition, r.Decision.Severity, fmt.Sprintf("%s (%s)", r.Message, what), score, now)
		if v == nil || v.gone || !listed[d.RunnerID] || v.state == RunnerLive && v.report.Level == health.Healthy {
			m.resolve(k, now)
		}
	}
}

func (m *healthMonitor) emitRaise(id, cond string, sev errhandler.Severity, reason string, score float64, now time.Time) {
	k := health.AlertKey{RunnerID: id, Condition: cond}
	if m.alerts.Raise(k, sev, reason, score, now) {
		m.emitAlert(k, sev, reason, score, AlertFiring, now, now)
	}
}

func (m *healthMonitor) resolve(k health.AlertKey, now time.Time) {
	if a, ok := m.alerts.Resolve(k); ok {
		m.emitAlert(k, a.Severity, "cleared: "+a.Reason, a.Score, AlertResolved, now, a.Since)
	}
}

// emitAlert publishes one alert event, logs it (warn below HIGH, error from
// HIGH on) and hands it to the webhook.
func (m *healthMonitor) emitAlert(k health.AlertKey, sev errhandler.Severity, reason string, score float64, st AlertState, now, since time.Time) {
	a := &HealthAlert{Severity: sev, RunnerID: k.RunnerID, Condition: k.Condition, Reason: reason, Score: score, State: st, At: now, Since: since}
	m.node.emit(a)
	e := m.node.logger.WithFields(logrus.Fields{"runner_id": a.RunnerID, "condition": a.Condition, "severity": sev.String(),
		"state": string(st), "score": score, "reason": reason})
	switch {
	case st == AlertResolved:
		e.Info("alert resolved")
	case sev >= errhandler.High:
		e.Error("alert")
	default:
		e.Warn("alert")
	}
	if m.sink != nil {
		if b, err := m.sink.encode(a); err == nil {
			m.sink.offer(b)
		}
	}
}

func (m *healthMonitor) report() *HealthReport {
	rep := &HealthReport{At: m.last, Checks: m.checks, Interval: m.cfg.Interval, Healthy: m.cfg.Healthy, Degraded: m.cfg.Degraded,
		Weights: m.cfg.Weights, Node: m.nodeScore, Alerts: m.alerts.Active()}
	for _, id := range m.order {
		v := m.views[id]
		r := v.report
		r.RunnerID, r.State = id, v.state
		if r.Generation == 0 {
			r.Generation = v.entry.info.Generation
		}
		if v.gone || v.tracker.Persistent() {
			r.Recoveries, _ = v.tracker.Recoveries()
		}
		if !v.gone {
			// Ended and completed as of now, not of the last check (the
			// history is current; a gone runner's figures were taken when
			// its history was dropped).
			m.taskFigures(&r, r.Tasks.Pending)
		}
		rep.Runners = append(rep.Runners, r)
	}
	return rep
}

// ReportResourceError records that a resource broke (see
// resources.Client.ReportError): it goes to Error, where the health
// monitor's recovery resets it if its owner runner turns unhealthy.
func (n *Node) ReportResourceError(ctx context.Context, name string, cause error) error {
	return resources.NewClient(n.system, n.cfg.resourcesPID).ReportError(ctx, name, cause)
}

// Alive reports whether the node's actor system answers: the node root
// replies to a query (the liveness behind /healthz). After Shutdown it
// returns ErrShuttingDown.
func (n *Node) Alive(ctx context.Context) error {
	select {
	case <-n.done:
		return ErrShuttingDown
	default:
	}
	_, err := n.request(ctx, n.root, &supervisorQuery{})
	return err
}

// ShuttingDown reports whether Shutdown has begun.
func (n *Node) ShuttingDown() bool { return n.lifecycle() != nodeRunning }

// Logger returns the node's logger.
func (n *Node) Logger() *logrus.Logger { return n.cfg.logger }
