package runtime

import (
	"fmt"
	"time"
)

// ClusterInternalError: the client refused one of its own lifecycle
// transitions, a member's (Node, Member) or a task's (RunnerID, TaskID),
// which its transition table does not allow: a bug in the client. Detail
// names the member or task and the transition (from → to). The member or
// task stays in the state it was in, which may leave a task whose handle
// never ends until Close (which fails it with ErrClientClosed). Report it:
// InternalErrors counts them.
const ClusterInternalError ClusterEventKind = "internal_error"

// maxPendingInternal bounds the internal_error events waiting for the
// poller to report them. Past it a refused transition is counted
// (InternalErrors) but not queued; the next report adds one event saying
// how many were left out.
const maxPendingInternal = 64

// InternalErrors reports how many illegal member or task lifecycle
// transitions this client refused since DialCluster (each a bug, reported
// as an internal_error ClusterEvent). It stays 0 in a correct client.
func (cc *ClusterClient) InternalErrors() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.badTransitions
}

// refuseLocked counts one illegal transition and queues its internal_error
// event; call with cc.mu held. The event is not emitted here: the caller
// holds cc.mu (and suspect also the member Client's lock), and the hook
// may call the client. The poller reports it (reportInternal), and Close
// reports what is left.
func (cc *ClusterClient) refuseLocked(ev ClusterEvent) {
	cc.badTransitions++
	if len(cc.internalPending) >= maxPendingInternal {
		cc.internalLeftOut++
		return
	}
	ev.Kind, ev.At = ClusterInternalError, time.Now()
	cc.internalPending = append(cc.internalPending, ev)
}

// refuseMemberLocked is refuseLocked for a member's transition.
func (cc *ClusterClient) refuseMemberLocked(mc *memberConn, next memberState) {
	cc.refuseLocked(ClusterEvent{Node: mc.m.NodeName, Member: mc.m.ID,
		Detail: fmt.Sprintf("illegal member lifecycle transition (a bug in the client): member %s of node %s, %s → %s refused; it stays %s",
			mc.m.ID, mc.m.NodeName, mc.state, next, mc.state)})
}

// refuseTaskLocked is refuseLocked for a task's transition.
func (cc *ClusterClient) refuseTaskLocked(t *clusterTask, next taskState) {
	ev := ClusterEvent{RunnerID: t.runnerID, TaskID: t.t.ID,
		Detail: fmt.Sprintf("illegal task lifecycle transition (a bug in the client): task %q of runner %s, %s → %s refused; it stays %s",
			t.t.ID, t.runnerID, t.state, next, t.state)}
	if r := cc.runners[t.runnerID]; r != nil {
		ev.Node, ev.Member = r.node, r.member
	}
	cc.refuseLocked(ev)
}

// reportInternal emits the queued internal_error events, oldest first,
// outside cc.mu. The poller calls it after each read of the membership,
// and Close once the poller has ended: one goroutine at a time, so the
// events keep their order.
func (cc *ClusterClient) reportInternal() {
	cc.mu.Lock()
	evs, leftOut := cc.internalPending, cc.internalLeftOut
	cc.internalPending, cc.internalLeftOut = nil, 0
	cc.mu.Unlock()
	for _, ev := range evs {
		cc.emit(ev)
	}
	if leftOut > 0 {
		cc.emit(ClusterEvent{Kind: ClusterInternalError, Detail: fmt.Sprintf(
			"%d more illegal lifecycle transitions (a bug in the client) were refused and not reported one by one (at most %d wait between reports); InternalErrors counts them all",
			leftOut, maxPendingInternal)})
	}
}
