package actors

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/internal/actorguard"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Errors of the runner supervisor.
var (
	// ErrUnknownRunner: no runner with that ID was ever spawned on this
	// node, or the node's RetentionLimits forgot it after its removal.
	ErrUnknownRunner = errors.New("unknown runner ID")
	// ErrShuttingDown: the node is shutting down and accepts no new work.
	ErrShuttingDown = errors.New("node is shutting down and accepts no new work")
)

// Requests to the runner supervisor.
type (
	spawnRunnerRequest struct{ spec RunnerSpec }
	spawnRunnerReply   struct {
		id  string
		err error
	}
	stopRunnerRequest struct{ id string }
	stopRunnerReply   struct {
		result *StopResult
		err    error
	}
	listRunnersRequest struct{}
	// routeToRunner carries a task message to a runner; the supervisor
	// answers for runners that have no live incarnation.
	routeToRunner struct {
		id  string
		msg any
	}
	// runnerDone: a runner actor's process is gone after a stop; the
	// supervisor takes it off its children and stops the actor. failed: it
	// ended by a failure during a StopRunner (HandleFailure stops it). Sent
	// before the StopRunner is answered.
	runnerDone struct {
		id     string
		failed bool
	}
	// panicRunner makes a runner actor panic (tests only: testhooks.go):
	// at once, or, with inStopping, later inside its handler of protoactor's
	// Stopping message.
	panicRunner struct {
		id         string
		inStopping bool
	}
	// forceKillAll: SIGKILL every runner's process group now, for cause
	// (killForced during the node's shutdown, killForcedRunning before).
	forceKillAll struct{ cause nodeKill }
	// restartDue: a backoff timer fired.
	restartDue struct {
		id  string
		seq uint64
	}
)

// SupervisionDecision: the runner supervisor decided what to do about a
// runner's failure. Record is the error handler's record of it.
type SupervisionDecision struct {
	RunnerID   string
	Generation uint64
	Record     errhandler.Record
	// Cleaned lists what the runner released before it failed (process
	// group killed, process reaped, pipes closed, timers stopped).
	Cleaned []string
	// Cleanup lists the steps of FORCE_CLEANUP, when the decision was
	// FORCE_CLEANUP, in order: kill, close the runner's resources, reset
	// those in error. The follow-up (Record.Decision.Then) came after.
	Cleanup []string
}

// Alert: something needs a person. A runner's escalation raises a CRITICAL
// alert; the node keeps serving its other runners.
type Alert struct {
	Severity errhandler.Severity
	RunnerID string
	Message  string
	Record   errhandler.Record
	At       time.Time
}

func (e *SupervisionDecision) eventRunnerID() string { return e.RunnerID }
func (e *Alert) eventRunnerID() string               { return e.RunnerID }

// restartWait is a runner suspended in its restart backoff. The supervisor
// answers for it until the timer fires.
type restartWait struct {
	pid    *actor.PID
	seq    uint64
	timer  clock.Timer
	due    time.Time
	record errhandler.Record
}

// runnerSupervisor is the parent of every runner actor. It implements
// actor.SupervisorStrategy itself, so failure handling runs on its own
// goroutine, next to the state it reads, and carries out the error
// handler's decisions.
type runnerSupervisor struct {
	node     *nodeConfig
	self     *actor.PID
	slots    map[string]*slot
	order    []string              // runner IDs in spawn order
	children map[string]*actor.PID // runner actors that take requests, by runner ID
	byActor  map[string]string     // actor ID → runner ID, until Terminated
	waiting  map[string]*restartWait
	failures map[string]*RunnerFailure
	records  map[string]errhandler.Record
	seq      uint64
	closed   bool
	// closedAt is when SIGNALING reached the supervisor (runnerClock): a
	// failure detected before it is not the shutdown's (HandleFailure).
	closedAt time.Time
	phase    *collector // a shutdown phase in progress
	phaseSeq uint64
	// cleanups are FORCE_CLEANUPs in progress, by tag.
	cleanups   map[uint64]*pendingDecision
	cleanupSeq uint64
	// stopReason says why a runner actor ended other than by its own stop
	// or failure (a panic): tasks it left live end with it when it is
	// Terminated.
	stopReason map[string]string
	// stopAsked holds the runners a StopRunner was forwarded to, until
	// their actor is Terminated: a failure of theirs (the process died just
	// before or during the stop, and the runner answered the stop with the
	// failure) is final, never restarted. Without it a runner stopped while
	// it was ending came back after its backoff (the chaos soak's leaked
	// runners; TestStopRequestedWhileRunnerEndsIsNotRestarted).
	stopAsked map[string]struct{}
	// removed lists removed runners whose final info is still kept, oldest
	// first; bounded by RetentionLimits (retention.go).
	removed []removal
	// forgotten lists the runners retention forgot since the health
	// monitor's last roster, which carries them to it (retention.go).
	forgotten []string
}

func newRunnerSupervisor(node *nodeConfig) actor.Actor {
	return &runnerSupervisor{
		node:     node,
		slots:    map[string]*slot{},
		children: map[string]*actor.PID{},
		byActor:  map[string]string{},
		waiting:  map[string]*restartWait{},
		failures: map[string]*RunnerFailure{},
		records:  map[string]errhandler.Record{},
		cleanups: map[uint64]*pendingDecision{},

		stopReason: map[string]string{},
		stopAsked:  map[string]struct{}{},
	}
}

// Receive implements actor.Actor.
func (s *runnerSupervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.self = ctx.Self()
	case *spawnRunnerRequest:
		s.pruneRemoved(ctx.ActorSystem())
		id, err := s.spawn(ctx, m.spec)
		ctx.Respond(&spawnRunnerReply{id: id, err: err})
	case *stopRunnerRequest:
		s.stopRunner(ctx, m.id)
	case *listRunnersRequest:
		s.pruneRemoved(ctx.ActorSystem())
		ctx.Respond(s.list())
	case healthMessage: // health_query.go
		s.onHealth(ctx, m)
	case *routeToRunner:
		s.route(ctx, m)
	case *restartDue:
		s.restart(ctx, m)
	case *phaseRequest:
		s.onPhase(ctx, m)
	case *panicRunner:
		// A test hook (testhooks.go): make a runner actor fail with a
		// panic that is not a *RunnerFailure, as a bug would.
		if pid := s.children[m.id]; pid != nil {
			ctx.Send(pid, m)
		}
		ctx.Respond(s.children[m.id] != nil)
	case *forceKillAll:
		for _, pid := range s.children {
			ctx.Send(pid, &forceKill{cause: m.cause})
		}
		ctx.Respond(len(s.children))
	case *PhaseReport:
		if s.phase != nil && s.phase.add(m) && s.phase.done() {
			s.finishPhase(ctx)
		}
	case *phaseDeadline:
		if s.phase != nil && m.seq == s.phaseSeq {
			s.phaseTimedOut(ctx)
		}
	case *runnerDone:
		// The runner stopped its process. Forward nothing more to it, then
		// poison it: the pill queues behind everything forwarded so far, so
		// each of those requests is answered before the actor stops. One
		// that failed or panicked during a StopRunner is retired by
		// HandleFailure.
		if pid := s.children[m.id]; pid != nil {
			s.dropChild(m.id)
			if !m.failed {
				ctx.Poison(pid)
			}
		}
	case *resources.CloseResult, *resources.OwnerResetResult, *cleanupTimedOut:
		s.onCleanupStep(ctx, m)
	case *actor.Terminated:
		id, known := s.byActor[m.Who.Id]
		s.onTerminated(m)
		if known {
			s.noteRemoved(ctx.ActorSystem(), id)
		}
	case *actor.Stopping:
		actorguard.Run(s.node.logger, "runner supervisor", m, s.onStopping)
	}
}

// onStopping: the tree stops (a Shutdown whose context ended, or
// StopFuture): no restart or cleanup timer may fire into it. The runner
// actors stop after this; each one's tasks end when it is Terminated. No
// Submit may go to them directly from now on.
func (s *runnerSupervisor) onStopping() {
	s.node.routes.closeAll()
	for _, w := range s.waiting {
		if w.timer != nil {
			w.timer.Stop()
		}
	}
	for _, d := range s.cleanups {
		if d.timer != nil {
			d.timer.Stop()
		}
	}
}

// onTerminated: a runner actor is gone for good. The slot's ledger is the
// supervisor's now: every task still live ends Failed (exactly once: a
// task already ended keeps its outcome), whatever stopped the actor.
func (s *runnerSupervisor) onTerminated(m *actor.Terminated) {
	id, ok := s.byActor[m.Who.Id]
	delete(s.byActor, m.Who.Id)
	if !ok {
		return
	}
	delete(s.stopAsked, id)
	if pid := s.children[id]; pid != nil && pid.Id == m.Who.Id {
		s.dropChild(id)
	}
	if w := s.waiting[id]; w != nil && w.pid.Id == m.Who.Id {
		if w.timer != nil {
			w.timer.Stop()
		}
		delete(s.waiting, id)
	}
	sl := s.slots[id]
	if sl == nil || len(sl.tasks.live) == 0 {
		return
	}
	why := s.stopReason[id]
	delete(s.stopReason, id)
	if why == "" {
		why = "runner actor stopped before the task ended (node stopped)"
	}
	s.node.failTasks(sl, why, false)
}

func (s *runnerSupervisor) spawn(ctx actor.Context, spec RunnerSpec) (string, error) {
	if s.closed {
		return "", ErrShuttingDown
	}
	if err := spec.Validate(); err != nil {
		return "", err
	}
	id := newRunnerID(spec.Kind)
	for s.slots[id] != nil { // never reuse an ID on this node
		id = newRunnerID(spec.Kind)
	}
	sl := newSlot(id, spec)
	props := actor.PropsFromProducer(func() actor.Actor { return newRunnerActor(s.node, sl) },
		actor.WithSupervisor(stopOnFailure{s.node.logger}), actor.WithMailbox(runnerMailbox()), s.node.dispatcher())
	pid, err := ctx.SpawnNamed(props, "runner-"+id)
	if err != nil {
		return "", fmt.Errorf("spawn runner actor %s: %w", id, err)
	}
	s.slots[id] = sl
	s.order = append(s.order, id)
	s.setChild(id, pid)
	s.byActor[pid.Id] = id
	return id, nil
}

func (s *runnerSupervisor) list() []RunnerInfo {
	now := s.node.clock.Now()
	current := map[uint64]errhandler.Record{} // records as they are now (resolved since?)
	for _, r := range s.node.policy.Records() {
		current[r.ID] = r
	}
	infos := make([]RunnerInfo, 0, len(s.order))
	for _, id := range s.order {
		in := s.slots[id].info()
		if rec, ok := s.records[id]; ok {
			if r, ok := current[rec.ID]; ok {
				rec = r
			}
			in.LastRecord = &rec
		}
		in.LastFailure = s.lastGenFailure(id)
		if d, ok := s.node.policy.NextDelay(id); ok {
			in.NextDelay = d
		}
		if w := s.waiting[id]; w != nil {
			in.Restarting = true
			in.RestartIn = max(w.due.Sub(now), 0)
			in.RestartAttempt = w.record.Attempt
		}
		in.removed = s.children[id] == nil && s.waiting[id] == nil
		infos = append(infos, in)
	}
	return infos
}

func (s *runnerSupervisor) stopRunner(ctx actor.Context, id string) {
	sl := s.slots[id]
	if sl == nil {
		ctx.Respond(&stopRunnerReply{err: fmt.Errorf("%w %q: list runners to see the IDs", ErrUnknownRunner, id)})
		return
	}
	if s.waiting[id] != nil {
		res := s.cancelRestart(ctx.ActorSystem(), asSupervisor(ctx), id, "runner stopped while it waited to restart")
		ctx.Respond(&stopRunnerReply{result: res})
		return
	}
	child := s.children[id]
	if child == nil {
		ctx.Respond(&stopRunnerReply{result: &StopResult{RunnerID: id, Generation: sl.info().Generation,
			EndedBy: "not running", Failure: s.lastGenFailure(id)}})
		return
	}
	// The runner answers the original requester itself, when its process
	// is gone. If it ends by a failure instead, it is not restarted.
	s.stopAsked[id] = struct{}{}
	ctx.RequestWithCustomSender(child, &StopRunner{}, ctx.Sender())
}

// lastGenFailure is the failure of runner id's last generation, if that
// one failed: a runner that failed, was restarted and was then stopped
// cleanly had not failed when a later stop came (a host's trial: a second
// StopRunner reported generation 1's SIGKILL after generation 2's clean
// stop).
func (s *runnerSupervisor) lastGenFailure(id string) *RunnerFailure {
	if f := s.failures[id]; f != nil && f.Generation == s.slots[id].info().Generation {
		return f
	}
	return nil
}

func (s *runnerSupervisor) route(ctx actor.Context, m *routeToRunner) {
	sl := s.slots[m.id]
	_, isCancel := m.msg.(*cancelTasks)
	var err error
	switch {
	case sl == nil:
		err = fmt.Errorf("%w %q: list runners to see the IDs", ErrUnknownRunner, m.id)
	case s.closed && !isCancel:
		// No new work once the node shuts down. A Cancel is not new
		// work: it shortens the drain, and the Node's contract answers it
		// as usual while the runner is there (before, it was refused
		// here with ErrShuttingDown, and a client that gave up on its
		// tasks could only wait for the drain deadline).
		err = ErrShuttingDown
	case s.waiting[m.id] != nil:
		s.answerForWaiting(ctx, sl, m.msg)
		return
	case s.closed && s.children[m.id] == nil:
		err = ErrShuttingDown // the shutdown ended it: nothing left to cancel
	case s.children[m.id] == nil:
		last := "" // not an earlier generation's failure: one restarted, then stopped, had not failed
		if s.lastGenFailure(m.id) != nil {
			last = sl.info().LastError
		}
		err = notRunning(m.id, last)
	}
	if err == nil {
		ctx.RequestWithCustomSender(s.children[m.id], m.msg, ctx.Sender())
		return
	}
	switch msg := m.msg.(type) {
	case *submitTask:
		if child := s.children[m.id]; sl != nil && child != nil && s.waiting[m.id] == nil {
			// Refused because the node is shutting down, but an
			// incarnation runs: it owns the ledger (its phase handling
			// ends queued tasks in it right now), so the dedup is its to
			// read. Before, this goroutine read the ledger's maps while
			// the runner deleted from them (race detector,
			// TestCoreSemanticsStress under load). It answers after the
			// phase request this supervisor sent it first.
			msg.shuttingDown = true
			ctx.RequestWithCustomSender(child, msg, ctx.Sender())
			return
		}
		if sl != nil { // dedup also for a runner that is gone
			if r := sl.tasks.dedup(sl.id, msg.spec); r != nil {
				msg.answer(ctx, r)
				return
			}
		}
		msg.answer(ctx, &submitReply{err: err})
	case *cancelTasks:
		ctx.Respond(&cancelReply{err: err})
	case *runnerInfoQuery: // PingRunner
		ctx.Respond(err)
	}
}

// answerForWaiting handles a task message for a runner in its restart
// backoff (its mailbox is suspended): tasks queue in its ledger for the next
// process; cancels end queued tasks at once.
func (s *runnerSupervisor) answerForWaiting(ctx actor.Context, sl *slot, msg any) {
	l := sl.tasks
	switch m := msg.(type) {
	case *submitTask:
		if r := l.dedup(sl.id, m.spec); r != nil {
			m.answer(ctx, r)
			return
		}
		if len(l.queue) >= s.node.limits.Queue {
			m.answer(ctx, &submitReply{err: fmt.Errorf("%w: %d tasks wait on runner %s (limit %d); retry later or raise TaskLimits.Queue (node config: tasks.queue)", ErrQueueFull, len(l.queue), sl.id, s.node.limits.Queue)})
			return
		}
		e := &taskEntry{spec: m.spec, handle: newTaskHandle(sl.id, m.spec.ID, s.node.limits.HandleChunks)}
		l.live[m.spec.ID] = e
		l.queue = append(l.queue, m.spec.ID)
		m.answer(ctx, &submitReply{handle: e.handle})
		s.node.emit(&TaskStatusChanged{RunnerID: sl.id, TaskID: m.spec.ID, Status: exov1.TaskStatus_TASK_STATUS_PENDING, At: s.node.runnerClock.Now()})
	case *cancelTasks:
		n := 0
		for _, id := range append([]string(nil), l.queue...) {
			if m.all || id == m.taskID {
				s.node.endTask(sl, l.live[id], exov1.TaskStatus_TASK_STATUS_CANCELLED, "cancelled on request while the runner waited to restart")
				n++
			}
		}
		if n == 0 && !m.all && !l.finished(m.taskID) {
			ctx.Respond(&cancelReply{err: taskNotFound(sl.id, m.taskID)})
			return
		}
		ctx.Respond(&cancelReply{cancelled: n})
	case *runnerInfoQuery: // PingRunner: the supervisor answers for it
		ctx.Respond(sl.info())
	}
}

// HandleFailure implements actor.SupervisorStrategy: a runner actor failed,
// after killing and reaping its process. Ask the error handler, then carry
// out its decision. FORCE_CLEANUP is a step of its own before the follow-up
// (see forceCleanup); the decision event (and an escalation's alert) is
// emitted once the decision took effect, cleanup included.
func (s *runnerSupervisor) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, msg interface{}) {
	id := s.byActor[child.Id]
	f, ok := reason.(*RunnerFailure)
	if !ok {
		s.onRunnerPanic(system, sup, id, child, reason)
		return
	}
	sl := s.slots[id]
	s.failures[id] = f
	if s.phase != nil { // it cannot answer the phase any more: answer for it
		start := s.phase.report.Start
		outcome, note := OutcomeFailed, f.Message
		if f.At.Before(s.closedAt) {
			// Detected before the shutdown began, handed over after (a
			// host whose WaitReady returned the failure called Shutdown
			// at once): not a failure of the shutdown, which was clean or
			// not depending on which came first.
			outcome, note = OutcomeOK, "had failed before the shutdown began: "+f.Message
		}
		failed, unfinished := len(sl.tasks.live), 0
		if outcome == OutcomeOK {
			// They end Failed with the runner's own failure, not cut short
			// by the shutdown (TasksFailed): TasksUnfinished counts those.
			failed, unfinished = 0, failed
		}
		s.phase.answerFor(&PhaseReport{Actor: id, Phase: s.phase.report.Phase, Start: start, Duration: max(f.At.Sub(start), 0),
			Outcome: outcome, Note: note, TasksFailed: failed, TasksUnfinished: unfinished})
		defer func() {
			if s.phase != nil && s.phase.done() {
				s.finishPhaseWith(system, s.phase)
			}
		}()
	}
	rec, action, then := s.decide(id, f)
	_, stopped := s.stopAsked[id]
	if (s.closed || stopped) && then == errhandler.Retry {
		then = errhandler.Skip // nothing restarts during shutdown, nor a runner asked to stop
	}
	fields := logrus.Fields{
		"runner_id": f.RunnerID, "generation": f.Generation, "kind": string(f.Kind),
		"severity": rec.Decision.Severity.String(), "action": rec.Decision.Action.String(), "rule": rec.Decision.Rule,
		"attempt": rec.Attempt, "next_delay": rec.Delay, "source": string(f.Source), "reason": f.Message, "cleaned": f.Cleaned,
	}
	if rec.Decision.Then != 0 {
		fields["then"] = rec.Decision.Then.String()
	}
	if rec.Note != "" {
		fields["note"] = rec.Note
	}
	// What the runner itself said (its Failed status): a traceback in the
	// diagnostics reached no log before.
	if f.RunnerMessage != "" {
		fields["runner_message"] = f.RunnerMessage
	}
	if f.RunnerDiagnostics != "" {
		fields["runner_diagnostics"] = protocol.Cap(f.RunnerDiagnostics, maxLoggedDiagnostics) // the marker within the bound, as docs/protocol.md says
	}
	s.node.logger.WithFields(fields).Warn("runner failure: supervision decision")

	d := &pendingDecision{id: id, rec: rec, then: then, f: f}
	reasonText := f.taskReason()
	switch then {
	case errhandler.Retry:
		s.node.failTasks(sl, reasonText, true)
		s.dropChild(id)
		s.seq++
		s.waiting[id] = &restartWait{pid: child, seq: s.seq, record: rec}
	case errhandler.Escalate:
		s.node.failTasks(sl, reasonText, false)
		s.retire(system, sup, id, child)
		s.node.policy.RunnerStopped(id)
		then := "the node keeps serving its other runners"
		if f.Kind.NodeWide() {
			then = "a node-wide fault: the node shuts down"
		}
		s.node.logger.WithFields(logrus.Fields{"runner_id": id, "kind": string(f.Kind), "severity": errhandler.Critical.String()}).
			Error("runner escalated: stopped for good; " + then)
		d.alert = true
		if f.Kind.NodeWide() {
			sup.EscalateFailure(f, msg) // the node root shuts the node down
		}
	default: // Skip: only what the runner was doing fails; the runner stays down
		s.node.failTasks(sl, reasonText, false)
		s.retire(system, sup, id, child)
		if stopped {
			s.node.policy.RunnerStopped(id)
			s.node.logger.WithFields(logrus.Fields{"runner_id": id, "planned": action.String()}).
				Info("runner failed after a StopRunner reached it: not restarted (it was asked to stop)")
		}
	}
	s.release(system, d, action, id, f.Generation)
}

// release carries out decision d once the failed generation's own
// resources (process, pipes) are released: every decision releases them,
// only FORCE_CLEANUP waits for it (otherwise tag 0: the answer is not
// awaited).
func (s *runnerSupervisor) release(system *actor.ActorSystem, d *pendingDecision, action errhandler.Action, id string, gen uint64) {
	if action == errhandler.ForceCleanup && s.node.resourcesPID != nil {
		s.forceCleanup(system, d)
		return
	}
	if s.node.resourcesPID != nil {
		system.Root.RequestWithCustomSender(s.node.resourcesPID, &resources.CloseOwner{Owner: id, Generation: gen}, s.self)
	}
	s.carryOut(system, d)
}

// onRunnerPanic: a runner actor panicked with something that is not a
// *RunnerFailure, a bug. The error policy decides about it as about any
// failure (KindActorPanic; by default ESCALATE: retired for good, an
// alert), and the decision is recorded and announced: a WaitReady on the
// runner learns from it whether the runner comes back (before, a panic
// made no decision, and a WaitReady after it waited for its ctx).
//
// Retired, it is never stopped outright: StopChildren would discard every
// request still in its mailbox unanswered (Submits the supervisor
// forwarded or Submit posted on the direct route, stops, pings, cancels;
// docs/traps.md), and each caller would wait for its own deadline. It
// resumes in Panicked (it caught the panic itself: runnerPanic;
// runner_panic.go), answers each of them with the panic, and the poison
// pill queued behind them stops it. The failed generation's resources are
// closed; tasks it could not end itself (a panic it did not catch) end
// Failed naming the panic when it is Terminated.
//
// A restart (a rule of the host's for actor_panic that says RETRY) is
// carried out as for any failure, but only for an incarnation that caught
// its panic (it killed its process and ended its tasks): one whose
// catching panicked again is retired whatever the policy says. A panic of
// an incarnation that had already ended (its failure or stop was handled)
// is not a new failure of the runner: it is retired, and nothing more is
// decided.
func (s *runnerSupervisor) onRunnerPanic(system *actor.ActorSystem, sup actor.Supervisor, id string, child *actor.PID, reason any) {
	why := fmt.Sprintf("runner actor panicked (a bug in exo-actors): %v", reason)
	p, caught := reason.(*runnerPanic)
	if caught {
		why = p.why
	}
	s.node.logger.WithFields(logrus.Fields{"runner_id": id, "panic": why}).
		Error("runner actor panicked (a bug): asking the error policy; the runner answers every request queued for it with the panic")
	sl := s.slots[id]
	if pid := s.children[id]; sl == nil || pid == nil || pid.Id != child.Id {
		s.stopReason[id] = why
		if sl != nil {
			s.node.policy.RunnerStopped(id)
		}
		s.retire(system, sup, id, child)
		return
	}
	var f *RunnerFailure
	if caught {
		f = p.failure
	}
	if f == nil { // its catching panicked: the supervisor announces the failure
		now := s.node.runnerClock.Now()
		gen := sl.info().Generation
		f = &RunnerFailure{Failure: errhandler.Failure{Kind: errhandler.KindActorPanic, Component: "runner", Operation: string(SourcePanic),
			RunnerID: id, RunnerKind: sl.spec.Kind, Generation: gen, Message: why}, Source: SourcePanic, At: now}
		sl.setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED, ErrorMessage: why}, now)
		s.node.emit(&RunnerFailed{Failure: f})
	}
	s.failures[id] = f
	rec, action, then := s.decide(id, f)
	_, stopped := s.stopAsked[id]
	if then == errhandler.Retry && (s.closed || stopped || p == nil || p.failure == nil) {
		then = errhandler.Skip // nothing restarts during shutdown, nor a runner asked to stop, nor one whose process may live on
	}
	s.node.logger.WithFields(logrus.Fields{"runner_id": id, "generation": f.Generation, "kind": string(f.Kind),
		"severity": rec.Decision.Severity.String(), "action": action.String(), "rule": rec.Decision.Rule, "attempt": rec.Attempt,
		"next_delay": rec.Delay, "reason": why}).Warn("runner failure: supervision decision")
	d := &pendingDecision{id: id, rec: rec, then: then, f: f}
	if then == errhandler.Retry {
		s.dropChild(id)
		s.seq++
		s.waiting[id] = &restartWait{pid: child, seq: s.seq, record: rec}
	} else {
		s.stopReason[id] = why
		s.retire(system, sup, id, child)
		s.node.policy.RunnerStopped(id)
		d.alert = then == errhandler.Escalate
	}
	s.release(system, d, action, id, f.Generation)
}

// pendingDecision is a decision whose follow-up waits for FORCE_CLEANUP.
type pendingDecision struct {
	id    string
	rec   errhandler.Record
	then  errhandler.Action
	f     *RunnerFailure
	alert bool
	tag   uint64
	steps []string
	timer clock.Timer
}

// cleanupTimedOut: the resource manager did not answer a FORCE_CLEANUP step.
type cleanupTimedOut struct{ tag uint64 }

// cleanupWait bounds each FORCE_CLEANUP step's wait for the resource manager.
const cleanupWait = 10 * time.Second

// forceCleanup carries out FORCE_CLEANUP, each step recorded: the runner's
// process group was killed and reaped (by the runner actor, before it
// failed: its failure lists how); the failed generation's resources (its
// process and pipes) are closed in reverse dependency order; the resources
// the runner owns that are in Error (reported broken) are reset, through
// the resource manager; then the follow-up (carryOut). Resources that
// outlive a process (a host's model cache owned by the runner) are reset,
// not closed: a RETRY uses them again; a stop closes them.
func (s *runnerSupervisor) forceCleanup(system *actor.ActorSystem, d *pendingDecision) {
	s.cleanupSeq++
	d.tag = s.cleanupSeq
	d.steps = append(d.steps, "kill: "+strings.Join(d.f.Cleaned, "; "))
	s.cleanups[d.tag] = d
	s.node.logger.WithFields(logrus.Fields{"runner_id": d.id, "step": "close resources"}).Info("force cleanup")
	system.Root.RequestWithCustomSender(s.node.resourcesPID, &resources.CloseOwner{Owner: d.id, Generation: d.f.Generation, Tag: d.tag}, s.self)
	s.armCleanupTimer(system, d)
}

func (s *runnerSupervisor) armCleanupTimer(system *actor.ActorSystem, d *pendingDecision) {
	if d.timer != nil {
		d.timer.Stop()
	}
	tag, self := d.tag, s.self
	d.timer = s.node.runnerClock.AfterFunc(cleanupWait, func() { system.Root.Send(self, &cleanupTimedOut{tag: tag}) })
}

// onCleanupStep takes the resource manager's answer to a FORCE_CLEANUP step.
func (s *runnerSupervisor) onCleanupStep(ctx actor.Context, msg any) {
	switch m := msg.(type) {
	case *resources.CloseResult:
		d := s.cleanups[m.Tag]
		if d == nil || m.Tag == 0 {
			return // a failed generation's close outside FORCE_CLEANUP: not awaited
		}
		step := fmt.Sprintf("close resources of generation %d: %d closed", d.f.Generation, len(m.Report.Order))
		if m.Err != nil {
			step += " (" + m.Err.Error() + ")"
		}
		d.steps = append(d.steps, step)
		ctx.Request(s.node.resourcesPID, &resources.ResetOwner{Owner: d.id, Tag: d.tag})
		s.armCleanupTimer(ctx.ActorSystem(), d)
	case *resources.OwnerResetResult:
		d := s.cleanups[m.Tag]
		if d == nil {
			return
		}
		step := fmt.Sprintf("reset resources in error: %d started", len(m.Started))
		if len(m.Started) > 0 {
			step += " (" + strings.Join(m.Started, ", ") + ")"
		}
		if len(m.Skipped) > 0 {
			step += "; not resettable: " + strings.Join(m.Skipped, "; ")
		}
		d.steps = append(d.steps, step)
		s.endCleanup(ctx.ActorSystem(), d)
	case *cleanupTimedOut:
		if d := s.cleanups[m.tag]; d != nil {
			d.steps = append(d.steps, fmt.Sprintf("resource manager did not answer within %s: cleanup not confirmed", cleanupWait))
			s.endCleanup(ctx.ActorSystem(), d)
		}
	}
}

func (s *runnerSupervisor) endCleanup(system *actor.ActorSystem, d *pendingDecision) {
	delete(s.cleanups, d.tag)
	if d.timer != nil {
		d.timer.Stop()
	}
	if rec, ok := s.node.policy.NoteCleanup(d.rec.ID, d.steps); ok {
		d.rec = rec
		if r, ok := s.records[d.id]; ok && r.ID == rec.ID {
			s.records[d.id] = rec
		}
	} else {
		d.rec.Cleanup = d.steps
	}
	s.node.logger.WithFields(logrus.Fields{"runner_id": d.id, "steps": d.steps, "then": d.then.String()}).Info("force cleanup done: carrying out the follow-up")
	s.carryOut(system, d)
}

// carryOut does what is left of a decision once any FORCE_CLEANUP is done:
// arm the restart timer (RETRY), then tell observers. The decision event
// comes after the decision took effect (timer armed, runner retired), so
// acting on it never races the supervisor; an alert follows its decision.
func (s *runnerSupervisor) carryOut(system *actor.ActorSystem, d *pendingDecision) {
	if w := s.waiting[d.id]; d.then == errhandler.Retry && w != nil && w.timer == nil {
		id, seq, self := d.id, w.seq, s.self
		w.due = s.node.clock.Now().Add(d.rec.Delay)
		w.timer = s.node.clock.AfterFunc(d.rec.Delay, func() { system.Root.Send(self, &restartDue{id: id, seq: seq}) })
	}
	s.node.emit(&SupervisionDecision{RunnerID: d.id, Generation: d.f.Generation, Record: d.rec, Cleaned: d.f.Cleaned, Cleanup: d.rec.Cleanup})
	if d.alert {
		s.node.emit(&Alert{Severity: errhandler.Critical, RunnerID: d.id, Message: "runner " + d.id + " escalated: " + d.f.Message + noteOf(d.rec), Record: d.rec, At: s.node.clock.Now()})
	}
}

func noteOf(rec errhandler.Record) string {
	if rec.Note != "" {
		return " (" + rec.Note + ")"
	}
	return ""
}

func (s *runnerSupervisor) restart(ctx actor.Context, m *restartDue) {
	w := s.waiting[m.id]
	if w == nil || w.seq != m.seq || w.timer == nil || s.closed {
		return // cancelled, superseded, or the node is shutting down
	}
	delete(s.waiting, m.id)
	s.setChild(m.id, w.pid)
	// The new incarnation is Idle until its process says otherwise: left
	// Failed (and no longer Restarting), the listing would read "ended for
	// good" until the new process's first status (the chaos driver pruned
	// such runners and they lived on untracked;
	// TestRestartedRunnerIsNotListedAsFailed). The runner actor's events
	// start from Idle too (runnerActor.start).
	s.slots[m.id].setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE}, s.node.runnerClock.Now())
	s.node.logger.WithFields(logrus.Fields{"runner_id": m.id, "attempt": w.record.Attempt}).Info("restarting runner")
	asSupervisor(ctx).RestartChildren(w.pid)
}

// cancelRestart ends a runner's backoff wait for good: timer stopped, its
// tasks failed, the actor stopped, and a RunnerStopped ("restart
// cancelled") announces it, as every stop does: a subscriber waiting for
// the runner to come back (WaitReady) learns that it will not. It returns
// that stop's result.
func (s *runnerSupervisor) cancelRestart(system *actor.ActorSystem, sup actor.Supervisor, id, why string) *StopResult {
	w := s.waiting[id]
	delete(s.waiting, id)
	if w.timer != nil {
		w.timer.Stop()
	}
	s.node.failTasks(s.slots[id], why, false)
	s.node.policy.RunnerStopped(id)
	s.node.logger.WithFields(logrus.Fields{"runner_id": id, "reason": why}).Info("restart cancelled")
	s.retire(system, sup, id, w.pid)
	res := &StopResult{RunnerID: id, Generation: s.slots[id].info().Generation, EndedBy: "restart cancelled", Failure: s.failures[id]}
	s.node.emit(&RunnerStopped{Result: *res})
	return res
}

// retire stops a failed runner actor without losing what is queued for it:
// nothing more is forwarded to it, it resumes (its incarnation is finished and
// refuses work with the failure as reason), and a poison pill queued behind
// every earlier request stops it once they are answered.
func (s *runnerSupervisor) retire(system *actor.ActorSystem, sup actor.Supervisor, id string, child *actor.PID) {
	s.dropChild(id)
	sup.ResumeChildren(child)
	system.Root.Poison(child)
}

// stopOnFailure is the explicit strategy for actors that have no children of
// their own (runner actors): should one ever appear and fail, stop it.
type stopOnFailure struct{ logger *logrus.Logger }

func (st stopOnFailure) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, _ interface{}) {
	st.logger.WithFields(logrus.Fields{"child": child.String(), "reason": fmt.Sprint(reason)}).Error("unexpected child failure: stopping it")
	sup.StopChildren(child)
}

// asSupervisor returns the actor's own context as an actor.Supervisor. The
// actor.Context interface lacks RestartChildren and friends, but protoactor's
// context implements them (it is what HandleFailure receives as supervisor).
func asSupervisor(ctx actor.Context) actor.Supervisor {
	sup, ok := ctx.(actor.Supervisor)
	if !ok {
		panic(fmt.Sprintf("actor context %T does not implement actor.Supervisor (receiver middleware or context decorators on the runner supervisor?)", ctx))
	}
	return sup
}

// onPhase forwards a shutdown phase to every runner and answers once all did
// (or the deadline passed). Runners waiting in backoff are answered for.
func (s *runnerSupervisor) onPhase(ctx actor.Context, req *phaseRequest) {
	now := s.node.runnerClock.Now()
	c := newCollector("runners", req, ctx.Sender(), now)
	if req.phase == PhaseSignaling {
		s.closed = true // Spawn and Submit answer ErrShuttingDown from now on (Cancel still reaches a runner: route)
		s.closedAt = now
		s.node.routes.closeAll()
		for id := range s.waiting {
			s.cancelRestart(ctx.ActorSystem(), asSupervisor(ctx), id, "node shutting down while the runner waited to restart")
			c.report.Children = append(c.report.Children, &PhaseReport{Actor: id, Phase: req.phase, Start: now,
				Outcome: OutcomeOK, Note: "answered by the supervisor: restart cancelled"})
		}
	}
	for id, pid := range s.children {
		c.pending[id] = true
		ctx.Request(pid, req) // Request, not Send: the runner answers to the sender
	}
	s.phase = c
	if hook := testHookPhaseForwarded.Load(); hook != nil {
		(*hook)(req.phase)
	}
	if c.done() {
		s.finishPhase(ctx)
		return
	}
	s.phaseSeq++
	seq, self, system := s.phaseSeq, ctx.Self(), ctx.ActorSystem()
	// A little after the runners' own deadline, so they can report first.
	c.timer = timerSlot{seq: seq, t: s.node.runnerClock.AfterFunc(max(req.deadline.Sub(now), 0)+phaseSlack, func() {
		system.Root.Send(self, &phaseDeadline{seq: seq})
	})}
}

// testHookPhaseForwarded, nil outside tests, runs on the supervisor once
// it forwarded a phase to its runners (export_test.go).
var testHookPhaseForwarded atomic.Pointer[func(Phase)]

// phaseSlack is how long a parent waits past a phase deadline for its
// children's own deadline reports before it answers for them.
const phaseSlack = 200 * time.Millisecond

func (s *runnerSupervisor) phaseTimedOut(ctx actor.Context) {
	c := s.phase
	now := s.node.runnerClock.Now()
	for id := range c.pending {
		r := &PhaseReport{Actor: id, Phase: c.report.Phase, Start: c.report.Start, Duration: now.Sub(c.report.Start), Outcome: OutcomeTimedOut, Note: "no answer by the deadline"}
		if c.report.Phase == PhaseClosing {
			if pid := s.children[id]; pid != nil {
				ctx.Send(pid, &forceKill{cause: killClosingDeadline})
			}
			r.Outcome, r.Note = OutcomeForced, "no answer by the deadline: SIGKILL to its process group"
		}
		c.answerFor(r)
	}
	c.report.Outcome = OutcomeTimedOut
	s.finishPhase(ctx)
}

func (s *runnerSupervisor) finishPhase(ctx actor.Context) {
	s.finishPhaseWith(ctx.ActorSystem(), s.phase)
}

func (s *runnerSupervisor) finishPhaseWith(system *actor.ActorSystem, c *collector) {
	s.phase = nil
	if c.timer.t != nil {
		c.timer.t.Stop()
	}
	c.report.Duration = s.node.runnerClock.Now().Sub(c.report.Start)
	forced := 0
	for _, ch := range c.report.Children {
		if ch.Outcome == OutcomeForced {
			forced++
		}
	}
	if forced > 0 { // the supervisor did its part; its children are named forced
		c.report.Note = fmt.Sprintf("%d of %d runners forced", forced, len(c.report.Children))
	}
	c.summarise()
	if c.replyTo != nil {
		system.Root.Send(c.replyTo, c.report)
	}
}

// decide asks the error policy about runner id's failure f (as if the node
// is shutting down when it is), records the answer, and returns it with
// its action and what follows it: a FORCE_CLEANUP's Then (SKIP when none).
func (s *runnerSupervisor) decide(id string, f *RunnerFailure) (rec errhandler.Record, action, then errhandler.Action) {
	pf := f.Failure
	pf.ShuttingDown = s.closed
	rec = s.node.policy.Handle(pf)
	s.records[id] = rec
	action = rec.Decision.Action
	then = action
	if action == errhandler.ForceCleanup {
		then = rec.Decision.Then
		if then == 0 {
			then = errhandler.Skip
		}
	}
	return rec, action, then
}

// maxLoggedDiagnostics bounds the runner's diagnostics a log line quotes,
// the " …[truncated N bytes]" marker included.
const maxLoggedDiagnostics = 4096
