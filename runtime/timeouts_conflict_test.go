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
		{"closing", func(c *exo.Config) { c.Shutdown.Closing = 600 * time.Millisecond },
			"Shutdown.Closing (600ms) must be at least Timeouts.StopGrace (500ms) + Timeouts.TermWait (300ms) = 800ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config()
			tc.mod(&cfg)
			s, err := exo.New(cfg)
			if err == nil {
				_, _ = s.Shutdown(t.Context())
				t.Fatalf("New accepted it, want: %s", tc.want)
			}
			if !errors.Is(err, exo.ErrConflictingTimeouts) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v\nwant ErrConflictingTimeouts with: %s", err, tc.want)
			}
		})
	}
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
