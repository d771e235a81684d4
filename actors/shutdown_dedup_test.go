package actors_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
)

// TestSubmitDuringSignalingDedup: Submits that reach the supervisor while
// SIGNALING ends a runner's queued tasks get the known task's handle or
// ErrShuttingDown, and the runner actor alone reads its ledger. The
// Submits go to the supervisor's route as one that raced the start of the
// shutdown does (past Node.Submit's own refusal). Before, the supervisor looked the ID up in
// the ledger on its own goroutine while the runner deleted the queued tasks
// from it: the race detector caught it in TestCoreSemanticsStress under
// load (ledger.lookup in runnerSupervisor.route against nodeConfig.endTask
// in closeAdmission).
func TestSubmitDuringSignalingDedup(t *testing.T) {
	const queued = 40
	n := startNode(t, func(c *actors.NodeConfig) { c.Tasks.InFlight, c.Tasks.Queue = 1, 2*queued })
	ctx := ctxT(t)
	id := readyRunner(t, n, "--token-delay", "5ms")
	mustSubmit(t, n, id, textTask("long", 400)) // 2 s: holds the queue through SIGNALING; DRAINING waits for it
	for i := range queued {
		mustSubmit(t, n, id, textTask(fmt.Sprint("q", i), 1))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	for w := range 2 {
		wg.Add(1)
		go func() { // owned: waited for below
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				known := fmt.Sprint("q", i%queued)
				h, err := n.SubmitViaSupervisorForTest(ctx, id, textTask(known, 1))
				switch {
				case err == nil && h.ID == known:
				case errors.Is(err, actors.ErrShuttingDown):
				default:
					mu.Lock()
					bad = append(bad, fmt.Sprintf("Submit of known %s: %v, %v", known, h, err))
					mu.Unlock()
				}
				fresh := fmt.Sprintf("new-%d-%d", w, i)
				if _, err := n.SubmitViaSupervisorForTest(ctx, id, textTask(fresh, 1)); err == nil {
					// accepted before SIGNALING: it is queued like the rest
				} else if !errors.Is(err, actors.ErrShuttingDown) && !errors.Is(err, actors.ErrQueueFull) {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("Submit of new %s: %v", fresh, err))
					mu.Unlock()
				}
			}
		}()
	}
	if _, err := n.ShutdownPhase(ctx, actors.PhaseSignaling, 10*time.Second, 0); err != nil {
		t.Fatalf("SIGNALING: %v", err)
	}
	if _, err := n.Submit(ctx, id, textTask("after", 1)); !errors.Is(err, actors.ErrShuttingDown) {
		t.Errorf("Submit of a new ID after SIGNALING: %v, want ErrShuttingDown", err)
	}
	close(stop) // sole sender: this test, once
	wg.Wait()
	for _, b := range bad {
		t.Error(b)
	}
}
