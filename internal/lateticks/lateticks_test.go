package lateticks

import (
	"testing"
	"time"
)

// TestLateTicksJudgeAfterAFew: late ticks pass without a judgement at most
// MaxSkips times in a row; a judgement or a tick on time starts the count
// again.
func TestLateTicksJudgeAfterAFew(t *testing.T) {
	const period = 250 * time.Millisecond
	var j Judge
	now := time.Now()
	step := func(d time.Duration) bool { now = now.Add(d); return j.Late(now, period) }
	if step(0) {
		t.Fatal("the first tick counted late")
	}
	if step(period) || step(2*period) {
		t.Fatal("a tick within two periods counted late")
	}
	for i := 1; i <= MaxSkips; i++ {
		if !step(2 * time.Second) {
			t.Fatalf("late tick %d judged", i)
		}
	}
	if step(2 * time.Second) {
		t.Fatalf("late tick %d in a row not judged", MaxSkips+1)
	}
	if !step(2*time.Second) || step(period) || !step(2*time.Second) {
		t.Fatal("the count did not start again after a judgement or a tick on time")
	}
}
