package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// ClusterMemberLeaving: a member left the cluster's view while its
// connection was up, and it answered that it is shutting down (a graceful
// leave: SIGTERM, a client's shutdown). The client follows the tasks still
// running there to their end; the member is declared lost (and its
// runners handed to the policy) once its connection closes.
const ClusterMemberLeaving ClusterEventKind = "member_leaving"

// leaveCheckTimeout bounds the question a member that left the view with
// its connection up is asked (is it shutting down?). It does not delay
// the loss of a frozen member as a rule: the heartbeat loses its connection (1.5 s)
// before the peers' 2 s poll timeout drops it from the view, so it is
// suspect, not asked. A member that does not answer in time is lost, as
// before.
const leaveCheckTimeout = 500 * time.Millisecond

// leaveCheckTries bounds how often checkLeaving asks: a question that
// timed out is asked again while the member's connection is up (a loaded
// node that drains answers late; declaring it lost would run its running
// Retryable tasks twice), so a member is asked for at most
// leaveCheckTries × leaveCheckTimeout (1.5 s) before it is lost.
const leaveCheckTries = 3

// askShutting asks a member whether its node is shutting down, the cheap
// question (no runner or health query on the node); cc.askShuttingHook
// stands in for it in tests.
func (cc *ClusterClient) askShutting(ctx context.Context, mc *memberConn) (bool, error) {
	if cc.askShuttingHook != nil {
		return cc.askShuttingHook(ctx, mc)
	}
	return mc.c.nodeShuttingDown(ctx)
}

// checkLeaving asks a member that left the view with its connection up
// whether it is shutting down. Yes, and its connection is still up: it is
// announced (member_leaving) and drains (memberDraining) until its
// connection closes. Otherwise (evicted and still running, no answer in
// leaveCheckTries questions of leaveCheckTimeout while its connection stays
// up, or its connection lost meanwhile) it is lost now. Run it on a
// goroutine counted in cc.wg.
//
// The member stays memberLeaving while member_leaving is reported: nothing
// but this goroutine takes a member out of leaving or leaving-cut
// (applyView waits for it, suspect only marks the cut), so member_lost,
// which needs the member out of those states, always comes after
// member_leaving. A connection that closes during the report leaves the
// member leaving-cut, and it is declared lost here, right after.
func (cc *ClusterClient) checkLeaving(mc *memberConn) {
	defer cc.wg.Done()
	var shutting bool
	var err error
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(cc.ctx, leaveCheckTimeout)
		shutting, err = cc.askShutting(ctx, mc)
		timedOut := err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		if !timedOut || try >= leaveCheckTries || cc.ctx.Err() != nil {
			break
		}
		cc.mu.Lock()
		up := mc.state == memberLeaving
		cc.mu.Unlock()
		if !up {
			break
		}
	}
	cc.mu.Lock()
	// The member's state, not c.Err(): the Client's lock is taken before
	// cc.mu (suspect, divertShutdownEnd), never after.
	drains := err == nil && shutting && mc.state == memberLeaving
	open := 0
	for t := range cc.tasks {
		if r := cc.runners[t.runnerID]; r != nil && r.member == mc.m.ID && !t.feed.Ended() && t.state != taskHeld {
			open++
		}
	}
	cc.mu.Unlock()
	if !drains {
		cc.declareLost(mc, "left the cluster's view", true)
		return
	}
	began := time.Now()
	cc.emit(ClusterEvent{Kind: ClusterMemberLeaving, At: began, Node: mc.m.NodeName, Member: mc.m.ID,
		Detail: fmt.Sprintf("left the cluster's view and is shutting down: following its %d open tasks until its connection closes", open)})
	cc.mu.Lock()
	cut, how := false, ""
	switch mc.state {
	case memberLeaving:
		cc.memberToLocked(mc, memberDraining)
		mc.since = began
	case memberLeavingCut:
		cut, how = true, closedHow(mc)
	}
	cc.mu.Unlock()
	if cut {
		cc.declareLost(mc, "left the cluster's view (shutting down); its connection "+how+" as its drain began", true)
	}
}

// divertShutdownEnd takes, from a member's connection, the outcome of a
// task its node's shutdown ended unfinished — cancelled before it started
// (actors.ReasonShutdownBeforeStart), cut by the drain deadline
// (actors.ReasonShutdownDrainCut), or killed with its runner when the
// shutdown was forced (actors.ReasonShutdownForced: a second SIGTERM) —
// when the task is Retryable and not retried yet: instead of ending, the
// task is held (taskHeld) for the failover of its runner once the member
// is lost, which resubmits it. Any other outcome goes to the handle.
// Called by the Client under its lock.
//
// A forced shutdown's cut is the node's as much as the drain deadline's:
// before, such a task ended Failed and was not resubmitted, while a kill
// -9 of the same node resubmitted it (a docs-only trial).
func (cc *ClusterClient) divertShutdownEnd(mc *memberConn, f *actors.TaskFeed, out actors.TaskOutcome) bool {
	switch {
	case out.Status == exov1.TaskStatus_TASK_STATUS_CANCELLED && out.Reason == actors.ReasonShutdownBeforeStart:
	case out.Status == exov1.TaskStatus_TASK_STATUS_TIMED_OUT && out.Reason == actors.ReasonShutdownDrainCut:
	case out.Status == exov1.TaskStatus_TASK_STATUS_FAILED && out.Reason == actors.ReasonShutdownForced:
	default:
		return false
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.closing {
		return false
	}
	for t := range cc.tasks {
		if t.feed != f {
			continue
		}
		r := cc.runners[t.runnerID]
		if !t.t.Retryable || t.h.Attempt() >= 2 || !slices.Contains(taskTransitions[t.state], taskHeld) ||
			r == nil || r.state != runnerLive || r.member != mc.m.ID {
			return false
		}
		cc.taskToLocked(t, taskHeld)
		t.diverted = out
		return true
	}
	return false
}

// endHeldLocked ends each held task which matches with the outcome it
// was diverted from (its node's: cancelled before it started, cut at the
// drain deadline, or killed by a forced shutdown), when no failover will resubmit it: its runner
// ended on its node (noteRunners), was stopped (StopRunner), or is not
// failed over when its member is lost (declareLost). Under cc.mu (the
// handle's lock is a leaf).
func (cc *ClusterClient) endHeldLocked(match func(*clusterTask) bool) {
	for t := range cc.tasks {
		if t.state != taskHeld || !match(t) {
			continue
		}
		cc.taskToLocked(t, taskEnded)
		if t.diverted.Status == exov1.TaskStatus_TASK_STATUS_FAILED {
			// A forced shutdown's cut: the connection held its error
			// chunk back for the failover and dropped it when this task
			// was taken; Fail writes it again (same reason) before the
			// end, so a reader of Next does not take the cut output for
			// a whole one.
			t.feed.Fail(t.diverted.Reason, t.diverted.At)
			continue
		}
		t.feed.Finish(t.diverted)
	}
}

// runnersCount is "1 runner", "2 runners" (a member_lost event said "1
// runners lost": a docs-only trial).
func runnersCount(n int) string {
	if n == 1 {
		return "1 runner"
	}
	return fmt.Sprintf("%d runners", n)
}

// leftWhy says how a member that is no longer in the view left.
func leftWhy(mc *memberConn, now time.Time) string {
	if mc.state == memberDrained {
		return fmt.Sprintf("left the cluster's view (shutting down); its connection %s after it drained for %s", closedHow(mc), mc.drained.Round(time.Millisecond))
	}
	return "left the cluster's view"
}

// closedHow says how a leaving member's connection ended: closed by its
// node's shutdown note, or lost (cut before the drain ended). Under cc.mu.
func closedHow(mc *memberConn) string {
	switch mc.ended {
	case connNoted:
		return "closed"
	case connFaulted:
		return "closed as its node shut itself down over a node-wide fault (no planned leave)"
	case connForced:
		return "closed after its node's shutdown was forced"
	}
	return "was lost (not closed by its node's shutdown)"
}

// leavingErr is the error of a call on a runner whose member is leaving.
// It is pending (WaitReady waits through it): the runner is placed again
// once the member's connection closes.
func leavingErr(id, node string) error {
	return pendingError{fmt.Errorf("%w: runner %s: its node %s is leaving the cluster: it finishes its running tasks (up to its shutdown.draining, 30s by default), then the runner is placed again; until then use another runner, or wait for this one (WaitReady waits for its replacement)", ErrNodeLost, id, node)}
}

// shutdownAsLeaving is the error of a call a member refused because its
// node is shutting down (ErrShuttingDown, not ErrNodeLost: the node
// answered) before this client learnt it leaves: as leavingErr says it,
// wrapping ErrNodeLost ("try again shortly"), and ErrShuttingDown still.
// A member's node leaves the cluster's view as its shutdown begins, and
// the client hears of it some 100–300 ms later (automanaged gossip): a
// rolling restart's Submits in that window got "node is shutting down and
// accepts no new work", which reads as final and matched neither
// ErrNodeLost nor the docs' "try again" (a rolling-restart trial, 6 of 6
// restarts). Any other error is returned as it is.
func shutdownAsLeaving(err error, id, node string) error {
	if !errors.Is(err, ErrShuttingDown) || errors.Is(err, ErrNodeLost) {
		return err
	}
	return pendingError{fmt.Errorf("%w: runner %s: its node %s is shutting down: it leaves the cluster, finishes its running tasks (up to its shutdown.draining, 30s by default), then the runner is placed again (unless the whole cluster shuts down); until then use another runner, or retry in a moment: once this client has heard the node leave (within about 300 ms), WaitReady waits for the replacement (%w)",
		ErrNodeLost, id, node, err)}
}

// lostAsPending is the error of a Submit whose member's connection ended
// as the call was made (before this client declared the member lost): it
// says what ErrNodeLost means on a ClusterClient, "try again shortly",
// and is pending (WaitReady waits through it). Before, a Submit right
// after a kill -9 of the runner's node returned the member Client's own
// "node lost: node n1 (…) lost: its endpoint terminated (connection
// lost)", with no advice, and read as final as a Client's (a docs-only
// trial). An error that is pending already, final (ErrRunnerNotAvailable)
// or no ErrNodeLost is returned as it is.
func lostAsPending(err error, id, node string) error {
	var pending pendingError
	if !errors.Is(err, ErrNodeLost) || errors.Is(err, ErrRunnerNotAvailable) || errors.As(err, &pending) {
		return err
	}
	return pendingError{fmt.Errorf("runner %s: %w; the cluster decides whether node %s is gone and places the runner again: try again shortly with the same Task.ID (the node deduplicates; WaitReady waits for the runner's replacement)", id, err, node)}
}

// waitReadyPending says whether an error of the member's WaitReady on
// runner r is not final: its member was lost meanwhile (the cluster
// decides), or its member is leaving or draining, where any error (its
// CLOSING stops the runner: RunnerStopped) comes before the failover
// places the runner again. WaitReady waits through it, bounded by ctx.
func (cc *ClusterClient) waitReadyPending(r *clusterRunner, err error) bool {
	if errors.Is(err, ErrNodeLost) {
		return true
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	mc := cc.members[r.member]
	return mc != nil && mc.state.leaving()
}
