package actors_test

import (
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// gatedClock is a fake clock whose timer callbacks, when they fall due, are
// held until the test releases them: a timer that fell due at one reading
// is acted on at a later one, as on a node whose goroutines did not run for
// a while.
type gatedClock struct {
	*clock.Fake
	mu   sync.Mutex
	held []func()
}

func (g *gatedClock) AfterFunc(d time.Duration, fn func()) clock.Timer {
	return g.Fake.AfterFunc(d, func() {
		g.mu.Lock()
		g.held = append(g.held, fn)
		g.mu.Unlock()
	})
}

// release runs the held callbacks now, in the order they fell due.
func (g *gatedClock) release() {
	g.mu.Lock()
	held := g.held
	g.held = nil
	g.mu.Unlock()
	for _, fn := range held {
		fn()
	}
}

// TestStalledNodeDoesNotCallRunnerHung: when the node itself did not run
// for a while (a loaded machine; TestCoreSemanticsStress saw "runner hangs:
// no heartbeat for 2.4s (limit 400ms)" at load average 11, from a watchdog
// due every 100 ms that ran 2 s late), the runner's frames written meanwhile
// may wait unread in the pipe: a watchdog firing that came more than a
// period late is no judgement, it gives the reader a period to catch up.
// Here the watchdog falls due at +100 ms and is acted on at +2 s, with no
// frame read in between (heartbeats asked once an hour): the runner stays
// up and serves the next task. A runner that really hangs is still found
// (TestFaultKnobs' "hang": watchdog on time; the bound on late
// firings in a row: TestWatchdogLateBound).
func TestStalledNodeDoesNotCallRunnerHung(t *testing.T) {
	gc := &gatedClock{Fake: clock.NewFake(time.Unix(1_700_000_000, 0))}
	n := startNodeUnchecked(t, func(c *actors.NodeConfig) {
		c.RunnerClock = gc
		c.Timeouts.HeartbeatInterval = time.Hour // no frame between the watchdog's due time and its firing
		c.Timeouts.Handshake = time.Hour
		c.Timeouts.ProgressTimeout = time.Hour
		c.Timeouts.LoadingStall = time.Hour
	}) // HeartbeatTimeout 400 ms: the watchdog is due every 100 ms
	id := readyRunner(t, n)
	gc.Advance(2 * time.Second) // the watchdog falls due at +100 ms: held
	gc.release()                // and is acted on at +2 s
	// The task's frames reach the runner actor after the watchdog's
	// message: its outcome is the sync point.
	if o := wait(t, mustSubmit(t, n, id, textTask("after-the-stall", 5))); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Fatalf("task after the stall: %s (%s)", o.Status, o.Reason)
	}
	for _, r := range n.Policy().Records() {
		t.Errorf("error record %s: %s (the node's stall was taken for the runner's)", r.Kind, r.Message)
	}
	if infos, err := n.Runners(ctxT(t)); err != nil || len(infos) != 1 || infos[0].Generation != 1 {
		t.Errorf("runners after the stall: %+v, %v; want generation 1 still serving", infos, err)
	}
}
