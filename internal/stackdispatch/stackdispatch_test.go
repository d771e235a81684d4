package stackdispatch

import (
	"runtime"
	"strings"
	"testing"
)

// TestGoRunsOnItsOwnGoroutine: fn runs on a goroutine other than the
// caller's, under run (so its stack is grown first).
func TestGoRunsOnItsOwnGoroutine(t *testing.T) {
	callers := make(chan string, 1)
	Go(func() {
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
