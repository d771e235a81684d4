package runtime_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestNewRefusesConflictingTimeouts: New refuses timeouts the watchdogs
// would fight, naming the Config fields (actors' tests cover each rule).
// Before, New accepted a HeartbeatInterval of 1.5s with a HeartbeatTimeout
// of 2s, and a Health.HeartbeatLimit below the heartbeat interval.
func TestNewRefusesConflictingTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*exo.Config)
		want string
	}{
		{"heartbeat", func(c *exo.Config) {
			c.Timeouts.HeartbeatInterval, c.Timeouts.HeartbeatTimeout = 1500*time.Millisecond, 2*time.Second
		}, "Timeouts.HeartbeatTimeout (2s) must be at least 2 × Timeouts.HeartbeatInterval (1.5s)"},
		{"health limit", func(c *exo.Config) {
			c.Timeouts.HeartbeatInterval = time.Second
			c.Health.HeartbeatLimit = 1500 * time.Millisecond
		}, "Health.HeartbeatLimit (1.5s) must be at least 2 × Timeouts.HeartbeatInterval (1s)"},
		{"health limit at the grace's default", func(c *exo.Config) {
			c.Timeouts.HeartbeatInterval = 400 * time.Millisecond
			c.Health.HeartbeatLimit = time.Second // a host's trial: "… both positive", wrapping nothing
		}, "Health.HeartbeatLimit (1s) must be above Health.HeartbeatGrace (1s, its default: max(1s, Timeouts.HeartbeatInterval))"},
		{"closing", func(c *exo.Config) { c.Shutdown.Closing = 600 * time.Millisecond },
			"Shutdown.Closing (600ms) must be at least Timeouts.StopGrace (500ms) + Timeouts.TermWait (300ms) = 800ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := newRefused(t, tc.mod, tc.want); !errors.Is(err, exo.ErrConflictingTimeouts) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v\nwant ErrConflictingTimeouts with: %s", err, tc.want)
			}
		})
	}
}

// newRefused returns the error of New for config() changed by mod; a
// New that accepts it fails the test (want says what was expected).
func newRefused(t *testing.T, mod func(*exo.Config), want string) error {
	t.Helper()
	cfg := config()
	mod(&cfg)
	s, err := exo.New(cfg)
	if err == nil {
		_, _ = s.Shutdown(t.Context())
		t.Fatalf("New accepted it, want: %s", want)
	}
	return err
}

// TestServeRefusesAShortSessionTimeout: a session timeout below two default
// client heartbeats would drop clients that ping on time; Serve refuses it
// before it listens.
func TestServeRefusesAShortSessionTimeout(t *testing.T) {
	s := newSystem(t, config())
	_, err := s.Serve(exo.ServeConfig{Name: "n", SessionTimeout: 300 * time.Millisecond})
	want := "ServeConfig.SessionTimeout (300ms) must be at least 2 × the clients' heartbeat (250ms, DefaultClientHeartbeat)"
	if !errors.Is(err, exo.ErrConflictingTimeouts) || !strings.Contains(err.Error(), want) {
		t.Fatalf("Serve: %v, want %q", err, want)
	}
}

// TestNewConfigErrorIsOneLine: a Config with several bad fields is
// refused with every one named, on one line (errors.Join put a newline
// between them, where the package doc says every error text is one line).
func TestNewConfigErrorIsOneLine(t *testing.T) {
	err := newRefused(t, func(c *exo.Config) { c.Tasks.InFlight, c.StreamBuffer = -2, -5 }, "negative fields refused")
	if !errors.Is(err, exo.ErrInvalidConfig) || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), "Tasks.InFlight is -2") || !strings.Contains(err.Error(), "; StreamBuffer is -5") {
		t.Errorf("New: %q; want one line wrapping ErrInvalidConfig naming Tasks.InFlight and StreamBuffer", err)
	}
}

// TestNewBadConfigWrapsErrInvalidConfig: every Config value New refuses as
// unworkable wraps ErrInvalidConfig, with its own text unchanged (a host's
// trial found that only negative fields did: a bad weight, webhook URL,
// BuiltinBinary or HTTP address could be told apart by text alone).
func TestNewBadConfigWrapsErrInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*exo.Config)
		want string
	}{
		{"weights", func(c *exo.Config) {
			c.Health.Weights = exo.HealthWeights{Process: 0.5, Status: 0.2, Resources: 0.2, Errors: 0.2}
		},
			"invalid health config: health weights sum to 1.1"},
		{"thresholds", func(c *exo.Config) { c.Health.Healthy, c.Health.Degraded = 0.5, 0.6 },
			"invalid health config: health thresholds out of order"},
		{"webhook", func(c *exo.Config) { c.Health.Webhook.URL = "127.0.0.1:9000/alerts" }, "Health.Webhook.URL "},
		{"builtin binary", func(c *exo.Config) { c.BuiltinBinary = "/nope/exo" }, `BuiltinBinary "/nope/exo": `},
		{"http addr", func(c *exo.Config) { c.Health.HTTP.Addr = "127.0.0.1:99999" }, "Health.HTTP.Addr: "},
		{"http allow hosts", func(c *exo.Config) {
			c.Health.HTTP.Addr, c.Health.HTTP.AllowHosts = "127.0.0.1:0", []string{"metrics.example.com", "http://proxy"}
		}, `Health.HTTP.AllowHosts[1]: "http://proxy": ':' is not a host name's character`},
		{"http allow hosts without an address", func(c *exo.Config) { c.Health.HTTP.AllowHosts = []string{"metrics.example.com"} },
			"Health.HTTP.AllowHosts without Health.HTTP.Addr: there are no HTTP endpoints to answer those hosts"},
		{"http allow hosts off loopback", func(c *exo.Config) {
			c.Health.HTTP.Addr, c.Health.HTTP.AllowHosts = "0.0.0.0:0", []string{"metrics.example.com"}
		}, `Health.HTTP.AllowHosts with Health.HTTP.Addr "0.0.0.0:0": on an address that is not loopback the endpoints answer every Host`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := newRefused(t, tc.mod, tc.want); !errors.Is(err, exo.ErrInvalidConfig) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("New: %v\nwant ErrInvalidConfig, the text beginning %q", err, tc.want)
			}
		})
	}
}
