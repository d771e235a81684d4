package clock_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

var start = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func TestFakeNowSinceSet(t *testing.T) {
	f := clock.NewFake(start)
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	f.Advance(90 * time.Second)
	if got := f.Since(start); got != 90*time.Second {
		t.Fatalf("Since = %v, want 90s", got)
	}
	f.Advance(-time.Hour) // treated as zero
	if got := f.Since(start); got != 90*time.Second {
		t.Fatalf("after negative Advance, Since = %v, want 90s", got)
	}
	f.Set(start.Add(time.Hour))
	if got := f.Now(); !got.Equal(start.Add(time.Hour)) {
		t.Fatalf("after Set, Now = %v", got)
	}
	f.Set(start) // backwards
	if got := f.Now(); !got.Equal(start) {
		t.Fatalf("after Set backwards, Now = %v", got)
	}
}

func TestFakeFiresInDueOrderAtDueTime(t *testing.T) {
	f := clock.NewFake(start)
	type firing struct {
		name string
		at   time.Duration
	}
	var got []firing
	arm := func(name string, d time.Duration) {
		f.AfterFunc(d, func() { got = append(got, firing{name, f.Since(start)}) })
	}
	arm("c", 3*time.Second)
	arm("a", time.Second)
	arm("b1", 2*time.Second)
	arm("b2", 2*time.Second) // same due time: arming order
	arm("late", 10*time.Second)
	if n := f.Pending(); n != 5 {
		t.Fatalf("Pending = %d, want 5", n)
	}

	f.Advance(5 * time.Second)

	want := []firing{{"a", time.Second}, {"b1", 2 * time.Second}, {"b2", 2 * time.Second}, {"c", 3 * time.Second}}
	if len(got) != len(want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("fired %v, want %v", got, want)
		}
	}
	if d := f.Since(start); d != 5*time.Second {
		t.Fatalf("after Advance, Since = %v, want 5s", d)
	}
	if n := f.Pending(); n != 1 {
		t.Fatalf("Pending = %d, want 1 (late)", n)
	}
	f.Set(start.Add(10 * time.Second))
	if len(got) != 5 || got[4].name != "late" {
		t.Fatalf("Set did not fire the late timer: %v", got)
	}
}

func TestFakeNonPositiveDelayFiresOnNextAdvance(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		f := clock.NewFake(start)
		fired := 0
		f.AfterFunc(d, func() { fired++ })
		if fired != 0 {
			t.Fatalf("d=%v: fired inside AfterFunc", d)
		}
		if n := f.Pending(); n != 1 {
			t.Fatalf("d=%v: Pending = %d, want 1", d, n)
		}
		f.Advance(0)
		if fired != 1 {
			t.Fatalf("d=%v: Advance(0) fired %d times, want 1", d, fired)
		}
		if !f.Now().Equal(start) {
			t.Fatalf("d=%v: time moved to %v", d, f.Now())
		}
	}
}

func TestFakeStop(t *testing.T) {
	f := clock.NewFake(start)
	fired := map[string]bool{}
	stopped := f.AfterFunc(time.Second, func() { fired["stopped"] = true })
	kept := f.AfterFunc(time.Second, func() { fired["kept"] = true })

	if !stopped.Stop() {
		t.Fatal("first Stop of a pending timer = false, want true")
	}
	if stopped.Stop() {
		t.Fatal("second Stop = true, want false")
	}
	if n := f.Pending(); n != 1 {
		t.Fatalf("Pending = %d, want 1", n)
	}
	f.Advance(time.Second)
	if fired["stopped"] || !fired["kept"] {
		t.Fatalf("fired = %v, want only kept", fired)
	}
	if kept.Stop() {
		t.Fatal("Stop after firing = true, want false")
	}
}

func TestFakeCallbackArmsAndStops(t *testing.T) {
	f := clock.NewFake(start)
	var got []string
	var victim clock.Timer
	f.AfterFunc(time.Second, func() {
		got = append(got, "first")
		f.AfterFunc(time.Second, func() { got = append(got, "chained") }) // due at 2s: inside this Advance
		f.AfterFunc(time.Hour, func() { got = append(got, "outside") })   // beyond this Advance
		victim.Stop()
	})
	victim = f.AfterFunc(1500*time.Millisecond, func() { got = append(got, "victim") })

	f.Advance(3 * time.Second)

	if len(got) != 2 || got[0] != "first" || got[1] != "chained" {
		t.Fatalf("fired %v, want [first chained]", got)
	}
	if n := f.Pending(); n != 1 {
		t.Fatalf("Pending = %d, want 1", n)
	}
}

func TestFakeWaitForTimers(t *testing.T) {
	f := clock.NewFake(start)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := f.WaitForTimers(ctx, 0); err != nil {
		t.Fatalf("WaitForTimers(0) = %v", err)
	}

	fired := make(chan struct{})
	armed := make(chan struct{})
	go func() {
		// sole sender: this goroutine
		defer close(armed)
		// sole sender: this callback, which runs once
		f.AfterFunc(time.Minute, func() { close(fired) })
	}()
	if err := f.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("WaitForTimers(1) = %v", err)
	}
	<-armed
	f.Advance(time.Minute)
	select {
	case <-fired:
	default:
		t.Fatal("timer did not fire during Advance")
	}

	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := f.WaitForTimers(short, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitForTimers on a cancelled context = %v, want context.Canceled", err)
	}
}

// TestFakeConcurrent is for the race detector: arming, stopping, reading and
// advancing from several goroutines at once.
func TestFakeConcurrent(t *testing.T) {
	f := clock.NewFake(start)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fired int
	)
	const workers, perWorker = 4, 50
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				tm := f.AfterFunc(time.Duration(i%5)*time.Millisecond, func() {
					mu.Lock()
					fired++
					mu.Unlock()
				})
				if (w+i)%7 == 0 {
					tm.Stop()
				}
				_ = f.Now()
				_ = f.Pending()
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done) // sole sender: this goroutine
		wg.Wait()
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			f.Advance(time.Millisecond)
		}
	}
	f.Advance(time.Hour)
	if n := f.Pending(); n != 0 {
		t.Fatalf("Pending = %d after draining, want 0", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if fired == 0 || fired > workers*perWorker {
		t.Fatalf("fired = %d, want 1..%d", fired, workers*perWorker)
	}
}

// TestFakeJumpRunsATickerOnce: a ticker that re-arms itself from its
// callback runs once in a Jump of ten intervals, reading the new time, as
// a process paused for that long sees it; an Advance of ten intervals runs
// it ten times, at each due time.
func TestFakeJumpRunsATickerOnce(t *testing.T) {
	f := clock.NewFake(start)
	var seen []time.Duration
	var tick func()
	tick = func() {
		seen = append(seen, f.Since(start))
		f.AfterFunc(time.Second, tick)
	}
	f.AfterFunc(time.Second, tick)
	f.Jump(10 * time.Second)
	if len(seen) != 1 || seen[0] != 10*time.Second {
		t.Fatalf("Jump(10s) ran the ticker at %v, want once at 10s", seen)
	}
	if got := f.Since(start); got != 10*time.Second {
		t.Fatalf("after Jump, Since = %v, want 10s", got)
	}
	seen = nil
	f.Advance(10 * time.Second)
	if len(seen) != 10 || seen[0] != 11*time.Second || seen[9] != 20*time.Second {
		t.Fatalf("Advance(10s) ran the ticker at %v, want at 11s…20s", seen)
	}
	f.Jump(-time.Hour) // treated as zero: nothing due
	if got := f.Since(start); got != 20*time.Second || len(seen) != 10 {
		t.Fatalf("after a negative Jump, Since = %v and %d runs, want 20s and 10", got, len(seen))
	}
}
