package actors

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// MetricsNamespace prefixes every metric of a node.
const MetricsNamespace = "exo"

// nodeMetrics are a node's Prometheus metrics, on the node's own registry
// (never the global one). Counters are fed from the node's events (emit);
// the rest is read at scrape time (nodeCollector).
type nodeMetrics struct {
	reg *prometheus.Registry

	restarts       *prometheus.CounterVec
	errors         *prometheus.CounterVec
	tasks          *prometheus.CounterVec
	taskLatency    prometheus.Histogram
	stopSteps      *prometheus.HistogramVec
	shutdownPhases *prometheus.GaugeVec
	rejected       *prometheus.CounterVec
	score          *prometheus.GaugeVec
	component      *prometheus.GaugeVec
	rss            *prometheus.GaugeVec
	cpu            *prometheus.GaugeVec
	nodeScore      *unsetGauge
	checks         prometheus.Counter
	recoveries     *prometheus.CounterVec
	recoverySteps  *prometheus.CounterVec
	alerts         *prometheus.CounterVec
	webhook        *prometheus.CounterVec
	deadLetters    prometheus.Counter

	// cmu guards collectors: RegisterMetrics and its unregister run while
	// MetricsHelp may read them.
	cmu        sync.Mutex
	collectors []prometheus.Collector
	// outcomes caches the tasks_total counter of each terminal status: task
	// ends are on the dispatch path, and a label lookup hashes each time.
	outcomes map[exov1.TaskStatus]prometheus.Counter

	mu   sync.Mutex
	open map[string]time.Time // runner/task → Pending time, for the latency histogram
}

// maxOpenTasks bounds the tasks whose start the latency histogram remembers
// (beyond it a task's latency is not observed; tasks are bounded per runner
// by TaskLimits anyway).
const maxOpenTasks = 65536

func newNodeMetrics() *nodeMetrics {
	ns := MetricsNamespace
	m := &nodeMetrics{
		reg: prometheus.NewRegistry(),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "runner_restarts_total",
			Help: "Runner restarts decided by the error policy (RETRY), by failure kind."}, []string{"reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "errors_total",
			Help: "Error records by kind, severity and final action."}, []string{"kind", "severity", "action"}),
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "tasks_total",
			Help: "Tasks that ended, by outcome."}, []string{"outcome"}),
		taskLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "task_duration_seconds",
			Help:    "Task latency from submission to its terminal status.",
			Buckets: TaskDurationBuckets}),
		stopSteps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "runner_stop_step_seconds",
			Help:    "Duration of each step of runner stops (shutdown frame, SIGTERM, SIGKILL).",
			Buckets: []float64{0.001, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30}}, []string{"step"}),
		shutdownPhases: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "shutdown_phase_seconds",
			Help: "Duration of each phase of the node's last shutdown."}, []string{"phase"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "tasks_rejected_total",
			Help: "Submits refused, by reason (queue_full, runner_not_available, unknown_runner, invalid_task, shutting_down, no_answer, gateway_limit); the caller got the error."}, []string{"reason"}),
		rss: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "runner_rss_bytes",
			Help: "Resident memory of each runner's process at the health monitor's last /proc reading (no series while it has no process)."}, []string{"runner", "kind"}),
		cpu: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "runner_cpu_cores",
			Help: "CPU use of each runner's process between the health monitor's last two /proc readings, in cores (1 = one core busy; no series while it has no process)."}, []string{"runner", "kind"}),
		score: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "health_score",
			Help: "Health score of each runner at the last check (0 to 1)."}, []string{"runner", "kind"}),
		component: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "health_component",
			Help: "Each component of each runner's health score at the last check (0 to 1)."}, []string{"runner", "kind", "component"}),
		nodeScore: newUnsetGauge(prometheus.NewDesc(ns+"_node_health_score",
			"Health score of the node: the mean over the runners meant to be running (no sample before the monitor's first check, or without the monitor).", nil, nil)),
		checks: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "health_checks_total",
			Help: "Health checks the monitor ran (one covers every runner)."}),
		recoveries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "health_recoveries_total",
			Help: "Automatic recoveries that ended, by outcome."}, []string{"outcome"}),
		recoverySteps: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "health_recovery_steps_total",
			Help: "Recovery steps taken, by step and outcome."}, []string{"step", "outcome"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "alerts_total",
			Help: "Alerts raised and resolved, by severity, state and condition."}, []string{"severity", "state", "condition"}),
		webhook: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "alert_webhook_total",
			Help: "Alerts handed to the webhook sink, by result (sent, failed after retries, dropped when the queue was full)."}, []string{"result"}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "dead_letters_total",
			Help: "Messages sent to actors that no longer exist (protoactor dead letters)."}),
		open: map[string]time.Time{},
	}
	m.outcomes = map[exov1.TaskStatus]prometheus.Counter{}
	for _, st := range []exov1.TaskStatus{exov1.TaskStatus_TASK_STATUS_COMPLETE, exov1.TaskStatus_TASK_STATUS_FAILED,
		exov1.TaskStatus_TASK_STATUS_TIMED_OUT, exov1.TaskStatus_TASK_STATUS_CANCELLED} {
		m.outcomes[st] = m.tasks.WithLabelValues(TaskStatusName(st))
	}
	for _, r := range rejectReasons {
		m.rejected.WithLabelValues(r) // 0 from the start: a rate over a series that appears at its first rejection misses it
	}
	m.collectors = []prometheus.Collector{m.restarts, m.errors, m.tasks, m.rejected, m.taskLatency, m.stopSteps, m.shutdownPhases, m.score,
		m.component, m.rss, m.cpu, m.nodeScore, m.checks, m.recoveries, m.recoverySteps, m.alerts, m.webhook, m.deadLetters}
	m.collectors = append(m.collectors, processCollectors()...) // metrics_preinit.go
	m.reg.MustRegister(m.collectors...)
	return m
}

func (m *nodeMetrics) register(c prometheus.Collector) {
	if _, err := m.add(c); err != nil {
		panic(err) // the node's own collectors: a duplicate is a bug here
	}
}

// add registers c and lists it for MetricsHelp; the listed entry is
// returned to find it again (a pointer: c's own type may not be
// comparable).
func (m *nodeMetrics) add(c prometheus.Collector) (*addedCollector, error) {
	m.cmu.Lock()
	defer m.cmu.Unlock()
	if err := m.reg.Register(c); err != nil {
		return nil, err
	}
	a := &addedCollector{c}
	m.collectors = append(m.collectors, a)
	return a, nil
}

type addedCollector struct{ prometheus.Collector }

// RegisterMetrics adds a collector to the node's registry (Metrics), so
// that the node's /metrics exports it and MetricsHelp names it; the
// returned function removes it again (once; later calls do nothing). A
// collector whose metrics the registry already has is refused with the
// registry's error. The gateway of `exo-actors node` registers its
// counts here (exo_gateway_*, docs/operations.md) while it runs.
func (n *Node) RegisterMetrics(c prometheus.Collector) (unregister func(), err error) {
	m := n.cfg.metrics
	a, err := m.add(c)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			m.cmu.Lock()
			defer m.cmu.Unlock()
			m.reg.Unregister(c)
			m.collectors = slices.DeleteFunc(m.collectors, func(x prometheus.Collector) bool { return x == prometheus.Collector(a) })
		})
	}, nil
}

var descRE = regexp.MustCompile(`fqName: "([^"]+)", help: "((?:[^"\\]|\\.)*)"`)

// MetricsHelp returns the name and help text of every metric the node can
// export (those with no sample yet included), for documentation checks.
func (n *Node) MetricsHelp() map[string]string {
	out := map[string]string{}
	ch := make(chan *prometheus.Desc, 64)
	m := n.cfg.metrics
	m.cmu.Lock()
	collectors := slices.Clone(m.collectors)
	m.cmu.Unlock()
	for _, c := range collectors {
		go func() { c.Describe(ch); ch <- nil }()
		for d := <-ch; d != nil; d = <-ch {
			if sm := descRE.FindStringSubmatch(d.String()); sm != nil {
				out[sm[1]] = sm[2]
			}
		}
	}
	return out
}

// observe counts one event.
func (m *nodeMetrics) observe(e Event) {
	switch e := e.(type) {
	case *SupervisionDecision:
		r := e.Record
		action := r.Decision.Action
		if action == errhandler.ForceCleanup && r.Decision.Then != 0 {
			action = r.Decision.Then
		}
		m.errors.WithLabelValues(kindLabel(r.Kind), r.Decision.Severity.String(), action.String()).Inc()
		if action == errhandler.Retry {
			m.restarts.WithLabelValues(kindLabel(r.Kind)).Inc()
		}
	case *TaskStatusChanged:
		key := e.RunnerID + "/" + e.TaskID
		switch e.Status {
		case exov1.TaskStatus_TASK_STATUS_PENDING:
			m.mu.Lock()
			if len(m.open) < maxOpenTasks {
				m.open[key] = e.At
			}
			m.mu.Unlock()
		case exov1.TaskStatus_TASK_STATUS_RUNNING:
		default:
			if c := m.outcomes[e.Status]; c != nil {
				c.Inc()
			} else {
				m.tasks.WithLabelValues(TaskStatusName(e.Status)).Inc()
			}
			m.mu.Lock()
			at, ok := m.open[key]
			delete(m.open, key)
			m.mu.Unlock()
			if ok {
				m.taskLatency.Observe(e.At.Sub(at).Seconds())
			}
		}
	case *RunnerStopped:
		for _, s := range e.Result.Steps {
			m.stopSteps.WithLabelValues(s.Name).Observe(s.Duration.Seconds())
		}
	case *HealthAlert:
		m.alerts.WithLabelValues(e.Severity.String(), string(e.State), alertConditionLabel(e.Condition)).Inc()
	case *Alert: // the supervisor's escalation (condition escalated)
		m.alerts.WithLabelValues(e.Severity.String(), string(AlertFiring), health.ConditionEscalated).Inc()
	}
}

func (m *nodeMetrics) setScore(id, kind string, s health.Score) {
	m.score.WithLabelValues(id, kind).Set(s.Value)
	c := s.Components
	for name, v := range map[string]float64{"process": c.Process, "status": c.Status, "resources": c.Resources, "errors": c.Errors} {
		m.component.WithLabelValues(id, kind, name).Set(v)
	}
}

// setProc sets a runner's RSS and CPU series while it has a process
// (alive), and removes them when it has none.
func (m *nodeMetrics) setProc(id, kind string, alive bool, rss uint64, cpu float64) {
	if !alive {
		m.rss.DeletePartialMatch(prometheus.Labels{"runner": id})
		m.cpu.DeletePartialMatch(prometheus.Labels{"runner": id})
		return
	}
	m.rss.WithLabelValues(id, kind).Set(float64(rss))
	m.cpu.WithLabelValues(id, kind).Set(cpu)
}

// forget removes a runner that is gone for good (bounded label sets).
func (m *nodeMetrics) forget(id string) {
	m.score.DeletePartialMatch(prometheus.Labels{"runner": id})
	m.component.DeletePartialMatch(prometheus.Labels{"runner": id})
	m.rss.DeletePartialMatch(prometheus.Labels{"runner": id})
	m.cpu.DeletePartialMatch(prometheus.Labels{"runner": id})
}

// The reason labels of exo_tasks_rejected_total that only Node.Submit
// gives (the gateway's are exported below).
const (
	rejectQueueFull    = "queue_full"
	rejectNotAvailable = "runner_not_available"
	rejectUnknown      = "unknown_runner"
	rejectNoAnswer     = "no_answer"
)

// rejectReasons are the reason labels of exo_tasks_rejected_total.
var rejectReasons = []string{rejectQueueFull, rejectNotAvailable, rejectUnknown, RejectInvalidTask, RejectShuttingDown, rejectNoAnswer, RejectGatewayLimit}

// Reasons a gateway gives RejectedSubmit for its own refusals of a remote
// Submit, before Node.Submit.
const (
	// RejectGatewayLimit: a bound of the gateway (a session's open tasks).
	RejectGatewayLimit = "gateway_limit"
	// RejectInvalidTask: a task too large, or a call_id already open.
	RejectInvalidTask = "invalid_task"
	// RejectShuttingDown: the gateway closes.
	RejectShuttingDown = "shutting_down"
)

// RejectedSubmit counts in exo_tasks_rejected_total a Submit refused
// before it reached Node.Submit, under reason (RejectGatewayLimit,
// RejectInvalidTask or RejectShuttingDown; any other is not counted): a
// node's gateway refuses some remote Submits itself, which Node.Submit
// never sees.
func (n *Node) RejectedSubmit(reason string) {
	switch reason {
	case RejectGatewayLimit, RejectInvalidTask, RejectShuttingDown:
		n.cfg.metrics.rejected.WithLabelValues(reason).Inc()
	}
}

// reject counts a Submit refused with err (nil: nothing). Before, a
// rejection left no trace on the node: a client that got ErrQueueFull
// seven times showed in no metric, no /status field and no log line (an
// SRE's trial). Not logged: a client retrying a full queue would flood
// the log.
func (m *nodeMetrics) reject(err error) {
	if err == nil {
		return
	}
	reason := rejectNoAnswer // the node did not answer in time, or the caller's ctx ended
	switch {
	case errors.Is(err, ErrQueueFull):
		reason = rejectQueueFull
	case errors.Is(err, ErrRunnerNotAvailable):
		reason = rejectNotAvailable
	case errors.Is(err, ErrUnknownRunner):
		reason = rejectUnknown
	case errors.Is(err, ErrInvalidTask):
		reason = RejectInvalidTask
	case errors.Is(err, ErrShuttingDown):
		reason = RejectShuttingDown
	}
	m.rejected.WithLabelValues(reason).Inc()
}

func (m *nodeMetrics) observeShutdown(rep ShutdownReport) {
	for ph := PhaseSignaling; ph < numPhases; ph++ {
		m.shutdownPhases.WithLabelValues(strings.ToLower(ph.String())).Set(rep.PhaseDuration[ph].Seconds())
	}
}

// watchDeadLetters counts protoactor's dead letters; the subscription ends
// with the actor system's event stream.
func (m *nodeMetrics) watchDeadLetters(system *actor.ActorSystem) {
	system.EventStream.Subscribe(func(evt interface{}) {
		if _, ok := evt.(*actor.DeadLetterEvent); ok {
			m.deadLetters.Inc()
		}
	})
}

// nodeCollector reads, at scrape time, what the node knows now: runner
// statuses, backoffs in progress, stream accounting.
type nodeCollector struct {
	node *Node

	status, backoff, restarting, generation, protoErrors           *prometheus.Desc
	published, delivered, dropped, gaps, deadLettered, subscribers *prometheus.Desc
}

func newNodeCollector(n *Node) *nodeCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(MetricsNamespace+"_"+name, help, labels, nil)
	}
	return &nodeCollector{node: n,
		status:     d("runner_status", "Runner status: 1 for the runner's current status, by status name.", "runner", "kind", "status"),
		backoff:    d("runner_backoff_seconds", "Time left before a runner waiting in backoff restarts (0 when not waiting).", "runner", "kind"),
		restarting: d("runner_restarting", "1 while a runner waits in restart backoff.", "runner", "kind"),
		generation: d("runner_generation", "A runner's process generation (1 for the first process).", "runner", "kind"),
		protoErrors: d("runner_protocol_errors_total",
			"Frames from a runner that broke the runner protocol (logged, not applied), over all its processes.", "runner", "kind"),
		published:    d("events_published_total", "Events accepted by each event stream.", "topic"),
		delivered:    d("events_delivered_total", "Events handed to subscribers, by stream.", "topic"),
		dropped:      d("events_dropped_total", "Events dropped from full subscriber buffers (each inside a Gap), by stream.", "topic"),
		gaps:         d("events_gaps_total", "Gap events handed to subscribers, by stream.", "topic"),
		deadLettered: d("events_dead_lettered_total", "Publish attempts refused because the stream was closed, by stream.", "topic"),
		subscribers:  d("events_subscribers", "Live subscribers of each stream.", "topic"),
	}
}

// Describe implements prometheus.Collector.
func (c *nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.status, c.backoff, c.restarting, c.generation, c.protoErrors, c.published, c.delivered, c.dropped, c.gaps, c.deadLettered, c.subscribers} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *nodeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if infos, err := c.node.Runners(ctx); err == nil {
		for _, in := range infos {
			ch <- prometheus.MustNewConstMetric(c.status, prometheus.GaugeValue, 1, in.ID, in.Kind, protocol.StatusName(in.Status.GetKind()))
			r, left := 0.0, 0.0
			if in.Restarting {
				r, left = 1, in.RestartIn.Seconds()
			}
			ch <- prometheus.MustNewConstMetric(c.restarting, prometheus.GaugeValue, r, in.ID, in.Kind)
			ch <- prometheus.MustNewConstMetric(c.backoff, prometheus.GaugeValue, left, in.ID, in.Kind)
			ch <- prometheus.MustNewConstMetric(c.generation, prometheus.GaugeValue, float64(in.Generation), in.ID, in.Kind)
			ch <- prometheus.MustNewConstMetric(c.protoErrors, prometheus.CounterValue, float64(in.ProtocolErrors), in.ID, in.Kind)
		}
	}
	for topic, s := range c.node.StreamStats() {
		ch <- prometheus.MustNewConstMetric(c.published, prometheus.CounterValue, float64(s.Published), topic)
		ch <- prometheus.MustNewConstMetric(c.delivered, prometheus.CounterValue, float64(s.Delivered), topic)
		ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(s.GapDropped), topic)
		ch <- prometheus.MustNewConstMetric(c.gaps, prometheus.CounterValue, float64(s.GapEvents), topic)
		ch <- prometheus.MustNewConstMetric(c.deadLettered, prometheus.CounterValue, float64(s.DeadLettered), topic)
		ch <- prometheus.MustNewConstMetric(c.subscribers, prometheus.GaugeValue, float64(s.Subscribers), topic)
	}
}

// Metrics returns the node's Prometheus registry (its own, never the
// global one): serve it with promhttp.HandlerFor. docs/operations.md lists
// every metric.
func (n *Node) Metrics() *prometheus.Registry { return n.cfg.metrics.reg }

// unsetGauge is a gauge with no sample until its first Set: a node's score
// read 0 (an unhealthy node to any alert on it) before the monitor's first
// check, and for good with the monitor disabled.
type unsetGauge struct {
	desc *prometheus.Desc
	mu   sync.Mutex
	set  bool
	v    float64
}

func newUnsetGauge(d *prometheus.Desc) *unsetGauge { return &unsetGauge{desc: d} }

// Set sets the value; from then on it is exported.
func (g *unsetGauge) Set(v float64) {
	g.mu.Lock()
	g.v, g.set = v, true
	g.mu.Unlock()
}

// Describe implements prometheus.Collector.
func (g *unsetGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *unsetGauge) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	v, set := g.v, g.set
	g.mu.Unlock()
	if set {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
	}
}
