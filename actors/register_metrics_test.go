package actors_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestRegisterMetrics: a collector added with Node.RegisterMetrics is on
// the node's registry and in MetricsHelp until its unregister; the same
// metrics twice are refused with the registry's reason; unregister may be
// called again.
func TestRegisterMetrics(t *testing.T) {
	n := startNode(t)
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "exo_host_things", Help: "Things of the host."})
	g.Set(3)
	unreg, err := n.RegisterMetrics(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(n.Metrics(), strings.NewReader("# HELP exo_host_things Things of the host.\n# TYPE exo_host_things gauge\nexo_host_things 3\n"),
		"exo_host_things"); err != nil {
		t.Error(err)
	}
	if h := n.MetricsHelp()["exo_host_things"]; h != "Things of the host." {
		t.Errorf("MetricsHelp: %q", h)
	}
	again := prometheus.NewGauge(prometheus.GaugeOpts{Name: "exo_host_things", Help: "Things of the host."})
	if _, err := n.RegisterMetrics(again); err == nil || !strings.Contains(err.Error(), "register metrics: ") ||
		!strings.Contains(err.Error(), "duplicate") {
		t.Errorf("the same metric twice: %v; want the registry's refusal", err)
	}
	unreg()
	unreg()
	if c, err := testutil.GatherAndCount(n.Metrics(), "exo_host_things"); err != nil || c != 0 {
		t.Errorf("after unregister: %d series, %v", c, err)
	}
	if _, ok := n.MetricsHelp()["exo_host_things"]; ok {
		t.Error("after unregister, MetricsHelp still names it")
	}
	if _, err := n.RegisterMetrics(again); err != nil {
		t.Errorf("after unregister, registering it again: %v", err)
	}
}
