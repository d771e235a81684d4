package actors

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/exo-actors/exo-actors/actors/errhandler"
)

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func testSink(t *testing.T, cfg WebhookConfig) (*webhookSink, *nodeMetrics, chan string) {
	t.Helper()
	m := newNodeMetrics()
	results := make(chan string, 64) // never closed
	s := startWebhook(cfg, quietLog(), m)
	s.results = results // before the first offer: the sink's goroutine reads it only after one
	return s, m, results
}

func nextResult(t *testing.T, results chan string) string {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook result within 20s")
		return ""
	}
}

// A failed POST is retried (bounded), then counted sent; one that keeps
// failing is counted failed after 1 + Retries attempts.
func TestWebhookRetries(t *testing.T) {
	var calls, fail atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if fail.Add(-1) >= 0 {
			http.Error(w, "not yet", http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	fail.Store(2)
	s, m, results := testSink(t, WebhookConfig{URL: srv.URL, Retries: 2, RetryDelay: time.Millisecond})
	defer s.close()
	s.offer([]byte(`{"severity":"HIGH"}`))
	if r := nextResult(t, results); r != "sent" || calls.Load() != 3 {
		t.Errorf("result %s after %d calls, want sent after 3", r, calls.Load())
	}
	calls.Store(0)
	fail.Store(100)
	s.offer([]byte(`{}`))
	if r := nextResult(t, results); r != "failed" || calls.Load() != 3 {
		t.Errorf("result %s after %d calls, want failed after 3 (1 + Retries)", r, calls.Load())
	}
	if sent, failed := testutil.ToFloat64(m.webhook.WithLabelValues("sent")), testutil.ToFloat64(m.webhook.WithLabelValues("failed")); sent != 1 || failed != 1 {
		t.Errorf("counted sent %v failed %v, want 1 and 1", sent, failed)
	}
}

// The queue is bounded: offers beyond it are dropped and counted, never
// blocking; close ends the POST in progress and drops what is queued.
func TestWebhookDropsWhenFull(t *testing.T) {
	entered := make(chan struct{}, 1) // never closed
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release) // sole sender: this test, once, before the server closes
	s, m, results := testSink(t, WebhookConfig{URL: srv.URL, Queue: 2, Timeout: time.Minute})
	s.offer([]byte(`{"n":0}`))
	<-entered // the sink is inside the first POST
	// The offers return while the POST is still held (release is closed
	// only when the test returns): a sink that blocked its caller would
	// wait for that POST, which ends only at its 1-minute timeout. Before,
	// the check was "the offers took under 1 s", a wall-clock bound that a
	// starved machine (goroutines not run for a second or two) can miss;
	// now the bound is only on a hang, below that timeout.
	offered := make(chan struct{})
	go func() { // owned: waited for below (left blocked only when the test fails)
		defer close(offered) // sole sender: this goroutine
		for i := 1; i <= 5; i++ {
			s.offer([]byte(`{}`))
		}
	}()
	select {
	case <-offered:
	case <-time.After(30 * time.Second):
		t.Fatal("offers still blocked 30s into a POST that is held: the sink blocked its caller")
	}
	for i := 0; i < 3; i++ {
		if r := nextResult(t, results); r != "dropped" {
			t.Fatalf("result %s, want dropped (queue full)", r)
		}
	}
	s.close()
	// The POST in progress and the 2 queued alerts: dropped too.
	if got := testutil.ToFloat64(m.webhook.WithLabelValues("dropped")); got != 6 {
		t.Errorf("dropped %v after close, want 6 (3 beyond the queue, 2 queued, 1 in flight)", got)
	}
}

// alertBody is the JSON of a HealthAlert of runner id, as the monitor
// offers it.
func alertBody(t *testing.T, id string, st AlertState) []byte {
	t.Helper()
	b, err := json.Marshal(&HealthAlert{Severity: errhandler.High, RunnerID: id, Condition: "unhealthy", State: st,
		At: time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWebhookFailedLineNamesTheAlert: the warning of an alert that was not
// delivered says which alert (runner_id, condition, state, severity, at),
// not only that one was lost.
func TestWebhookFailedLineNamesTheAlert(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	logger, hook := logtest.NewNullLogger()
	results := make(chan string, 64) // never closed
	s := startWebhook(WebhookConfig{URL: srv.URL, Retries: -1}, logger, newNodeMetrics())
	s.results = results
	defer s.close()
	s.offer(alertBody(t, "llama-aaaaaa", AlertResolved))
	if r := nextResult(t, results); r != "failed" {
		t.Fatalf("result %s, want failed", r)
	}
	e := hook.LastEntry()
	if e == nil || e.Message != "alert webhook failed: alert not delivered" {
		t.Fatalf("last line %+v, want the failed warning", e)
	}
	for k, want := range map[string]any{"runner_id": "llama-aaaaaa", "condition": "unhealthy", "state": "resolved",
		"severity": "HIGH", "at": "2026-11-30T13:00:00Z", "attempts": 1, "url": srv.URL} {
		if got := e.Data[k]; got != want {
			t.Errorf("field %s = %v, want %v (line %v)", k, got, want, e.Data)
		}
	}
}

// TestWebhookQueueFullWarningThrottled: a burst of drops logs at most one
// warning per second, naming the last alert dropped and counting every drop
// since the previous warning; what is still uncounted is logged at close.
func TestWebhookQueueFullWarningThrottled(t *testing.T) {
	entered := make(chan struct{}, 1) // never closed
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release) // sole sender: this test, once, before the server closes
	logger, hook := logtest.NewNullLogger()
	var now atomic.Int64 // the fake clock, in ns
	now.Store(time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC).UnixNano())
	s := startWebhook(WebhookConfig{URL: srv.URL, Queue: 1, Timeout: time.Minute}, logger, newNodeMetrics())
	s.now = func() time.Time { return time.Unix(0, now.Load()) }
	s.offer(alertBody(t, "r0", AlertFiring))
	<-entered                                // the sink is inside the first POST
	s.offer(alertBody(t, "r1", AlertFiring)) // queued
	warnings := func() []*logrus.Entry {
		var out []*logrus.Entry
		for _, e := range hook.AllEntries() {
			if e.Message == "alert webhook queue full: alerts dropped" {
				out = append(out, e)
			}
		}
		return out
	}
	check := func(w *logrus.Entry, runner string, dropped int) {
		t.Helper()
		if w.Data["runner_id"] != runner || w.Data["dropped"] != dropped || w.Data["condition"] != "unhealthy" ||
			w.Data["state"] != "resolved" || w.Data["queue"] != 1 {
			t.Errorf("warning %v: want runner_id %s, dropped %d, condition unhealthy, state resolved, queue 1", w.Data, runner, dropped)
		}
	}
	for i := 2; i <= 6; i++ { // five drops in the same instant: one warning
		s.offer(alertBody(t, fmt.Sprintf("r%d", i), AlertResolved))
	}
	if w := warnings(); len(w) != 1 {
		t.Fatalf("%d warnings after 5 drops in one second, want 1", len(w))
	} else {
		check(w[0], "r2", 1)
	}
	now.Add(int64(999 * time.Millisecond))
	s.offer(alertBody(t, "r7", AlertResolved))
	if w := warnings(); len(w) != 1 {
		t.Fatalf("%d warnings 999ms after the first, want still 1", len(w))
	}
	now.Add(int64(time.Millisecond))
	s.offer(alertBody(t, "r8", AlertResolved)) // a second after the first warning
	if w := warnings(); len(w) != 2 {
		t.Fatalf("%d warnings a second after the first, want 2", len(w))
	} else {
		check(w[1], "r8", 6) // r3..r8
	}
	s.offer(alertBody(t, "r9", AlertResolved))
	s.close()
	if w := warnings(); len(w) != 3 {
		t.Fatalf("%d warnings after close, want 3 (the last drop flushed)", len(w))
	} else {
		check(w[2], "r9", 1)
	}
}

// entryHook passes each "queue full" warning to a channel, so a test waits
// for the line instead of polling for it.
type entryHook struct{ lines chan *logrus.Entry }

func (h entryHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h entryHook) Fire(e *logrus.Entry) error {
	if e.Message == "alert webhook queue full: alerts dropped" {
		h.lines <- e
	}
	return nil
}

// TestWebhookHeldBackDropsAreWarnedOnceTheThrottleAllows: drops the
// throttle held back are logged once the second has passed, even when no
// alert comes after them. Before, a burst whose last drop fell within the
// second of the previous warning, and whose queue then drained within that
// second, left those drops unlogged until the node stopped: the operator
// saw "dropped 1" while many more alerts were lost.
func TestWebhookHeldBackDropsAreWarnedOnceTheThrottleAllows(t *testing.T) {
	entered := make(chan struct{}, 1) // never closed
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	logger, _ := logtest.NewNullLogger()
	lines := make(chan *logrus.Entry, 16) // never closed
	logger.AddHook(entryHook{lines: lines})
	var now atomic.Int64 // the fake clock, in ns
	now.Store(time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC).UnixNano())
	armed := make(chan time.Duration, 16) // never closed
	fire := make(chan time.Time)          // never closed
	results := make(chan string, 64)      // never closed
	s := startWebhook(WebhookConfig{URL: srv.URL, Queue: 1, Timeout: time.Minute}, logger, newNodeMetrics())
	s.now = func() time.Time { return time.Unix(0, now.Load()) }
	s.after = func(d time.Duration) <-chan time.Time { armed <- d; return fire }
	s.results = results
	defer s.close()
	s.offer(alertBody(t, "r0", AlertFiring))
	<-entered                                // the sink is inside the first POST
	s.offer(alertBody(t, "r1", AlertFiring)) // queued
	s.offer(alertBody(t, "r2", AlertResolved))
	s.offer(alertBody(t, "r3", AlertResolved)) // held back: the same instant as r2's warning
	if w := <-lines; w.Data["runner_id"] != "r2" || w.Data["dropped"] != 1 {
		t.Fatalf("first warning %v, want r2, dropped 1", w.Data)
	}
	close(release)             // sole sender: this test, once; the queue drains within the second
	for sent := 0; sent < 2; { // r0 and r1 (the two drops' results come first)
		if nextResult(t, results) == "sent" {
			sent++
		}
	}
	select {
	case d := <-armed:
		if d <= 0 || d > webhookDropWarnEvery {
			t.Errorf("warning due in %s, want within %s", d, webhookDropWarnEvery)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the sink went idle with a drop held back and nothing due to log it")
	}
	now.Add(int64(webhookDropWarnEvery))
	fire <- time.Unix(0, now.Load())
	select {
	case w := <-lines:
		if w.Data["runner_id"] != "r3" || w.Data["dropped"] != 1 {
			t.Errorf("second warning %v, want r3, dropped 1", w.Data)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the held-back drop was not logged once its second had passed")
	}
}

// Each POST names its sender: the JSON carries node (WebhookConfig.Node,
// default HOST/PID), host and pid, and the User-Agent is
// exo-actors/<Version>. Before, a receiver that several nodes post to could
// not tell them apart (User-Agent Go-http-client/1.1, no node field).
func TestWebhookPayloadNamesItsSender(t *testing.T) {
	type post struct {
		ua   string
		body map[string]any
	}
	got := make(chan post, 4) // never closed
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		got <- post{r.Header.Get("User-Agent"), b}
	}))
	defer srv.Close()
	host, _ := os.Hostname()
	for _, c := range []struct{ node, want string }{
		{"node-x", "node-x"},
		{"", fmt.Sprintf("%s/%d", host, os.Getpid())},
	} {
		s, _, results := testSink(t, WebhookConfig{URL: srv.URL, Node: c.node})
		b, err := s.encode(&HealthAlert{Severity: errhandler.High, RunnerID: "r-1", Condition: "unhealthy", State: AlertFiring, At: time.Unix(1, 0)})
		if err != nil {
			t.Fatal(err)
		}
		s.offer(b)
		if r := nextResult(t, results); r != "sent" {
			t.Fatalf("result %q", r)
		}
		p := <-got
		s.close()
		if p.ua != "exo-actors/"+Version {
			t.Errorf("User-Agent %q, want exo-actors/%s", p.ua, Version)
		}
		if p.body["node"] != c.want || p.body["host"] != host || p.body["pid"] != float64(os.Getpid()) {
			t.Errorf("Node %q: body %v: want node %q, host %q, pid %d", c.node, p.body, c.want, host, os.Getpid())
		}
		for _, k := range []string{"severity", "runner_id", "condition", "reason", "score", "state", "at", "since"} {
			if _, ok := p.body[k]; !ok {
				t.Errorf("body lacks %q: %v", k, p.body)
			}
		}
	}
}
