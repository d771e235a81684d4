package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The reconcile stop of a runner a returning member still hosts: each
// attempt (cancel its tasks, then stop it) is bounded by
// reconcileStopTimeout; at most reconcileStopAttempts, reconcileStopPause
// × the attempt apart.
const (
	reconcileStopAttempts = 3
	reconcileStopTimeout  = 5 * time.Second
	reconcileStopPause    = 250 * time.Millisecond
)

// stopStale stops runner id, which member mc still hosts though the
// client replaced it (or stopped it, or follows the same ID elsewhere),
// without letting it run anything more: every task it holds is cancelled
// first (the client resubmitted or failed each of them already), then it
// is stopped, which has nothing left to drain. A failed attempt is tried
// again, at most reconcileStopAttempts in all. It returns the
// runner_reconciled detail: "stopped: why …" only when the stop succeeded
// (or the node no longer has the runner), else "not stopped: why …" with
// the last error.
func (cc *ClusterClient) stopStale(mc *memberConn, id, why string) string {
	cancelled := 0
	var last error
	for attempt := 1; attempt <= reconcileStopAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(time.Duration(attempt-1) * reconcileStopPause)
			select {
			case <-cc.ctx.Done():
				t.Stop()
				return fmt.Sprintf("not stopped: %s; the cluster client closed after %d attempts (the last: %v)", why, attempt-1, last)
			case <-t.C:
			}
		}
		ctx, cancel := context.WithTimeout(cc.ctx, reconcileStopTimeout)
		n, err := mc.c.Cancel(ctx, id, "")
		if err == nil {
			cancelled += n
			_, err = mc.c.StopRunner(ctx, id)
		}
		cancel()
		if err == nil || errors.Is(err, ErrUnknownRunner) {
			return fmt.Sprintf("stopped: %s (%d tasks it still held cancelled first)", why, cancelled)
		}
		last = err
		if mc.c.Err() != nil || cc.ctx.Err() != nil {
			return fmt.Sprintf("not stopped: %s; its node's connection ended after %d attempts (the last: %v)", why, attempt, last)
		}
	}
	return fmt.Sprintf("not stopped: %s; %d attempts failed (the last: %v)", why, reconcileStopAttempts, last)
}
