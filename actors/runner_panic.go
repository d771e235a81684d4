package actors

import (
	"fmt"
	"runtime/debug"
	"syscall"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/actorguard"
	"github.com/exo-actors/exo-actors/internal/proc"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// runnerPanic is what a runner actor panics with after it caught a bug of
// its own (catchBug): the supervisor asks the error policy about failure
// and carries out its decision (supervisor.go, onRunnerPanic). why is the
// reason every answer and every task names.
type runnerPanic struct {
	value   any
	why     string
	failure *RunnerFailure // the failure the incarnation announced (RunnerFailed)
}

func (p *runnerPanic) String() string { return p.why }

// catchBug is deferred by Receive. A handler that panics with anything but
// the failure hand-off (finishFailure's *RunnerFailure) hit a bug, and the
// messages queued behind it (Submits the supervisor forwarded or Submit
// posted on the direct route, stops, pings, cancels, phases) must still be
// answered: protoactor discards a stopped actor's mailbox unanswered
// (docs/traps.md). So the incarnation enters Panicked while it is still the
// ledger's owner (enterPanicked), then panics on, so that protoactor
// suspends its mailbox and the supervisor retires it behind everything
// queued. Lifecycle messages, and a panic in Done (a finished incarnation
// answers as one), panic on unchanged.
func (a *runnerActor) catchBug(ctx actor.Context) {
	r := recover()
	if r == nil {
		return
	}
	switch ctx.Message().(type) {
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
		panic(r)
	}
	if _, handOver := r.(*RunnerFailure); handOver || a.life == lifeDone || a.life == lifePanicked {
		panic(r)
	}
	f := a.enterPanicked(ctx, r, debug.Stack())
	panic(&runnerPanic{value: r, why: a.bug, failure: f})
}

// enterPanicked ends what the incarnation was doing, in whatever state the
// panic found it: the process group is killed and its pipes closed (their
// goroutines end on their own), the tasks end Failed, the status becomes
// Failed and a RunnerFailed (KindActorPanic) announces it, and stop and
// phase waiters are answered, each naming the panic. It returns that
// failure, which the supervisor hands to the error policy. The reason is
// set first: should any of this panic again, the state is Panicked
// already and every later request still gets the reason.
func (a *runnerActor) enterPanicked(ctx actor.Context, r any, stack []byte) *RunnerFailure {
	a.bug = fmt.Sprintf("runner actor panicked (a bug in exo-actors): %v", r)
	if a.log == nil { // a panic at the very start of Started
		a.log = a.node.logger.WithField("runner_id", a.slot.id)
	}
	from := a.life
	a.to(lifePanicked)
	a.log.WithFields(logrus.Fields{"panic": fmt.Sprint(r), "state": from.String(), "stack": string(stack)}).
		Error("runner actor panicked (a bug): killed its process group; its tasks end Failed and every request queued for it is answered with the panic")
	a.cancelAllTimers()
	a.endProcess()
	a.emitExit() // no frame of this process is handled from here on
	n := len(a.slot.tasks.live)
	a.node.failTasks(a.slot, a.bug, false)
	f := a.panicFailure(n)
	a.setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED, ErrorMessage: a.bug, Diagnostics: f.Diagnostics()}, "actor panicked")
	// After the status, as finishFailure does: a WaitReady waiting on the
	// runner's events returns this failure (before, a panic sent none, and
	// it waited for its ctx).
	a.emit(&RunnerFailed{Failure: f})
	err := a.panicErr()
	if len(a.stopWaiters) > 0 {
		// As finishFailure: the supervisor drops it before a StopRunner
		// caller hears of it (onRunnerPanic retires it).
		ctx.Send(ctx.Parent(), &runnerDone{id: a.slot.id, failed: true})
	}
	for _, w := range a.stopWaiters {
		ctx.Send(w, &stopRunnerReply{err: err})
	}
	a.stopWaiters = nil
	a.answerPhaseWaiters(ctx, func(rep *PhaseReport) { rep.Outcome, rep.Note = OutcomeFailed, a.bug })
	return f
}

// panicFailure is the failure a panic makes of the runner (KindActorPanic,
// SourcePanic): what the error policy decides on, with the runner's
// evidence and what enterPanicked released (tasks: how many it ended).
func (a *runnerActor) panicFailure(tasks int) *RunnerFailure {
	f := a.newFailure(errhandler.KindActorPanic, SourcePanic, a.bug, nil)
	if a.started.IsZero() { // a panic before the process started
		f.Uptime = 0
	}
	f.Exit = a.exit
	f.StderrTail = append([]string(nil), a.stderrTail...)
	if a.p != nil {
		f.Cleaned = append(f.Cleaned, fmt.Sprintf("SIGKILL to process group %d unless reaped; its pipes closed (actor panicked)", a.p.Pid))
	}
	if tasks > 0 {
		f.Cleaned = append(f.Cleaned, fmt.Sprintf("%d tasks ended Failed naming the panic", tasks))
	}
	return f
}

// lifeLog is the incarnation's logger, or the node's with the runner's ID
// before Started set it.
func (a *runnerActor) lifeLog() logrus.FieldLogger {
	if a.log != nil {
		return a.log
	}
	return a.node.logger.WithField("runner_id", a.slot.id)
}

// afterStoppingPanic does what a handler of Stopping that panicked (r; a
// bug, logged by actorguard.Run) may have left undone, each step guarded on
// its own: the process group killed and its pipes closed, the timers
// stopped, and every stop and phase waiter answered. protoactor's stop then
// goes on, and the supervisor ends the runner's tasks on its Terminated as
// for any actor stopped before its runner was done.
func (a *runnerActor) afterStoppingPanic(ctx actor.Context, r any) {
	why := fmt.Sprintf("runner actor panicked while stopping (a bug in exo-actors): %v", r)
	who, log := "runner actor "+a.slot.id, a.lifeLog()
	msg := ctx.Message()
	actorguard.Run(log, who, msg, a.cancelAllTimers)
	actorguard.Run(log, who, msg, a.endProcess)
	actorguard.Run(log, who, msg, func() {
		a.answerStopWaiters(ctx, &StopResult{RunnerID: a.slot.id, Generation: a.gen, Exit: a.exit, EndedBy: why, Failure: a.failure})
	})
	actorguard.Run(log, who, msg, func() {
		a.answerPhaseWaiters(ctx, func(rep *PhaseReport) { rep.Outcome, rep.Note = OutcomeFailed, why })
	})
}

// panicErr is the answer of a Panicked incarnation to every request.
func (a *runnerActor) panicErr() error {
	return fmt.Errorf("%w: runner %s: %s; its process was killed and its tasks ended Failed: spawn a new runner", ErrRunnerNotAvailable, a.slot.id, a.bug)
}

// receivePanicked is the Panicked state's receive function: every request
// is answered with the panic (a Submit of a task ID the runner knows gets
// that task's handle, ended), what the dying process still sends is taken
// as evidence only, and the supervisor's poison pill ends it (Stopping →
// Done).
func (a *runnerActor) receivePanicked(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Restarting:
		// The error policy restarts the runner (a rule for actor_panic
		// that says RETRY; by default it escalates): a new incarnation
		// takes over the slot, and nothing of this one's process may
		// remain. Its tasks ended in enterPanicked; the ledger holds only
		// what waits for the next process.
		actorguard.Run(a.lifeLog(), "runner actor "+a.slot.id, m, func() {
			a.cancelAllTimers()
			a.endProcess()
		})
	case *actor.Stopping:
		// Guarded as in every other state: this is the stop the
		// supervisor's retirement causes, and a bug here would wedge it.
		if r := actorguard.Run(a.lifeLog(), "runner actor "+a.slot.id, m, func() { a.onActorStopping(ctx) }); r != nil {
			a.afterStoppingPanic(ctx, r)
		}
	case *submitTask:
		if r := a.slot.tasks.dedup(a.slot.id, m.spec); r != nil {
			m.answer(ctx, r)
			return
		}
		if m.shuttingDown {
			m.answer(ctx, &submitReply{err: ErrShuttingDown})
			return
		}
		m.answer(ctx, &submitReply{err: a.panicErr()})
	case *cancelTasks:
		ctx.Respond(&cancelReply{err: a.panicErr()})
	case *runnerInfoQuery: // PingRunner
		ctx.Respond(a.panicErr())
	case *StopRunner:
		ctx.Respond(&stopRunnerReply{err: a.panicErr()})
	case *phaseRequest:
		a.answer(ctx, phaseWaiter{pid: ctx.Sender(), req: m, report: &PhaseReport{Actor: a.slot.id, Phase: m.phase,
			Start: a.node.runnerClock.Now(), Outcome: OutcomeFailed, Note: a.bug, id: m.id}})
	case *healthProbe:
		a.onHealth(ctx, m)
	case *proc.Frames:
		if a.current(m.Gen) {
			a.p.Release() // output of a killed process: dropped, its credit returned
		}
	case *proc.StderrReady:
		if a.current(m.Gen) {
			a.drainStderr()
		}
	case *proc.Exited:
		if a.current(m.Gen) {
			st := m.Status
			a.exit = &st
			// Reaped after the panic (its group was killed then): no frame
			// of it is handled any more, so its exit goes out at once,
			// after the Failed the panic made. The actor may be stopped
			// before the reap arrives; then there is none (docs).
			a.exitEvent = &ProcessExited{RunnerID: a.slot.id, Generation: a.gen, Pid: a.p.Pid, Status: st, At: m.At}
			a.emitExit()
		}
	case *proc.ReaderClosed:
		if a.current(m.Gen) {
			a.pipesOpen &^= pipeReader
		}
	case *proc.StderrClosed:
		if a.current(m.Gen) {
			a.pipesOpen &^= pipeStderr
		}
	case *proc.WriterClosed:
		if a.current(m.Gen) {
			a.pipesOpen &^= pipeWriter
		}
	}
	// Timers, task timers, forceKill, healthFail, resource answers: the
	// process is killed and the tasks have ended; nothing is left to do.
}

// endProcess makes sure nothing of the process outlives the incarnation:
// SIGKILL to its group unless it was reaped (the waiter goroutine reaps
// it), stdin closed, and the parent's pipe ends closed so every pipe
// goroutine ends.
func (a *runnerActor) endProcess() {
	if a.p == nil {
		return
	}
	if a.exit == nil {
		_ = a.p.Signal(syscall.SIGKILL)
	}
	a.p.CloseInput()
	a.p.ForceCloseInput()
	if a.exit != nil || a.pipesOpen != 0 {
		a.p.ForceCloseOutput()
	}
}
