package actors_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
)

// TestStartNodeRefusesConflictingTimeouts: timeouts that each look fine but
// that the node's watchdogs would fight are refused by StartNode before
// anything starts, with one line naming both settings (a zero one as its
// default), their values and what to change, and an error that
// errors.Is ErrConflictingTimeouts. Before, StartNode accepted all of them:
// a HeartbeatInterval of 1.5s with a HeartbeatTimeout of 2s (runners judged
// hung after one late heartbeat), a health HeartbeatLimit below the
// heartbeat interval (runners scored 0 before each on-time heartbeat and
// restarted), a CLOSING deadline shorter than StopGrace (every runner
// SIGKILLed without its SIGTERM step, reported forced).
func TestStartNodeRefusesConflictingTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*actors.NodeConfig)
		want string
	}{
		{"heartbeat interval close to the timeout", func(c *actors.NodeConfig) {
			c.Timeouts = actors.RunnerTimeouts{HeartbeatInterval: 1500 * time.Millisecond, HeartbeatTimeout: 2 * time.Second}
		}, "conflicting timeouts: Timeouts.HeartbeatTimeout (2s) must be at least 2 × Timeouts.HeartbeatInterval (1.5s): a runner that heartbeats on time would be judged hung after a single late heartbeat; raise Timeouts.HeartbeatTimeout to 3s or more, or lower Timeouts.HeartbeatInterval to 1s or less"},
		{"heartbeat interval above the default timeout", func(c *actors.NodeConfig) {
			c.Timeouts = actors.RunnerTimeouts{HeartbeatInterval: 6 * time.Second}
		}, "Timeouts.HeartbeatTimeout (5s, the default) must be at least 2 × Timeouts.HeartbeatInterval (6s)"},
		{"progress timeout below two intervals", func(c *actors.NodeConfig) {
			c.Timeouts = actors.RunnerTimeouts{HeartbeatInterval: time.Second, ProgressTimeout: 1500 * time.Millisecond}
		}, "Timeouts.ProgressTimeout (1.5s) must be at least 2 × Timeouts.HeartbeatInterval (1s): progress counters arrive with the heartbeats"},
		{"loading stall below two intervals", func(c *actors.NodeConfig) {
			c.Timeouts = actors.RunnerTimeouts{HeartbeatInterval: time.Second, LoadingStall: time.Second}
		}, "Timeouts.LoadingStall (1s) must be at least 2 × Timeouts.HeartbeatInterval (1s): loaded layers arrive with the heartbeats"},
		{"frame stall at the heartbeat timeout", func(c *actors.NodeConfig) {
			c.Timeouts = actors.RunnerTimeouts{HeartbeatTimeout: 2 * time.Second, FrameStall: 2 * time.Second}
		}, "Timeouts.FrameStall (2s) must be below Timeouts.HeartbeatTimeout (2s): a stdout frame stuck mid-way would be judged a hang"},
		{"health heartbeat limit below two intervals", func(c *actors.NodeConfig) {
			c.Timeouts = actors.RunnerTimeouts{HeartbeatInterval: 2 * time.Second, HeartbeatTimeout: 10 * time.Second}
			c.Health.HeartbeatGrace, c.Health.HeartbeatLimit = 2*time.Second, 3*time.Second
		}, "conflicting timeouts: Health.HeartbeatLimit (3s) must be at least 2 × Timeouts.HeartbeatInterval (2s): a runner that heartbeats on time would score 0 (unhealthy) after a single late heartbeat and be restarted; raise Health.HeartbeatLimit to 4s or more (or leave it 0 for its default), or lower Timeouts.HeartbeatInterval to 1.5s or less"},
		{"health heartbeat grace below the interval", func(c *actors.NodeConfig) {
			c.Timeouts = actors.RunnerTimeouts{HeartbeatInterval: 2 * time.Second, HeartbeatTimeout: 10 * time.Second}
			c.Health.HeartbeatGrace = time.Second
		}, "conflicting timeouts: Health.HeartbeatGrace (1s) must be at least Timeouts.HeartbeatInterval (2s)"},
		{"closing deadline shorter than the stop escalation", func(c *actors.NodeConfig) {
			c.Timeouts = actors.RunnerTimeouts{StopGrace: 3 * time.Second}
			c.Shutdown.Closing = 4 * time.Second
		}, "conflicting timeouts: Shutdown.Closing (4s) must be at least Timeouts.StopGrace (3s) + Timeouts.TermWait (2s, the default) = 5s: the CLOSING deadline would SIGKILL a runner before its stop reaches SIGTERM and report it forced; raise Shutdown.Closing to 5s or more (or leave it 0 for its default), or lower Timeouts.StopGrace or Timeouts.TermWait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := actors.NodeConfig{Logger: quietLogger()}
			tc.cfg(&c)
			n, err := actors.StartNode(c)
			if err == nil {
				_, _ = n.Shutdown(ctxT(t))
				t.Fatalf("StartNode accepted it, want: %s", tc.want)
			}
			if !errors.Is(err, actors.ErrConflictingTimeouts) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error: %v\nwant one line wrapping ErrConflictingTimeouts with: %s", err, tc.want)
			}
		})
	}
}

// TestStartNodeFittingTimeouts: the edges that fit start, and zero health
// heartbeat settings and a zero CLOSING deadline follow the runner
// timeouts they depend on instead of fighting them.
func TestStartNodeFittingTimeouts(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Timeouts = actors.RunnerTimeouts{HeartbeatInterval: 2 * time.Second, HeartbeatTimeout: 4 * time.Second,
			ProgressTimeout: 4 * time.Second, LoadingStall: 4 * time.Second, FrameStall: 3999 * time.Millisecond,
			StopGrace: 10 * time.Second, TermWait: 5 * time.Second, Drain: 2 * time.Second}
		c.Health = actors.HealthConfig{}
	})
	_ = n
	hc := health.Config{}.ForRunners(2*time.Second, 4*time.Second)
	// Before: grace 1s and limit 2s (4s/2), at the heartbeat interval.
	if hc.HeartbeatGrace != 2*time.Second || hc.HeartbeatLimit != 4*time.Second {
		t.Errorf("defaults for a 2s interval, 4s timeout: grace %s, limit %s; want 2s, 4s", hc.HeartbeatGrace, hc.HeartbeatLimit)
	}
}

// TestChecksSayHowToLeaveADefaultByOneRule: ShutdownDeadlines.CheckFits
// and health.Config.CheckHeartbeat tell the Go API (name nil: "leave it 0")
// from a config file (a naming function: leave the key out) by the same
// rule. Before, CheckFits compared the name with "Shutdown.Closing": a
// naming function that kept the Go names read "leave it 0", while
// CheckHeartbeat with the same function read "leave it out".
func TestChecksSayHowToLeaveADefaultByOneRule(t *testing.T) {
	same := func(f string) string { return f }
	for _, tc := range []struct {
		name   func(string) string
		zeroed bool // "leave it 0"
	}{
		{nil, true},
		{same, false},
		{func(f string) string { return "cfg." + strings.ToLower(f) }, false},
	} {
		fits := actors.ShutdownDeadlines{Closing: 4 * time.Second}.CheckFits(actors.RunnerTimeouts{StopGrace: 3 * time.Second}, tc.name)
		hb := health.Config{HeartbeatGrace: time.Second}.CheckHeartbeat(2*time.Second, tc.name)
		if fits == nil || hb == nil {
			t.Fatalf("want both refused: %v; %v", fits, hb)
		}
		for _, err := range []error{fits, hb} {
			if got := strings.Contains(err.Error(), "leave it 0"); got != tc.zeroed {
				t.Errorf("name nil %v: %q says \"leave it 0\": %v, want %v", tc.name == nil, err, got, tc.zeroed)
			}
		}
	}
}
