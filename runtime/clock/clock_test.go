package clock_test

import (
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

var (
	_ clock.Clock = clock.Real()
	_ clock.Clock = (*clock.Fake)(nil)
)

func TestRealAfterFuncAndStop(t *testing.T) {
	c := clock.Real()
	before := c.Now()
	if c.Since(before) < 0 {
		t.Fatal("Since went backwards")
	}

	fired := make(chan struct{})
	c.AfterFunc(0, func() { close(fired) }) // sole sender: this callback, run once
	<-fired                                 // waits on the event, no sleep

	never := c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	if !never.Stop() {
		t.Fatal("Stop of a pending real timer = false, want true")
	}
}
