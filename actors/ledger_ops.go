package actors

import (
	"github.com/sirupsen/logrus"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func (e *taskEntry) stopTimer(which int) {
	if t := e.timers[which].t; t != nil {
		t.Stop()
		e.timers[which].t = nil
	}
}

// stopTimers stops every task timer (an incarnation ends).
func (l *ledger) stopTimers() {
	for _, e := range l.live {
		for i := range e.timers {
			e.stopTimer(i)
		}
	}
}

// sentIDs lists the IDs of the tasks that were sent to the runner.
// ackedTask returns the ID of a task the runner has acknowledged and not
// ended, if any (its work is what the no-progress check watches).
func (l *ledger) ackedTask() (string, bool) {
	for id, e := range l.live {
		if e.state == taskAcked {
			return id, true
		}
	}
	return "", false
}

func (l *ledger) sentIDs() []string {
	var ids []string
	for id, e := range l.live {
		if e.state != taskQueued {
			ids = append(ids, id)
		}
	}
	return ids
}

// endTask removes a task from the ledger and gives its handle the one
// outcome; the caller has stopped its timers. Used by the runner actor and,
// while no incarnation runs, by the supervisor.
func (n *nodeConfig) endTask(sl *slot, e *taskEntry, st exov1.TaskStatus, reason string) {
	l := sl.tasks
	delete(l.live, e.spec.ID)
	if e.state == taskQueued {
		for i, id := range l.queue {
			if id == e.spec.ID {
				l.queue = append(l.queue[:i:i], l.queue[i+1:]...)
				break
			}
		}
	} else {
		l.inFlight--
	}
	now := n.runnerClock.Now()
	if e.handle.Outcome() != nil {
		return // it ended already: every task ends exactly once
	}
	// The event first, then the handle: whoever Wait wakes finds the event
	// already delivered to the hook and published. Only the ledger's owner
	// (this goroutine) finishes handles, so nothing ends it in between.
	n.emitFor(sl, &TaskStatusChanged{RunnerID: sl.id, TaskID: e.spec.ID, Status: st, Reason: reason, At: now})
	n.flushOutbox(sl, nil) // published before the handle ends, also mid-batch
	_, woke := e.handle.finishWoke(TaskOutcome{Status: st, Reason: reason, At: now})
	if o := e.handle.Outcome(); o != nil {
		l.remember(e.spec.ID, e.spec.Kind, *o, n.limits.DedupMemory)
	}
	if n.logger.IsLevelEnabled(logrus.InfoLevel) {
		n.logger.WithFields(logrus.Fields{"runner_id": sl.id, "task_id": e.spec.ID,
			"status": TaskStatusName(st), "reason": reason}).Info("task ended")
	}
	if woke {
		yieldToAnswered() // the Wait that was woken returns now, not after this batch
	}
}

// failTasks ends a runner's tasks after its process is gone: a task that was
// sent gets an error chunk (as exo does) and then Failed with the reason; a
// queued one gets Failed. With restarting, queued tasks stay queued for the
// next process, and a Retryable task that was in flight goes back to the
// front of the queue once (a second crash fails it). It returns how many
// tasks wait for the next process.
func (n *nodeConfig) failTasks(sl *slot, reason string, restarting bool) (kept int) {
	l := sl.tasks
	l.stopTimers()
	var requeue []string
	for _, id := range append(l.sentIDs(), l.queue...) {
		e := l.live[id]
		if e == nil {
			continue
		}
		switch {
		case e.state == taskCancelling:
			n.endTask(sl, e, e.cancelAs, e.cancelWhy+"; then "+reason)
			continue
		case restarting && e.state == taskQueued:
			kept++
			continue
		case restarting && e.spec.Retryable && e.resubmits == 0:
			e.resubmits++
			e.state = taskQueued
			l.inFlight--
			requeue = append(requeue, id)
			kept++
			// A new attempt: the earlier one's chunks are void, and
			// everyone following the task is told so, before any chunk of
			// the new attempt.
			if att, discarded := e.handle.retry(reason); att > 0 {
				n.emitFor(sl, &TaskRetried{RunnerID: sl.id, TaskID: id, Attempt: att, Reason: reason, Discarded: discarded, At: n.runnerClock.Now()})
				n.logger.WithFields(logrus.Fields{"runner_id": sl.id, "task_id": id, "attempt": att, "discarded_chunks": discarded,
					"reason": reason}).Info("task retried: resubmitted to the restarted runner")
			}
			continue
		}
		if e.state != taskQueued {
			c := &Chunk{TaskId: id, Index: uint64(e.handle.count()),
				Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: reason}}}
			if att, ok := e.handle.push(c); ok {
				n.emitFor(sl, &TaskChunk{RunnerID: sl.id, TaskID: id, Attempt: att, Chunk: c})
			}
		}
		n.endTask(sl, e, exov1.TaskStatus_TASK_STATUS_FAILED, reason)
	}
	l.queue = append(requeue, l.queue...)
	return kept
}

// emit hands an event to the host's hook and to its topic's stream.
func (n *nodeConfig) emit(e Event) { n.emitFor(nil, e) }

// emitFor is emit for an event about runner sl: while sl's actor handles a
// batch of stdout frames, the event waits in sl's outbox and goes out with
// the batch's others, to the host's hook and then to its stream
// (outbox.go).
func (n *nodeConfig) emitFor(sl *slot, e Event) {
	if sl != nil && sl.outbox != nil {
		if n.observe != nil {
			n.observe(e) // as callHook does; the host's hook when the outbox is flushed
		}
		sl.outbox.add(n.streamEventAt(e, sl.outbox.at))
		return
	}
	n.callHook(e)
	n.publish(e)
}
