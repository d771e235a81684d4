package cli

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
)

// A node config's "health" section sets the health monitor (RSS and CPU
// limits, interval, recovery, node shutdown share, thresholds) and the
// webhook's limits, and "retention" the removed runners kept. Before, a
// "health" key was refused (`unknown field "health" at the top level`,
// exit 2): RSSLimit/CPULimit were always off on nodes.
func TestParseNodeConfigHealth(t *testing.T) {
	c, err := parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}},
		"health": {"interval": "2s", "healthy": 0.9, "degraded": 0.6, "heartbeat_grace": "500ms", "heartbeat_limit": "3s",
			"rss_limit": "8GiB", "cpu_limit": 1.5, "proc_interval": "3s", "error_window": "10m", "error_budget": 7,
			"unhealthy_checks": 4, "max_recoveries": 2, "recovery_window": "30m", "node_shutdown_share": 0.5,
			"webhook": {"timeout": "5s", "retries": 0, "retry_delay": "1s", "queue": 256}},
		"retention": {"keep_removed": 32, "removed_ttl": "15m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	hc := nodeHealthConfig(nodeOptions{name: "node-h", http: httpOpts{webhook: "http://127.0.0.1:9/a"}}, c)
	s := hc.HealthSettings
	if s.Interval != 2*time.Second || s.Healthy != 0.9 || s.Degraded != 0.6 || s.HeartbeatGrace != 500*time.Millisecond ||
		s.HeartbeatLimit != 3*time.Second || s.RSSLimit != 8<<30 || s.CPULimit != 1.5 || s.ProcInterval != 3*time.Second ||
		s.ErrorWindow != 10*time.Minute || s.ErrorBudget != 7 || s.UnhealthyChecks != 4 || s.MaxRecoveries != 2 ||
		s.RecoveryWindow != 30*time.Minute || s.NodeShutdownShare != 0.5 || s.Disabled {
		t.Errorf("health settings %+v", s)
	}
	w := hc.Webhook
	if w.URL != "http://127.0.0.1:9/a" || w.Node != "node-h" || w.Timeout != 5*time.Second || w.Retries != -1 ||
		w.RetryDelay != time.Second || w.Queue != 256 {
		t.Errorf("webhook %+v (retries 0 in the file means none: -1)", w)
	}
	if !hc.HTTP.NoRunnersNeeded {
		t.Error("the node's /readyz must not wait for runners")
	}
	if r := c.health.retention; r.KeepRemoved != 32 || r.RemovedTTL != 15*time.Minute {
		t.Errorf("retention %+v", r)
	}

	// Left out: every field zero (its default), as before.
	c, err = parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}}, "health": {"rss_limit": "512MiB"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.health.settings; s.RSSLimit != 512<<20 || s.Interval != 0 || s.NodeShutdownShare != 0 || c.health.webhook.Retries != 0 {
		t.Errorf("one key: %+v %+v", s, c.health.webhook)
	}
	c, err = parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}}, "health": {"disabled": true}, "retention": {"keep_removed": 0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !c.health.settings.Disabled || c.health.retention.KeepRemoved != -1 {
		t.Errorf("disabled / keep none: %+v %+v", c.health.settings, c.health.retention)
	}
}

func TestParseNodeConfigHealthErrors(t *testing.T) {
	const k = `{"kinds": {"echo": {"command": "x"}}, `
	for _, tc := range []struct{ in, want string }{
		{k + `"health": {"interval": "often"}}`, `health.interval: "often" is not a duration (want e.g. "10s")`},
		{k + `"health": {"interval": "0s"}}`, `health.interval: "0s": want a positive duration`},
		{k + `"health": {"interval": 5}}`, `health.interval: want a duration string, e.g. "10s", got a JSON number`},
		{k + `"health": {"recovery_window": "-1m"}}`, `health.recovery_window: "-1m": want a positive duration`},
		{k + `"health": {"rss_limit": "lots"}}`, `health.rss_limit "lots": want a positive size like "8GiB"`},
		{k + `"health": {"rss_limit": 1024}}`, `health.rss_limit: want a string, got a JSON number`},
		{k + `"health": {"cpu_limit": -1}}`, `health.cpu_limit -1: want 0 (off) or a positive share of one core`},
		{k + `"health": {"node_shutdown_share": 1.5}}`, `health.node_shutdown_share 1.5: want 0 (off) or a share in (0, 1]`},
		{k + `"health": {"healthy": 0.4}}`, `health: degraded 0.5 must be below healthy 0.4`},
		{k + `"health": {"healthy": 0}}`, `health.healthy 0: want a score in (0, 1]`},
		{k + `"health": {"unhealthy_checks": -1}}`, `health.unhealthy_checks -1: want 1 or more`},
		{k + `"health": {"heartbeat_grace": "2s", "heartbeat_limit": "1s"}}`, `health.heartbeat_limit (1s) must be above health.heartbeat_grace (2s): the age at which a heartbeat counts as silent comes after the age still fresh; raise health.heartbeat_limit above 2s (e.g. 4s), or set health.heartbeat_grace lower`},
		// The grace left out: the error says it is the default, and which
		// (trial-sre7: the docs named only the 2 × interval rule).
		{k + `"health": {"heartbeat_limit": "1s"}}`, `health.heartbeat_limit (1s) must be above health.heartbeat_grace (1s, its default: max(1s, timeouts.heartbeat_interval)): the age`},
		// Against the runners' heartbeat interval (before: exit 1 from
		// exo.New, "Health.HeartbeatGrace (1s) must be at least
		// Timeouts.HeartbeatInterval (2s)").
		{k + `"timeouts": {"heartbeat_interval": "2s", "heartbeat_timeout": "10s"}, "health": {"heartbeat_grace": "1s"}}`,
			`health.heartbeat_grace (1s) must be at least timeouts.heartbeat_interval (2s): a runner that heartbeats on time would lose score between two heartbeats; raise health.heartbeat_grace to 2s or more (or leave it out for its default), or lower timeouts.heartbeat_interval`},
		{k + `"timeouts": {"heartbeat_interval": "2s", "heartbeat_timeout": "10s"}, "health": {"heartbeat_limit": "3s"}}`,
			`health.heartbeat_limit (3s) must be at least 2 × timeouts.heartbeat_interval (2s): a runner that heartbeats on time would score 0 (unhealthy) after a single late heartbeat and be restarted; raise health.heartbeat_limit to 4s or more (or leave it out for its default), or lower timeouts.heartbeat_interval to 1.5s or less`},
		{k + `"health": {"webhook": {"retries": -1}}}`, `health.webhook.retries -1: want 0 (no retry) to 100`},
		{k + `"health": {"webhook": {"queue": -3}}}`, `health.webhook.queue -3`},
		{k + `"health": {"webhook": {"timeout": "2"}}}`, `health.webhook.timeout: "2" is not a duration`},
		{k + `"health": {"webhook": {"url": "http://x"}}}`, `unknown field "url" in health.webhook: the fields there are timeout, retries, retry_delay, queue`},
		{k + `"health": {"rss": "1GiB"}}`, `unknown field "rss" in health: the fields there are disabled, interval, healthy, degraded, heartbeat_grace, heartbeat_limit, rss_limit, cpu_limit, proc_interval, error_window, error_budget, unhealthy_checks, max_recoveries, recovery_window, node_shutdown_share, webhook (did you mean "rss_limit"?)`},
		{k + `"health": {"interval": "1s", "interval": "2s"}}`, `duplicate key "interval" in health`},
		{k + `"health": {"webhook": {"queue": 1, "Queue": 2}}}`, `duplicate key "Queue" in health.webhook`},
		{k + `"retention": {"keep_removed": -1}}`, `retention.keep_removed -1: want 0 (keep none) or more`},
		{k + `"retention": {"removed_ttl": "forever"}}`, `retention.removed_ttl: "forever" is not a duration`},
		{k + `"retention": {"ttl": "1h"}}`, `unknown field "ttl" in retention: the fields there are keep_removed, removed_ttl`},
		{k + `"health": []}`, `health: want a JSON object, got a JSON array`},
	} {
		_, err := parseNodeConfig(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", tc.in, err, tc.want)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
	}{{"1024", 1024}, {"8GiB", 8 << 30}, {"512MiB", 512 << 20}, {"1.5GiB", 3 << 29}, {"2GB", 2e9}, {"10 KiB", 10240}, {"7B", 7}} {
		if got, err := parseBytes(c.in); err != nil || got != c.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "0", "-1GiB", "GiB", "1XB", "NaN", "Inf", "1e30GiB", "0.1B"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("parseBytes(%q) accepted", in)
		}
	}
}

// healthValidate runs the health monitor's own validation on what the
// config's "health" section set.
func healthValidate(c *nodeConfig) error {
	s := c.health.settings
	hc := health.Config{Disabled: s.Disabled, Interval: s.Interval, Healthy: s.Healthy, Degraded: s.Degraded,
		HeartbeatGrace: s.HeartbeatGrace, HeartbeatLimit: s.HeartbeatLimit, RSSLimit: s.RSSLimit, CPULimit: s.CPULimit,
		ProcInterval: s.ProcInterval, TrendSamples: s.TrendSamples, ErrorWindow: s.ErrorWindow, ErrorBudget: s.ErrorBudget,
		UnhealthyChecks: s.UnhealthyChecks, MaxRecoveries: s.MaxRecoveries, RecoveryWindow: s.RecoveryWindow,
		NodeShutdownShare: s.NodeShutdownShare, History: s.History}
	return hc.WithDefaults(c.timeouts.WithDefaults().HeartbeatTimeout).Validate()
}

// Every key of the "health", "health.webhook" and "retention" sections is
// in docs/remote.md's node config table and docs/operations.md's node
// paragraph, and every key docs/remote.md lists for "health" exists.
func TestNodeConfigHealthKeysDocumented(t *testing.T) {
	remote, err := os.ReadFile("../../docs/remote.md")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	row := func(doc []byte, key string) string {
		for _, l := range strings.Split(string(doc), "\n") {
			if strings.HasPrefix(l, "| `"+key+"` |") {
				return l
			}
		}
		return ""
	}
	healthRow, retentionRow := row(remote, "health"), row(remote, "retention")
	if healthRow == "" || retentionRow == "" {
		t.Fatal(`docs/remote.md has no "health" or "retention" row in the node config table`)
	}
	for _, k := range append(jsonKeys(reflect.TypeOf(nodeHealth{})), jsonKeys(reflect.TypeOf(nodeWebhook{}))...) {
		if !strings.Contains(healthRow, k) {
			t.Errorf("docs/remote.md's health row lacks %q", k)
		}
		if !strings.Contains(string(ops), "`"+k+"`") {
			t.Errorf("docs/operations.md does not name health key %q", k)
		}
	}
	for _, k := range jsonKeys(reflect.TypeOf(nodeRetention{})) {
		if !strings.Contains(retentionRow, k) {
			t.Errorf("docs/remote.md's retention row lacks %q", k)
		}
	}
}
