package runtime

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestAwaitSubsEndedWakesEveryWaiter: ShutdownNode's wait for the ends of
// the client's subscriptions returns for every caller once the last one is
// dropped, not only for the one that happened to take the wake-up; the
// chaos driver calls ShutdownNode twice at once on one client. Before, the
// wake-up was a single token: of two waiters, one took it and the other
// waited out its whole bound (5 s) with no subscription left. In a
// synctest bubble: no fake time may pass before both return.
func TestAwaitSubsEndedWakesEveryWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &Client{subs: map[uint64]*remoteSub{1: {}, 2: {}}, subsGone: make(chan struct{}), ended: make(chan struct{})}
		waited := make(chan time.Duration, 2) // never closed
		for range 2 {
			go func() { // owned by the bubble: synctest.Test waits for it
				start := time.Now()
				c.awaitSubsEnded(context.Background(), time.Hour)
				waited <- time.Since(start)
			}()
		}
		synctest.Wait() // both wait for the ends
		for _, id := range []uint64{1, 2} {
			c.mu.Lock()
			c.forgetSubLocked(id)
			c.mu.Unlock()
			synctest.Wait()
		}
		for i := range 2 {
			select {
			case d := <-waited:
				if d != 0 {
					t.Errorf("waiter %d returned after %s, want at once", i, d)
				}
			default:
				t.Errorf("waiter %d still waits with no subscription left", i)
			}
		}
	})
}
