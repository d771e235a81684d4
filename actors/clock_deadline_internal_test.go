package actors

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

// TestClockDeadlineIsOnTheNodesClock: the streams' phase deadline runs on
// the node's RunnerClock. With context.WithDeadline, a stepped clock set in
// the past made every stream's DRAINING time out at once (3 of 40 runs of
// TestDrainTaskEndingByItselfIsNotCutShort, and a red CI).
func TestClockDeadlineIsOnTheNodesClock(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0)) // years before the wall clock
	ctx, cancel := clockDeadline(fc, time.Minute)
	defer cancel()
	if err := ctx.Err(); err != nil {
		t.Fatalf("the context ended before its clock moved: %v", err)
	}
	fc.Advance(59 * time.Second)
	if err := ctx.Err(); err != nil {
		t.Fatalf("the context ended before its deadline on its clock: %v", err)
	}
	fc.Advance(time.Second)
	<-ctx.Done()
	if cause := context.Cause(ctx); !errors.Is(cause, context.DeadlineExceeded) {
		t.Fatalf("cause %v, want context.DeadlineExceeded", cause)
	}

	ctx2, cancel2 := clockDeadline(fc, time.Minute)
	cancel2()
	<-ctx2.Done()
	if cause := context.Cause(ctx2); !errors.Is(cause, context.Canceled) {
		t.Fatalf("cancelled: cause %v, want context.Canceled", cause)
	}
	if n := fc.Pending(); n != 0 {
		t.Fatalf("%d timers left on the clock after cancel, want 0", n)
	}
}
