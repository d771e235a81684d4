package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// WebhookConfig configures the optional alert webhook: every HealthAlert,
// and every escalation Alert (as a HealthAlert of condition "escalated"), is
// POSTed as JSON to URL. Zero fields take the
// defaults named.
type WebhookConfig struct {
	// URL receives the POSTs; empty turns the webhook off.
	URL string
	// Timeout bounds each POST; default 2s.
	Timeout time.Duration
	// Retries is how many more attempts a failed POST gets; default 2.
	// Negative means none.
	Retries int
	// RetryDelay is the wait before the first retry, doubling after each;
	// default 200ms.
	RetryDelay time.Duration
	// Queue bounds the alerts waiting to be sent; default 64. When it is
	// full, a new alert is dropped and counted (exo_alert_webhook_total
	// {result="dropped"}): the monitor never waits for the webhook.
	Queue int
	// Node names the sender in each POST (the JSON field "node"), so a
	// receiver that several nodes post to can tell them apart; exo-actors
	// node sets its --name. Empty: HOST/PID (the host name and the process
	// ID), which identifies an embedded System on its host.
	Node string
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 2
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 200 * time.Millisecond
	}
	if c.Queue <= 0 {
		c.Queue = 64
	}
	if c.Node == "" {
		c.Node = fmt.Sprintf("%s/%d", webhookHost(), os.Getpid())
	}
	return c
}

// webhookDropWarnEvery is the least time between two "alert webhook queue
// full" warnings; the drops in between are counted into the next one.
const webhookDropWarnEvery = time.Second

// webhookSink sends alerts on one goroutine of its own. The health monitor
// owns it: it starts it in Started and closes it (waiting for the goroutine)
// when it stops.
type webhookSink struct {
	cfg     WebhookConfig
	client  *http.Client
	queue   chan webhookAlert // never closed; offer never blocks
	ctx     context.Context
	stop    context.CancelFunc // ends the goroutine and any POST in progress
	wg      sync.WaitGroup
	logger  *logrus.Logger
	metrics *nodeMetrics
	// now is the drop warnings' clock: time.Now, or a test's (set before
	// the first offer).
	now func() time.Time
	// after is the held-back drops' timer (run): time.After, or a test's
	// (set before the first offer).
	after func(time.Duration) <-chan time.Time
	drops webhookDrops
	// results, when set (tests), gets each alert's result, without blocking.
	results chan<- string
}

// webhookAlert is one queued alert: the JSON body, and what identifies it
// in the sink's log lines.
type webhookAlert struct {
	body []byte
	id   webhookAlertID
}

// webhookAlertID is what identifies an alert (the fields a receiver
// deduplicates on, and its severity), read back from the JSON body.
type webhookAlertID struct {
	Node      string `json:"node"`
	RunnerID  string `json:"runner_id"`
	Condition string `json:"condition"`
	State     string `json:"state"`
	Severity  string `json:"severity"`
	At        string `json:"at"`
}

func (id webhookAlertID) fields() logrus.Fields {
	return logrus.Fields{"node": id.Node, "runner_id": id.RunnerID, "condition": id.Condition, "state": id.State, "severity": id.Severity, "at": id.At}
}

// webhookDrops throttles the queue-full warning: at most one per
// webhookDropWarnEvery, counting the drops in between. offer (the monitor's
// goroutine) and the sink's goroutine both use it.
type webhookDrops struct {
	mu      sync.Mutex
	warned  time.Time      // when the last warning was logged; zero: never
	pending int            // drops since that warning, not in any line yet
	last    webhookAlertID // the last alert dropped
}

func startWebhook(cfg WebhookConfig, logger *logrus.Logger, m *nodeMetrics) *webhookSink {
	cfg = cfg.withDefaults()
	s := &webhookSink{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{Proxy: nil, MaxIdleConns: 1}}, queue: make(chan webhookAlert, cfg.Queue),
		logger: logger, metrics: m, now: time.Now, after: time.After}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.run()
	return s
}

// offer queues one alert (the JSON of a HealthAlert), or drops it (counted,
// and warned about at most once a second) when the queue is full.
func (s *webhookSink) offer(body []byte) {
	a := webhookAlert{body: body}
	_ = json.Unmarshal(body, &a.id) // best effort: only the log lines use it
	select {
	case s.queue <- a:
	default:
		s.result("dropped")
		s.noteDrop(a.id)
	}
}

// noteDrop counts a dropped alert and logs the warning when the last one is
// at least webhookDropWarnEvery old.
func (s *webhookSink) noteDrop(id webhookAlertID) {
	d := &s.drops
	d.mu.Lock()
	d.pending++
	d.last = id
	n := s.takeDropsLocked(false)
	d.mu.Unlock()
	s.warnDrops(n, id)
}

// flushDrops logs the drops no warning counted yet: when the throttle
// allows (after each send), or always (force, when the sink closes).
func (s *webhookSink) flushDrops(force bool) {
	d := &s.drops
	d.mu.Lock()
	n, id := s.takeDropsLocked(force), d.last
	d.mu.Unlock()
	s.warnDrops(n, id)
}

// takeDropsLocked returns how many drops the next warning counts (0: no
// warning now) and marks them warned. Called with drops.mu held.
func (s *webhookSink) takeDropsLocked(force bool) int {
	d := &s.drops
	now := s.now()
	if d.pending == 0 || (!force && !d.warned.IsZero() && now.Sub(d.warned) < webhookDropWarnEvery) {
		return 0
	}
	n := d.pending
	d.pending, d.warned = 0, now
	return n
}

func (s *webhookSink) warnDrops(n int, last webhookAlertID) {
	if n == 0 {
		return
	}
	s.logger.WithFields(last.fields()).WithFields(logrus.Fields{"queue": s.cfg.Queue, "dropped": n}).
		Warn("alert webhook queue full: alerts dropped")
}

func (s *webhookSink) run() {
	defer s.wg.Done()
	var due <-chan time.Time // armed while the throttle holds drops back
	for {
		select {
		case <-s.ctx.Done():
			return
		case a := <-s.queue:
			s.send(a)
			s.flushDrops(false)
		case <-due:
			due = nil
			s.flushDrops(false)
		}
		// Drops held back are logged once their second has passed, even
		// if no alert comes after them (not only at close).
		if d, held := s.dropsDue(); held && due == nil {
			due = s.after(d)
		}
	}
}

// dropsDue reports whether drops are held back by the throttle, and in how
// long the warning counting them may be logged.
func (s *webhookSink) dropsDue() (time.Duration, bool) {
	d := &s.drops
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending == 0 {
		return 0, false
	}
	return max(webhookDropWarnEvery-s.now().Sub(d.warned), 0), true
}

func (s *webhookSink) result(r string) {
	s.metrics.webhook.WithLabelValues(r).Inc()
	if s.results != nil {
		select {
		case s.results <- r:
		default:
		}
	}
}

func (s *webhookSink) send(a webhookAlert) {
	delay := s.cfg.RetryDelay
	var err error
	for attempt := 0; attempt <= s.cfg.Retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(delay)
			select {
			case <-s.ctx.Done():
				t.Stop()
			case <-t.C:
			}
			delay *= 2
		}
		if s.ctx.Err() != nil { // closing: what was not sent is dropped
			s.result("dropped")
			return
		}
		if err = s.post(a.body); err == nil {
			s.result("sent")
			return
		}
	}
	s.logger.WithError(err).WithFields(a.id.fields()).WithFields(logrus.Fields{"url": s.cfg.URL, "attempts": s.cfg.Retries + 1}).
		Warn("alert webhook failed: alert not delivered")
	s.result("failed") // after the line: a test that saw the result finds it
}

func (s *webhookSink) post(body []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent())
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// close stops the sink and waits for its goroutine; alerts still queued are
// dropped (counted).
func (s *webhookSink) close() {
	s.stop()
	s.wg.Wait()
	s.client.CloseIdleConnections() // no keep-alive goroutine outlives the sink
	s.flushDrops(true)              // the drops the throttle still held back
	for {
		select {
		case <-s.queue:
			s.result("dropped")
		default:
			return
		}
	}
}

// webhookPayload is the JSON a webhook POST carries: the HealthAlert's
// fields, and who sent it.
type webhookPayload struct {
	*HealthAlert
	// Node is WebhookConfig.Node (default HOST/PID).
	Node string `json:"node"`
	// Host is the sender's host name (os.Hostname).
	Host string `json:"host"`
	// PID is the sender's process ID.
	PID int `json:"pid"`
}

// encode is the body of the POST for alert a.
func (s *webhookSink) encode(a *HealthAlert) ([]byte, error) {
	return json.Marshal(webhookPayload{HealthAlert: a, Node: s.cfg.Node, Host: webhookHost(), PID: os.Getpid()})
}

// webhookUserAgent is the User-Agent of every webhook POST.
func webhookUserAgent() string { return "exo-actors/" + Version }

func webhookHost() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown-host"
	}
	return h
}
