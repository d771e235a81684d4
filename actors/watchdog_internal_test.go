package actors

import (
	"testing"
	"time"
)

// TestWatchdogLateBound: a watchdog firing more than a period after it was
// due is let pass (the node was behind, not necessarily the runner), at most
// maxLateWatchdogs times in a row; then the runner is judged, late or not,
// so a node that stays behind still finds a hung runner. A firing on time
// is judged and starts the count again.
func TestWatchdogLateBound(t *testing.T) {
	timeouts := RunnerTimeouts{HeartbeatTimeout: 400 * time.Millisecond, ProgressTimeout: time.Hour, LoadingStall: time.Hour}.withDefaults()
	period := timeouts.watchdogPeriod() // 100 ms
	a := &runnerActor{node: &nodeConfig{timeouts: timeouts}}
	due := time.Unix(1_700_000_000, 0)
	a.watchdog.due = due
	if a.watchdogLate(due.Add(period)) {
		t.Fatal("a firing one period after its due time was let pass: only later ones are")
	}
	for i := 1; i <= maxLateWatchdogs; i++ {
		if !a.watchdogLate(due.Add(2 * time.Second)) {
			t.Fatalf("late firing %d was judged; want the first %d let pass", i, maxLateWatchdogs)
		}
	}
	if a.watchdogLate(due.Add(2 * time.Second)) {
		t.Fatalf("late firing %d in a row was let pass too: a node that stays behind would never find a hang", maxLateWatchdogs+1)
	}
	if !a.watchdogLate(due.Add(2 * time.Second)) {
		t.Fatal("after a judgement the count did not start again")
	}
}
