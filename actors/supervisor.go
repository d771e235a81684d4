package actors

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Errors of the runner supervisor.
var (
	// ErrUnknownRunner: no runner with that ID was ever spawned on this node.
	ErrUnknownRunner = errors.New("unknown runner ID")
	// ErrShuttingDown: the node is shutting down and accepts no new work.
	ErrShuttingDown = errors.New("node is shutting down")
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
	// supervisor stops the actor.
	runnerDone struct{ id string }
	// forceKillAll: SIGKILL every runner's process group now.
	forceKillAll struct{}
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
	// Cleaned lists what FORCE_CLEANUP (and every failure) released.
	Cleaned []string
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
	phase    *collector // a shutdown phase in progress
	phaseSeq uint64
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
	}
}

// Receive implements actor.Actor.
func (s *runnerSupervisor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.self = ctx.Self()
	case *spawnRunnerRequest:
		id, err := s.spawn(ctx, m.spec)
		ctx.Respond(&spawnRunnerReply{id: id, err: err})
	case *stopRunnerRequest:
		s.stopRunner(ctx, m.id)
	case *listRunnersRequest:
		ctx.Respond(s.list())
	case healthMessage: // health_query.go
		s.onHealth(ctx, m)
	case *routeToRunner:
		s.route(ctx, m)
	case *restartDue:
		s.restart(ctx, m)
	case *phaseRequest:
		s.onPhase(ctx, m)
	case *forceKillAll:
		for _, pid := range s.children {
			ctx.Send(pid, &forceKill{})
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
		// each of those requests is answered before the actor stops.
		if pid := s.children[m.id]; pid != nil {
			delete(s.children, m.id)
			ctx.Poison(pid)
		}
	case *actor.Terminated:
		delete(s.byActor, m.Who.Id)
	}
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
		actor.WithSupervisor(stopOnFailure{s.node.logger}))
	pid, err := ctx.SpawnNamed(props, "runner-"+id)
	if err != nil {
		return "", fmt.Errorf("spawn runner actor %s: %w", id, err)
	}
	s.slots[id] = sl
	s.order = append(s.order, id)
	s.children[id] = pid
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
		if d, ok := s.node.policy.NextDelay(id); ok {
			in.NextDelay = d
		}
		if w := s.waiting[id]; w != nil {
			in.Restarting = true
			in.RestartIn = max(w.due.Sub(now), 0)
			in.RestartAttempt = w.record.Attempt
		}
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
		s.cancelRestart(ctx.ActorSystem(), asSupervisor(ctx), id, "runner stopped while it waited to restart")
		ctx.Respond(&stopRunnerReply{result: &StopResult{RunnerID: id, Generation: sl.info().Generation,
			EndedBy: "restart cancelled", Failure: s.failures[id]}})
		return
	}
	child := s.children[id]
	if child == nil {
		ctx.Respond(&stopRunnerReply{result: &StopResult{RunnerID: id, Generation: sl.info().Generation,
			EndedBy: "not running", Failure: s.failures[id]}})
		return
	}
	// The runner answers the original requester itself, when its process is gone.
	ctx.RequestWithCustomSender(child, &StopRunner{}, ctx.Sender())
}

func (s *runnerSupervisor) route(ctx actor.Context, m *routeToRunner) {
	sl := s.slots[m.id]
	var err error
	switch {
	case sl == nil:
		err = fmt.Errorf("%w %q: list runners to see the IDs", ErrUnknownRunner, m.id)
	case s.closed:
		err = ErrShuttingDown
	case s.waiting[m.id] != nil:
		s.answerForWaiting(ctx, sl, m.msg)
		return
	case s.children[m.id] == nil:
		err = fmt.Errorf("%w: runner %s is not running (last error: %s)", ErrRunnerNotAvailable, m.id, sl.info().LastError)
	}
	if err == nil {
		ctx.RequestWithCustomSender(s.children[m.id], m.msg, ctx.Sender())
		return
	}
	switch msg := m.msg.(type) {
	case *submitTask:
		if sl != nil { // dedup also for a runner that is gone
			if h := sl.tasks.lookup(msg.spec.ID); h != nil {
				ctx.Respond(&submitReply{handle: h})
				return
			}
		}
		ctx.Respond(&submitReply{err: err})
	case *cancelTasks:
		ctx.Respond(&cancelReply{err: err})
	}
}

// answerForWaiting handles a task message for a runner in its restart
// backoff (its mailbox is suspended): tasks queue in its ledger for the next
// process; cancels end queued tasks at once.
func (s *runnerSupervisor) answerForWaiting(ctx actor.Context, sl *slot, msg any) {
	l := sl.tasks
	switch m := msg.(type) {
	case *submitTask:
		if h := l.lookup(m.spec.ID); h != nil {
			ctx.Respond(&submitReply{handle: h})
			return
		}
		if len(l.queue) >= s.node.limits.Queue {
			ctx.Respond(&submitReply{err: fmt.Errorf("%w: %d tasks wait on runner %s (limit %d)", ErrQueueFull, len(l.queue), sl.id, s.node.limits.Queue)})
			return
		}
		e := &taskEntry{spec: m.spec, handle: newTaskHandle(sl.id, m.spec.ID)}
		l.live[m.spec.ID] = e
		l.queue = append(l.queue, m.spec.ID)
		ctx.Respond(&submitReply{handle: e.handle})
		s.node.emit(&TaskStatusChanged{RunnerID: sl.id, TaskID: m.spec.ID, Status: exov1.TaskStatus_TASK_STATUS_PENDING, At: s.node.runnerClock.Now()})
	case *cancelTasks:
		n := 0
		for _, id := range append([]string(nil), l.queue...) {
			if m.all || id == m.taskID {
				s.node.endTask(sl, l.live[id], exov1.TaskStatus_TASK_STATUS_CANCELLED, "cancelled on request while the runner waited to restart")
				n++
			}
		}
		if n == 0 && !m.all && l.done[m.taskID] == nil {
			ctx.Respond(&cancelReply{err: fmt.Errorf("%w: %q on runner %s", ErrTaskNotFound, m.taskID, sl.id)})
			return
		}
		ctx.Respond(&cancelReply{cancelled: n})
	}
}

// HandleFailure implements actor.SupervisorStrategy: a runner actor failed,
// after killing and reaping its process. Ask the error handler, then carry
// out its decision.
func (s *runnerSupervisor) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, msg interface{}) {
	id := s.byActor[child.Id]
	f, ok := reason.(*RunnerFailure)
	if !ok {
		s.node.logger.WithFields(logrus.Fields{"runner_id": id, "panic": fmt.Sprint(reason)}).
			Error("runner actor panicked (a bug): stopping it; its process is killed by the actor's stop handler")
		delete(s.children, id)
		sup.StopChildren(child)
		return
	}
	sl := s.slots[id]
	s.failures[id] = f
	if s.phase != nil { // it cannot answer the phase any more: answer for it
		s.phase.answerFor(&PhaseReport{Actor: id, Phase: s.phase.report.Phase, Start: f.At, Outcome: OutcomeFailed,
			Note: f.Message, TasksFailed: len(sl.tasks.live)})
		defer func() {
			if s.phase != nil && s.phase.done() {
				s.finishPhaseWith(system, s.phase)
			}
		}()
	}
	pf := f.Failure
	pf.ShuttingDown = s.closed
	rec := s.node.policy.Handle(pf)
	s.records[id] = rec
	action := rec.Decision.Action
	if action == errhandler.ForceCleanup {
		action = rec.Decision.Then
		if action == 0 {
			action = errhandler.Skip
		}
	}
	if s.closed && action == errhandler.Retry {
		action = errhandler.Skip // nothing restarts during shutdown
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
	s.node.logger.WithFields(fields).Warn("runner failure: supervision decision")
	// Observers see the decision after it took effect (timer armed, runner
	// retired), so acting on the event never races the supervisor; an alert
	// follows its decision.
	after := []Event{&SupervisionDecision{RunnerID: id, Generation: f.Generation, Record: rec, Cleaned: f.Cleaned}}
	defer func() {
		for _, e := range after {
			s.node.emit(e)
		}
	}()

	reasonText := "runner failed: " + f.Message
	switch action {
	case errhandler.Retry:
		s.node.failTasks(sl, reasonText, true)
		delete(s.children, id)
		s.seq++
		w := &restartWait{pid: child, seq: s.seq, due: s.node.clock.Now().Add(rec.Delay), record: rec}
		seq, self := s.seq, s.self
		w.timer = s.node.clock.AfterFunc(rec.Delay, func() { system.Root.Send(self, &restartDue{id: id, seq: seq}) })
		s.waiting[id] = w
	case errhandler.Escalate:
		s.node.failTasks(sl, reasonText, false)
		s.retire(system, sup, id, child)
		s.node.policy.RunnerStopped(id)
		s.node.logger.WithFields(logrus.Fields{"runner_id": id, "kind": string(f.Kind), "severity": errhandler.Critical.String()}).
			Error("runner escalated: stopped for good; the node keeps serving its other runners")
		after = append(after, &Alert{Severity: errhandler.Critical, RunnerID: id, Message: "runner " + id + " escalated: " + f.Message + noteOf(rec), Record: rec, At: s.node.clock.Now()})
		if f.Kind.NodeWide() {
			sup.EscalateFailure(f, msg) // the node root shuts the node down
		}
	default: // Skip: only what the runner was doing fails; the runner stays down
		s.node.failTasks(sl, reasonText, false)
		s.retire(system, sup, id, child)
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
	if w == nil || w.seq != m.seq || s.closed {
		return // cancelled, superseded, or the node is shutting down
	}
	delete(s.waiting, m.id)
	s.children[m.id] = w.pid
	s.node.logger.WithFields(logrus.Fields{"runner_id": m.id, "attempt": w.record.Attempt}).Info("restarting runner")
	asSupervisor(ctx).RestartChildren(w.pid)
}

// cancelRestart ends a runner's backoff wait for good: timer stopped, its
// tasks failed, the actor stopped.
func (s *runnerSupervisor) cancelRestart(system *actor.ActorSystem, sup actor.Supervisor, id, why string) {
	w := s.waiting[id]
	delete(s.waiting, id)
	w.timer.Stop()
	s.node.failTasks(s.slots[id], why, false)
	s.node.policy.RunnerStopped(id)
	s.node.logger.WithFields(logrus.Fields{"runner_id": id, "reason": why}).Info("restart cancelled")
	s.retire(system, sup, id, w.pid)
}

// retire stops a failed runner actor without losing what is queued for it:
// nothing more is forwarded to it, it resumes (its incarnation is finished and
// refuses work with the failure as reason), and a poison pill queued behind
// every earlier request stops it once they are answered.
func (s *runnerSupervisor) retire(system *actor.ActorSystem, sup actor.Supervisor, id string, child *actor.PID) {
	delete(s.children, id)
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
		s.closed = true // Spawn and Submit answer ErrShuttingDown from now on
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
				ctx.Send(pid, &forceKill{})
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
	if c.replyTo != nil {
		system.Root.Send(c.replyTo, c.report)
	}
}
