package actors

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sirupsen/logrus"
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
	start := time.Now()
	for i := 1; i <= 5; i++ {
		s.offer([]byte(`{}`))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("offers took %s: the sink blocked its caller", d)
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
