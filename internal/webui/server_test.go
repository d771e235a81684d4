package webui

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/httpserve"
)

// fakeNode is a Node with fixed runners; it records what the page asks.
type fakeNode struct {
	mu        sync.Mutex
	runners   []actors.RunnerInfo
	statusErr error
	stopped   []string
	submitted []actors.TaskSpec
	stopTakes time.Duration // how long StopRunner takes (a runner's stop escalation)
}

func (f *fakeNode) Status(ctx context.Context) (*httpapi.StatusDoc, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	doc := &httpapi.StatusDoc{Schema: httpapi.Schema, Tree: &httpapi.TreeNode{Name: "node", Kind: "node", State: "running"}}
	for _, in := range f.runners {
		doc.Runners = append(doc.Runners, httpapi.RunnerStatus{ID: in.ID, Generation: in.Generation, Pid: in.Pid})
	}
	return doc, nil
}

func (f *fakeNode) Runners(ctx context.Context) ([]actors.RunnerInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]actors.RunnerInfo(nil), f.runners...), nil
}

func (f *fakeNode) StopRunner(ctx context.Context, id string) (*actors.StopResult, error) {
	select { // a stop that takes its time, not a wait for an event
	case <-time.After(f.stopTakes):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, id)
	return &actors.StopResult{RunnerID: id, Total: 3 * time.Millisecond}, nil
}

func (f *fakeNode) Submit(ctx context.Context, runnerID string, t actors.TaskSpec) (*actors.TaskHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if runnerID == "down" {
		return nil, actors.ErrRunnerNotAvailable
	}
	f.submitted = append(f.submitted, t)
	return nil, nil
}

// child starts a process like a runner's: a child of this process leading
// its own process group, tagged with the test marker.
func child(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARKER="+fmt.Sprintf("webui-test-%d", os.Getpid()))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

type sent struct {
	pid int
	sig syscall.Signal
}

// newTestHandler returns a handler over node whose signals are recorded,
// not sent.
func newTestHandler(node Node, cfg Config) (*handler, *[]sent) {
	h := newHandler(node, cfg)
	var mu sync.Mutex
	var got []sent
	h.signal = func(pid int, sig syscall.Signal) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, sent{pid, sig})
		return nil
	}
	return h, &got
}

func post(h http.Handler, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// message returns the error or the result of an action's answer.
func message(w *httptest.ResponseRecorder) string {
	var out struct{ Error, Result string }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		return "undecodable answer: " + err.Error()
	}
	return out.Error + out.Result
}

func TestCheckAddr(t *testing.T) {
	for _, c := range []struct {
		addr   string
		remote bool
		want   string
		err    string
	}{
		{addr: "127.0.0.1:8080", want: "127.0.0.1:8080"},
		{addr: ":8080", want: "127.0.0.1:8080"},
		{addr: "localhost:0", want: "localhost:0"},
		{addr: "[::1]:9", want: "[::1]:9"},
		{addr: "127.0.0.2:9", want: "127.0.0.2:9"},
		{addr: "0.0.0.0:8080", err: `UI address "0.0.0.0:8080" is not loopback`},
		{addr: "192.168.1.5:80", err: "--ui-allow-remote"},
		{addr: "example.com:80", err: "not loopback"},
		{addr: "0.0.0.0:8080", remote: true, want: "0.0.0.0:8080"},
		{addr: "8080", err: `UI address "8080": want host:port`},
		{addr: "", err: "want host:port"},
		{addr: "http://127.0.0.1:8080/", err: `UI address "http://127.0.0.1:8080/": want host:port, without a scheme or path, e.g. 127.0.0.1:8080 (here: 127.0.0.1:8080)`},
		{addr: "http://localhost", err: `UI address "http://localhost": want host:port, without a scheme or path, e.g. 127.0.0.1:8080 (here: localhost, and a port)`},
		{addr: "127.0.0.1:99999", err: `UI address "127.0.0.1:99999": port "99999": want a number from 0 to 65535`},
	} {
		got, err := CheckAddr(c.addr, c.remote)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("CheckAddr(%q, %v) error = %v, want one containing %q", c.addr, c.remote, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("CheckAddr(%q, %v) = %q, %v; want %q", c.addr, c.remote, got, err, c.want)
		}
	}
}

func FuzzCheckAddr(f *testing.F) {
	for _, s := range []string{":8080", "127.0.0.1:0", "[::1]:9", "0.0.0.0:1", "localhost:1", "8080", "", "[::1", "a:b:c", "a\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := CheckAddr(s, false)
		if err != nil {
			// It names the address, quoted, and is one line (a value
			// holding a newline is quoted, never written raw).
			if msg := err.Error(); !strings.HasPrefix(msg, "UI address "+strconv.Quote(s)) || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q does not name the address %q on one line", msg, s)
			}
			return
		}
		host, _, err := splitHost(got)
		if err != nil || !httpserve.LoopbackHost(host) {
			t.Errorf("CheckAddr(%q) = %q: accepted a host that is not loopback", s, got)
		}
		if again, err := CheckAddr(got, false); err != nil || again != got {
			t.Errorf("CheckAddr(%q) = %q, not stable: %q, %v", s, got, again, err)
		}
	})
}

func splitHost(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", errors.New("no port")
	}
	return strings.Trim(addr[:i], "[]"), addr[i+1:], nil
}

func TestPageAndAssets(t *testing.T) {
	h := Handler(&fakeNode{}, Config{})
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html", "exo-actors <span>observer</span>"},
		{"/assets/app.js", "javascript", "new EventSource(\"/api/events\")"},
		{"/assets/app.css", "text/css", ".tree"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost:8080"+c.path, nil))
		if w.Code != 200 || !strings.Contains(w.Header().Get("Content-Type"), c.ctype) || !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("GET %s: %d %q, body has %q: %v", c.path, w.Code, w.Header().Get("Content-Type"), c.contains, strings.Contains(w.Body.String(), c.contains))
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://localhost:8080/nothing", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("GET /nothing: %d, want 404", w.Code)
	}
}

func TestHostGuard(t *testing.T) {
	for _, c := range []struct {
		host   string
		remote bool
		code   int
	}{
		{"127.0.0.1:8080", false, 200},
		{"localhost:8080", false, 200},
		{"[::1]:8080", false, 200},
		{"localhost", false, 200},
		{"", false, 200}, // HTTP/1.0 without Host: no browser
		{"evil.example:8080", false, 403},
		{"10.0.0.1:8080", false, 403},
		{"evil.example:8080", true, 200},
	} {
		h := Handler(&fakeNode{}, Config{AllowRemote: c.remote})
		r := httptest.NewRequest(http.MethodGet, "/api/status", nil)
		r.Host = c.host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.code {
			t.Errorf("Host %q (allow remote %v): %d, want %d: %s", c.host, c.remote, w.Code, c.code, w.Body)
		}
		if c.code == 403 && (!strings.Contains(message(w), "loopback names only") || !strings.Contains(message(w), "--ui-allow-remote") || !strings.Contains(message(w), "--ui-allow-host NAME")) {
			t.Errorf("Host %q refused without saying why and what to do: %s", c.host, w.Body)
		}
	}
	// Behind a reverse proxy on this machine that passes the client's
	// Host on: that name is answered, the guard stays for every other (an
	// operator's trial had only --ui-allow-remote, which turns it off).
	h := Handler(&fakeNode{}, Config{AllowHosts: []string{"ui.example.com"}})
	for host, code := range map[string]int{"ui.example.com": 200, "UI.Example.com.:443": 200, "evil.example": 403, "127.0.0.1:8080": 200} {
		r := httptest.NewRequest(http.MethodGet, "/api/status", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != code {
			t.Errorf("AllowHosts ui.example.com, Host %q: %d, want %d: %s", host, w.Code, code, w.Body)
		}
	}
}

func TestActionsOff(t *testing.T) {
	node := &fakeNode{runners: []actors.RunnerInfo{{ID: "r1", Generation: 1, Pid: child(t)}}}
	h, sigs := newTestHandler(node, Config{})
	for _, path := range []string{"/api/runners/r1/fault", "/api/runners/r1/stop"} {
		w := post(h, path, `{"kind":"crash","generation":1}`, nil)
		if w.Code != http.StatusForbidden || !strings.Contains(message(w), "--ui-actions") {
			t.Errorf("POST %s with actions off: %d %s, want 403 naming --ui-actions", path, w.Code, w.Body)
		}
	}
	if len(*sigs) != 0 || len(node.stopped) != 0 {
		t.Errorf("actions off, yet signals %v, stops %v", *sigs, node.stopped)
	}
	var snap Snapshot
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/api/status", nil))
	if err := json.Unmarshal(w.Body.Bytes(), &snap); err != nil || snap.Actions || len(snap.Log) != 0 {
		t.Errorf("snapshot with actions off: %+v, %v", snap, err)
	}
}

func TestActions(t *testing.T) {
	pid, other := child(t), child(t)
	node := &fakeNode{runners: []actors.RunnerInfo{
		{ID: "r1", Generation: 2, Pid: pid},
		{ID: "r2", Generation: 1, Pid: other},
		{ID: "fresh", Generation: 1, Pid: 0},
		{ID: "stale", Generation: 3, Pid: other}, // its old pid went to r2
		{ID: "foreign", Generation: 1, Pid: os.Getpid()},
		{ID: "down", Generation: 1, Pid: 0},
	}}
	h, sigs := newTestHandler(node, Config{Actions: true})
	for _, c := range []struct {
		name, path, body string
		hdr              map[string]string
		code             int
		says             string
	}{
		{"crash", "/api/runners/r1/fault", `{"kind":"crash","generation":2}`, nil, 200, fmt.Sprintf("SIGKILL sent to pid %d", pid)},
		{"hang", "/api/runners/r1/fault", `{"kind":"hang","generation":2}`, nil, 200, "SIGSTOP sent"},
		{"garbage", "/api/runners/r1/fault", `{"kind":"garbage","generation":2}`, nil, 200, "task ui-garbage-1 submitted (fault=garbage)"},
		{"stop", "/api/runners/r2/stop", `{"generation":1}`, nil, 200, "stopped: ended by"},
		{"old generation", "/api/runners/r1/fault", `{"kind":"crash","generation":1}`, nil, 409, "at generation 2 now, not 1"},
		{"stop old generation", "/api/runners/r1/stop", `{"generation":1}`, nil, 409, "restarted since"},
		{"no process", "/api/runners/fresh/fault", `{"kind":"crash","generation":1}`, nil, 409, "has no process now"},
		{"pid reused", "/api/runners/stale/fault", `{"kind":"hang","generation":3}`, nil, 409, "now belongs to runner r2"},
		{"not our child", "/api/runners/foreign/fault", `{"kind":"crash","generation":1}`, nil, 409, "no longer its process"},
		{"submit refused", "/api/runners/down/fault", `{"kind":"garbage","generation":1}`, nil, 409, "submit task ui-garbage-2"},
		{"unknown runner", "/api/runners/nope/fault", `{"kind":"crash","generation":1}`, nil, 404, `unknown runner "nope"`},
		{"unknown fault", "/api/runners/r1/fault", `{"kind":"melt","generation":2}`, nil, 400, `unknown fault "melt": want one of crash, hang, garbage`},
		{"no kind", "/api/runners/r1/fault", `{"generation":2}`, nil, 400, "kind missing"},
		{"kind on stop", "/api/runners/r1/stop", `{"kind":"crash","generation":2}`, nil, 400, "stop takes no kind"},
		{"no generation", "/api/runners/r1/fault", `{"kind":"crash"}`, nil, 400, "generation missing"},
		{"bad json", "/api/runners/r1/fault", `{"kind":`, nil, 400, "bad JSON body"},
		{"unknown field", "/api/runners/r1/fault", `{"kind":"crash","generation":2,"pid":1}`, nil, 400, `unknown field "pid"`},
		{"too big", "/api/runners/r1/fault", `{"kind":"` + strings.Repeat("x", 5000) + `","generation":2}`, nil, 400, "limit 4096 bytes"},
		{"form post", "/api/runners/r1/fault", `kind=crash`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "want a JSON body"},
		{"other site", "/api/runners/r1/fault", `{"kind":"crash","generation":2}`, map[string]string{"Origin": "http://evil.example"}, 403, `origin "http://evil.example" refused`},
		{"same origin", "/api/runners/r1/fault", `{"kind":"crash","generation":2}`, map[string]string{"Origin": "http://127.0.0.1:8080"}, 200, "SIGKILL sent"},
	} {
		w := post(h, c.path, c.body, c.hdr)
		if w.Code != c.code || !strings.Contains(message(w), c.says) {
			t.Errorf("%s: %d %s; want %d saying %q", c.name, w.Code, strings.TrimSpace(w.Body.String()), c.code, c.says)
		}
	}
	want := []sent{{pid, syscall.SIGKILL}, {pid, syscall.SIGSTOP}, {pid, syscall.SIGKILL}}
	if fmt.Sprint(*sigs) != fmt.Sprint(want) {
		t.Errorf("signals sent: %v, want %v", *sigs, want)
	}
	if len(node.submitted) != 1 || node.submitted[0].ID != "ui-garbage-1" || node.submitted[0].Params["fault"] != "garbage" ||
		node.submitted[0].Kind != "text_generation" {
		t.Errorf("tasks submitted: %+v", node.submitted)
	}
	if fmt.Sprint(node.stopped) != "[r2]" {
		t.Errorf("stopped: %v, want [r2]", node.stopped)
	}
	// The log holds what reached a runner: successes, conflicts, unknown runners.
	snap := h.snapshot(context.Background())
	var lines []string
	for _, e := range snap.Log {
		lines = append(lines, fmt.Sprintf("%s %s %v", e.RunnerID, e.Action, e.OK))
	}
	wantLog := "r1 fault crash true|r1 fault hang true|r1 fault garbage true|r2 stop true|r1 fault crash false|r1 stop false|" +
		"fresh fault crash false|stale fault hang false|foreign fault crash false|down fault garbage false|nope fault crash false|r1 fault crash true"
	if got := strings.Join(lines, "|"); got != wantLog {
		t.Errorf("log:\n%s\nwant\n%s", got, wantLog)
	}
}

func TestLogBounded(t *testing.T) {
	node := &fakeNode{runners: []actors.RunnerInfo{{ID: "r1", Generation: 1}}}
	h, _ := newTestHandler(node, Config{Actions: true})
	for i := 0; i < maxLog+7; i++ {
		post(h, "/api/runners/r1/stop", `{"generation":1}`, nil)
	}
	if n := len(h.snapshot(context.Background()).Log); n != maxLog {
		t.Errorf("log holds %d entries, want the last %d", n, maxLog)
	}
}

func TestSnapshotNodeError(t *testing.T) {
	h := Handler(&fakeNode{statusErr: errors.New("node is shutting down")}, Config{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1/api/status", nil))
	var snap Snapshot
	if err := json.Unmarshal(w.Body.Bytes(), &snap); err != nil || w.Code != 200 || snap.Status != nil || snap.Error != "node is shutting down" {
		t.Errorf("GET /api/status with the node in error: %d %s", w.Code, w.Body)
	}
	if len(snap.Faults) != 3 {
		t.Errorf("faults offered: %+v", snap.Faults)
	}
}

// readEvent reads one server-sent event's data line.
func readEvent(t *testing.T, r *bufio.Reader) Snapshot {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var s Snapshot
			if err := json.Unmarshal([]byte(data), &s); err != nil {
				t.Fatalf("event data: %v", err)
			}
			return s
		}
	}
}

func TestEventStreamLimitAndShutdown(t *testing.T) {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	node := &fakeNode{runners: []actors.RunnerInfo{{ID: "r1", Generation: 1}}}
	srv, err := Start(node, Config{Addr: "127.0.0.1:0", MaxClients: 1, Interval: 10 * time.Millisecond}, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	resp, err := http.Get(srv.URL() + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("GET /api/events: %d %q", resp.StatusCode, ct)
	}
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 2; i++ { // the first at once, the next at the interval
		if s := readEvent(t, br); s.Status == nil || len(s.Status.Runners) != 1 {
			t.Fatalf("event %d: %+v", i, s)
		}
	}
	second, err := http.Get(srv.URL() + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(second.Body)
	second.Body.Close()
	if second.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "1 already open") {
		t.Errorf("second stream over the limit of 1: %d %s", second.StatusCode, body)
	}
	// Shutdown ends the open stream instead of waiting for it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a stream open: %v", err)
	}
	if _, err := io.ReadAll(br); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("stream ended with %v", err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestStartRefusesRemote(t *testing.T) {
	_, err := Start(&fakeNode{}, Config{Addr: "0.0.0.0:0"}, logrus.New())
	if err == nil || !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("Start on 0.0.0.0: %v, want a refusal", err)
	}
}

// remoteNode is a Node whose buttons act elsewhere (webui.Remote), as the
// cluster demo's page is.
type remoteNode struct {
	fakeNode
	mu    sync.Mutex
	calls []string
}

type codeErr struct{ code int }

func (e codeErr) Error() string   { return fmt.Sprintf("refused with %d", e.code) }
func (e codeErr) HTTPStatus() int { return e.code }

func (r *remoteNode) InjectFault(ctx context.Context, id string, gen uint64, kind string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("fault %s %d %s", id, gen, kind))
	if id == "gone@n1" {
		return "", codeErr{http.StatusNotFound}
	}
	if id == "busy@n1" {
		return "", errors.New("busy")
	}
	return "done on n1", nil
}

func (r *remoteNode) StopRunnerAt(ctx context.Context, id string, gen uint64) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("stop %s %d", id, gen))
	return "stopped on n1", nil
}

// TestRemoteActions: with a Remote node, the buttons call it (no local
// signal, no local lookup), its refusals keep their HTTP status (409 when
// they name none), and an unknown fault never reaches it.
func TestRemoteActions(t *testing.T) {
	node := &remoteNode{}
	h, sent := newTestHandler(node, Config{Actions: true})
	for _, c := range []struct {
		path, body string
		code       int
		msg        string
	}{
		{"/api/runners/r1@n1/fault", `{"kind":"crash","generation":4}`, 200, "done on n1"},
		{"/api/runners/gone@n1/fault", `{"kind":"hang","generation":1}`, 404, "refused with 404"},
		{"/api/runners/busy@n1/fault", `{"kind":"garbage","generation":1}`, 409, "busy"},
		{"/api/runners/r1@n1/fault", `{"kind":"explode","generation":1}`, 400, `unknown fault "explode"`},
		{"/api/runners/r1@n1/stop", `{"generation":2}`, 200, "stopped on n1"},
	} {
		w := post(h, c.path, c.body, nil)
		if w.Code != c.code || !strings.Contains(message(w), c.msg) {
			t.Errorf("%s %s: %d %q, want %d %q", c.path, c.body, w.Code, message(w), c.code, c.msg)
		}
	}
	want := "fault r1@n1 4 crash|fault gone@n1 1 hang|fault busy@n1 1 garbage|stop r1@n1 2"
	if got := strings.Join(node.calls, "|"); got != want || len(*sent) != 0 {
		t.Errorf("calls %q (signals %v), want %q and no signal", got, *sent, want)
	}
}

// TestInject: the exported Inject refuses an unknown runner with
// actors.ErrUnknownRunner and a stale generation naming both.
func TestInject(t *testing.T) {
	node := &fakeNode{runners: []actors.RunnerInfo{{ID: "r1", Generation: 2}}}
	if _, err := Inject(context.Background(), node, "nope", 1, "crash"); !errors.Is(err, actors.ErrUnknownRunner) {
		t.Errorf("unknown runner: %v", err)
	}
	if _, err := Inject(context.Background(), node, "r1", 1, "crash"); err == nil || !strings.Contains(err.Error(), "generation 2 now, not 1") {
		t.Errorf("stale generation: %v", err)
	}
	res, err := Inject(context.Background(), node, "r1", 2, "garbage")
	if err != nil || !strings.Contains(res, "-garbage-1 submitted (fault=garbage)") || !strings.HasPrefix(res, "task fault-") {
		t.Errorf("garbage: %q, %v", res, err)
	}
}

// TestActionRefusalsSayWhatIsTrue: a refusal names what is the case (a
// trial got "it restarted since the page looked" for a generation the
// runner never had, "it may be restarting" for a runner that was not, and
// "start the node with --ui-actions" from the demo).
func TestActionRefusalsSayWhatIsTrue(t *testing.T) {
	ended := func() int { // the pid of a process that has ended and been reaped
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		return cmd.Process.Pid
	}
	dead := ended()
	node := &fakeNode{runners: []actors.RunnerInfo{
		{ID: "r1", Generation: 1, Pid: child(t)},
		{ID: "backoff", Generation: 2, Pid: dead, Restarting: true, RestartIn: 300 * time.Millisecond, RestartAttempt: 1},
		{ID: "exiting", Generation: 1, Pid: ended()},
	}}
	h, sigs := newTestHandler(node, Config{Actions: true})
	for _, c := range []struct {
		name, path, body string
		says             string
	}{
		{"future generation", "/api/runners/r1/fault", `{"kind":"crash","generation":5}`,
			"runner r1 is at generation 1: generation 5 has not started, so no page showed it; reload the page"},
		{"stop at a future generation", "/api/runners/r1/stop", `{"generation":2}`, "generation 2 has not started"},
		{"in backoff", "/api/runners/backoff/fault", `{"kind":"crash","generation":2}`,
			fmt.Sprintf("runner backoff: its process %d has ended and it waits to restart (restarting in 300ms (attempt 1)): reload the page and try again once generation 3 runs", dead)},
		{"exit not handled yet", "/api/runners/exiting/fault", `{"kind":"hang","generation":1}`, "the node is handling its exit"},
	} {
		w := post(h, c.path, c.body, nil)
		if w.Code != http.StatusConflict || !strings.Contains(message(w), c.says) {
			t.Errorf("%s: %d %s; want 409 saying %q", c.name, w.Code, strings.TrimSpace(w.Body.String()), c.says)
		}
	}
	if len(*sigs) != 0 || len(node.stopped) != 0 {
		t.Errorf("refused, yet signals %v, stops %v", *sigs, node.stopped)
	}
	off, _ := newTestHandler(node, Config{Program: "the demo"})
	if w := post(off, "/api/runners/r1/fault", `{"kind":"crash","generation":1}`, nil); w.Code != http.StatusForbidden ||
		message(w) != "actions are off: start the demo with --ui-actions to enable the fault and stop buttons" {
		t.Errorf("actions off on the demo: %d %s", w.Code, w.Body)
	}
}

// TestEventStreamOfAClientThatStopsReading: a client that opens an event
// stream and never reads it filled its socket's buffers, and the stream's
// next write blocked for good, holding one of the MaxClients slots until
// the server stopped (an audit). Each write has a deadline now: the stream
// is cut, its slot freed, and the next client gets its stream.
func TestEventStreamOfAClientThatStopsReading(t *testing.T) {
	node := &fakeNode{}
	for i := range 2000 { // a large snapshot: the buffers fill in a few writes
		node.runners = append(node.runners, actors.RunnerInfo{ID: fmt.Sprintf("runner-%04d-%s", i, strings.Repeat("x", 40)), Generation: 1, Pid: 1})
	}
	h := newHandler(node, Config{Interval: time.Millisecond, MaxClients: 1})
	h.streamWrite = 200 * time.Millisecond
	cut := make(chan error, 1)
	h.streamCut = func(err error) {
		select {
		case cut <- err:
		default:
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, limited := httpserve.Server(h, ln, 0)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(limited) }()
	defer func() {
		_ = srv.Close()
		<-done
	}()

	deaf, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer deaf.Close()
	if _, err := fmt.Fprintf(deaf, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select { // it never reads: the server's writes fill the buffers, then one times out
	case err := <-cut:
		t.Logf("the deaf client's stream was cut: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the stream of a client that reads nothing was not cut within 30s")
	}
	resp, err := http.Get("http://" + ln.Addr().String() + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("the next client's stream: %s %s; want 200 (the cut stream's slot back)", resp.Status, b)
	}
}
