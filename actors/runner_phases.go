package actors

import (
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/proc"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// forceKill: SIGKILL the runner's process group now (ForceKill, or past a
// phase deadline); cause says which, for the runner's end to name.
type forceKill struct{ cause nodeKill }

// phaseWaiter is a node shutdown phase this runner owes an answer to.
type phaseWaiter struct {
	pid    *actor.PID
	req    *phaseRequest
	report *PhaseReport
}

// drainState is lifeDraining's work: who waits for the drain, until when,
// and where the runner goes when it is over.
type drainState struct {
	then     life // lifeServing (a node DRAINING) or lifeStopping (StopRunner)
	deadline time.Time
	drained  int // tasks that ended Complete during the drain
	// cut counts tasks the drain's deadline ended (TimedOut); unfinished
	// those that ended by themselves without completing (Failed, e.g. by
	// the ack timeout of a hung runner; their own deadline; a client's
	// Cancel): the drain did not cut those, so they leave it ok.
	cut, unfinished int
	// stopAsked is when StopRunner asked for the stop this drain ends in
	// (zero for a node DRAINING): the stop's Total counts from there.
	stopAsked time.Time
}

// onPhase carries out one node shutdown phase for this runner and answers
// with a *PhaseReport tagged with the request, when the phase is done here.
func (a *runnerActor) onPhase(ctx actor.Context, req *phaseRequest, from *actor.PID) {
	now := a.node.runnerClock.Now()
	w := phaseWaiter{pid: from, req: req, report: &PhaseReport{Actor: a.slot.id, Phase: req.phase, Start: now, Outcome: OutcomeOK, id: req.id}}
	switch req.phase {
	case PhaseSignaling:
		w.report.TasksFailed += a.closeAdmission(admitShuttingDown)
		a.answer(ctx, w)
	case PhaseDraining:
		w.report.TasksFailed += a.closeAdmission(admitShuttingDown) // spawned mid-way: it takes no work either
		switch {
		case a.life == lifeDraining:
			a.phaseWaiters = append(a.phaseWaiters, w)
			a.drainBy(ctx, req.deadline)
		case (a.life == lifeServing || a.life == lifeSuspect) && a.slot.tasks.inFlight > 0:
			if a.life == lifeSuspect {
				// Dying: its exit (or ExitGrace) ends the tasks; answer then.
				a.phaseWaiters = append(a.phaseWaiters, w)
				return
			}
			a.phaseWaiters = append(a.phaseWaiters, w)
			a.beginDrain(ctx, lifeServing, req.deadline)
		case a.life == lifeDone || !a.life.alive() && a.life != lifeExited:
			if a.life != lifeDone {
				w.report.Note = "stopping: " + a.life.String()
			}
			a.answer(ctx, w)
		case a.life == lifeExited:
			a.phaseWaiters = append(a.phaseWaiters, w) // answered when it is classified and Done
		default:
			a.answer(ctx, w) // nothing in flight
		}
	case PhaseClosing:
		a.closeAdmission(admitShuttingDown)
		if a.life == lifeDone {
			w.report.Note = "not running"
			a.answer(ctx, w)
			return
		}
		a.phaseWaiters = append(a.phaseWaiters, w)
		a.arm(ctx, timerClosingDeadline, max(req.deadline.Sub(now), 0))
		a.beginStop(ctx, "node CLOSING")
	}
}

// The reasons of the tasks a node's shutdown ends without running them to
// their end: a ClusterClient tells them from other outcomes (the task did
// not finish because its node left, so the lost-node rules apply), so they
// are fixed texts.
const (
	// ReasonShutdownBeforeStart: a queued task the node's shutdown
	// cancelled (SIGNALING) before it was sent to its runner.
	ReasonShutdownBeforeStart = "node shutting down before the task started"
	// ReasonShutdownDrainCut: a task still in flight when the DRAINING
	// deadline of the node's shutdown passed (it ends TimedOut).
	ReasonShutdownDrainCut = "drain deadline passed during shutdown"
	// ReasonShutdownForced: a task still in flight when the node's
	// shutdown was forced (Node.ForceKill after the shutdown began: the
	// second SIGINT/SIGTERM of exo-actors node), which sent SIGKILL to its
	// runner's process group (it ends Failed). The node cut it, as the
	// drain deadline does.
	ReasonShutdownForced = "runner killed by " + forcedShutdownWhat
)

// closeAdmission stops taking work: Submit is refused, nothing more is
// dispatched, and tasks still queued (never started) end Cancelled. It
// returns how many queued tasks it ended.
func (a *runnerActor) closeAdmission(to admission) int {
	if a.admission == admitOpen || to == admitStopping && a.admission == admitShuttingDown {
		a.admission = to
	}
	why := "runner stopping before the task started"
	if to == admitShuttingDown {
		why = ReasonShutdownBeforeStart
	}
	n := 0
	l := a.slot.tasks
	for _, id := range append([]string(nil), l.queue...) {
		a.endTask(nil, l.live[id], exov1.TaskStatus_TASK_STATUS_CANCELLED, why)
		n++
	}
	return n
}

// beginDrain enters lifeDraining: in-flight tasks finish or the deadline
// cuts them short; then the runner goes on to then.
func (a *runnerActor) beginDrain(ctx actor.Context, then life, deadline time.Time) {
	now := a.node.runnerClock.Now() // before the transition, which others watch
	if !a.to(lifeDraining) {
		return
	}
	a.drain = &drainState{then: then}
	if then == lifeStopping {
		a.drain.stopAsked = now
	}
	a.drainBy(ctx, deadline)
}

// GetPriority implements protoactor's actor.PriorityMessage. The drain
// deadline's message has the stdout batches' priority (proc.PriorityOutput),
// like a task timer's (taskTimerFired.GetPriority): it waits behind the
// batches delivered before it fired, one of which may hold a task's end
// read before the deadline, which then ends as the runner said instead of
// being cut. Under a flood the first batch past the deadline acts on it
// anyway (onFrames). Every other runner timer keeps the default priority.
func (m *timerFired) GetPriority() int8 {
	if m.kind == timerDrainDeadline {
		return proc.PriorityOutput
	}
	return actor.DefaultPriority
}

// drainBy brings the drain deadline forward to deadline if it is earlier.
func (a *runnerActor) drainBy(ctx actor.Context, deadline time.Time) {
	d := a.drain
	if !d.deadline.IsZero() && !deadline.Before(d.deadline) {
		return
	}
	d.deadline = deadline
	a.arm(ctx, timerDrainDeadline, max(deadline.Sub(a.node.runnerClock.Now()), 0))
}

// onTaskEnded keeps a drain's counts and ends it when nothing is in flight.
func (a *runnerActor) onTaskEnded(ctx actor.Context, st exov1.TaskStatus) {
	if a.life != lifeDraining {
		return
	}
	if st == exov1.TaskStatus_TASK_STATUS_COMPLETE {
		a.drain.drained++
	} else {
		a.drain.unfinished++
	}
	if a.slot.tasks.inFlight == 0 {
		a.endDrain(ctx, "")
	}
}

// drainDeadlinePassed: in-flight tasks that did not finish in time end
// TimedOut now; the runner is told to cancel them. A task already being
// cancelled (a client's Cancel, its own timeout, an unacknowledged task)
// was decided before the deadline: it ends as that decision said, now,
// without a second Cancel frame, and is not counted as cut. Before, the
// deadline cut it as a drain cut (TimedOut, ReasonShutdownDrainCut), which
// a ClusterClient resubmits elsewhere: a task whose Cancel had returned 1
// could run again (review of the Cancel-during-shutdown change).
func (a *runnerActor) drainDeadlinePassed(ctx actor.Context) {
	reason := ReasonShutdownDrainCut
	if a.drain.then == lifeStopping {
		reason = "drain deadline passed while the runner was stopped (RunnerTimeouts.StopDrain)"
	}
	l := a.slot.tasks
	for _, id := range l.sentIDs() {
		e := l.live[id]
		a.discardChunksOf(id) // before the Cancel: what the runner writes after reading it is skipped
		if e.state == taskCancelling {
			a.endTask(nil, e, e.cancelAs, e.cancelWhy+" (the drain deadline passed before the runner confirmed)")
			a.drain.unfinished++
			continue
		}
		// Whatever its capabilities (docs/protocol.md, "Shutdown"): the
		// task is over for the node, and a runner that can stop it early
		// without having said so should. Before, a runner without
		// `cancel` was not told, against the docs (a Python runner's
		// trial).
		if a.p != nil && a.exit == nil {
			_ = a.p.Send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{Target: &exov1.Cancel_TaskId{TaskId: id}}}})
		}
		a.endTask(nil, e, exov1.TaskStatus_TASK_STATUS_TIMED_OUT, reason)
		a.drain.cut++
	}
	cutShort := ""
	if a.drain.cut > 0 {
		cutShort = "drain deadline passed"
	}
	a.endDrain(ctx, cutShort)
}

// endDrain leaves lifeDraining: every DRAINING waiter is answered, and the
// runner goes on where the drain said (Serving, or Stopping for StopRunner).
// cutShort, when set, says why the drain ended before its tasks did.
func (a *runnerActor) endDrain(ctx actor.Context, cutShort string) {
	d := a.drain
	a.drain = nil
	a.cancel(timerDrainDeadline)
	a.answerPhase(ctx, PhaseDraining, func(r *PhaseReport) {
		r.TasksDrained += d.drained
		r.TasksFailed += d.cut
		r.TasksUnfinished += d.unfinished
		if cutShort != "" {
			r.Outcome, r.Note = OutcomeTimedOut, cutShort
		}
	})
	if d.then == lifeStopping {
		a.enterStopping(ctx, "stop requested")
		if a.stop != nil && !d.stopAsked.IsZero() && d.stopAsked.Before(a.stop.start) {
			a.stop.start = d.stopAsked // a stop's Total counts its drain
		}
		return
	}
	a.to(lifeServing)
	a.dispatch(ctx)
}

// onStopRequest is StopRunner: the runner's own three phases. SIGNALING
// (admission closed), DRAINING (bounded by RunnerTimeouts.StopDrain), then
// the stop escalation. A stop that overlaps a node shutdown, or another
// stop, joins what is in progress; every caller is answered once, in Done.
func (a *runnerActor) onStopRequest(ctx actor.Context, sender *actor.PID) {
	if a.life == lifeDone {
		if sender != nil && a.result != nil {
			ctx.Send(sender, a.result)
		}
		return
	}
	if sender != nil {
		a.stopWaiters = append(a.stopWaiters, sender)
	}
	a.closeAdmission(admitStopping)
	switch a.life {
	case lifeServing:
		if a.slot.tasks.inFlight > 0 {
			a.beginDrain(ctx, lifeStopping, a.node.runnerClock.Now().Add(a.node.timeouts.StopDrain))
			return
		}
		a.beginStop(ctx, "stop requested")
	case lifeDraining:
		a.drain.then = lifeStopping
		if a.drain.stopAsked.IsZero() {
			a.drain.stopAsked = a.node.runnerClock.Now()
		}
		a.drainBy(ctx, a.node.runnerClock.Now().Add(a.node.timeouts.StopDrain))
	case lifeStarting, lifeSuspect:
		a.beginStop(ctx, "stop requested")
	default:
		// Exited, Stopping, Failing, Reaping, Releasing: it is ending
		// already; the caller is answered in Done. If it ends by a failure,
		// the supervisor does not restart it: it was asked to stop
		// (runnerSupervisor.stopAsked).
		a.log.WithField("state", a.life.String()).Info("stop requested while the runner is ending: answered when it is done")
	}
}

// beginStop ends the runner's work and starts the stop escalation: a drain
// in progress is cut short (its waiters answered), a live process enters
// lifeStopping. From any later state it does nothing: the process is ending
// already.
func (a *runnerActor) beginStop(ctx actor.Context, why string) {
	switch {
	case a.life == lifeDraining:
		a.drain.then = lifeStopping
		a.endDrain(ctx, "cut short: "+why)
	case a.life.alive():
		a.enterStopping(ctx, why)
	}
}

func (a *runnerActor) enterStopping(ctx actor.Context, why string) {
	if !a.to(lifeStopping) {
		return
	}
	// A runner that reported ShuttingDown before the stop began said it
	// itself: what follows but Shutdown or Failed is a protocol error.
	a.stop = &stopState{start: a.node.runnerClock.Now(), runnerSaid: a.status.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN}
	a.cancel(timerHandshake)
	a.cancel(timerWatchdog)
	a.cancel(timerExitGrace)
	a.log.WithField("reason", why).Info("stopping runner")
	if !protocol.Terminal(a.status.GetKind()) && a.status.GetKind() != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN {
		a.setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN}, why)
	}
	a.nextStopStep(ctx)
}

// nextStopStep walks the escalation: Shutdown frame → StopGrace → SIGTERM to
// the group → TermWait → SIGKILL to the group. A runner that has not finished
// its handshake cannot read a Shutdown frame: it starts at SIGTERM.
func (a *runnerActor) nextStopStep(ctx actor.Context) {
	if a.exit != nil {
		return
	}
	now := a.node.runnerClock.Now()
	s := a.stop
	if n := len(s.steps); n > 0 {
		s.steps[n-1].Duration = now.Sub(s.steps[n-1].Started)
	}
	t := a.node.timeouts
	var name string
	switch {
	case len(s.steps) == 0 && a.handshaken():
		name = "shutdown frame"
		err := a.p.Send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{Timeout: durationpb.New(t.StopGrace)}}})
		if err != nil {
			a.log.WithError(err).Warn("could not send Shutdown frame; escalating")
		}
		a.arm(ctx, timerStopStep, t.StopGrace)
	case len(s.steps) == 0 || s.steps[len(s.steps)-1].Name == "shutdown frame":
		name = "SIGTERM"
		_ = a.p.Signal(syscall.SIGTERM)
		a.arm(ctx, timerStopStep, t.TermWait)
	default:
		name = "SIGKILL"
		_ = a.p.Signal(syscall.SIGKILL)
	}
	s.steps = append(s.steps, StopStep{Name: name, Started: now})
	a.log.WithFields(logrus.Fields{"step": name, "reason": "stop escalation"}).Info("stop step")
}

// forceKill is FORCE_CLEANUP by the node (ForceKill, or past a deadline):
// SIGKILL to the group now. The cause goes through the lifecycle: a runner
// that is stopping takes it as its stop's SIGKILL step (it then finishes as
// a stop, "ended by SIGKILL"); one that is alive enters Failing with a
// failure of SourceNodeKill naming the cause, so that its exit, which then
// comes in Failing, is not classified as the runner's own death (an alive
// runner's SIGKILL read "runner died: signal=9", and its stderr was blamed).
// A runner already failing or exited keeps its own diagnosis.
func (a *runnerActor) forceKill(ctx actor.Context, k nodeKill) {
	for _, w := range a.phaseWaiters {
		if w.req.phase == PhaseClosing {
			w.report.Outcome = OutcomeForced
			w.report.Note = k.note() + ": SIGKILL to the process group"
		}
	}
	if a.p == nil || a.exit != nil {
		return
	}
	a.log.WithField("reason", k.note()).Warn("force cleanup: SIGKILL to the runner's process group")
	if a.life.alive() {
		a.fail(ctx, errhandler.KindSignal, SourceNodeKill, "runner killed by "+k.what(), nil)
		return
	}
	_ = a.p.Signal(syscall.SIGKILL)
	if s := a.stop; s != nil { // the stop result names the step that ended it
		now := a.node.runnerClock.Now()
		if n := len(s.steps); n > 0 && s.steps[n-1].Duration == 0 {
			s.steps[n-1].Duration = now.Sub(s.steps[n-1].Started)
		}
		s.steps = append(s.steps, StopStep{Name: "SIGKILL", Started: now})
		a.cancel(timerStopStep)
	}
}

// answer sends one phase report to its waiter.
func (a *runnerActor) answer(ctx actor.Context, w phaseWaiter) {
	rep := w.report
	rep.Duration = a.node.runnerClock.Now().Sub(rep.Start)
	a.log.WithFields(logrus.Fields{"phase": rep.Phase.String(), "outcome": string(rep.Outcome), "duration": rep.Duration}).Debug("shutdown phase done")
	if w.pid != nil {
		ctx.Send(w.pid, rep)
		yieldToAnswered()
	}
}

// answerPhase answers the waiters of one phase, after edit.
func (a *runnerActor) answerPhase(ctx actor.Context, ph Phase, edit func(*PhaseReport)) {
	kept := a.phaseWaiters[:0]
	for _, w := range a.phaseWaiters {
		if w.req.phase != ph {
			kept = append(kept, w)
			continue
		}
		edit(w.report)
		a.answer(ctx, w)
	}
	clear(a.phaseWaiters[len(kept):])
	a.phaseWaiters = kept
}

// answerPhaseWaiters answers every waiter, whatever its phase (Done).
func (a *runnerActor) answerPhaseWaiters(ctx actor.Context, edit func(*PhaseReport)) {
	for _, w := range a.phaseWaiters {
		edit(w.report)
		a.answer(ctx, w)
	}
	a.phaseWaiters = nil
}
