package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	exo "github.com/exo-actors/exo-actors/runtime"
)

const (
	statusReady  = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY
	statusFailed = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED
)

// seen is one lifecycle event as the hook received it, stamped with the
// time the hook ran: the moment an observer of the runtime learns of it.
type seen struct {
	runner  string
	gen     uint64
	status  exov1.RunnerStatusKind // StatusChanged: the new status
	started bool                   // ProcessStarted (then pid is set)
	pid     int
	at      time.Time
}

// watcher is the event hook of a measured system. It keeps the lifecycle
// events (process started, status changed) and ignores every other one at
// once, so it costs the event path next to nothing. Its slice is allocated
// up front so that keeping events does not show in the memory row.
type watcher struct {
	mu     sync.Mutex
	events []seen
	notify chan struct{} // capacity 1, never closed: "something new"
}

func newWatcher() *watcher {
	return &watcher{events: make([]seen, 0, 8192), notify: make(chan struct{}, 1)}
}

// hook is the exo.EventHook; it never blocks.
func (w *watcher) hook(ev exo.Event) {
	var s seen
	switch e := ev.(type) {
	case exo.StatusChanged:
		s = seen{runner: e.RunnerID, gen: e.Generation, status: exov1.RunnerStatusKind(e.To)}
	case exo.ProcessStarted:
		s = seen{runner: e.RunnerID, gen: e.Generation, started: true, pid: e.Pid}
	default:
		return
	}
	s.at = time.Now()
	w.mu.Lock()
	w.events = append(w.events, s)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// await returns the first event that matches, waiting for it.
func (w *watcher) await(ctx context.Context, what string, match func(seen) bool) (seen, error) {
	var found seen
	err := w.awaitN(ctx, what, 1, func(s seen) bool {
		if match(s) {
			found = s
			return true
		}
		return false
	})
	return found, err
}

// awaitN waits until n events match. Only one goroutine waits at a time.
func (w *watcher) awaitN(ctx context.Context, what string, n int, match func(seen) bool) error {
	got, from := 0, 0
	for {
		w.mu.Lock()
		evs := w.events[from:]
		from = len(w.events)
		w.mu.Unlock()
		for _, s := range evs {
			if match(s) {
				if got++; got == n {
					return nil
				}
			}
		}
		select {
		case <-w.notify:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s (%d of %d seen): %w", what, got, n, ctx.Err())
		}
	}
}

// isStatus matches runner id (any runner when empty) reaching status in
// generation gen (any generation when 0).
func isStatus(id string, gen uint64, status exov1.RunnerStatusKind) func(seen) bool {
	return func(s seen) bool {
		return !s.started && s.status == status && (id == "" || s.runner == id) && (gen == 0 || s.gen == gen)
	}
}

// isStarted matches runner id's process of generation gen starting.
func isStarted(id string, gen uint64) func(seen) bool {
	return func(s seen) bool { return s.started && s.runner == id && s.gen == gen }
}
