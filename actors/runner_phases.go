package actors

import (
	"syscall"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// forceKill: past a phase deadline, SIGKILL the runner's process group now.
type forceKill struct{}

// drainState is a DRAINING phase in progress on one runner.
type drainState struct {
	report  *PhaseReport
	waiter  *actor.PID // nil when StopRunner drives the phases itself
	timeout bool
}

// closingState is a CLOSING phase in progress.
type closingState struct {
	report *PhaseReport
	waiter *actor.PID
}

// onPhase carries out one shutdown phase for this runner and answers with a
// *PhaseReport (to waiter; nil when StopRunner drives the phases itself).
func (a *runnerActor) onPhase(ctx actor.Context, req *phaseRequest, waiter *actor.PID) {
	now := a.node.runnerClock.Now()
	rep := &PhaseReport{Actor: a.slot.id, Phase: req.phase, Start: now, Outcome: OutcomeOK}
	switch req.phase {
	case PhaseSignaling:
		a.signal(ctx, rep)
		a.answer(ctx, waiter, rep)
	case PhaseDraining:
		a.signal(ctx, rep) // a runner that missed SIGNALING (spawned mid-way) takes no work either
		if a.slot.tasks.inFlight == 0 || a.finished {
			a.answer(ctx, waiter, rep)
			return
		}
		a.drain = &drainState{report: rep, waiter: waiter}
		a.arm(ctx, timerPhase, max(req.deadline.Sub(now), 0))
	case PhaseClosing:
		a.signal(ctx, rep)
		if a.finished {
			rep.Note = "not running"
			a.answer(ctx, waiter, rep)
			return
		}
		a.closing = &closingState{report: rep, waiter: waiter}
		a.arm(ctx, timerPhase, max(req.deadline.Sub(now), 0))
		a.onStop(ctx, nil)
	}
}

// signal stops taking work: Submit is refused with ErrShuttingDown, nothing
// more is dispatched, and tasks still queued (never started) end Cancelled.
func (a *runnerActor) signal(ctx actor.Context, rep *PhaseReport) {
	if a.signaled {
		return
	}
	a.signaled = true
	l := a.slot.tasks
	for _, id := range append([]string(nil), l.queue...) {
		a.endTask(nil, l.live[id], exov1.TaskStatus_TASK_STATUS_CANCELLED, "node shutting down before the task started")
		rep.TasksFailed++
	}
}

// onTaskEnded keeps a DRAINING phase's counts and ends it when nothing is in
// flight any more.
func (a *runnerActor) onTaskEnded(ctx actor.Context, st exov1.TaskStatus) {
	d := a.drain
	if d == nil {
		return
	}
	if st == exov1.TaskStatus_TASK_STATUS_COMPLETE {
		d.report.TasksDrained++
	} else {
		d.report.TasksFailed++
	}
	if a.slot.tasks.inFlight == 0 {
		a.endDrain(ctx)
	}
}

func (a *runnerActor) endDrain(ctx actor.Context) {
	d := a.drain
	a.drain = nil
	a.cancel(timerPhase)
	a.answer(ctx, d.waiter, d.report)
	if d.waiter == nil && a.stopping3 {
		a.beginClosing(ctx)
	}
}

// onPhaseTimer: the phase deadline passed.
func (a *runnerActor) onPhaseTimer(ctx actor.Context) {
	switch {
	case a.drain != nil:
		// In-flight tasks that did not finish in time end TimedOut now; the
		// runner is told to cancel them.
		a.drain.report.Outcome = OutcomeTimedOut
		a.drain.report.Note = "drain deadline passed"
		l := a.slot.tasks
		for _, id := range l.sentIDs() {
			e := l.live[id]
			if a.p != nil && a.exit == nil && a.caps[protocol.CapCancel] {
				_ = a.p.Send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{Target: &exov1.Cancel_TaskId{TaskId: id}}}})
			}
			a.endTask(nil, e, exov1.TaskStatus_TASK_STATUS_TIMED_OUT, "drain deadline passed during shutdown")
			a.drain.report.TasksFailed++
		}
		a.endDrain(ctx)
	case a.closing != nil && !a.finished:
		a.forceKill("closing deadline passed")
	}
}

// forceKill is FORCE_CLEANUP past a deadline: SIGKILL to the group now; the
// runner still finishes normally once its process is reaped.
func (a *runnerActor) forceKill(why string) {
	if a.closing != nil {
		a.closing.report.Outcome = OutcomeForced
		a.closing.report.Note = why + ": SIGKILL to the process group"
	}
	if a.p != nil && a.exit == nil {
		a.log.WithField("reason", why).Warn("force cleanup: SIGKILL to the runner's process group")
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
}

func (a *runnerActor) answer(ctx actor.Context, waiter *actor.PID, rep *PhaseReport) {
	rep.Duration = a.node.runnerClock.Now().Sub(rep.Start)
	a.log.WithFields(logrus.Fields{"phase": rep.Phase.String(), "outcome": string(rep.Outcome), "duration": rep.Duration}).Debug("shutdown phase done")
	if waiter != nil {
		ctx.Send(waiter, rep)
	}
}

// onStopRequest is StopRunner: the runner's own three phases. SIGNALING and
// DRAINING (bounded by RunnerTimeouts.StopDrain) before the usual stop.
func (a *runnerActor) onStopRequest(ctx actor.Context, sender *actor.PID) {
	if a.finished || a.stop != nil || a.stopping3 || a.closing != nil {
		a.onStop(ctx, sender) // joins, or answers with the result
		return
	}
	a.stopping3 = true
	if sender != nil {
		a.stopWaiters = append(a.stopWaiters, sender)
	}
	now := a.node.runnerClock.Now()
	a.onPhase(ctx, &phaseRequest{phase: PhaseSignaling, deadline: now}, nil)
	if a.slot.tasks.inFlight > 0 && a.exit == nil && a.failure == nil {
		a.onPhase(ctx, &phaseRequest{phase: PhaseDraining, deadline: now.Add(a.node.timeouts.StopDrain)}, nil)
		if a.drain != nil {
			return // beginClosing follows when the drain ends
		}
	}
	a.beginClosing(ctx)
}

func (a *runnerActor) beginClosing(ctx actor.Context) {
	a.stopping3 = false
	waiters := a.stopWaiters
	a.stopWaiters = nil
	if len(waiters) == 0 {
		a.onStop(ctx, nil)
	}
	for _, w := range waiters {
		a.onStop(ctx, w)
	}
}
