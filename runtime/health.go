package runtime

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// Health monitor types, re-exported.
type (
	// HealthConfig configures the health monitor, its webhook and the HTTP
	// endpoints (Config.Health).
	HealthConfig = actors.HealthConfig
	// HealthSettings are the score's thresholds, weights and the recovery
	// limits (HealthConfig's embedded part).
	HealthSettings = health.Config
	// HealthWeights weigh the score's components.
	HealthWeights = health.Weights
	// HTTPConfig configures /healthz, /readyz, /metrics and /status.
	HTTPConfig = actors.HTTPConfig
	// WebhookConfig configures the alert webhook.
	WebhookConfig = actors.WebhookConfig
	// HealthReport is the monitor's view at its last check.
	HealthReport = actors.HealthReport
	// RunnerHealth is one runner in a HealthReport.
	RunnerHealth = actors.RunnerHealth
	// HealthAlert is an alert of the health monitor (alerts topic).
	HealthAlert = actors.HealthAlert
	// HealthChanged is an Event: a runner's health level changed.
	HealthChanged = actors.HealthChanged
	// StatusDoc is the /status document.
	StatusDoc = httpapi.StatusDoc
)

// Health returns the health monitor's report of its last check.
func (s *System) Health(ctx context.Context) (HealthReport, error) { return s.node.Health(ctx) }

// Metrics returns the node's own Prometheus registry.
func (s *System) Metrics() *prometheus.Registry { return s.node.Metrics() }

// Status returns the /status document.
func (s *System) Status(ctx context.Context) (*StatusDoc, error) {
	return httpapi.BuildStatus(ctx, s.node)
}

// HTTPAddr returns the address the HTTP endpoints listen on, or "" when
// they are off.
func (s *System) HTTPAddr() string {
	if s.http == nil {
		return ""
	}
	return s.http.Addr()
}

func (s *System) startHTTP(cfg Config) error {
	if cfg.Health.HTTP.Addr == "" {
		return nil
	}
	logger := cfg.Logger
	if logger == nil {
		logger = s.node.Logger()
	}
	srv, err := httpapi.Start(s.node, cfg.Health.HTTP, logger)
	if err != nil {
		return fmt.Errorf("start HTTP endpoints: %w", err)
	}
	s.http = srv
	return nil
}

func (s *System) stopHTTP(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	return s.http.Shutdown(ctx)
}
