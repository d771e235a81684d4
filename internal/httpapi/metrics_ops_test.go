package httpapi_test

import (
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// A fresh node (no runner, no event yet) already exports every labelled
// counter at 0 for the label values known in advance, so increase() sees a
// node's first alert, error, restart or webhook result; it also exports the
// gauge of active alerts, the Go and process collectors (open fds, RSS),
// exo_build_info, and task-duration buckets up to 30 minutes. Before, the
// labelled counters appeared only at their first increment (SRE trial).
func TestMetricsOnAFreshNode(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Health.Webhook = actors.WebhookConfig{URL: "http://127.0.0.1:9/never"}
	})
	srv := httptest.NewServer(httpapi.Handler(n.Node, actors.HTTPConfig{}))
	defer srv.Close()
	n.awaitChecks(t, 1)
	code, body := get(t, srv.URL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`exo_alerts_total{condition="escalated",severity="CRITICAL",state="firing"} 0`,
		`exo_alerts_total{condition="persistent_failure",severity="CRITICAL",state="firing"} 0`,
		`exo_alerts_total{condition="node_persistent_failure",severity="CRITICAL",state="firing"} 0`,
		`exo_alerts_total{condition="unhealthy",severity="HIGH",state="firing"} 0`,
		`exo_alerts_total{condition="error:signal",severity="HIGH",state="firing"} 0`,
		`exo_errors_total{action="ESCALATE",kind="exec_not_found",severity="CRITICAL"} 0`,
		`exo_errors_total{action="RETRY",kind="signal",severity="HIGH"} 0`,
		`exo_errors_total{action="ESCALATE",kind="signal",severity="CRITICAL"} 0`, // restart intensity exceeded
		`exo_runner_restarts_total{reason="signal"} 0`,
		`exo_runner_restarts_total{reason="hang"} 0`,
		`exo_alert_webhook_total{result="sent"} 0`,
		`exo_alert_webhook_total{result="failed"} 0`,
		`exo_alert_webhook_total{result="dropped"} 0`,
		`exo_health_recoveries_total{outcome="stopped"} 0`,
		`exo_health_recoveries_total{outcome="degraded"} 0`, // a restarted runner that settled at degraded
		`exo_health_recovery_steps_total{outcome="requested",step="force_restart"} 0`,
		`exo_tasks_total{outcome="Failed"} 0`,
		`exo_alerts_active{condition="persistent_failure",severity="CRITICAL"} 0`,
		`exo_alerts_active{condition="escalated",severity="CRITICAL"} 0`,
		`exo_build_info{goversion="` + runtime.Version() + `",version="` + actors.Version + `"} 1`,
		`exo_task_duration_seconds_bucket{le="1800"} 0`,
		`process_open_fds `,
		`process_max_fds `,
		`process_resident_memory_bytes `,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics of a fresh node lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
	problems, err := testutil.GatherAndLint(n.Metrics())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "exo_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}

// Without a webhook the webhook's results are not pre-initialised: a node
// with no webhook does not look like one whose webhook never sent.
func TestMetricsNoWebhookNoWebhookSeries(t *testing.T) {
	n := startNode(t)
	if c, err := testutil.GatherAndCount(n.Metrics(), "exo_alert_webhook_total"); err != nil || c != 0 {
		t.Errorf("exo_alert_webhook_total series without a webhook: %d, %v", c, err)
	}
}

// TestNodeScoreHasNoSampleWithoutACheck: exo_node_health_score has no
// sample with the monitor disabled, nor before its first check, and one
// from the first check on. Before, it read 0 (an unhealthy node to any
// alert on it) for good with the monitor disabled, and at each start (a
// review).
func TestNodeScoreHasNoSampleWithoutACheck(t *testing.T) {
	count := func(n *testNode) int {
		t.Helper()
		c, err := testutil.GatherAndCount(n.Metrics(), "exo_node_health_score")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	off := startNode(t, func(c *actors.NodeConfig) { c.Health.Disabled = true })
	if c := count(off); c != 0 {
		t.Errorf("monitor disabled: %d exo_node_health_score samples, want none", c)
	}
	slow := startNode(t, func(c *actors.NodeConfig) { c.Health.Config.Interval = time.Hour })
	if c := count(slow); c != 0 {
		t.Errorf("before the first check: %d exo_node_health_score samples, want none", c)
	}
	on := startNode(t)
	on.awaitChecks(t, 1)
	if c := count(on); c != 1 {
		t.Errorf("after a check: %d exo_node_health_score samples, want 1", c)
	}
}

// TestStatusWithoutTheMonitorHasNoScore: with the monitor disabled, the
// tree's node carries no score (it had "score 0" beside level "unknown"),
// and each runner has failures_in_window (0: unchecked).
func TestStatusWithoutTheMonitorHasNoScore(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Health.Disabled = true })
	doc, err := httpapi.BuildStatus(ctxT(t), n.Node)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Node.Level != "unknown" || doc.Tree.Score != nil {
		t.Errorf("node level %q, tree score %v; want unknown and none", doc.Node.Level, doc.Tree.Score)
	}
}
