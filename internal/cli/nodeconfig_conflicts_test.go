package cli

import (
	"strings"
	"testing"
)

// TestNodeConfigConflictingTimeouts: timeouts that each parse but that the
// runner's watchdog or the node's gateway would fight are refused at start,
// in one line naming both keys, their values (a key left out shows its
// default) and what to change. Before, only heartbeat_interval ≥
// heartbeat_timeout and frame_stall ≥ heartbeat_timeout were refused, and
// without a way out: {"heartbeat_interval": "1.5s", "heartbeat_timeout":
// "2s"} was accepted and its runners were judged hung after one late
// heartbeat.
func TestNodeConfigConflictingTimeouts(t *testing.T) {
	const kinds = `{"kinds": {"echo": {"builtin": true}}, `
	for _, tc := range []struct{ name, in, want string }{
		{"interval close to the timeout", `"timeouts": {"heartbeat_interval": "1.5s", "heartbeat_timeout": "2s"}}`,
			"timeouts.heartbeat_timeout (2s) must be at least 2 × timeouts.heartbeat_interval (1.5s): a runner that heartbeats on time would be judged hung after a single late heartbeat; raise timeouts.heartbeat_timeout to 3s or more, or lower timeouts.heartbeat_interval to 1s or less"},
		{"interval above the default timeout", `"timeouts": {"heartbeat_interval": "6s"}}`,
			"timeouts.heartbeat_timeout (5s, the default) must be at least 2 × timeouts.heartbeat_interval (6s)"},
		{"interval equal to the timeout", `"timeouts": {"heartbeat_interval": "5s", "heartbeat_timeout": "5s"}}`,
			"timeouts.heartbeat_timeout (5s) must be at least 2 × timeouts.heartbeat_interval (5s)"},
		{"progress below two intervals", `"timeouts": {"heartbeat_interval": "2s", "heartbeat_timeout": "10s", "progress_timeout": "3s"}}`,
			"timeouts.progress_timeout (3s) must be at least 2 × timeouts.heartbeat_interval (2s): progress counters arrive with the heartbeats, so a Running runner making progress would be judged frozen between two of them; raise timeouts.progress_timeout to 4s or more, or lower timeouts.heartbeat_interval to 1.5s or less"},
		{"loading stall below two intervals", `"timeouts": {"heartbeat_interval": "2s", "heartbeat_timeout": "10s", "loading_stall": "2s"}}`,
			"timeouts.loading_stall (2s) must be at least 2 × timeouts.heartbeat_interval (2s): loaded layers arrive with the heartbeats"},
		{"frame stall at the timeout", `"timeouts": {"frame_stall": "5s"}}`,
			"timeouts.frame_stall (5s) must be below timeouts.heartbeat_timeout (5s, the default): a stdout frame stuck mid-way would be judged a hang before it is judged garbage; lower timeouts.frame_stall or raise timeouts.heartbeat_timeout"},
		{"frame stall above a lowered timeout", `"timeouts": {"heartbeat_interval": "200ms", "heartbeat_timeout": "800ms", "frame_stall": "1s"}}`,
			"timeouts.frame_stall (1s) must be below timeouts.heartbeat_timeout (800ms)"},
		{"session timeout below two client heartbeats", `"session_timeout": "300ms"}`,
			"session_timeout (300ms) must be at least 2 × the clients' heartbeat (250ms): a client that pings on time would be dropped after a single late ping; raise session_timeout to 500ms or more, or leave it out for the default 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseNodeConfig(strings.NewReader(kinds + tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s\nerror: %v\nwant one line with: %s", tc.in, err, tc.want)
			}
		})
	}
	// The edges that fit are accepted.
	for _, in := range []string{
		`"timeouts": {"heartbeat_interval": "1s", "heartbeat_timeout": "2s", "progress_timeout": "2s", "loading_stall": "2s", "frame_stall": "1999ms"}}`,
		`"timeouts": {"heartbeat_interval": "2500ms"}}`,
		`"session_timeout": "500ms"}`,
		// A zero frame_stall follows a short heartbeat_timeout (400ms here);
		// before, its 1s default made this config fail.
		`"timeouts": {"heartbeat_interval": "200ms", "heartbeat_timeout": "800ms"}}`,
	} {
		if _, err := parseNodeConfig(strings.NewReader(kinds + in)); err != nil {
			t.Errorf("%s: %v, want it accepted", in, err)
		}
	}
}
