package actors

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
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
	return c
}

// webhookSink sends alerts on one goroutine of its own. The health monitor
// owns it: it starts it in Started and closes it (waiting for the goroutine)
// when it stops.
type webhookSink struct {
	cfg     WebhookConfig
	client  *http.Client
	queue   chan []byte // never closed; offer never blocks
	ctx     context.Context
	stop    context.CancelFunc // ends the goroutine and any POST in progress
	wg      sync.WaitGroup
	logger  *logrus.Logger
	metrics *nodeMetrics
	// results, when set (tests), gets each alert's result, without blocking.
	results chan<- string
}

func startWebhook(cfg WebhookConfig, logger *logrus.Logger, m *nodeMetrics) *webhookSink {
	cfg = cfg.withDefaults()
	s := &webhookSink{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{Proxy: nil, MaxIdleConns: 1}}, queue: make(chan []byte, cfg.Queue),
		logger: logger, metrics: m}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.run()
	return s
}

// offer queues one alert, or drops it (counted) when the queue is full.
func (s *webhookSink) offer(body []byte) {
	select {
	case s.queue <- body:
	default:
		s.result("dropped")
		s.logger.WithField("queue", s.cfg.Queue).Warn("alert webhook queue full: alert dropped")
	}
}

func (s *webhookSink) run() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case b := <-s.queue:
			s.send(b)
		}
	}
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

func (s *webhookSink) send(body []byte) {
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
		if err = s.post(body); err == nil {
			s.result("sent")
			return
		}
	}
	s.result("failed")
	s.logger.WithError(err).WithFields(logrus.Fields{"url": s.cfg.URL, "attempts": s.cfg.Retries + 1}).Warn("alert webhook failed: alert not delivered")
}

func (s *webhookSink) post(body []byte) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
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
	for {
		select {
		case <-s.queue:
			s.result("dropped")
		default:
			return
		}
	}
}
