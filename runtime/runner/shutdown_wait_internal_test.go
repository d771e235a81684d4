package runner

import (
	"testing"
	"time"
)

// TestShutdownWaitLeavesTheExitItsMargin: the SDK's wait for cancelled
// handlers ends before the Shutdown frame's timeout, when the supervisor
// sends SIGTERM, by the exit margin, counted from the frame.
func TestShutdownWaitLeavesTheExitItsMargin(t *testing.T) {
	for _, tc := range []struct{ timeout, elapsed, want time.Duration }{
		{0, 0, 0}, // no limit
		{3 * time.Second, 0, 2500 * time.Millisecond},
		{3 * time.Second, time.Second, 1500 * time.Millisecond}, // a BeforeShutdown hook took 1s
		{time.Minute, 0, time.Minute - 500*time.Millisecond},
		{time.Second, 0, 800 * time.Millisecond},         // a fifth of a short timeout
		{time.Second, 2 * time.Second, time.Millisecond}, // the hook took it all: a look, not "no limit"
	} {
		if got := shutdownWait(tc.timeout, tc.elapsed); got != tc.want {
			t.Errorf("shutdownWait(%s, %s) = %s, want %s", tc.timeout, tc.elapsed, got, tc.want)
		}
	}
}
