package stackdispatch

import (
	"runtime"
	"strings"
	"testing"
)

// TestScheduleRunsOnItsOwnGoroutine: fn runs, on a goroutine other than the
// caller's (so a sender never runs an actor's activation), and Throughput
// is what was asked.
func TestScheduleRunsOnItsOwnGoroutine(t *testing.T) {
	d := New(Throughput)
	if d.Throughput() != Throughput {
		t.Fatalf("Throughput() = %d, want %d", d.Throughput(), Throughput)
	}
	callers := make(chan string, 1)
	d.Schedule(func() {
		buf := make([]byte, 4096)
		callers <- string(buf[:runtime.Stack(buf, false)])
	})
	st := <-callers
	if strings.Contains(st, "testing.tRunner") {
		t.Errorf("fn ran on the caller's goroutine:\n%s", st)
	}
	if !strings.Contains(st, "stackdispatch.run") {
		t.Errorf("fn did not run under run (the stack is not grown first):\n%s", st)
	}
}

// TestGrowKeepsItsFrame: grow's frame is what makes the stack grow; if the
// compiler ever drops the array, this fails instead of the dispatcher
// silently losing its point.
func TestGrowKeepsItsFrame(t *testing.T) {
	allocs := testing.AllocsPerRun(10, func() { _ = grow() })
	if allocs != 0 {
		t.Errorf("grow allocates %.0f times per call: its array escaped to the heap", allocs)
	}
}
