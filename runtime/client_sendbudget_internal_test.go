package runtime

import (
	"context"
	"errors"
	goruntime "runtime"
	"testing"
)

// TestSendBudget: requests take bytes in arrival order; one that gives
// up (its context ends) leaves the line and lets the next in; a release
// serves every waiter that fits.
func TestSendBudget(t *testing.T) {
	b := newSendBudget(10)
	never := make(chan struct{}) // never closed
	errDone := func() error { return errors.New("done") }
	bg := context.Background()
	if n, err := b.acquire(bg, never, 8, errDone); err != nil || n != 8 {
		t.Fatalf("first: %d, %v", n, err)
	}
	// 5 does not fit: it waits; 1 fits but comes after it, so waits too.
	cctx, cancel := context.WithCancel(bg)
	five := make(chan error, 1) // never closed
	go func() {                 // owner: the test, which receives its one result
		_, err := b.acquire(cctx, never, 5, errDone)
		five <- err
	}()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.waiters) == 1 })
	one := make(chan error, 1) // never closed
	go func() {                // owner: the test, which receives its one result
		_, err := b.acquire(bg, never, 1, errDone)
		one <- err
	}()
	waitFor(t, func() bool { b.mu.Lock(); defer b.mu.Unlock(); return len(b.waiters) == 2 })
	cancel() // the 5 gives up: the 1 behind it fits now
	if err := <-five; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v", err)
	}
	if err := <-one; err != nil {
		t.Fatalf("waiter behind it: %v", err)
	}
	b.release(8)
	b.release(1)
	if b.used != 0 || len(b.waiters) != 0 {
		t.Fatalf("used %d, %d waiters, want 0 and 0", b.used, len(b.waiters))
	}
	// Larger than the budget: takes the whole of it.
	if n, err := b.acquire(bg, never, 50, errDone); err != nil || n != 10 {
		t.Fatalf("oversized: %d, %v", n, err)
	}
	closed := make(chan struct{})
	close(closed) // sole sender: the test, once
	if _, err := b.acquire(bg, closed, 1, errDone); err == nil || err.Error() != "done" {
		t.Fatalf("after done: %v", err)
	}
}

// waitFor waits until cond holds, yielding between looks.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for range 1_000_000 {
		if cond() {
			return
		}
		goruntime.Gosched()
	}
	t.Fatal("condition never held")
}
