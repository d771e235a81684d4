package actors

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/proc"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Task messages to the runner actor.
type (
	// submitTask carries a Submit. Node.Submit waits on reply (capacity 1,
	// never closed; the one actor that answers sends once) instead of a
	// protoactor future: a future registers a PID in the process registry,
	// whose maps keep the room of every key they ever held for a long
	// while, so one per task made the node's heap grow with the tasks it
	// ever ran (docs/traps.md). Without reply (a Request) the answer is a
	// Respond.
	submitTask struct {
		spec  TaskSpec
		reply chan *submitReply
		// shuttingDown: the supervisor already refused it (the node is
		// shutting down) and sent it on only because the runner actor
		// owns the ledger its dedup reads: the runner answers with the
		// task's handle if it knows the ID, else ErrShuttingDown.
		shuttingDown bool
	}
	submitReply struct {
		handle *TaskHandle
		err    error
	}
	cancelTasks struct {
		taskID string // empty with all
		all    bool
	}
	cancelReply struct {
		cancelled int
		err       error
	}
	taskTimerFired struct {
		id    string
		which int
		seq   uint64
	}
)

// GetPriority implements protoactor's actor.PriorityMessage: a task timer's
// message (ack, timeout, cancel wait) has the stdout batches' priority
// (proc.PriorityOutput), so it waits behind the batches the reader had
// delivered when it fired. One of them may hold the task's end, read
// before the deadline: it is handled first, and the task ends as the
// runner said, not TimedOut (or Failed by the ack timeout). The reader's
// credit bounds the batches ahead of it (proc.Options.ReadWindow).
func (*taskTimerFired) GetPriority() int8 { return proc.PriorityOutput }

// TaskStatusChanged: a task's status changed. Pending on submit, Running when
// the runner says so, then exactly one terminal status.
type TaskStatusChanged struct {
	RunnerID string
	TaskID   string
	Status   exov1.TaskStatus
	Reason   string
	At       time.Time
}

// TaskChunk: a task produced a chunk (an error chunk included). Attempt is
// the attempt it belongs to (1, or 2 after a TaskRetried).
type TaskChunk struct {
	RunnerID string
	TaskID   string
	Attempt  int
	Chunk    *Chunk
	// public caches the event's host-facing form (see Public): made once,
	// shared by the event hook and every subscriber.
	public atomic.Value
}

// Public returns the event's host-facing form: conv(e) the first time,
// the same value on every later call, from any goroutine. A chunk event is
// read by the node's event hook and by each subscriber, each wanting the
// runtime package's public TaskChunk; converting once saves an allocation
// (~128 bytes, the boxed public value) per event per reader beyond the
// first. Two first calls at once may both run conv; the first value stored
// is the one every caller gets. conv must not return nil, and the event's
// fields must not change after the first call.
func (e *TaskChunk) Public(conv func(*TaskChunk) any) any {
	if v := e.public.Load(); v != nil {
		return v
	}
	e.public.CompareAndSwap(nil, conv(e))
	return e.public.Load()
}

// TaskRetried: a Retryable task's runner crashed mid-task and the task was
// queued again as attempt Attempt. The Discarded chunks of the earlier
// attempt are void: the task's output is the new attempt's chunks alone.
type TaskRetried struct {
	RunnerID  string
	TaskID    string
	Attempt   int
	Reason    string
	Discarded int
	At        time.Time
}

func (e *TaskStatusChanged) eventRunnerID() string { return e.RunnerID }
func (e *TaskChunk) eventRunnerID() string         { return e.RunnerID }
func (e *TaskRetried) eventRunnerID() string       { return e.RunnerID }

// TaskStatusName returns exo's name of a task status, e.g. "TimedOut".
func TaskStatusName(s exov1.TaskStatus) string {
	switch s {
	case exov1.TaskStatus_TASK_STATUS_PENDING:
		return "Pending"
	case exov1.TaskStatus_TASK_STATUS_RUNNING:
		return "Running"
	case exov1.TaskStatus_TASK_STATUS_COMPLETE:
		return "Complete"
	case exov1.TaskStatus_TASK_STATUS_TIMED_OUT:
		return "TimedOut"
	case exov1.TaskStatus_TASK_STATUS_FAILED:
		return "Failed"
	case exov1.TaskStatus_TASK_STATUS_CANCELLED:
		return "Cancelled"
	}
	return fmt.Sprintf("TaskStatus(%d)", int32(s))
}

// acceptingTasks says whether the runner may queue new tasks, and if not why.
// A runner that looks like it is ending (Suspect, Exited) still queues them:
// if it is restarted they run on the next process.
func (a *runnerActor) acceptingTasks() error {
	switch {
	case a.failure != nil && a.life == lifeDone:
		// Done with a failure and still receiving: the supervisor retired
		// this incarnation (ESCALATE or SKIP). A restart would have built a
		// fresh actor, so no restart is planned.
		return failedForGood(a.slot.id, a.failure.Message)
	case a.failure != nil:
		return fmt.Errorf("%w: runner %s failed (%s); the error policy has not yet decided whether to restart it: submit to another runner, or retry once ListRunners shows it Ready again", ErrRunnerNotAvailable, a.slot.id, a.failure.Message)
	case a.admission == admitShuttingDown:
		return ErrShuttingDown
	case a.life == lifeDone:
		// The stop has answered (its actor is about to go): not "is
		// stopping" to a host whose StopRunner returned.
		return fmt.Errorf("%w: runner %s was stopped and no restart is planned; spawn a new runner", ErrRunnerNotAvailable, a.slot.id)
	case a.admission == admitStopping || a.life == lifeStopping || a.life >= lifeReaping:
		return fmt.Errorf("%w: runner %s is stopping; submit to another runner", ErrRunnerNotAvailable, a.slot.id)
	case protocol.Terminal(a.status.GetKind()):
		return fmt.Errorf("%w: runner %s is %s; wait until it is Ready (System.WaitReady)", ErrRunnerNotAvailable, a.slot.id, protocol.StatusName(a.status.GetKind()))
	}
	return nil
}

// answer gives a Submit its one answer.
func (m *submitTask) answer(ctx actor.Context, r *submitReply) {
	if m.reply != nil {
		m.reply <- r // capacity 1, one answer per Submit: never blocks
		return
	}
	ctx.Respond(r)
}

func (a *runnerActor) onSubmit(ctx actor.Context, m *submitTask) {
	l := a.slot.tasks
	if r := l.dedup(a.slot.id, m.spec); r != nil {
		m.answer(ctx, r) // the same handle, the same outcome (or another task's ID)
		return
	}
	if m.shuttingDown {
		m.answer(ctx, &submitReply{err: ErrShuttingDown})
		return
	}
	if err := a.acceptingTasks(); err != nil {
		m.answer(ctx, &submitReply{err: err})
		return
	}
	if len(l.queue) >= a.node.limits.Queue {
		m.answer(ctx, &submitReply{err: fmt.Errorf("%w: %d tasks wait on runner %s (limit %d); retry later or raise TaskLimits.Queue (node config: tasks.queue)",
			ErrQueueFull, len(l.queue), a.slot.id, a.node.limits.Queue)})
		return
	}
	e := &taskEntry{spec: m.spec, handle: newTaskHandle(a.slot.id, m.spec.ID, a.node.limits.HandleChunks)}
	l.live[m.spec.ID] = e
	l.queue = append(l.queue, m.spec.ID)
	// The Task frame goes to the runner before the submitter is woken: the
	// wake-up (another thread, on this VM an inter-processor interrupt) then
	// overlaps the runner's work instead of delaying the write. Deferred, so
	// the submitter has its handle whatever dispatch does.
	defer m.answer(ctx, &submitReply{handle: e.handle})
	at := a.node.runnerClock.Now()
	a.dispatch(ctx) // Pending is still published before the runner's Running, which this actor handles later
	a.emit(&TaskStatusChanged{RunnerID: a.slot.id, TaskID: m.spec.ID, Status: exov1.TaskStatus_TASK_STATUS_PENDING, At: at})
}

// dispatch sends queued tasks while the runner is Ready (or Running with a
// free slot) and the in-flight limit allows.
func (a *runnerActor) dispatch(ctx actor.Context) {
	l := a.slot.tasks
	for len(l.queue) > 0 && l.inFlight < a.node.limits.InFlight && a.canDispatch() {
		id := l.queue[0]
		l.queue = l.queue[1:]
		e := l.live[id]
		a.keepChunksOf(id)
		a.ownEnds = slices.DeleteFunc(a.ownEnds, func(x string) bool { return x == id }) // a new task under that ID
		if err := a.p.Send(taskEnvelope(e.spec)); err != nil {
			if errors.Is(err, frame.ErrTooLarge) {
				// Node.Submit refuses such a task; should one come here,
				// it fails alone: the runner did nothing wrong.
				a.endTask(ctx, e, exov1.TaskStatus_TASK_STATUS_FAILED, "task too large for the runner's frames: "+err.Error())
				continue
			}
			l.queue = append([]string{id}, l.queue...)
			a.fail(ctx, errhandler.KindHang, SourceStdin, "could not send a task: "+err.Error(), err)
			return
		}
		e.state = taskSent
		e.sentGen = a.gen
		// Each attempt is judged on its own frames: a retried task's
		// outcome told of the last process's frames out of order (a review).
		e.broke, e.brokeN, e.chunkBroke = "", 0, false
		l.inFlight++
		a.armTask(ctx, e, taskTimerAck, a.node.limits.AckTimeout)
		if e.spec.Timeout > 0 {
			a.armTask(ctx, e, taskTimerTimeout, e.spec.Timeout)
		}
		if a.log.Logger.IsLevelEnabled(logrus.DebugLevel) { // no fields map per task when not logged
			a.log.WithFields(logrus.Fields{"task_id": id, "kind": e.spec.Kind}).Debug("task sent to runner")
		}
	}
}

func (a *runnerActor) canDispatch() bool {
	if a.life != lifeServing || a.admission != admitOpen {
		return false
	}
	k := a.status.GetKind()
	return k == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY || k == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING
}

// onTaskFrame applies a task frame if it is in exo's order: TaskStatus
// Running → TaskAcknowledged → chunks → terminal TaskStatus. Frames out of
// order are protocol errors: logged, not applied.
func (a *runnerActor) onTaskFrame(ctx actor.Context, env *exov1.RunnerEnvelope) {
	l := a.slot.tasks
	var id string
	switch b := env.Body.(type) {
	case *exov1.RunnerEnvelope_TaskStatusUpdated:
		id = b.TaskStatusUpdated.GetTaskId()
	case *exov1.RunnerEnvelope_TaskAcknowledged:
		id = b.TaskAcknowledged.GetTaskId()
	case *exov1.RunnerEnvelope_ChunkGenerated:
		id = b.ChunkGenerated.GetTaskId()
	}
	e := l.live[id]
	if e == nil || e.state == taskQueued || e.sentGen != a.gen {
		if slices.Contains(a.ownEnds, id) {
			// The runner ended it itself (it said so): nothing of it may follow.
			a.protocolViolation(fmt.Sprintf("%s for task %q after the runner's own end of it", frameName(env), id))
			return
		}
		if st := env.GetTaskStatusUpdated(); st != nil && st.GetStatus() != exov1.TaskStatus_TASK_STATUS_RUNNING {
			a.keepChunksOf(id) // the runner's end of a task that ended here: no chunk of it follows
			a.noteOwnEnd(id)
		}
		if l.finished(id) {
			return // late word about a task that already ended (e.g. timed out)
		}
		a.protocolViolation(fmt.Sprintf("%s for unknown task %q", frameName(env), id))
		return
	}
	switch b := env.Body.(type) {
	case *exov1.RunnerEnvelope_TaskStatusUpdated:
		st := b.TaskStatusUpdated.GetStatus()
		switch st {
		case exov1.TaskStatus_TASK_STATUS_RUNNING:
			if e.state == taskCancelling && e.cancelFrom == taskSent {
				// The runner started the task before our Cancel reached
				// it: in order, and the task ends on its confirmation.
				e.cancelFrom = taskRunning
				a.emit(&TaskStatusChanged{RunnerID: a.slot.id, TaskID: id, Status: st, At: a.node.runnerClock.Now()})
				return
			}
			if e.state != taskSent {
				a.taskViolation(e, "TaskStatus Running twice or late")
				return
			}
			e.state = taskRunning
			a.emit(&TaskStatusChanged{RunnerID: a.slot.id, TaskID: id, Status: st, At: a.node.runnerClock.Now()})
		case exov1.TaskStatus_TASK_STATUS_COMPLETE, exov1.TaskStatus_TASK_STATUS_FAILED,
			exov1.TaskStatus_TASK_STATUS_CANCELLED, exov1.TaskStatus_TASK_STATUS_TIMED_OUT:
			a.noteOwnEnd(id) // the runner's own end: nothing of the task follows
			switch {
			case e.state == taskCancelling:
				a.endTask(ctx, e, e.cancelAs, e.cancelWhy)
			case st == exov1.TaskStatus_TASK_STATUS_COMPLETE && e.state != taskAcked:
				// The runner is done with it, out of order (its chunks, if
				// any, were ignored): the task ends Failed now, saying why,
				// not after the acknowledgement timeout and a Cancel nobody
				// answers (7 s a task for a new user's Java runner).
				a.taskViolation(e, "Complete before TaskAcknowledged")
				a.endTask(ctx, e, exov1.TaskStatus_TASK_STATUS_FAILED, "the runner's Complete came out of order, so the task cannot count as complete"+e.brokeText())
				a.keepChunksOf(id) // its own end: nothing of it follows, and a frame that does is said (a review)
			default:
				a.endTask(ctx, e, st, b.TaskStatusUpdated.GetReason())
			}
		default:
			a.taskViolation(e, fmt.Sprintf("status %s from the runner", TaskStatusName(st)))
		}
	case *exov1.RunnerEnvelope_TaskAcknowledged:
		if e.state == taskCancelling && e.cancelFrom == taskRunning {
			e.cancelFrom = taskAcked // crossed the Cancel, as Running above
			a.emit(&TaskAcknowledged{RunnerID: a.slot.id, TaskID: id, At: a.node.runnerClock.Now()})
			return
		}
		if e.state != taskRunning {
			what := "before TaskStatus Running"
			if e.state == taskAcked {
				what = "twice"
			}
			a.taskViolation(e, "TaskAcknowledged "+what)
			return
		}
		e.state = taskAcked
		if a.status.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
			a.noteAckWhileReady(id)
		}
		a.cancelTask(e, taskTimerAck)
		a.emit(&TaskAcknowledged{RunnerID: a.slot.id, TaskID: id, At: a.node.runnerClock.Now()})
	case *exov1.RunnerEnvelope_ChunkGenerated:
		if e.state != taskAcked && e.state != taskCancelling {
			a.taskViolationOf(e, "chunk before TaskAcknowledged", true)
			return
		}
		att, ok, sent, misindexed := e.handle.pushRunners(b.ChunkGenerated)
		if misindexed && !e.misindexed {
			// Once per task: a runner that counts from 1 would otherwise
			// log every chunk.
			e.misindexed = true
			a.slot.countViolation()
			a.log.WithField("reason", fmt.Sprintf("task %q: chunk index %d where %d was due (a task's chunks count from 0, each attempt anew)", id, sent, b.ChunkGenerated.GetIndex())).
				Warn("protocol error from runner: chunk delivered at its place in the stream, its index corrected; said once per task")
		}
		if ok {
			tc := a.newTaskChunk()
			tc.RunnerID, tc.TaskID, tc.Attempt, tc.Chunk = a.slot.id, id, att, b.ChunkGenerated
			a.emit(tc)
		}
	}
}

// taskViolation is a protocol error about task e ("TaskAcknowledged
// twice"): counted and logged as any (protocolViolation), and the first is
// kept for the task's outcome (brokeText).
func (a *runnerActor) taskViolation(e *taskEntry, what string) {
	a.taskViolationOf(e, what, false)
}

// taskViolationOf is taskViolation; chunk says it is about a chunk, logged
// once per task (a runner that sends its chunks too early would log each).
func (a *runnerActor) taskViolationOf(e *taskEntry, what string, chunk bool) {
	e.brokeN++
	if e.broke == "" {
		e.broke = what
	}
	if chunk && e.chunkBroke {
		a.slot.countViolation() // no text built: a flood of chunks out of order costs no allocation each
		return
	}
	text := fmt.Sprintf("task %q: %s", e.spec.ID, what)
	if chunk {
		e.chunkBroke = true
		text += " (logged once per task, each counted)"
	}
	a.protocolViolation(text)
}

// brokeText is what a task's timeout outcome adds when the runner broke
// the protocol about the task: its frames came, out of order, and were
// ignored (a runner that sent TaskAcknowledged before TaskStatus Running
// read "did not acknowledge the task within 5s", a new user's trial).
func (e *taskEntry) brokeText() string {
	if e.broke == "" {
		return ""
	}
	more, them := "", "it"
	if e.brokeN > 1 {
		frames := "frames"
		if e.brokeN == 2 {
			frames = "frame"
		}
		more, them = fmt.Sprintf(" (and %d more %s of the task out of order)", e.brokeN-1, frames), "them"
	}
	return fmt.Sprintf("; the runner broke the protocol about this task: %s%s, and the node ignored %s "+
		"(a task's frames come in the order TaskStatus Running, TaskAcknowledged, chunks, its end: docs/protocol.md, Tasks)", e.broke, more, them)
}

// frameName names a runner frame by its protocol message, for logs and
// failures:
// "StatusUpdated", "TaskAcknowledged", "TaskStatusUpdated{Complete}".
func frameName(env *exov1.RunnerEnvelope) string {
	m := env.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName("body"))
	if f == nil {
		return "an envelope with no body"
	}
	name := string(f.Message().Name())
	if u := env.GetTaskStatusUpdated(); u != nil {
		name += "{" + TaskStatusName(u.GetStatus()) + "}"
	}
	return name
}

// noteAckWhileReady: the runner acknowledged task id while it reports
// Ready, so it skipped StatusUpdated{Running} (docs/protocol.md, Tasks,
// step 2). The task runs as usual, watched by the no-progress check
// (working), but the runner shows Ready while it works.
func (a *runnerActor) noteAckWhileReady(id string) {
	a.violationOncePerProcess(&a.ackedWhileReady, id,
		fmt.Sprintf("task %q acknowledged while the runner reports Ready: no StatusUpdated{Running} before it (docs/protocol.md, Tasks, step 2)", id),
		"protocol error from runner: it shows Ready while it runs tasks; the task runs as usual, watched by the no-progress check all the same "+
			"(logged once per runner process, counted in ProtocolErrors for each task)")
}

// noteReadyMidTask: the runner reported Ready while task id, which it
// acknowledged, has not ended (docs/protocol.md, Tasks, step 6: Ready once
// no task runs). Shown as reported, and its tasks stay watched by the
// no-progress check (working).
func (a *runnerActor) noteReadyMidTask(id string) {
	a.violationOncePerProcess(&a.readyMidTask, id,
		fmt.Sprintf("runner reported Ready while task %q runs (Ready comes once no task runs: docs/protocol.md, Tasks, step 6)", id),
		"protocol error from runner: shown Ready, and its running tasks stay watched by the no-progress check "+
			"(logged once per runner process, counted in ProtocolErrors for each report)")
}

// violationOncePerProcess counts a protocol error that goes on as usual
// (in RunnerInfo.ProtocolErrors, each time) and logs it for the first time
// of this process only (seen counts them): a runner that never reports
// Running would otherwise log it on every task.
func (a *runnerActor) violationOncePerProcess(seen *uint64, taskID, reason, msg string) {
	a.slot.countViolation()
	*seen++
	if *seen > 1 {
		return
	}
	a.log.WithFields(logrus.Fields{"task_id": taskID, "reason": reason}).Warn(msg)
}

func (a *runnerActor) onCancel(ctx actor.Context, m *cancelTasks) {
	l := a.slot.tasks
	var targets []*taskEntry
	if m.all {
		// Queued tasks first: they end at once, before a sent task's end
		// frees a slot that would dispatch them to the runner (a runner
		// without the cancel capability would then run each of them).
		for _, id := range append(append([]string(nil), l.queue...), l.sentIDs()...) {
			targets = append(targets, l.live[id])
		}
	} else if e := l.live[m.taskID]; e != nil {
		targets = append(targets, e)
	} else if !l.finished(m.taskID) {
		ctx.Respond(&cancelReply{err: taskNotFound(a.slot.id, m.taskID)})
		return
	}
	// Counted: the tasks this request cancelled. One whose cancel is under
	// way already (a second Cancel) is not cancelled again, nor counted:
	// the count was 1 for it before, or 0 once the runner had confirmed,
	// depending on timing (a new user's trial, tenth session).
	cancelled := 0
	for _, e := range targets {
		if e.state == taskCancelling {
			continue
		}
		a.cancelEntry(ctx, e, exov1.TaskStatus_TASK_STATUS_CANCELLED, "cancelled on request")
		cancelled++
	}
	ctx.Respond(&cancelReply{cancelled: cancelled})
}

// cancelEntry ends a queued task at once; a sent one is cancelled on the
// runner and ends as `as` when the runner confirms, or after CancelWait.
func (a *runnerActor) cancelEntry(ctx actor.Context, e *taskEntry, as exov1.TaskStatus, why string) {
	switch e.state {
	case taskCancelling:
		return
	case taskQueued:
		a.endTask(ctx, e, as, why+" before it was sent")
		return
	}
	e.cancelFrom, e.state = e.state, taskCancelling
	e.cancelAs, e.cancelWhy = as, why
	a.cancelTask(e, taskTimerAck)
	a.cancelTask(e, taskTimerTimeout)
	if a.p != nil && a.exit == nil && a.caps[protocol.CapCancel] {
		_ = a.p.Send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{Target: &exov1.Cancel_TaskId{TaskId: e.spec.ID}}}})
		a.armTask(ctx, e, taskTimerCancel, a.node.limits.CancelWait)
		return
	}
	// A runner that cannot be told (no cancel capability, or its process
	// has ended) does not confirm: the task ends now on our side (the
	// runner's late word about it is ignored). The note says which, so a
	// runner that has the capability is not blamed for lacking it.
	note := " (runner cannot cancel: no cancel capability)"
	if a.p == nil || a.exit != nil {
		note = " (the runner's process has ended: nothing to confirm it)"
	}
	a.endTask(ctx, e, as, why+note)
	a.discardChunksOf(e.spec.ID)
}

func (a *runnerActor) onTaskTimer(ctx actor.Context, m *taskTimerFired) {
	e := a.slot.tasks.live[m.id]
	if e == nil || e.timers[m.which].seq != m.seq || e.timers[m.which].t == nil {
		return
	}
	e.timers[m.which].t = nil
	switch m.which {
	case taskTimerAck:
		why := fmt.Sprintf("runner did not acknowledge the task within %s", a.node.limits.AckTimeout) + e.brokeText()
		a.taskError(errhandler.KindAckTimeout, e, why)
		a.cancelEntry(ctx, e, exov1.TaskStatus_TASK_STATUS_FAILED, why)
	case taskTimerTimeout:
		why := fmt.Sprintf("timed out after %s", e.spec.Timeout) + e.brokeText()
		a.taskError(errhandler.KindTaskTimeout, e, why)
		a.cancelEntry(ctx, e, exov1.TaskStatus_TASK_STATUS_TIMED_OUT, why)
	case taskTimerCancel:
		a.endTask(ctx, e, e.cancelAs, e.cancelWhy+fmt.Sprintf(" (runner did not confirm within %s)", a.node.limits.CancelWait))
		a.discardChunksOf(e.spec.ID)
	}
}

// taskComponent is the Component of a task's error record: the health
// monitor counts these in the runner's error rate.
const taskComponent = "task"

// taskError records a task-level error with the error handler (its rule is
// SKIP: only the task fails, the runner goes on) and emits the decision.
func (a *runnerActor) taskError(kind errhandler.Kind, e *taskEntry, why string) {
	rec := a.node.policy.Handle(errhandler.Failure{Kind: kind, Component: taskComponent, Operation: e.spec.ID,
		RunnerID: a.slot.id, Generation: a.gen, Message: "task " + e.spec.ID + ": " + why})
	a.log.WithFields(logrus.Fields{"task_id": e.spec.ID, "kind": string(kind), "severity": rec.Decision.Severity.String(),
		"action": rec.Decision.Action.String()}).Warn("task error: supervision decision")
	a.emit(&SupervisionDecision{RunnerID: a.slot.id, Generation: a.gen, Record: rec})
}

// endTask gives a task its one terminal status and frees its slot.
func (a *runnerActor) endTask(ctx actor.Context, e *taskEntry, st exov1.TaskStatus, reason string) {
	for i := range e.timers {
		a.cancelTask(e, i)
	}
	a.node.endTask(a.slot, e, st, reason)
	if ctx != nil {
		a.dispatch(ctx)
		a.onTaskEnded(ctx, st)
	}
}

func (a *runnerActor) armTask(ctx actor.Context, e *taskEntry, which int, d time.Duration) {
	a.cancelTask(e, which)
	a.slot.timerSeq++
	seq, id, self, system := a.slot.timerSeq, e.spec.ID, ctx.Self(), ctx.ActorSystem()
	e.timers[which] = timerSlot{seq: seq, t: a.node.runnerClock.AfterFunc(d, func() {
		system.Root.Send(self, &taskTimerFired{id: id, which: which, seq: seq})
	})}
}

func (a *runnerActor) cancelTask(e *taskEntry, which int) { e.stopTimer(which) }

// taskEnvelope is the frame that carries task spec to its runner.
func taskEnvelope(spec TaskSpec) *exov1.SupervisorEnvelope {
	task := &exov1.Task{Id: spec.ID, Kind: spec.Kind, Payload: spec.Payload, Params: spec.Params}
	if spec.Timeout > 0 {
		task.Timeout = durationpb.New(spec.Timeout)
	}
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: task}}
}

// ownEndsMax bounds runnerActor.ownEnds: the tasks whose own end the
// runner reported lately, whose later frames are protocol errors.
const ownEndsMax = 64

// noteOwnEnd records that the runner itself reported the end of task id.
func (a *runnerActor) noteOwnEnd(id string) {
	if slices.Contains(a.ownEnds, id) {
		return
	}
	if len(a.ownEnds) >= ownEndsMax {
		a.ownEnds = slices.Delete(a.ownEnds, 0, 1)
	}
	a.ownEnds = append(a.ownEnds, id)
}
