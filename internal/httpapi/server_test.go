package httpapi_test

import (
	"context"
	"encoding/json"
	exotest "github.com/exo-actors/exo-actors/internal/testutil"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func readyGen(id string, gen uint64) func([]actors.Event) bool {
	return func(evs []actors.Event) bool {
		for _, ev := range evs {
			if s, ok := ev.(*actors.StatusChanged); ok && s.RunnerID == id && s.Generation == gen && s.To.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
				return true
			}
		}
		return false
	}
}

type testNode struct {
	*actors.Node
	ev     *exotest.Recorder[actors.Event]
	checks chan uint64
	seen   uint64 // the last check number taken from checks
}

func startNode(t *testing.T, mod ...func(*actors.NodeConfig)) *testNode {
	t.Helper()
	ev := exotest.NewRecorder[actors.Event]()
	checks := make(chan uint64, 1024) // never closed
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	cfg := actors.NodeConfig{Logger: logger, Hook: ev.Hook, BuiltinBinary: binary, Env: append(os.Environ(), markerKey+"="+marker),
		DeadLetterThrottle: time.Millisecond,
		ErrorPolicy:        errhandler.Config{Backoff: errhandler.BackoffConfig{Base: time.Millisecond, Max: 10 * time.Millisecond}},
		Health: actors.HealthConfig{Config: health.Config{Interval: 50 * time.Millisecond}, OnCheck: func(n uint64) {
			select {
			case checks <- n:
			default:
			}
		}}}
	for _, m := range mod {
		m(&cfg)
	}
	n, err := actors.StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := n.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return &testNode{Node: n, ev: ev, checks: checks}
}

// awaitChecks waits for k health checks that began after the call. The
// channel holds every check since the node started (a slow spawn on a loaded
// machine queues dozens), and the check running now may have sampled the
// runners before the caller's event: both are skipped, so the k checks waited
// for saw the state the caller just produced. (Taking k buffered
// notifications instead read a status document from before the task ended.)
func (n *testNode) awaitChecks(t *testing.T, k int) {
	t.Helper()
	for drained := false; !drained; {
		select {
		case c := <-n.checks:
			n.seen = c
		default:
			drained = true
		}
	}
	target := n.seen + 1 + uint64(k) // +1: the check that may be under way
	for n.seen < target {
		select {
		case c := <-n.checks:
			n.seen = c
		case <-time.After(30 * time.Second):
			t.Fatalf("no health check within 30s (waiting for check %d, last %d)", target, n.seen)
		}
	}
}

var runnerArgs = []string{"--layers", "1", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "0s", "--log-level", "error"}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEndpoints(t *testing.T) {
	n := startNode(t)
	srv := httptest.NewServer(httpapi.Handler(n.Node, actors.HTTPConfig{ReadyRunners: 1}))
	defer srv.Close()

	if code, body := get(t, srv.URL+"/healthz"); code != 200 || !strings.Contains(body, `"alive": true`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 503 || !strings.Contains(body, `"ready_runners": 0`) {
		t.Errorf("/readyz without runners: %d %s", code, body)
	}
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "web", Builtin: true, Args: runnerArgs})
	if err != nil {
		t.Fatal(err)
	}
	n.ev.Wait(t, 30*time.Second, "Ready", readyGen(id, 1))
	if code, body := get(t, srv.URL+"/readyz"); code != 200 || !strings.Contains(body, `"ready": true`) {
		t.Errorf("/readyz with a Ready runner: %d %s", code, body)
	}
	h, err := n.Submit(ctx, id, actors.TaskSpec{ID: "t1", Kind: "noop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	n.awaitChecks(t, 3)

	// /status against the documented schema.
	root, err := loadSchema("status.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	code, body := get(t, srv.URL+"/status")
	if code != 200 {
		t.Fatalf("/status: %d %s", code, body)
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if errs := validate(root, root, v, "$"); len(errs) > 0 {
		t.Errorf("/status does not match status.schema.json:\n%s\n%s", strings.Join(errs, "\n"), body)
	}
	var doc httpapi.StatusDoc
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runners) != 1 || doc.Runners[0].ID != id || doc.Runners[0].Level != "healthy" || doc.Runners[0].Score < 0.8 ||
		doc.Runners[0].Tasks.Ended != 1 || doc.Node.Ready != 1 || doc.Node.Level != "healthy" {
		t.Errorf("status document: %s", body)
	}
	var kinds []string
	for _, c := range doc.Tree.Children {
		kinds = append(kinds, c.Kind)
	}
	if strings.Join(kinds, ",") != "health,streams,resources,runners" || len(doc.Tree.Children[3].Children) != 1 {
		t.Errorf("tree %+v", doc.Tree)
	}

	// A crash is counted as a restart, by reason.
	pid := doc.Runners[0].Pid
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	n.ev.Wait(t, 30*time.Second, "Ready again", readyGen(id, 2))
	n.awaitChecks(t, 2) // the decision's alert goes out at the next check
	code, body = get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`exo_runner_restarts_total{reason="signal"} 1`,
		`exo_errors_total{action="RETRY",kind="signal",severity="HIGH"} 1`,
		`exo_tasks_total{outcome="Complete"} 1`,
		`exo_task_duration_seconds_count 1`,
		`exo_runner_status{kind="web",runner="` + id + `",status="Ready"} 1`,
		`exo_runner_generation{kind="web",runner="` + id + `"} 2`,
		`exo_health_score{kind="web",runner="` + id + `"}`,
		`exo_health_component{component="process",kind="web",runner="` + id + `"}`,
		`exo_events_published_total{topic="runner-status"}`,
		`exo_alerts_total{condition="error:signal",severity="HIGH",state="firing"} 1`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
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
		if strings.HasPrefix(p.Metric, "exo_") { // go_* and process_* are the client library's
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}

// Every metric the node can export is in docs/operations.md's table, with
// help text; and the table lists nothing else.
func TestMetricsDocumented(t *testing.T) {
	n := startNode(t)
	// A node's gateway (exo-actors node) adds its own collector.
	quiet := logrus.New()
	quiet.SetOutput(io.Discard)
	gw, err := gateway.Start(gateway.Config{Name: "doc", Node: n.Node, Logger: quiet,
		Kinds: map[string]gateway.Kind{"echo": {Spec: actors.RunnerSpec{Kind: "echo", Builtin: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close) // before the node's shutdown: cleanups run last first
	help := n.MetricsHelp()
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(exo_[a-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	var names []string
	for name, h := range help {
		if !strings.HasPrefix(name, "exo_") {
			// go_* and process_*: the client library's standard
			// collectors, documented as a group.
			if !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") {
				t.Errorf("%s: neither exo_, go_ nor process_", name)
			}
			continue
		}
		names = append(names, name)
		if h == "" {
			t.Errorf("%s has no help text", name)
		}
		if !documented[name] {
			t.Errorf("%s is not in the metrics table of docs/operations.md", name)
		}
	}
	for name := range documented {
		if _, ok := help[name]; !ok {
			t.Errorf("docs/operations.md lists %s, which the node does not export", name)
		}
	}
	sort.Strings(names)
	if len(names) < 20 {
		t.Errorf("only %d metrics: %v", len(names), names)
	}
}

func TestHealthzAfterShutdown(t *testing.T) {
	n := startNode(t)
	srv := httptest.NewServer(httpapi.Handler(n.Node, actors.HTTPConfig{}))
	defer srv.Close()
	if _, err := n.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, srv.URL+"/healthz"); code != 503 || !strings.Contains(body, "shutting down") {
		t.Errorf("/healthz after shutdown: %d %s", code, body)
	}
	_, body := get(t, srv.URL+"/metrics")
	if !strings.Contains(body, `exo_shutdown_phase_seconds{phase="closing"}`) {
		t.Errorf("no shutdown phase durations after the shutdown:\n%s", body)
	}
}

func TestListenAddr(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{":9464", "127.0.0.1:9464", ""},
		{"127.0.0.1:0", "127.0.0.1:0", ""},
		{"0.0.0.0:80", "0.0.0.0:80", ""},
		{"[::1]:9", "[::1]:9", ""},
		{"9464", "", `HTTP address "9464": want host:port, e.g. 127.0.0.1:9464`},
		{"", "", `HTTP address "": want host:port`},
		// A URL is told the scheme is no part of it (it read "too many
		// colons in address": an SRE's trial).
		{"http://127.0.0.1:9464", "", `HTTP address "http://127.0.0.1:9464": want host:port, without a scheme or path, e.g. 127.0.0.1:9464 (here: 127.0.0.1:9464)`},
		// Without a port it splits, into host "http" and port
		// "//127.0.0.1": it read `port "//127.0.0.1": want a number`.
		{"http://127.0.0.1", "", `HTTP address "http://127.0.0.1": want host:port, without a scheme or path, e.g. 127.0.0.1:9464 (here: 127.0.0.1, and a port)`},
		{"https://metrics.example.com/", "", `HTTP address "https://metrics.example.com/": want host:port, without a scheme or path, e.g. 127.0.0.1:9464 (here: metrics.example.com, and a port)`},
		{"127.0.0.1:99999", "", `HTTP address "127.0.0.1:99999": port "99999": want a number from 0 to 65535 (0: any free port)`},
		{"127.0.0.1:", "", `port "": want a number`},
		{"127.0.0.1:http", "", `port "http": want a number`},
		{"127.0.0.1:-1", "", `port "-1": want a number`},
		{"127.0.0.1:65535", "127.0.0.1:65535", ""},
	} {
		got, err := httpapi.ListenAddr(c.in)
		if got != c.want || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ListenAddr(%q) = %q, %v; want %q, %q", c.in, got, err, c.want, c.err)
		}
	}
}

func TestServerStartShutdown(t *testing.T) {
	n := startNode(t)
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	s, err := httpapi.Start(n.Node, actors.HTTPConfig{Addr: "127.0.0.1:0"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, "http://"+s.Addr()+"/healthz"); code != 200 {
		t.Errorf("/healthz on %s: %d", s.Addr(), code)
	}
	if _, err := httpapi.Start(n.Node, actors.HTTPConfig{Addr: s.Addr()}, logger); err == nil || !strings.Contains(err.Error(), "listen on "+s.Addr()) {
		t.Errorf("second server on the same address: %v", err)
	}
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// Alerts reach the webhook as JSON POSTs.
func TestAlertWebhook(t *testing.T) {
	got := make(chan actors.HealthAlert, 64) // never closed
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a actors.HealthAlert
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook got %s %s", r.Method, r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		select {
		case got <- a:
		default:
		}
	}))
	defer hook.Close()
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Health.Webhook = actors.WebhookConfig{URL: hook.URL, Timeout: time.Second}
	})
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "web", Builtin: true, Args: runnerArgs})
	if err != nil {
		t.Fatal(err)
	}
	n.ev.Wait(t, 30*time.Second, "Ready", readyGen(id, 1))
	infos, err := n.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(infos[0].Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	n.ev.Wait(t, 30*time.Second, "Ready again", readyGen(id, 2))
	deadline := time.After(30 * time.Second)
	for {
		select {
		case a := <-got:
			if a.RunnerID == id && a.Condition == health.ConditionErrorPrefix+"signal" && a.Severity == errhandler.High && a.State == actors.AlertFiring {
				return
			}
		case <-deadline:
			t.Fatal("no webhook POST for the runner's HIGH error alert")
		}
	}
}

func FuzzListenAddr(f *testing.F) {
	for _, s := range []string{":9464", "127.0.0.1:0", "[::1]:9", "9464", "", "a:b:c", "[::1", "a\nb", "a\nb:1:2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := httpapi.ListenAddr(s)
		if err != nil {
			// It names the address, quoted, and is one line (a value
			// holding a newline is quoted, never written raw).
			if msg := err.Error(); !strings.HasPrefix(msg, "HTTP address "+strconv.Quote(s)) || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q does not name the address %q on one line", msg, s)
			}
			return
		}
		if _, port, err := net.SplitHostPort(got); err != nil || httpapi.CheckPort(port) != nil {
			t.Errorf("ListenAddr(%q) = %q: not a host:port of a port 0-65535 (%v)", s, got, err)
		}
		if again, err := httpapi.ListenAddr(got); err != nil || again != got {
			t.Errorf("ListenAddr(%q) = %q, not stable: %q, %v", s, got, again, err)
		}
	})
}

// TestNotAnEndpointSaysWhich: a path the server does not serve gets a
// JSON 404 naming the endpoints, and an endpoint asked with another method
// a JSON 405 with Allow (before: the mux's bare "404 page not found" and
// "Method Not Allowed", an SRE's trial).
func TestNotAnEndpointSaysWhich(t *testing.T) {
	n := startNode(t)
	srv := httptest.NewServer(httpapi.Handler(n.Node, actors.HTTPConfig{}))
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/", 404, `no endpoint \"/\" here: ask GET /healthz, /readyz, /metrics or /status`},
		{"GET", "/status/", 404, `no endpoint \"/status/\" here`},
		{"POST", "/metrics", 405, `POST /metrics: the endpoints answer GET and HEAD only; ask GET /healthz, /readyz, /metrics or /status`},
		{"DELETE", "/status", 405, `DELETE /status: the endpoints answer GET and HEAD only`},
	} {
		req, err := http.NewRequest(c.method, srv.URL+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code || !strings.Contains(string(body), c.want) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s %q, want %d and %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.code, c.want)
		}
		if c.code == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.path, resp.Header.Get("Allow"))
		}
	}
	// The endpoints themselves still answer.
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz: %d", code)
	}
}
