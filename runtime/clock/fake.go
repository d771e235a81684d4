package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Fake is a Clock whose time moves only when a test calls Advance, Jump or
// Set.
// Create it with NewFake; it is safe for concurrent use and starts no
// goroutines.
//
// Timer callbacks run synchronously on the goroutine that calls Advance or Set,
// one at a time, in order of due time (timers due at the same instant run in
// the order they were armed). While a callback runs, Now returns its due time
// and the Fake's lock is not held, so the callback may read the clock, arm new
// timers (those due within the same Advance run in that Advance too) or stop
// others. The caller of Advance must therefore not hold a lock that a callback
// needs.
//
// A timer armed with d <= 0 is due at once but, to stay deterministic, does
// not run inside AfterFunc: it runs on the next Advance or Set, including
// Advance(0).
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  timerHeap
	seq     uint64        // arming order, breaks ties between equal due times
	changed chan struct{} // closed and replaced whenever the set of timers changes
}

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Since returns Now().Sub(t).
func (f *Fake) Since(t time.Time) time.Duration { return f.Now().Sub(t) }

// AfterFunc arms a timer that calls fn when the fake time reaches Now()+d.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	t := &fakeTimer{clock: f, due: f.now.Add(max(d, 0)), seq: f.seq, fn: fn}
	heap.Push(&f.timers, t)
	f.notifyLocked()
	return t
}

// Advance moves the fake time forward by d and runs, on the caller's goroutine,
// every timer callback that falls due, as described on Fake. A negative d is
// treated as zero. When Advance returns, Now is at least the old time plus d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	target := f.now.Add(max(d, 0))
	f.mu.Unlock()
	f.advanceTo(target)
}

// Jump moves the fake time forward by d at once, as a process that was
// paused for d sees it on waking, and runs every timer due by then, as
// Advance does, except that each callback reads the new time: a timer armed
// from within one with d > 0 (a ticker re-arming itself) is due after it
// and does not run in this Jump (one armed with d <= 0 does). Advance instead lets the time pass timer by timer, so a
// code that re-arms from an actor races Advance's loop and may run once or
// several times within one Advance of several intervals. A negative d is
// treated as zero.
func (f *Fake) Jump(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(max(d, 0))
	target := f.now
	f.mu.Unlock()
	f.advanceTo(target)
}

// Set moves the fake time to t. Moving it forward runs the timers that fall
// due, as Advance does; moving it backward runs none, and timers keep their
// due times.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	if t.Before(f.now) {
		f.now = t
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	f.advanceTo(t)
}

// Pending returns the number of armed timers: armed, not yet run, not stopped.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// WaitForTimers blocks until at least n timers are pending, and returns nil, or
// until ctx is done, and returns ctx.Err(). It is the sync point a test uses
// before Advance, to know that the code under test has armed its timer.
func (f *Fake) WaitForTimers(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		pending, changed := len(f.timers), f.changed
		f.mu.Unlock()
		if pending >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// advanceTo runs due timers one at a time, without holding the lock while a
// callback runs, then leaves the time at target (or later, if a concurrent
// Advance moved it further).
func (f *Fake) advanceTo(target time.Time) {
	for {
		f.mu.Lock()
		if len(f.timers) == 0 || f.timers[0].due.After(target) {
			if target.After(f.now) {
				f.now = target
			}
			f.mu.Unlock()
			return
		}
		t := heap.Pop(&f.timers).(*fakeTimer)
		if t.due.After(f.now) {
			f.now = t.due
		}
		f.notifyLocked()
		f.mu.Unlock()
		t.fn()
	}
}

// notifyLocked wakes every WaitForTimers call. f.mu must be held.
func (f *Fake) notifyLocked() {
	close(f.changed) // sole sender: the Fake, under f.mu; replaced right below
	f.changed = make(chan struct{})
}

// fakeTimer is a Timer armed on a Fake. index is its position in the heap, or
// -1 once it has run or been stopped; both are guarded by clock.mu.
type fakeTimer struct {
	clock *Fake
	due   time.Time
	seq   uint64
	fn    func()
	index int
}

func (t *fakeTimer) Stop() bool {
	f := t.clock
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&f.timers, t.index)
	f.notifyLocked()
	return true
}

// timerHeap orders timers by due time, then by arming order.
type timerHeap []*fakeTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	n := len(old)
	t := old[n-1]
	old[n-1] = nil
	t.index = -1
	*h = old[:n-1]
	return t
}
