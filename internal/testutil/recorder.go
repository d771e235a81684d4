package testutil

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// Recorder collects the events a hook receives (of any event type E) and
// lets a test wait for a condition on them: on a notification, never a
// sleep. Its Hook is safe for concurrent use.
type Recorder[E any] struct {
	mu     sync.Mutex
	events []E
	notify chan struct{} // capacity 1; never closed
}

// NewRecorder returns an empty Recorder.
func NewRecorder[E any]() *Recorder[E] { return &Recorder[E]{notify: make(chan struct{}, 1)} }

// Hook records e; pass it as the node's or System's event hook.
func (r *Recorder[E]) Hook(e E) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Snapshot returns the events so far.
func (r *Recorder[E]) Snapshot() []E {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]E(nil), r.events...)
}

// Await waits until cond holds on the events so far, or returns an error
// after limit (a bound on a wait for an event, not a sleep). Safe from any
// goroutine.
func (r *Recorder[E]) Await(limit time.Duration, what string, cond func([]E) bool) ([]E, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		evs := r.Snapshot()
		if cond(evs) {
			return evs, nil
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			return evs, fmt.Errorf("timed out after %s waiting for %s (%d events)", limit, what, len(evs))
		}
	}
}

// Wait is Await that fails the test; call it from the test's goroutine.
func (r *Recorder[E]) Wait(t testing.TB, limit time.Duration, what string, cond func([]E) bool) []E {
	t.Helper()
	evs, err := r.Await(limit, what, cond)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
