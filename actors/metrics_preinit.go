package actors

import (
	"context"
	"runtime"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
)

// TaskDurationBuckets are the upper bounds (seconds) of
// exo_task_duration_seconds: from 1 ms (in-process tests, cached answers)
// to 30 minutes (long LLM generations); a task longer than 30 minutes lands
// in +Inf only. docs/operations.md lists them.
var TaskDurationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800}

// fixedConditions are the alert conditions whose severity never varies,
// with the states each can take (persistent_failure and
// node_persistent_failure never resolve).
var fixedConditions = []struct {
	condition string
	severity  errhandler.Severity
	states    []AlertState
}{
	{health.ConditionDegraded, errhandler.Low, []AlertState{AlertFiring, AlertResolved}},
	{health.ConditionUnhealthy, errhandler.High, []AlertState{AlertFiring, AlertResolved}},
	{health.ConditionRecovering, errhandler.Medium, []AlertState{AlertFiring, AlertResolved}},
	{health.ConditionOverLimit, errhandler.Medium, []AlertState{AlertFiring, AlertResolved}},
	{health.ConditionPersistent, errhandler.Critical, []AlertState{AlertFiring}},
	{health.ConditionEscalated, errhandler.Critical, []AlertState{AlertFiring, AlertResolved}},
	{"node_" + health.ConditionPersistent, errhandler.Critical, []AlertState{AlertFiring}},
}

// conditionOther is the `condition` label of an error alert whose kind is
// not one of errhandler.Kinds (none on a node today): the label's values
// stay a fixed set whatever a kind string holds.
const conditionOther = health.ConditionErrorPrefix + "other"

// alertConditionLabel bounds an alert's condition for the `condition`
// label: the fixed conditions and error:<kind> for each errhandler.Kinds
// kind as they are, anything else as error:other.
func alertConditionLabel(cond string) string {
	for _, f := range fixedConditions {
		if cond == f.condition {
			return cond
		}
	}
	if k, ok := strings.CutPrefix(cond, health.ConditionErrorPrefix); ok && errhandler.Kind(k).Known() {
		return cond
	}
	return conditionOther
}

// kindLabel bounds a failure kind for the `kind` and `reason` labels.
func kindLabel(k errhandler.Kind) string {
	if k.Known() {
		return string(k)
	}
	return "other"
}

// preinit gives every label combination known in advance a 0 sample, so a
// node's first event is an increase from 0 (increase() and rate() see it)
// instead of a series born at 1. Known in advance: what the error policy's
// rules that name a kind decide (errors, restarts, error alerts; a
// restart beyond the intensity is CRITICAL ESCALATE), the fixed alert
// conditions, the recoveries' outcomes and steps, and the webhook's
// results when a webhook is configured. Combinations only the catch-all
// rules give (shutting-down, unclassified) appear at their first increment.
func (m *nodeMetrics) preinit(rules []errhandler.Rule, webhook bool) {
	for _, r := range rules {
		if r.Kind == "" {
			continue
		}
		kind := kindLabel(r.Kind)
		action := r.Action
		if action == errhandler.ForceCleanup && r.Then != 0 {
			action = r.Then
		}
		m.errors.WithLabelValues(kind, r.Severity.String(), action.String())
		if action == errhandler.Retry {
			m.restarts.WithLabelValues(kind)
			m.errors.WithLabelValues(kind, errhandler.Critical.String(), errhandler.Escalate.String())
		}
		if r.Severity < errhandler.Critical {
			for _, st := range []AlertState{AlertFiring, AlertResolved} {
				m.alerts.WithLabelValues(r.Severity.String(), string(st), health.ConditionErrorPrefix+kind)
			}
		}
	}
	for _, f := range fixedConditions {
		for _, st := range f.states {
			m.alerts.WithLabelValues(f.severity.String(), string(st), f.condition)
		}
	}
	for _, o := range health.RecoveryOutcomes() {
		m.recoveries.WithLabelValues(o)
	}
	for _, step := range []string{health.StepResetResources, health.StepForceRestart, health.StepStop} {
		for _, o := range []string{"requested", "ok", "failed", "refused"} {
			m.recoverySteps.WithLabelValues(step, o)
		}
	}
	if webhook {
		for _, r := range []string{"sent", "failed", "dropped"} {
			m.webhook.WithLabelValues(r)
		}
	}
}

// processCollectors are the Go runtime's and the process's standard
// collectors (go_*, process_*: goroutines, GC, heap, resident memory, open
// and maximum file descriptors) and exo_build_info.
func processCollectors() []prometheus.Collector {
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: MetricsNamespace, Name: "build_info",
		Help: "Always 1; its labels say which exo-actors version and Go version the node runs."}, []string{"version", "goversion"})
	build.WithLabelValues(Version, runtime.Version()).Set(1)
	return []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
	}
}

// alertsCollector exports exo_alerts_active, read at scrape time from the
// health monitor's book of active alerts; each fixed condition's series is
// there with 0 when none is active.
type alertsCollector struct {
	node   *Node
	active *prometheus.Desc
}

func newAlertsCollector(n *Node) *alertsCollector {
	return &alertsCollector{node: n, active: prometheus.NewDesc(MetricsNamespace+"_alerts_active",
		"Alerts firing now (held in /status alerts[]), by severity and condition.", []string{"severity", "condition"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *alertsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.active }

// Collect implements prometheus.Collector.
func (c *alertsCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct{ severity, condition string }
	counts := map[key]int{}
	for _, f := range fixedConditions {
		counts[key{f.severity.String(), f.condition}] = 0
	}
	if c.node.cfg.healthPID != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		rep, err := c.node.Health(ctx)
		cancel()
		if err == nil {
			for _, a := range rep.Alerts {
				counts[key{a.Severity.String(), alertConditionLabel(a.Condition)}]++
			}
		}
	}
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(v), k.severity, k.condition)
	}
}
