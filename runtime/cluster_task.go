package runtime

import (
	"fmt"
	"slices"
)

// taskState is where a task submitted through a ClusterClient is in its
// placement: one value per task (clusterTask.state, under cc.mu), changed
// only through taskToLocked, which applies only the transitions in
// taskTransitions:
//
//	submitting   → followed (Submit's call returned), held (its node's
//	               shutdown ended it before Submit noted the answer), ended
//	               (its runner was lost meanwhile: Submit fails it)
//	followed     → held (its node's shutdown ended it unfinished), moving
//	               (its member was lost before its outcome came)
//	held         → moving (its member was lost: the failover resubmits
//	               it), ended (its runner is not failed over: the diverted
//	               outcome)
//	moving       → resubmitting (to the replacement), ended (Failed, or its
//	               outcome had come)
//	resubmitting → followed (the call returned), ended (it failed, or the
//	               replacement was lost meanwhile)
//	ended        → nothing (final)
//
// A followed task ends by its outcome (the member's connection gives it to
// the handle) without a change of state; the client ends a task itself
// (ended) only when it owns it. A Submit whose call failed is forgotten
// at once (the caller gets the error and no handle). A followed task whose
// outcome came, and an ended one, are pruned at the next read of the
// membership (prunable); the others are never pruned: a call or a
// failover owns them, or they wait for one.
type taskState int

const (
	// taskFollowed: queued on its runner's member; its events and outcome
	// come over that member's connection. The zero value.
	taskFollowed taskState = iota
	// taskSubmitting: Submit's call to the member has not returned yet;
	// a loss of the member meanwhile is handled by Submit itself.
	taskSubmitting
	// taskHeld: its node's shutdown ended it unfinished (cancelled before
	// it started, or cut by the drain deadline) and it is Retryable, not
	// retried yet: the outcome it was diverted from is kept
	// (clusterTask.diverted) and the failover of its runner, once its
	// member is lost, resubmits it (cluster_leave.go).
	taskHeld
	// taskMoving: its member was lost and the failover of its runner owns
	// it: it is resubmitted to the replacement or ended.
	taskMoving
	// taskResubmitting: the failover's resubmission to the replacement
	// has not returned yet (attempt 2: never held again).
	taskResubmitting
	// taskEnded: the client gave it its outcome itself (Failed by a
	// failover or a loss during its Submit, the diverted outcome of a held
	// task whose runner is not failed over), or a failover found its
	// outcome already given. Final.
	taskEnded
	numTaskStates
)

var taskStateNames = [numTaskStates]string{"followed", "submitting", "held", "moving", "resubmitting", "ended"}

func (s taskState) String() string {
	if s >= 0 && s < numTaskStates {
		return taskStateNames[s]
	}
	return fmt.Sprintf("taskState(%d)", int(s))
}

// taskTransitions is the table of legal transitions: from → the states it
// may go to. Anything else is a bug: counted (InternalErrors), reported
// (internal_error), not applied.
var taskTransitions = map[taskState][]taskState{
	// The call returned (followed); the node's shutdown ended it before
	// Submit noted the answer (held); its runner was lost meanwhile
	// (ended: Submit fails it, the failover did not see it).
	taskSubmitting: {taskFollowed, taskHeld, taskEnded},
	// Its node's shutdown ended it unfinished (held); its member was lost
	// before its outcome came (moving).
	taskFollowed: {taskHeld, taskMoving},
	// Its member was lost and its runner goes to the failover (moving);
	// its runner ended on the node, was stopped, or is not failed over
	// (ended, with the diverted outcome).
	taskHeld: {taskMoving, taskEnded},
	// Resubmitted to the replacement, or ended: Failed (not Retryable,
	// retried already, not placed again, stopped) or its outcome came.
	taskMoving: {taskResubmitting, taskEnded},
	// The resubmission returned (followed) or failed, or the replacement
	// was lost meanwhile (ended, Failed).
	taskResubmitting: {taskFollowed, taskEnded},
	taskEnded:        {},
}

// taskToLocked moves t to next when taskTransitions allows it, and reports
// whether it moved; an illegal transition (a bug) is counted
// (InternalErrors), queued for an internal_error event (refuseLocked) and
// not applied. Call with cc.mu held.
func (cc *ClusterClient) taskToLocked(t *clusterTask, next taskState) bool {
	if !slices.Contains(taskTransitions[t.state], next) {
		cc.refuseTaskLocked(t, next)
		return false
	}
	t.state = next
	return true
}

// prunable says a task no longer needs following: its outcome was given
// to its handle while no call or failover owns it.
func (t *clusterTask) prunable() bool {
	return (t.state == taskFollowed || t.state == taskEnded) && t.h.Outcome() != nil
}
