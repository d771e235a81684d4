package cli

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// startNodeProcess starts `exo-actors node` with a one-kind config and the
// extra args, and returns it with its stdout and stderr.
func startNodeProcess(t *testing.T, name string, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	return startNodeWithConfig(t, name, `{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "1ms"]}}}`, args...)
}

// startNodeWithConfig is startNodeProcess with the node config config.
func startNodeWithConfig(t *testing.T, name, config string, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := nodeCommand(t, name, config, "warn", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, startNodeCommand(t, cmd), &stderr
}

// nodeCommand is `exo-actors node --name name` listening on any loopback
// port, with config written to a file of the test's, at the log level
// level, and the extra args; in its own process group, killed if the test
// process dies. Set its Stderr (or take StderrPipe), then
// startNodeCommand.
func nodeCommand(t *testing.T, name, config, level string, args ...string) *exec.Cmd {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exoBinary(t), append([]string{"node", "--name", name, "--listen", "127.0.0.1:0", "--config", conf, "--log-level", level}, args...)...)
	return cmd
}

// startNodeCommand starts the node cmd (nodeCommand) and returns its
// stdout, readable line by line; the test's cleanup kills its process
// group (only needed when the test failed early).
func startNodeCommand(t *testing.T, cmd *exec.Cmd) *bufio.Reader {
	t.Helper()
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // only if the test failed early
	})
	return bufio.NewReader(pipe)
}

// TestNodeHTTPEndpoints: `node --http 127.0.0.1:0` prints the address it
// chose after the listen line and answers /healthz, /readyz (200 with no
// runner: a node's clients place its runners, and a probe that waited for
// one would keep every client away) and /metrics; SIGTERM still shuts it
// down gracefully.
func TestNodeHTTPEndpoints(t *testing.T) {
	cmd, out, stderr := startNodeProcess(t, "http-a", "--http", "127.0.0.1:0")
	head := readUntil(t, out, "HTTP endpoints on http://")
	_, rest, _ := strings.Cut(head, "node http-a HTTP endpoints on http://")
	addr := strings.Fields(rest)[0]
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("no chosen address in:\n%s", head)
	}
	if !strings.Contains(head, "node http-a listening on ") || strings.Index(head, "listening on") > strings.Index(head, "HTTP endpoints") {
		t.Errorf("the listen line should come first:\n%s", head)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := c.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != http.StatusOK || !strings.Contains(body, `"alive": true`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	if code, body := get("/readyz"); code != http.StatusOK || !strings.Contains(body, `"ready_runners": 0`) || !strings.Contains(body, `"want": 0`) {
		t.Errorf("/readyz of a node without runners: %d %s, want 200 with ready_runners 0 and want 0", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "exo_health_checks_total") ||
		!strings.Contains(body, "\nexo_gateway_sessions 0\n") || !strings.Contains(body, "\nexo_gateway_spawns_unconfirmed_total 0\n") {
		t.Errorf("/metrics: %d, no exo_health_checks_total, or no gateway counts (exo_gateway_sessions 0, exo_gateway_spawns_unconfirmed_total 0) in:\n%s", code, body)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	tail := new(bytes.Buffer)
	_, _ = tail.ReadFrom(out)
	if code := waitExit(t, cmd); code != ExitOK || !strings.Contains(tail.String(), "node http-a: shut down gracefully") {
		t.Fatalf("exit %d; stderr %s\n%s", code, stderr.String(), tail.String())
	}
	if _, err := c.Get("http://" + addr + "/healthz"); err == nil {
		t.Errorf("the endpoints still answer after the node exited")
	}
}

// TestHTTPFlagRefusesRemoteHost: as --ui does, --http refuses a host that
// is not loopback unless --http-allow-remote, on the demo and the node (a
// usage error, exit 2, one line naming the flag that allows it).
func TestHTTPFlagRefusesRemoteHost(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := func(cmd string) string {
		return "exo-actors: --http 0.0.0.0:19471: the host is not loopback, and the endpoints have no authentication " +
			"(/status shows pids, errors and alerts); use 127.0.0.1 or localhost, or allow it explicitly with --http-allow-remote (see 'exo-actors " + cmd + " --help')\n"
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--http", "0.0.0.0:19471"}, remote("demo")},
		{[]string{"node", "--name", "a", "--config", conf, "--http", "0.0.0.0:19471"}, remote("node")},
		{[]string{"demo", "--http-allow-remote"}, "exo-actors: --http-allow-remote needs --http ADDR (see 'exo-actors demo --help')\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--http-allow-remote"}, "exo-actors: --http-allow-remote needs --http ADDR (see 'exo-actors node --help')\n"},
		{[]string{"demo", "--nodes", "3", "--http-allow-remote"}, "exo-actors: --http-allow-remote works only with --nodes 1 (see 'exo-actors demo --help')\n"},
		{[]string{"demo", "--http-allow-host", "metrics.example.com"}, "exo-actors: --http-allow-host needs --http ADDR (see 'exo-actors demo --help')\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--http-allow-host", "m.example"}, "exo-actors: --http-allow-host needs --http ADDR (see 'exo-actors node --help')\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--http", "127.0.0.1:0", "--http-allow-host", "https://metrics.example.com"},
			`exo-actors: --http-allow-host "https://metrics.example.com": ':' is not a host name's character: want a host name as a Host header carries it, without scheme, port or path (e.g. metrics.example.com) (see 'exo-actors node --help')` + "\n"},
		{[]string{"demo", "--http", "127.0.0.1:0", "--http-allow-host", "m.example:9464"},
			`exo-actors: --http-allow-host "m.example:9464": a port is no part of the name (the name matches with any port): want a host name as a Host header carries it, without scheme, port or path (e.g. metrics.example.com) (see 'exo-actors demo --help')` + "\n"},
		// An empty name (a variable that expanded to nothing) was taken as
		// no name, and the node refused the proxy's host without a word;
		// on an address that is not loopback the flag would do nothing (an
		// operator's trial).
		{[]string{"node", "--name", "a", "--config", conf, "--http", "127.0.0.1:0", "--http-allow-host", ""},
			`exo-actors: --http-allow-host "": an empty name (a variable that expanded to nothing?): give a host name, e.g. metrics.example.com (see 'exo-actors node --help')` + "\n"},
		{[]string{"demo", "--http", "127.0.0.1:0", "--http-allow-host", "a.example,"},
			`exo-actors: --http-allow-host "a.example,": entry 2 of 2 is empty (a comma at the start or end, or two in a row?): give each name once, comma-separated (see 'exo-actors demo --help')` + "\n"},
		// An unquoted variable that expanded to nothing: the next flag was
		// taken as the name (a review: --ui-actions, swallowed).
		{[]string{"demo", "--ui", "127.0.0.1:0", "--ui-allow-host", "--ui-actions"},
			`exo-actors: --ui-allow-host "--ui-actions": looks like a flag, not a host name: did a variable before it expand to nothing? give a host name, e.g. metrics.example.com (see 'exo-actors demo --help')` + "\n"},
		{[]string{"demo", "--http", "127.0.0.1:0", "--http-allow-host", " "},
			`exo-actors: --http-allow-host " ": an empty name (a variable that expanded to nothing?): give a host name, e.g. metrics.example.com (see 'exo-actors demo --help')` + "\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--ui", "0.0.0.0:19472", "--ui-allow-remote", "--ui-allow-host", "m.example"},
			"exo-actors: --ui-allow-host with --ui 0.0.0.0:19472: on an address that is not loopback the page answers every Host; leave --ui-allow-host out, or serve the page on loopback (127.0.0.1) behind the proxy (see 'exo-actors node --help')\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--http", "0.0.0.0:19471", "--http-allow-remote", "--http-allow-host", "m.example"},
			"exo-actors: --http-allow-host with --http 0.0.0.0:19471: on an address that is not loopback the endpoints answer every Host; leave --http-allow-host out, or serve on loopback (127.0.0.1) behind the proxy (see 'exo-actors node --help')\n"},
		{[]string{"demo", "--ui-allow-host", "m.example"}, "exo-actors: --ui-actions, --ui-allow-remote and --ui-allow-host need --ui ADDR (see 'exo-actors demo --help')\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--ui", "127.0.0.1:0", "--ui-allow-remote", "--ui-allow-host", "m.example"},
			"exo-actors: --ui-allow-host with --ui-allow-remote: --ui-allow-remote turns the page's Host check off (every Host is answered); keep the check and name the proxy's host with --ui-allow-host alone, or leave --ui-allow-host out (see 'exo-actors node --help')\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--ui", "127.0.0.1:0", "--ui-allow-host", "https://m.example"},
			`exo-actors: --ui-allow-host "https://m.example": ':' is not a host name's character: want a host name as a Host header carries it, without scheme, port or path (e.g. metrics.example.com) (see 'exo-actors node --help')` + "\n"},
		{[]string{"demo", "--nodes", "3", "--http-allow-host", "m.example"}, "exo-actors: --http-allow-host works only with --nodes 1 (see 'exo-actors demo --help')\n"},
		{[]string{"demo", "--nodes", "3", "--hold", "30s"}, "exo-actors: --hold works only with --nodes 1; the cluster demo (and its --ui page) runs for --duration (12s by default, e.g. --duration 5m) and then shuts down (see 'exo-actors demo --help')\n"},
	} {
		if code, stderr := runCLI(t, c.args...); code != ExitUsage || stderr != c.want {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, ExitUsage, c.want)
		}
	}
	for _, ok := range []struct {
		addr  string
		allow bool
	}{{"127.0.0.1:0", false}, {":9464", false}, {"localhost:9464", false}, {"[::1]:9464", false}, {"0.0.0.0:9464", true}} {
		hosts := []string{"metrics.example.com", "10.0.0.7", "[::1]", "node_1.internal."}
		if ok.allow {
			hosts = nil // off loopback, refused (above)
		}
		if err := checkHTTPFlag(ok.addr, ok.allow, hosts); err != nil {
			t.Errorf("--http %s (allow remote %v): %v", ok.addr, ok.allow, err)
		}
	}
}

// TestHTTPFlagBadPort: a port out of range is a usage error at flag parse
// naming the flag (exit 2), not a listen error after the System started
// (it was exit 1 "start HTTP endpoints: HTTP endpoints: listen on …:
// invalid port").
func TestHTTPFlagBadPort(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--http", "127.0.0.1:99999"},
			`exo-actors: --http: HTTP address "127.0.0.1:99999": port "99999": want a number from 0 to 65535 (0: any free port) (see 'exo-actors demo --help')` + "\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--http", "127.0.0.1:99999"},
			`exo-actors: --http: HTTP address "127.0.0.1:99999": port "99999": want a number from 0 to 65535 (0: any free port) (see 'exo-actors node --help')` + "\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--alert-webhook", "127.0.0.1:9000/alerts"},
			`exo-actors: --alert-webhook "127.0.0.1:9000/alerts": want an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:9000/alerts (see 'exo-actors node --help')` + "\n"},
		{[]string{"demo", "--ui", "127.0.0.1:70000"},
			`exo-actors: --ui: UI address "127.0.0.1:70000": port "70000": want a number from 0 to 65535 (0: any free port) (see 'exo-actors demo --help')` + "\n"},
		{[]string{"status", "--addr", "127.0.0.1:99999"},
			`exo-actors: --addr "127.0.0.1:99999": port "99999": want the node's HTTP port, a number from 1 to 65535 (see 'exo-actors status --help')` + "\n"},
	} {
		if code, stderr := runCLI(t, c.args...); code != ExitUsage || stderr != c.want {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, ExitUsage, c.want)
		}
	}
}

// TestHTTPAddrInUse: an --http (or --ui) address another process listens on names
// the flag and the fix, once (it was "start HTTP endpoints: HTTP endpoints:
// listen on …: bind: address already in use"); exit 1, as for --listen.
func TestHTTPAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fix := ": the address is in use (another process listens there: a node you stopped holds its ports until it exits, after its shutdown's phases); pick another port with --http (or :0 for any)\n"
	uiFix := ": the address " + addr + " is in use (another process listens there: a node you stopped holds its ports until it exits, after its shutdown's phases); pick another port with --ui (or :0 for any)\n"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--live", "off", "--http", addr}, "exo-actors: --http " + addr + fix},
		{[]string{"node", "--name", "a", "--config", conf, "--http", addr}, "exo-actors: node a: --http " + addr + fix},
		// --ui's, the same way (it was "--ui: UI: listen on …: bind:
		// address already in use"; a new user's trial).
		{[]string{"demo", "--live", "off", "--ui", addr}, "exo-actors: --ui" + uiFix},
		{[]string{"node", "--name", "a", "--config", conf, "--listen", "127.0.0.1:0", "--ui", addr}, "exo-actors: node a: --ui" + uiFix},
	} {
		var stdout, stderrB bytes.Buffer
		code := Main(c.args, strings.NewReader(""), &stdout, &stderrB)
		stderr := stderrB.String()
		if code != ExitFailure || !strings.HasSuffix(stderr, c.want) || strings.Count(stderr, "HTTP endpoints") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d ending with %q", c.args, code, stderr, ExitFailure, c.want)
		}
		// A node whose --ui cannot listen fails before its listening
		// line: a script waiting for that line must not take it for
		// started (before, the line came, then the error).
		if c.args[0] == "node" && strings.Contains(stdout.String(), "listening on") {
			t.Errorf("%v: stdout has the listening line of a node that did not start:\n%s", c.args, stdout.String())
		}
	}
}

// TestHTTPAndUISameAddress: --http and --ui (or the node's --listen) on one
// address is refused when the flags are read, naming both flags; before,
// the UI failed to listen and took the blame.
func TestHTTPAndUISameAddress(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--http", "127.0.0.1:19470", "--ui", "127.0.0.1:19470"},
			"exo-actors: --http and --ui need different addresses (both 127.0.0.1:19470): give one of them another port (see 'exo-actors demo --help')\n"},
		{[]string{"demo", "--http", ":19470", "--ui", "localhost:19470"},
			"exo-actors: --http and --ui need different addresses (both localhost:19470): give one of them another port (see 'exo-actors demo --help')\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--http", "127.0.0.1:19470", "--ui", "127.0.0.1:19470"},
			"exo-actors: --http and --ui need different addresses (both 127.0.0.1:19470): give one of them another port (see 'exo-actors node --help')\n"},
		{[]string{"node", "--name", "a", "--config", conf, "--http", "127.0.0.1:7101"},
			"exo-actors: --http and --listen need different addresses (both 127.0.0.1:7101): give one of them another port (see 'exo-actors node --help')\n"},
	} {
		if code, stderr := runCLI(t, c.args...); code != ExitUsage || stderr != c.want {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, ExitUsage, c.want)
		}
	}
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"127.0.0.1:0", "127.0.0.1:0", false},
		{"127.0.0.1:80", "127.0.0.2:80", false},
		{"127.0.0.1:80", "127.0.0.1:81", false},
		{"0.0.0.0:80", "127.0.0.1:80", true},
		{"[::]:80", "127.0.0.1:80", true},
		{"[::1]:80", "[::1]:80", true},
	} {
		if got := sameListenAddr(c.a, c.b); got != c.same {
			t.Errorf("sameListenAddr(%q, %q) = %v, want %v", c.a, c.b, got, c.same)
		}
	}
}

// TestNodeAlertWebhook: `node --alert-webhook URL` POSTs the node's alerts
// there: a runner that crashes while loading makes its error:<kind> alert
// arrive. Before, a node had no way to set the webhook (a host trial got 0
// POSTs in remote mode where the embedded System sent 15).
func TestNodeAlertWebhook(t *testing.T) {
	posts := make(chan string, 64) // never closed; the handler drops what does not fit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case posts <- r.Header.Get("User-Agent") + " " + string(b):
		default:
		}
	}))
	defer srv.Close()
	cmd, out, stderr := startNodeWithConfig(t, "hook-a",
		// With a "health" section: before, `unknown field "health"`, exit 2.
		`{"kinds": {"crash": {"builtin": true, "args": ["--layers", "2", "--layer-delay", "0s", "--fault", "crash-loading:1"]}},
		  "health": {"interval": "250ms", "rss_limit": "64GiB", "cpu_limit": 8, "webhook": {"timeout": "1s", "queue": 16}},
		  "retention": {"keep_removed": 8}}`,
		"--alert-webhook", srv.URL+"/alerts")
	addr := listenAddr(t, out)
	run := exec.Command(exoBinary(t), "remote", "run", "--node", addr, "--kind", "crash", "--tasks", "1", "--timeout", "20s")
	var runOut bytes.Buffer
	run.Stdout, run.Stderr = &runOut, &runOut
	if err := testutil.StartChild(t, run); err != nil {
		t.Fatal(err)
	}
	defer func() { // its task cannot succeed: the runner crashes at every start
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
		_ = run.Wait()
	}()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for found := false; !found; {
		select {
		case p := <-posts:
			found = strings.Contains(p, `"condition":"error:`) && strings.Contains(p, `"state":"firing"`)
			// The POST says which node sent it, and which program.
			if found && (!strings.Contains(p, `"node":"hook-a"`) || !strings.HasPrefix(p, "exo-actors/"+Version+" ")) {
				t.Errorf("webhook POST does not name its node (want \"node\":\"hook-a\" and User-Agent exo-actors/%s): %s", Version, p)
			}
		case <-deadline.C:
			t.Fatalf("no error alert POSTed within 30s; node stderr:\n%s", stderr.String())
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_, _ = io.Copy(io.Discard, out)
	if code := waitExit(t, cmd); code != ExitOK {
		t.Fatalf("exit %d; stderr %s", code, stderr.String())
	}
}
