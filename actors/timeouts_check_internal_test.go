package actors

import (
	"testing"
	"time"
)

// TestShutdownDeadlinesFitTheStopEscalation: a zero CLOSING deadline
// stretches past its 15s default when a runner's stop escalation and pipe
// drain (StopGrace + TermWait + Drain) need longer; one the caller set is
// kept (checkShutdownFits refuses it when too short).
func TestShutdownDeadlinesFitTheStopEscalation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		closing time.Duration
		t       RunnerTimeouts
		want    time.Duration
	}{
		{"defaults", 0, RunnerTimeouts{}, 15 * time.Second},
		{"a long stop grace stretches the default", 0, RunnerTimeouts{StopGrace: 20 * time.Second}, 23 * time.Second},
		{"a set deadline is kept", 30 * time.Second, RunnerTimeouts{StopGrace: 20 * time.Second}, 30 * time.Second},
	} {
		if got := shutdownDeadlines(ShutdownDeadlines{Closing: tc.closing}, tc.t.withDefaults()).Closing; got != tc.want {
			t.Errorf("%s: Closing %s, want %s", tc.name, got, tc.want)
		}
	}
}
