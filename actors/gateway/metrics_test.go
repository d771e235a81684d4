package gateway_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestGatewayMetrics: the gateway's counts are on its node's registry while
// it runs (exo_gateway_*, docs/operations.md), lint-clean, and gone after
// its Close.
func TestGatewayMetrics(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwSubscribe{CallId: 2, Topic: "tasks"})
	if _, ok := f.next(t).(*exov1.GwSubscribed); !ok {
		t.Fatal("no GwSubscribed")
	}
	// The relay answers GwSubscribed from its own goroutine, and may do so
	// before the gateway's actor counts the subscription (a clean-clone CI
	// read the gauge at 0): wait for the count.
	pollUntil(t, "the subscription counted", func() bool { return f.gw.Stats().Subscriptions >= 1 })
	want := `
# HELP exo_gateway_sessions Client sessions open on the node's gateway.
# TYPE exo_gateway_sessions gauge
exo_gateway_sessions 1
# HELP exo_gateway_subscriptions Stream subscriptions of the gateway's clients.
# TYPE exo_gateway_subscriptions gauge
exo_gateway_subscriptions 1
# HELP exo_gateway_sessions_ended_total Client sessions that ended, by why: a goodbye (or the gateway's stop), or the client's loss.
# TYPE exo_gateway_sessions_ended_total counter
exo_gateway_sessions_ended_total{reason="bye"} 0
exo_gateway_sessions_ended_total{reason="lost"} 0
`
	if err := testutil.GatherAndCompare(f.node.Metrics(), strings.NewReader(want),
		"exo_gateway_sessions", "exo_gateway_subscriptions", "exo_gateway_sessions_ended_total"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(f.node.Metrics(), "exo_gateway_open_tasks", "exo_gateway_spawns_unconfirmed_total"); err != nil || n != 2 {
		t.Errorf("open tasks and unconfirmed spawns: %d series, %v; want 2", n, err)
	}
	problems, err := testutil.GatherAndLint(f.node.Metrics(), "exo_gateway_sessions", "exo_gateway_subscriptions",
		"exo_gateway_open_tasks", "exo_gateway_sessions_ended_total", "exo_gateway_spawns_unconfirmed_total")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	if _, ok := f.node.MetricsHelp()["exo_gateway_sessions"]; !ok {
		t.Error("MetricsHelp does not name exo_gateway_sessions")
	}

	f.gw.Close()
	if n, err := testutil.GatherAndCount(f.node.Metrics(), "exo_gateway_sessions"); err != nil || n != 0 {
		t.Errorf("after Close: %d exo_gateway_sessions series, %v; want none", n, err)
	}
	if _, ok := f.node.MetricsHelp()["exo_gateway_sessions"]; ok {
		t.Error("after Close, MetricsHelp still names exo_gateway_sessions")
	}
}
