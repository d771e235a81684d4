package runner_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/exo-actors/exo-actors/runtime/runner"
)

// TestComputingTaskStartGoesOut: a task that computes without writing or
// blocking still has its Running and TaskAcknowledged sent while it runs
// (the SDK holds them only until its reader runs again), and its end
// follows.
func TestComputingTaskStartGoesOut(t *testing.T) {
	var released atomic.Bool
	s := start(t, handler{run: func(context.Context, *runner.Task) error {
		for !released.Load() { // computes: never blocks, never writes
		}
		return nil
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	released.Store(true)
	s.expect("Task t1 COMPLETE", "Status Ready")
}

// TestTaskFlushSendsTheStart: Task.Flush writes the task's start at once,
// and is harmless once nothing is held (a second call, after the start
// went out).
func TestTaskFlushSendsTheStart(t *testing.T) {
	var released atomic.Bool
	flushed := make(chan error, 2)
	s := start(t, handler{run: func(_ context.Context, tk *runner.Task) error {
		flushed <- tk.Flush()
		for !released.Load() {
		}
		flushed <- tk.Flush()
		return nil
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	if err := <-flushed; err != nil {
		t.Fatalf("Flush: %v", err)
	}
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	released.Store(true)
	if err := <-flushed; err != nil {
		t.Fatalf("second Flush: %v", err)
	}
	s.expect("Task t1 COMPLETE", "Status Ready")
}
