package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/httpapi"
)

func sampleStatus() *httpapi.StatusDoc {
	score := 0.42
	return &httpapi.StatusDoc{Schema: httpapi.Schema, At: time.Unix(0, 0),
		Node: httpapi.NodeStatus{State: "running", Score: 0.71, Level: "degraded", Checks: 12, Runners: 2, Ready: 1},
		Tree: &httpapi.TreeNode{Name: "node", Kind: "node", State: "running", Children: []*httpapi.TreeNode{
			{Name: "node/health", Kind: "health", State: "running"},
			{Name: "node/runners", Kind: "runners", State: "running", Children: []*httpapi.TreeNode{
				{Name: "runner-llama-aaaaaa", Kind: "runner", State: "Ready", Score: &score}}}}},
		Runners: []httpapi.RunnerStatus{{ID: "llama-aaaaaa", Generation: 2, Status: "Running", Health: "live", Score: 0.42,
			Level: "unhealthy", Components: health.Components{Process: 0.1, Status: 1, Resources: 1, Errors: 0.5}, Restarts: 1, FailuresInWindow: 2,
			NextBackoffS: 0.4, Reason: "heartbeat 2s old (limit 2.5s)",
			Recoveries: []health.Recovery{{ID: 1, Score: 0, Reason: "no heartbeat", Outcome: "succeeded",
				Steps: []health.RecoveryStep{{Name: "reset_resources", Outcome: "skipped"}, {Name: "force_restart", Outcome: "ok"}}}}}},
		Alerts: []health.ActiveAlert{{AlertKey: health.AlertKey{RunnerID: "llama-aaaaaa", Condition: "unhealthy"}, Severity: 3, Reason: "unhealthy: no heartbeat"}},
	}
}

func TestStatusCommand(t *testing.T) {
	doc := sampleStatus()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	var stdout, stderr bytes.Buffer
	if code := Main([]string{"status", "--addr", addr}, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"node running  score 0.710 degraded  runners 2 (1 ready)  persistently failed 0  checks 12",
		"└── node/runners  running",
		"    └── runner-llama-aaaaaa  Ready  score 0.420",
		"llama-aaaaaa  2    Running  live    0.420  unhealthy  0.10  1.00  1.00  0.50  2       1         400ms",
		"recovery 1 of llama-aaaaaa (score 0.000, no heartbeat): reset_resources:skipped, force_restart:ok → succeeded",
		"HIGH     llama-aaaaaa       unhealthy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	stdout.Reset()
	if code := Main([]string{"status", "--addr", addr, "--json"}, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Fatalf("--json: exit %d: %s", code, stderr.String())
	}
	var back httpapi.StatusDoc
	if err := json.Unmarshal(stdout.Bytes(), &back); err != nil || back.Schema != httpapi.Schema {
		t.Errorf("--json output is not the document: %v\n%s", err, stdout.String())
	}
}

func TestStatusErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	dead := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()
	// A node frozen by SIGSTOP: the kernel completes the TCP handshake
	// (the connection waits in the listener's backlog) and nothing ever
	// answers. A listener nobody accepts from is the same from outside.
	frozen, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer frozen.Close()
	silent := frozen.Addr().String()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"status"}, ExitUsage, "--addr is required"},
		// Given empty, not "required" (a review: the operator gave it).
		{[]string{"status", "--addr", ""}, ExitUsage, `--addr "" is empty (a variable that expanded to nothing?): give the node's HTTP address`},
		{[]string{"status", "--addr", "9464"}, ExitUsage, `--addr: HTTP address "9464": want host:port`},
		{[]string{"status", "--addr", dead}, ExitFailure, "cannot reach http://" + dead + "/status"},
		{[]string{"status", "--addr", dead}, ExitFailure, "(is a node serving HTTP there? start one with exo-actors node --http " + dead + " (or exo-actors demo --http " + dead + "))"},
		{[]string{"status", "--addr", silent, "--timeout", "300ms"}, ExitFailure, "exo-actors: " + silent + " accepted the connection but did not answer GET /status within --timeout (300ms): the node may be frozen (e.g. SIGSTOP) or overloaded; check the node's process, or raise --timeout\n"},
		{[]string{"status", "--addr", strings.TrimPrefix(srv.URL, "http://")}, ExitFailure, "answered 503 Service Unavailable: boom"},
	} {
		var stdout, stderr bytes.Buffer
		code := Main(c.args, strings.NewReader(""), &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

// A connect that did not finish within --timeout (a host that drops
// packets) is told apart from a refused one and a silent one; no test
// sends packets off this host, so the text is checked here.
func TestStatusUnreachableTexts(t *testing.T) {
	const url, addr = "http://10.0.0.9:9464/status", "10.0.0.9:9464"
	refused := errors.New(`Get "http://10.0.0.9:9464/status": dial tcp 10.0.0.9:9464: connect: connection refused`)
	for _, c := range []struct {
		name                string
		connected, timedOut bool
		want                string
	}{
		{"refused", false, false, "cannot reach " + url + ": " + refused.Error() + " (is a node serving HTTP there? start one with exo-actors node --http " + addr + " (or exo-actors demo --http " + addr + "))"},
		{"connect timed out", false, true, "cannot reach " + url + ": the connection to " + addr + " was not made within --timeout (2s): the host may be unreachable or drop packets; check the address, or raise --timeout"},
		{"silent", true, true, addr + " accepted the connection but did not answer GET /status within --timeout (2s): the node may be frozen (e.g. SIGSTOP) or overloaded; check the node's process, or raise --timeout"},
	} {
		if got := statusUnreachable(url, addr, 2*time.Second, c.connected, c.timedOut, refused).Error(); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

// demo --http: a runner made to hang is recovered by the health monitor,
// and `exo-actors status` reads the node while the endpoints are held up.
func TestDemoHTTPHangRecovered(t *testing.T) {
	cmd, out, stderr := runDemoProcess(t, "--layer-delay", "0s", "--token-delay", "1ms", "--http", "127.0.0.1:0", "--hold", "1m")
	head := readUntil(t, out, "== HTTP endpoints on http://")
	if strings.Contains(head, "== starting") {
		// The endpoints serve from the start: their address comes first, so
		// that the SIGKILL and the escalation can be scraped too (a trial got
		// it at 4 s, after them).
		t.Errorf("the address comes after the scenario started:\n%s", head)
	}
	i := strings.Index(head, "exo-actors status --addr ")
	if i < 0 {
		t.Fatalf("no address in:\n%s", head)
	}
	addr := strings.TrimSuffix(strings.Fields(head[i+len("exo-actors status --addr "):])[0], ")")
	line := readUntil(t, out, "== holding for")
	for _, want := range []string{"→ unhealthy, score 0.000 (no heartbeat for", "ALERT HIGH unhealthy firing",
		"FAILURE detected by health", "decision: HIGH FORCE_CLEANUP then RETRY", "recovery 1: reset_resources skipped, force_restart requested, force_restart ok → succeeded"} {
		if !strings.Contains(line, want) {
			t.Errorf("demo output lacks %q:\n%s", want, line)
		}
	}
	var stdout, serr bytes.Buffer
	if code := Main([]string{"status", "--addr", addr}, strings.NewReader(""), &stdout, &serr); code != ExitOK {
		t.Errorf("status: exit %d: %s", code, serr.String())
	}
	if !strings.Contains(stdout.String(), "recovery 1 of ") || !strings.Contains(stdout.String(), "└── node/runners  running") {
		t.Errorf("status output:\n%s", stdout.String())
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var m bytes.Buffer
	_, _ = m.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(m.String(), `exo_runner_restarts_total{reason="unhealthy"} 1`) {
		t.Errorf("/metrics does not count the health restart:\n%s", m.String())
	}
	_ = cmd.Process.Signal(syscall.SIGINT) // ends the hold: graceful shutdown, exit 1 (interrupted)
	rest := new(bytes.Buffer)
	_, _ = rest.ReadFrom(out)
	if code := waitExit(t, cmd); code != ExitFailure || !strings.Contains(rest.String(), "shutdown report: total") {
		t.Errorf("exit %d; stderr %s\n%s", code, stderr.String(), rest.String())
	}
}

// TestStatusAcceptsHTTPURL: --addr takes the http:// URL the demo and the
// node print (it was refused: "want host:port … too many colons"); a path,
// another scheme or a query is a usage error saying what to give.
func TestStatusAcceptsHTTPURL(t *testing.T) {
	doc := sampleStatus()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()
	for _, addr := range []string{srv.URL, srv.URL + "/", "HTTP://" + strings.TrimPrefix(srv.URL, "http://")} {
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"status", "--addr", addr}, strings.NewReader(""), &stdout, &stderr); code != ExitOK ||
			!strings.Contains(stdout.String(), "node running  score 0.710 degraded") {
			t.Errorf("--addr %s: exit %d, stderr %q, stdout:\n%s", addr, code, stderr.String(), stdout.String())
		}
	}
	hp := strings.TrimPrefix(srv.URL, "http://")
	for _, c := range []struct{ addr, want string }{
		{srv.URL + "/status", `exo-actors: --addr "` + srv.URL + `/status": want the node's address without a path, e.g. http://` + hp + ` (status asks for /status itself) (see 'exo-actors status --help')` + "\n"},
		{srv.URL + "?x=1", `exo-actors: --addr "` + srv.URL + `?x=1": want the node's address without a path, e.g. http://` + hp + ` (status asks for /status itself) (see 'exo-actors status --help')` + "\n"},
		{"https://" + hp, `exo-actors: --addr "https://` + hp + `": scheme "https": the endpoints speak plain HTTP; want host:port or http://host:port, e.g. 127.0.0.1:9464 (see 'exo-actors status --help')` + "\n"},
		{"http://127.0.0.1", `exo-actors: --addr: HTTP address "127.0.0.1": want host:port, e.g. 127.0.0.1:9464 (missing port in address) (see 'exo-actors status --help')` + "\n"},
		// Without the scheme a path is refused the same way (it was "port
		// \"PORT/status\": want a number"), and port 0 (a listener's "any
		// free port") names no node (it advised "start one with exo-actors
		// node --http 127.0.0.1:0").
		{hp + "/status", `exo-actors: --addr "` + hp + `/status": want the node's address without a path, e.g. ` + hp + ` (status asks for /status itself) (see 'exo-actors status --help')` + "\n"},
		{hp + "?x=1", `exo-actors: --addr "` + hp + `?x=1": want the node's address without a path, e.g. ` + hp + ` (status asks for /status itself) (see 'exo-actors status --help')` + "\n"},
		{"127.0.0.1:0", `exo-actors: --addr "127.0.0.1:0": port 0 names no node (it means "any free port" to exo-actors node --http); give the port the node printed ("HTTP endpoints on http://HOST:PORT") (see 'exo-actors status --help')` + "\n"},
		{"http://127.0.0.1:0/", `exo-actors: --addr "http://127.0.0.1:0/": port 0 names no node (it means "any free port" to exo-actors node --http); give the port the node printed ("HTTP endpoints on http://HOST:PORT") (see 'exo-actors status --help')` + "\n"},
		{":x", `exo-actors: --addr ":x": port "x": want the node's HTTP port, a number from 1 to 65535 (see 'exo-actors status --help')` + "\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"status", "--addr", c.addr}, strings.NewReader(""), &stdout, &stderr); code != ExitUsage || stderr.String() != c.want {
			t.Errorf("--addr %s: exit %d, stderr %q; want exit %d and %q", c.addr, code, stderr.String(), ExitUsage, c.want)
		}
	}
}

// TestStatusHeaderCountsRemoved: a node whose only runner was stopped
// lists it in the table (retention keeps it), and the header says so
// instead of "runners 0" alone above a table of one.
func TestStatusHeaderCountsRemoved(t *testing.T) {
	doc := sampleStatus()
	doc.Node.Runners, doc.Node.Ready, doc.Node.Removed = 0, 0, 1
	doc.Runners[0].Status, doc.Runners[0].Health = "Shutdown", "stopped"
	var b bytes.Buffer
	printStatus(&b, doc)
	want := "node running  score 0.710 degraded  runners 0 (0 ready)  persistently failed 0  removed 1 (stopped or retired, still listed)  checks 12\n"
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("header %q, want %q", firstLine(b.String()), want)
	}
	b.Reset()
	printStatus(&b, sampleStatus())
	if strings.Contains(firstLine(b.String()), "removed") {
		t.Errorf("header %q names removed runners when there are none", firstLine(b.String()))
	}
}

// TestStatusSaysProtocolErrors: a runner that broke the runner protocol
// (its frames logged and ignored, its tasks passing) is named under the
// table; none is named when there is none.
func TestStatusSaysProtocolErrors(t *testing.T) {
	doc := sampleStatus()
	doc.Runners[0].ProtocolErrors, doc.Runners[0].LifecycleErrors = 3, 1
	var b bytes.Buffer
	printStatus(&b, doc)
	for _, want := range []string{
		"runner llama-aaaaaa broke the runner protocol 3 times: the node's log names each (docs/protocol.md); its program needs a fix\n",
		"runner llama-aaaaaa: 1 illegal transition of its actor's lifecycle (a bug in exo-actors, logged at error: please report it with the node's log)\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printStatus(&b, sampleStatus())
	if strings.Contains(b.String(), "protocol") || strings.Contains(b.String(), "lifecycle") {
		t.Errorf("a runner without protocol or lifecycle errors is said to have some:\n%s", b.String())
	}
}

// TestStatusCutsALongStatus: a runner's status of 200 characters (a
// Failed reason) is cut in the tree and the table, so that the table's
// rows stay as wide as their other cells, and said in full under the
// table. Before, the STATUS column took the longest reason's width and
// every row wrapped (a new user's trial).
func TestStatusCutsALongStatus(t *testing.T) {
	doc := sampleStatus()
	long := "Failed(" + strings.Repeat("frame 19 at byte 283: stdout is not frames ", 5) + ")"
	doc.Runners[0].Status = long
	doc.Tree.Children[1].Children[0].State = long
	var b bytes.Buffer
	printStatus(&b, doc)
	out := b.String()
	if strings.Count(out, long) != 1 || !strings.Contains(out, "runner llama-aaaaaa status: "+long+"\n") {
		t.Errorf("the long status should be said once, in full, under the table:\n%s", out)
	}
	row := func(out string) int {
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "llama-aaaaaa ") {
				return utf8.RuneCountInString(line)
			}
		}
		t.Fatalf("no table row in:\n%s", out)
		return 0
	}
	b.Reset()
	printStatus(&b, sampleStatus()) // status "Running"
	if got, short := row(out), row(b.String()); got > short+statusCellMax {
		t.Errorf("table row of %d characters, %d with a short status; want at most %d more", got, short, statusCellMax)
	}
}

// TestStatusWithoutTheMonitor: a node whose health monitor is disabled says
// so in the header, and its unchecked runners show no numbers in the table
// and the tree. Before, the header said "no health check yet" (there would
// never be one), the tree "score 0.000", and each healthy runner "0.000
// unknown 0.00 0.00 0.00 0.00" (an operator's trial).
func TestStatusWithoutTheMonitor(t *testing.T) {
	doc := sampleStatus()
	doc.Node.Score, doc.Node.Level, doc.Node.Checks = 0, "unknown", 0
	doc.Tree.Score = nil
	doc.Tree.Children[0].State = "disabled"
	r := &doc.Runners[0]
	r.Health, r.Level, r.Score, r.Components, r.Reason, r.Status = "unchecked", "unknown", 0, health.Components{}, "", "Ready"
	r.Recoveries, doc.Alerts = nil, nil          // no monitor: none
	doc.Tree.Children[1].Children[0].Score = nil // as /status gives it
	var b bytes.Buffer
	printStatus(&b, doc)
	out := b.String()
	for _, want := range []string{
		"node running  score - unknown (health monitor disabled: no checks, no scores)",
		"llama-aaaaaa  2    Ready   unchecked  -      unknown  -     -     -    -    -       1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "0.000") {
		t.Errorf("a score of 0.000 shown for a node without the monitor:\n%s", out)
	}
}

// TestStatusHeaderUnknownScore: before the health monitor's first check
// (or without it) the node's level is unknown and its score 0; the header
// says why instead of "score 0.000 unknown", which an operator's trial read
// as a failing node right after its start.
func TestStatusHeaderUnknownScore(t *testing.T) {
	for _, c := range []struct {
		name   string
		checks uint64
		err    string
		want   string
	}{
		{"before the first check", 0, "", "score - unknown (no health check yet)"},
		{"no answer", 3, "no answer from the health monitor", "score - unknown (no answer from the health monitor)"},
		{"nothing scored", 3, "", "score - unknown (no runner scored)"},
	} {
		doc := sampleStatus()
		doc.Node.Score, doc.Node.Level, doc.Node.Checks, doc.Node.HealthError = 0, "unknown", c.checks, c.err
		var b bytes.Buffer
		printStatus(&b, doc)
		if h := firstLine(b.String()); !strings.Contains(h, "  "+c.want+"  ") || strings.Contains(h, "0.000") {
			t.Errorf("%s: header %q, want %q and no score", c.name, h, c.want)
		}
	}
}
