package actors

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/internal/actorguard"
	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/proc"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Messages the runner actor answers.
type (
	// StopRunner asks a runner to stop; the reply is a *StopResult.
	StopRunner struct{}
	// runnerInfoQuery asks for a RunnerInfo.
	runnerInfoQuery struct{}
	// timerFired is sent by the actor's own clock timers.
	timerFired struct {
		gen  uint64
		kind timerKind
		seq  uint64
	}
)

type timerKind int

const (
	timerHandshake       timerKind = iota // Starting: Hello is due
	timerWatchdog                         // Serving, Draining: heartbeat, progress, loading
	timerExitGrace                        // Suspect, Failing: the exit is due
	timerStopStep                         // Stopping: the next escalation step
	timerDrain                            // Exited, Reaping: the pipe readers lag after the exit
	timerDrainDeadline                    // Draining: in-flight tasks are cut short
	timerClosingDeadline                  // a node CLOSING phase deadline: FORCE_CLEANUP
	numTimers
)

const stderrTailLines = 20

type timerSlot struct {
	t   clock.Timer
	seq uint64
}

// admission says whether the runner takes new tasks.
type admission int

const (
	admitOpen         admission = iota
	admitShuttingDown           // SIGNALING reached it: Submit → ErrShuttingDown
	admitStopping               // StopRunner: Submit → ErrRunnerNotAvailable
)

// pipeSet names the process goroutines that have not said their last word.
type pipeSet uint8

const (
	pipeReader pipeSet = 1 << iota // stdout frames
	pipeStderr
	pipeWriter
	pipesAll = pipeReader | pipeStderr | pipeWriter
)

// symptom is what put the runner in lifeSuspect: a hint that the process is
// ending. The exit, if it comes within ExitGrace, is the diagnosis; else the
// symptom is.
type symptom struct {
	kind  errhandler.Kind
	src   DetectionSource
	msg   string
	cause error
	// seen, when set, is what was observed, for the log line of the
	// moment: msg then states the failure only a process that lives on
	// past ExitGrace has (stdout closed → "kept running"), which the exit
	// usually disproves a moment later.
	seen string
}

// runnerActor owns one runner process at a time. One instance is one
// incarnation; what must survive a restart lives in the slot. Its lifecycle
// is the single value life (runner_life.go).
type runnerActor struct {
	node *nodeConfig
	slot *slot
	self *actor.PID
	log  *logrus.Entry

	// chunkEvents: the chunk events of the batch in hand come from one
	// allocation (newTaskChunk); framesLeft counts the batch's frames not
	// yet handled, the current one included.
	chunkEvents []TaskChunk
	framesLeft  int

	// panicInStopping (tests only: PanicInStoppingForTest) makes the
	// handler of protoactor's Stopping panic, as a bug there would.
	panicInStopping bool

	life      life
	admission admission

	gen     uint64
	command string // the executable actually started
	version uint32 // negotiated protocol version; 0 until Hello was accepted
	caps    map[string]bool
	p       *proc.Process
	status  *exov1.RunnerStatus
	started time.Time

	// lastHeartbeat is when the runner last proved itself alive: a
	// Heartbeat or any other frame after the handshake. Under a flood a
	// Heartbeat waits in the pipe behind the chunks the node has not read
	// yet; the chunks prove the writer alive as well (hang detection and
	// the health monitor's heartbeat age read this).
	lastHeartbeat time.Time
	lastProgress  time.Time
	lastLayers    time.Time
	counters      [3]uint64 // tokens, layers, tasks: the highest each heartbeat said
	stderrTail    []string
	stderrTailAt  []time.Time // when each line of stderrTail came (real clock)
	// stderrLog bounds how many stderr lines are logged per second and
	// counts those that were not (runner_stderr.go).
	stderrLog stderrLogState
	// dropChunks names the tasks whose chunk frames the stdout reader
	// skips (runner_drop.go); at most proc.MaxDropTasks.
	dropChunks []string
	// ownEnds names the last tasks (at most ownEndsMax, oldest dropped)
	// whose end the runner itself reported: a frame about one after that
	// is a protocol error, not late word (runner_tasks.go).
	ownEnds []string
	// watchdog is when the watchdog timer is due and how many late firings
	// in a row it let pass (armWatchdog, watchdogLate).
	watchdog watchdogState
	// ackedWhileReady counts this process's tasks acknowledged while it
	// reported Ready: it skipped StatusUpdated{Running} (noteAckWhileReady).
	ackedWhileReady uint64
	// readyMidTask counts this process's Ready reports while a task it
	// acknowledged runs (noteReadyMidTask).
	readyMidTask uint64

	// Evidence about how the process ends.
	exit *proc.ExitStatus
	// exitEvent: the ProcessExited of a reaped process, held until the
	// stdout reader has delivered every frame written before the exit, so
	// that no StatusChanged of this process follows its ProcessExited.
	exitEvent   *ProcessExited
	pipesOpen   pipeSet
	readerErr   error
	termination string              // a TerminationError's text
	runnerSaid  *exov1.RunnerStatus // a Failed status the runner reported
	// refused: the first status report of this process the node refused as
	// an illegal transition (ignored, not applied). A watchdog failure
	// names it: a runner stuck in a status because its next report was
	// refused looks like a stall otherwise.
	refused string
	// textsCut: a frame of this process carried a text over its bound
	// (protocol.CapTexts); warned once per process.
	textsCut bool
	symptom  *symptom
	failure  *RunnerFailure
	// diedByItself: the failure is an exit nobody asked for (classifyExit);
	// the stderr line that says why (proc.CauseLine) goes into the
	// one-line reason.
	diedByItself bool
	// exitedAt (real clock) and stderrTailAt say how long before its exit
	// the runner wrote the stderr line a failure quotes: an old line says
	// nothing of why it died, and the reason says how old it is.
	exitedAt time.Time

	// bug is what the panic said (lifePanicked): every answer names it.
	bug string

	// Waiters and the work of the current state.
	stop         *stopState   // Stopping and later: the escalation steps
	drain        *drainState  // Draining
	stopWaiters  []*actor.PID // StopRunner callers: answered in Done
	phaseWaiters []phaseWaiter
	result       *StopResult // Done: what later stop requests get

	timers [numTimers]timerSlot
}

type stopState struct {
	start time.Time
	steps []StopStep
	// runnerSaid: the runner reported ShuttingDown itself (it read the
	// Shutdown frame); a status other than Shutdown or Failed after it is
	// a protocol error, not late word (onRunnerStatus).
	runnerSaid bool
	// complaint: the first thing the runner reported wrong during the
	// stop (StopResult.Complaint), bounded by protocol.TextMax.
	complaint string
}

// complain records what the runner reported wrong during its stop (the
// first thing only) and logs it: before, bad output after the Shutdown
// frame and a TerminationError were dropped in silence, and the stop was
// blamed on stop_grace (a Python runner's trial).
func (a *runnerActor) complain(what string) {
	if a.stop == nil {
		return
	}
	a.log.WithField("stop_complaint", what).Warn("runner reported something wrong during its stop")
	if a.stop.complaint == "" {
		a.stop.complaint = protocol.Cap(what, protocol.TextMax)
	}
}

func newRunnerActor(node *nodeConfig, s *slot) actor.Actor {
	return &runnerActor{node: node, slot: s}
}

// Receive implements actor.Actor.
func (a *runnerActor) Receive(ctx actor.Context) {
	if a.life == lifePanicked {
		a.receivePanicked(ctx)
		return
	}
	defer a.catchBug(ctx)
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.self = ctx.Self()
		a.start(ctx)
	case *actor.Restarting:
		// A retry: this incarnation is Done (it failed only after its
		// process was reaped and its goroutines ended). Its task timers
		// were stopped in finishFailure; the ledger is the supervisor's
		// now (ownsLedger).
		actorguard.Run(a.lifeLog(), "runner actor "+a.slot.id, m, func() {
			a.cancelAllTimers()
			if a.ownsLedger() {
				a.slot.tasks.stopTimers()
			}
		})
	case *actor.Stopping:
		if r := actorguard.Run(a.lifeLog(), "runner actor "+a.slot.id, m, func() { a.onActorStopping(ctx) }); r != nil {
			a.afterStoppingPanic(ctx, r)
		}
	case *proc.Frames:
		if a.current(m.Gen) {
			a.onFrames(ctx, m)
		}
	case *proc.StderrReady:
		if a.current(m.Gen) {
			a.drainStderr()
		}
	case *proc.ReaderClosed:
		if a.current(m.Gen) {
			a.onReaderClosed(ctx, m)
		}
	case *proc.StderrClosed:
		if a.current(m.Gen) {
			a.drainStderr()
			a.stderrLog.flush(a.log)
			a.pipeDone(ctx, pipeStderr)
		}
	case *proc.WriteFailed:
		if a.current(m.Gen) {
			a.onWriteFailed(ctx, m)
		}
	case *proc.WriterClosed:
		if a.current(m.Gen) {
			a.pipeDone(ctx, pipeWriter)
		}
	case *proc.Exited:
		if a.current(m.Gen) {
			a.onExited(ctx, m)
		}
	case *timerFired:
		if m.gen == a.gen && a.timers[m.kind].seq == m.seq && a.timers[m.kind].t != nil {
			a.timers[m.kind].t = nil
			a.onTimer(ctx, m.kind)
		}
	case *StopRunner:
		a.onStopRequest(ctx, ctx.Sender())
	case *phaseRequest:
		a.onPhase(ctx, m, ctx.Sender())
	case *forceKill:
		a.forceKill(ctx, m.cause)
	case *panicRunner:
		if m.inStopping {
			a.panicInStopping = true
			return
		}
		panic(fmt.Sprintf("test hook: runner %s panics as a bug would", m.id))
	case *submitTask:
		a.onSubmit(ctx, m)
	case *cancelTasks:
		a.onCancel(ctx, m)
	case *taskTimerFired:
		a.onTaskTimer(ctx, m)
	case *runnerInfoQuery:
		ctx.Respond(a.slot.info())
		yieldToAnswered()
	case healthMessage: // health_query.go
		a.onHealth(ctx, m)
	case *resources.RegisterResult:
		if m.Err != nil {
			a.log.WithError(m.Err).Warn("could not register the runner's resources")
		}
	case *resources.CloseResult:
		a.onCloseResult(ctx, m)
	}
}

// current reports whether a process message belongs to this incarnation's
// process; stale ones are counted and dropped.
func (a *runnerActor) current(gen uint64) bool {
	if a.p != nil && gen == a.gen {
		return true
	}
	a.slot.dropStale()
	a.log.WithField("stale_generation", gen).Debug("dropped message from an older process generation")
	return false
}

func (a *runnerActor) start(ctx actor.Context) {
	a.gen = a.slot.nextGeneration()
	a.status = a.slot.info().Status
	if protocol.Terminal(a.status.GetKind()) {
		a.status = &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE}
	}
	a.log = a.node.logger.WithFields(logrus.Fields{"runner_id": a.slot.id, "runner_kind": a.slot.spec.Kind, "generation": a.gen})
	a.started = a.node.runnerClock.Now()
	a.life = lifeStarting

	spec, err := a.node.procSpec(a.slot)
	if err == nil {
		self := ctx.Self()
		system := ctx.ActorSystem()
		a.p, err = a.node.spawner.Start(spec, a.gen, func(m any) { system.Root.Send(self, m) }, a.node.procOpts)
	}
	if err != nil {
		kind := errhandler.KindSpawnFailed
		var se *proc.StartError
		switch {
		case errors.As(err, &se) && se.NotFound:
			kind = errhandler.KindExecNotFound
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ENOMEM) || (se != nil && se.OutOfFiles()):
			kind = errhandler.KindNodeFault // cannot fork, out of memory or file descriptors: node-wide
		}
		a.log.WithError(err).WithField("reason", string(kind)).Error("runner process could not start")
		msg := err.Error()
		if (kind == errhandler.KindExecNotFound || kind == errhandler.KindSpawnFailed) && !a.slot.spec.Builtin {
			// The fix names this kind's config key (proc's text names no
			// key: it does not know whose command it started). In the
			// message, not only the failure's hint: the runner's status,
			// ListRunners' LastError and a remote client show the message.
			msg += "; " + kind.HintFor(a.slot.spec.Kind)
		}
		a.failure = a.newFailure(kind, SourceSpawn, msg, err)
		a.to(lifeReaping) // nothing to reap: no process, no goroutines
		a.maybeFinish(ctx)
		return
	}
	a.pipesOpen = pipesAll
	a.log = a.log.WithField("pid", a.p.Pid)
	a.slot.setPid(a.p.Pid)
	a.command = spec.Path
	a.log.WithField("command", spec.Path).Info("runner process started")
	a.emit(&ProcessStarted{RunnerID: a.slot.id, Generation: a.gen, Pid: a.p.Pid, At: a.started})
	a.registerResources(ctx)
	a.arm(ctx, timerHandshake, a.node.timeouts.Handshake)
}

// onFrames handles one batch of stdout frames in order. The events they
// cause are published to the streams as one batch (outbox.go), and the
// reader's credit for the batch is returned once the tasks stream has taken
// them, so a runner that writes faster than the node consumes waits in its
// pipe. The deferred end also runs if handling panics.
func (a *runnerActor) onFrames(ctx actor.Context, m *proc.Frames) {
	now := a.node.runnerClock.Now() // one reading for the batch: its frames were read at once
	a.handleFrames(ctx, m, now)
	if a.life == lifeDraining && !now.Before(a.drain.deadline) {
		// The drain deadline has passed and a batch came first: cut the
		// tasks now, as the timer would. Under a flood its message waits
		// for its goroutine to run on a busy node, and each batch handled
		// meanwhile is output of a task that is ending anyway. The batch
		// in hand is handled first: it may hold a task's end, read before
		// the deadline.
		a.drainDeadlinePassed(ctx)
	}
}

// handleFrames handles the frames of one batch (onFrames) and publishes
// what they caused.
func (a *runnerActor) handleFrames(ctx actor.Context, m *proc.Frames, now time.Time) {
	a.node.beginBatch(a.slot, len(m.Envs), now)
	defer a.node.endBatch(a.slot, a.p.Release)
	for i, env := range m.Envs {
		a.framesLeft = len(m.Envs) - i
		a.onFrame(ctx, env, now)
	}
	a.chunkEvents, a.framesLeft = nil, 0
	a.p.Recycle(m) // slice and envelopes: nothing here keeps an envelope (events hold what bodies point to)
}

// chunkSlab bounds the chunk events newTaskChunk allocates together.
const chunkSlab = 16

// newTaskChunk returns a zero chunk event. Within a batch of frames they
// come from one slice sized for the batch's frames left, so a streaming
// runner's chunk events cost one allocation per batch instead of one each.
// A subscriber that holds an event holds its slice, and with it its
// neighbours' decoded frames and public forms (a few hundred bytes each),
// until it lets go of them: slices are capped at chunkSlab events, so a
// slow subscriber filtered to one task among many pins at most
// chunkSlab-1 other events per event it holds.
func (a *runnerActor) newTaskChunk() *TaskChunk {
	if len(a.chunkEvents) == 0 {
		if a.framesLeft <= 1 {
			return new(TaskChunk)
		}
		a.chunkEvents = make([]TaskChunk, min(a.framesLeft, chunkSlab))
	}
	e := &a.chunkEvents[0]
	a.chunkEvents = a.chunkEvents[1:]
	return e
}

func (a *runnerActor) onFrame(ctx actor.Context, env *exov1.RunnerEnvelope, now time.Time) {
	if protocol.CapTexts(env) && !a.textsCut {
		a.textsCut = true
		a.log.WithField("frame", frameName(env)).Warn(fmt.Sprintf(
			"runner sent a text over its bound (%d bytes; diagnostics %d): cut, ending with \"…[truncated N bytes]\" (docs/protocol.md, \"Bounds on texts\"); said once per process",
			protocol.TextMax, protocol.DiagnosticsMax))
	}
	switch a.life {
	case lifeFailing, lifeReleasing, lifeDone:
		a.lateEvidence(env)
		return
	case lifeReaping:
		if a.failure != nil {
			a.lateEvidence(env)
			return
		}
	case lifeStarting:
		a.onHandshakeFrame(ctx, env)
		return
	}
	// Serving, Draining, Suspect, Exited, Stopping, and a stop's Reaping:
	// frames written before the end are real output.
	a.lastHeartbeat = now // any frame proves the runner alive (see the field)
	switch b := env.Body.(type) {
	case *exov1.RunnerEnvelope_Heartbeat:
		hb := b.Heartbeat
		// Progress is a counter above its highest yet: counters that went
		// down and up again (1, 0, 1, …) would restart the no-progress and
		// loading-stall bounds at every heartbeat, as the Loading reports
		// the node refuses would have (a review).
		c := [3]uint64{hb.GetTokensProduced(), uint64(hb.GetLayersLoaded()), hb.GetTasksCompleted()}
		for i, v := range c {
			if v > a.counters[i] {
				a.counters[i] = v
				a.lastProgress = now
				if i == 1 {
					a.lastLayers = now
				}
			}
		}
	case *exov1.RunnerEnvelope_StatusUpdated:
		a.lastProgress = now
		a.onRunnerStatus(ctx, b.StatusUpdated.GetStatus())
	case *exov1.RunnerEnvelope_TerminationError:
		a.termination = b.TerminationError.GetMessage()
		if a.life.alive() {
			a.fail(ctx, errhandler.KindTerminationError, SourceTermination, "runner sent TerminationError: "+a.termination, nil)
		} else {
			a.complain("sent TerminationError: " + a.termination)
		}
	case *exov1.RunnerEnvelope_Hello:
		if !a.handshaken() && a.stop != nil {
			// The stop came before the Hello, and a runner that has not
			// said Hello is stopped with SIGTERM (nextStopStep): its Hello
			// crossed the signal. Not answered: the runner is ending.
			a.log.Debug("runner said Hello after its stop began (SIGTERM, no handshake): ignored")
			return
		}
		a.protocolViolation("second Hello after the handshake")
	default: // task frames
		a.lastProgress = now
		a.onTaskFrame(ctx, env)
	}
}

// lateEvidence keeps what a failed runner still says: its TerminationError
// names the cause better than anything we saw.
func (a *runnerActor) lateEvidence(env *exov1.RunnerEnvelope) {
	if t := env.GetTerminationError(); t != nil {
		a.termination = t.GetMessage()
	}
}

func (a *runnerActor) onHandshakeFrame(ctx actor.Context, env *exov1.RunnerEnvelope) {
	h := env.GetHello()
	if h == nil {
		a.fail(ctx, errhandler.KindNotARunner, SourceHandshake,
			fmt.Sprintf("not a runner: its first frame was %s, not Hello", frameName(env)), nil)
		return
	}
	v, err := protocol.Negotiate(h.GetMinVersion(), h.GetMaxVersion(), protocol.MinVersion, protocol.MaxVersion)
	if err != nil {
		_ = a.p.Send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloRefused{HelloRefused: &exov1.HelloRefused{
			Reason: err.Error(), SupervisorMinVersion: protocol.MinVersion, SupervisorMaxVersion: protocol.MaxVersion}}})
		a.fail(ctx, errhandler.KindVersionMismatch, SourceHandshake, err.Error(), err)
		return
	}
	if err := a.p.Send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloAccepted{HelloAccepted: &exov1.HelloAccepted{
		Version: v, RunnerId: a.slot.id, HeartbeatInterval: durationpb.New(a.node.timeouts.HeartbeatInterval)}}}); err != nil {
		a.suspect(ctx, &symptom{kind: errhandler.KindWriteClosedPipe, src: SourceStdin, msg: "could not answer Hello: " + err.Error(), cause: err})
		return
	}
	if rid := h.GetRunnerId(); rid != "" && rid != a.slot.id {
		// Harmless to the node (HelloAccepted says the ID), but a runner
		// that logs or reports its own ID reports another's (a raw
		// runner's trial: it was accepted in silence).
		a.slot.countViolation()
		a.log.WithField("reason", fmt.Sprintf("Hello carries runner_id %q, but this runner is %q (its EXO_RUNNER_ID, and HelloAccepted's runner_id)", rid, a.slot.id)).
			Warn("protocol error from runner: its Hello names another runner; accepted")
	}
	a.version = v
	a.caps = map[string]bool{}
	for _, c := range h.GetCapabilities() {
		a.caps[c] = true
	}
	a.cancel(timerHandshake)
	now := a.node.runnerClock.Now()
	a.lastHeartbeat, a.lastProgress, a.lastLayers = now, now, now
	a.log.WithFields(logrus.Fields{"version": v, "capabilities": h.GetCapabilities(),
		"duration": now.Sub(a.started)}).Info("runner handshake done")
	a.to(lifeServing)
	a.armWatchdog(ctx)
}

func (a *runnerActor) handshaken() bool { return a.version != 0 }

// loadingWatched reports whether the loading-stall bound applies in status
// kind: Loading, and the statuses whose next step is loading the first
// layer, so that a runner which reports no Loading(0/N) has that layer
// watched too. Idle (after the handshake; it goes to Connecting or Loading)
// counts from the handshake, Connected from its report. Connecting does not
// count: connecting to peers may wait on them.
func loadingWatched(kind exov1.RunnerStatusKind) bool {
	switch kind {
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE,
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED,
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING:
		return true
	}
	return false
}

func (a *runnerActor) onRunnerStatus(ctx actor.Context, st *exov1.RunnerStatus) {
	from, to := a.status.GetKind(), st.GetKind()
	if from == to && !protocol.ValidTransition(from, to) {
		if to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN && a.stop != nil {
			a.stop.runnerSaid = true // its own answer to the Shutdown frame
		}
		return // a repeat (Idle after the handshake, ShuttingDown we already show): harmless
	}
	if a.stop != nil && !a.stop.runnerSaid && from == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN && !protocol.Terminal(to) {
		// A stop reports ShuttingDown from its start, before the runner has
		// read the Shutdown frame: a Ready (a task cut by the stop's Cancel
		// ended), a Running, or a loading status (a runner stopped right
		// after its spawn: Connecting, Connected, Loading, Loaded) it wrote
		// before is late word, not a protocol error. Nothing in a stop
		// waits for any of them.
		a.log.WithField("status", protocol.StatusName(to)).Debug("runner status written before it read the Shutdown: ignored")
		return
	}
	what := ""
	switch {
	case !protocol.ValidTransition(from, to):
		what = fmt.Sprintf("status %s → %s is not a legal transition (after %s a runner reports %s; docs/protocol.md, \"Runner statuses\")",
			protocol.StatusName(from), protocol.StatusName(to), protocol.StatusName(from), protocol.LegalAfter(from))
	case to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING:
		if p := protocol.LoadingProblem(a.status, st); p != "" {
			what = p + " (docs/protocol.md, \"Runner statuses\")"
		}
	}
	if what != "" {
		if a.refused == "" {
			a.refused = what // the first: the later ones often follow from it
		}
		a.protocolViolation(what, logrus.Fields{"from": protocol.FormatStatus(a.status), "to": protocol.FormatStatus(st)})
		return
	}
	if to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING && st.GetLayersLoaded() != a.status.GetLayersLoaded() ||
		to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED {
		// Connected starts the first layer's bound: Connecting (waiting
		// on peers, say) is not loading and is not watched.
		a.lastLayers = a.node.runnerClock.Now()
	}
	if to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED {
		// An announcement: its TerminationError or its exit follows and names
		// the source. If neither comes within ExitGrace, this status is it.
		// Its own message and diagnostics stay in the failure.
		a.runnerSaid = st
		if a.life.alive() {
			a.suspect(ctx, &symptom{kind: errhandler.KindTerminationError, src: SourceRunnerFail, msg: "runner reported Failed: " + st.GetErrorMessage()})
		}
		return
	}
	a.setStatus(st, "runner reported")
	if to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
		if id, busy := a.slot.tasks.ackedTask(); busy {
			a.noteReadyMidTask(id)
		}
		a.node.policy.RunnerReady(a.slot.id) // resolves a retried failure; starts the stable period
	}
	a.dispatch(ctx)
}

// working says whether the no-progress check watches the runner: it
// reports Running, or it runs a task it acknowledged whatever it reports
// (a Ready mid-task, or no Running before the acknowledgement, would
// otherwise hide a runner stuck in its task: a Python runner's trial).
func (a *runnerActor) working(kind exov1.RunnerStatusKind) bool {
	if kind == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING {
		return true
	}
	_, acked := a.slot.tasks.ackedTask()
	return acked
}

// refusedText is what a watchdog failure adds when the node refused a
// status report of this process: "; the node refused its report: …".
func (a *runnerActor) refusedText() string {
	if a.refused == "" {
		return ""
	}
	return "; the node refused a status report of it, which may be why it looks stuck: " + a.refused
}

func (a *runnerActor) protocolViolation(what string, fields ...logrus.Fields) {
	a.slot.countViolation()
	e := a.log.WithField("reason", what)
	for _, f := range fields {
		e = e.WithFields(f)
	}
	e.Warn("protocol error from runner: ignored, not applied")
}

func (a *runnerActor) setStatus(st *exov1.RunnerStatus, reason string) {
	from := a.status
	a.status = st
	now := a.node.runnerClock.Now()
	a.slot.setStatus(st, now)
	if a.log.Logger.IsLevelEnabled(logrus.InfoLevel) { // twice per task (Running, Ready): no fields map unless logged
		a.log.WithFields(logrus.Fields{"from": protocol.FormatStatus(from), "to": protocol.FormatStatus(st), "reason": reason}).Info("runner status changed")
	}
	a.emit(&StatusChanged{RunnerID: a.slot.id, Generation: a.gen, From: from, To: st, At: now})
}

// onStderrLine keeps a stderr line in the tail, with when it came: a
// failure's reason quotes one of the tail's lines with its own age (a
// trailing blank line made an old line read as fresh).
func (a *runnerActor) onStderrLine(m *proc.StderrLine) {
	a.onStderr(m)
}

// stderrAge is how long before its exit the runner wrote line i of the
// stderr tail (addStderrReason); 0 when unknown.
func (a *runnerActor) stderrAge(i int) time.Duration {
	if i < 0 || i >= len(a.stderrTailAt) || a.stderrTailAt[i].IsZero() || a.exitedAt.IsZero() {
		return 0
	}
	return a.exitedAt.Sub(a.stderrTailAt[i])
}

// onStderr keeps a stderr line in the tail and logs it as one entry with
// a fixed message, the line in a field of its own, so that a JSON log
// holds one object per line whatever the runner wrote (docs/operations.md,
// "Logging"): {"msg":"runner stderr","line":"…","stream":"stderr",
// "runner_id":…,"runner_kind":…,"generation":…,"pid":…}, plus "truncated_bytes"
// for a line over 4096 bytes (the line then ends with the marker).
func (a *runnerActor) onStderr(m *proc.StderrLine) {
	line := m.Text()
	if len(a.stderrTail) == stderrTailLines {
		copy(a.stderrTail, a.stderrTail[1:])
		a.stderrTail = a.stderrTail[:stderrTailLines-1]
		copy(a.stderrTailAt, a.stderrTailAt[1:])
		a.stderrTailAt = a.stderrTailAt[:stderrTailLines-1]
	}
	a.stderrTail = append(a.stderrTail, line)
	a.stderrTailAt = append(a.stderrTailAt, m.At)
	if !a.log.Logger.IsLevelEnabled(logrus.InfoLevel) {
		return
	}
	if !a.stderrLog.admit(m.At, a.log) {
		return
	}
	e := a.log.WithFields(logrus.Fields{"stream": "stderr", "line": line})
	if m.Truncated > 0 {
		e = e.WithField("truncated_bytes", m.Truncated)
	}
	e.Info("runner stderr")
}

func (a *runnerActor) onReaderClosed(ctx actor.Context, m *proc.ReaderClosed) {
	a.readerErr = m.Err
	a.emitExit() // every frame before the exit is in: now the exit
	if m.Skipped > 0 {
		a.log.WithFields(logrus.Fields{"skipped_chunks": m.Skipped, "frames": m.Frames}).
			Debug("stdout reader skipped the chunks of tasks that had ended, undecoded")
	}
	switch a.life {
	case lifeStarting, lifeServing, lifeDraining, lifeSuspect:
		a.onOutputEnded(ctx, m.Err)
	case lifeExited:
		a.classifyExit(ctx) // every frame the runner wrote before dying is in
	case lifeStopping, lifeReaping:
		// Output cut mid-frame is a process dying under its stop: said by
		// its exit. Bad bytes are the runner's to answer for: nothing it
		// writes after them is read, its Shutdown status included.
		if m.Err != nil && !errors.Is(m.Err, frame.ErrTruncated) && a.failure == nil {
			a.complain("wrote bad output (" + m.Err.Error() + "); its stdout was not read after it")
		}
	}
	a.pipeDone(ctx, pipeReader)
}

// onOutputEnded: stdout ended (cleanly, cut mid-frame, or with bad bytes)
// while the process lives as far as we know.
func (a *runnerActor) onOutputEnded(ctx actor.Context, err error) {
	var fe *frame.Error
	switch {
	case err == nil:
		// stdout closed: the process is probably exiting. Its exit, if it
		// comes within ExitGrace, beats "stdout EOF" as a diagnosis.
		a.suspect(ctx, &symptom{kind: errhandler.KindProtocolError, src: SourceStdoutEOF, msg: "runner closed its stdout but kept running",
			seen: "runner closed its stdout"})
	case errors.Is(err, frame.ErrTruncated):
		// Output cut mid-frame: most likely the process is dying.
		kind, src := errhandler.KindGarbage, SourceProtocol
		if !a.handshaken() {
			kind, src = errhandler.KindNotARunner, SourceHandshake
		}
		a.suspect(ctx, &symptom{kind: kind, src: src, msg: "bad output from runner: " + err.Error(), cause: err})
	case !a.handshaken() && errors.As(err, &fe) && fe.Misencoded():
		// Protobuf, but a field of it wrong: a runner whose encoder
		// slipped, which its hint says, rather than no runner at all.
		a.fail(ctx, errhandler.KindNotARunner, SourceHandshake, "bad output from runner during its handshake: "+err.Error(), err)
	case !a.handshaken():
		a.fail(ctx, errhandler.KindNotARunner, SourceHandshake, "not a runner: its output is not protocol frames: "+err.Error(), err)
	default:
		kind := errhandler.KindProtocolError
		if errors.As(err, &fe) && (fe.Fatal() || errors.Is(fe, frame.ErrUndecodable) || errors.Is(fe, frame.ErrUnknownFields)) {
			kind = errhandler.KindGarbage
		}
		a.fail(ctx, kind, SourceProtocol, "bad output from runner: "+err.Error(), err)
	}
}

// onWriteFailed: a write to stdin failed. A broken pipe is a symptom: the
// process is most likely dying, and its exit decides the diagnosis.
func (a *runnerActor) onWriteFailed(ctx actor.Context, m *proc.WriteFailed) {
	if !a.life.alive() {
		return // a stop or failure is ending it anyway
	}
	a.suspect(ctx, &symptom{kind: errhandler.KindWriteClosedPipe, src: SourceStdin, msg: "runner closed its stdin: " + m.Err.Error(), cause: m.Err})
}

// suspect enters lifeSuspect with a symptom: wait ExitGrace for the exit.
func (a *runnerActor) suspect(ctx actor.Context, s *symptom) {
	if a.life == lifeSuspect {
		return // the first symptom stands
	}
	if !a.to(lifeSuspect) {
		return
	}
	a.symptom = s
	a.cancel(timerHandshake)
	a.cancel(timerWatchdog)
	fields := logrus.Fields{"symptom": s.msg, "kind": string(s.kind)}
	if s.seen != "" {
		fields = logrus.Fields{"symptom": s.seen, "if_no_exit": string(s.kind)}
	}
	a.log.WithFields(fields).Info("runner looks like it is ending: waiting for its exit")
	a.arm(ctx, timerExitGrace, a.node.timeouts.ExitGrace)
}

func (a *runnerActor) onExited(ctx actor.Context, m *proc.Exited) {
	a.drainStderr() // what it wrote last, for the failure's reason
	st := m.Status
	a.exit = &st
	a.exitedAt = m.At
	a.p.CloseInput()
	a.cancel(timerExitGrace)
	a.cancel(timerStopStep)
	a.log.WithFields(logrus.Fields{"exit": st.String(), "lifetime": m.At.Sub(a.p.Started)}).Info("runner process exited")
	a.exitEvent = &ProcessExited{RunnerID: a.slot.id, Generation: a.gen, Pid: a.p.Pid, Status: st, At: m.At}
	if a.pipesOpen&pipeReader == 0 {
		a.emitExit()
	}
	switch a.life {
	case lifeStarting, lifeServing, lifeDraining, lifeSuspect:
		// Nobody asked it to exit. Frames may still be in the pipe (a
		// TerminationError names the cause better than the exit does):
		// classify when the reader has finished.
		a.to(lifeExited)
		a.cancel(timerHandshake)
		a.cancel(timerWatchdog)
		a.cancel(timerDrainDeadline)
		if a.pipesOpen&pipeReader == 0 {
			a.classifyExit(ctx)
			return
		}
		a.arm(ctx, timerDrain, a.node.timeouts.Drain)
	case lifeStopping, lifeFailing:
		a.to(lifeReaping)
		a.enterReaping(ctx)
	}
}

// classifyExit turns an exit nobody asked for into a failure, once the stdout
// reader has delivered every frame the runner wrote before dying. The exit
// decides: a broken pipe, stdout EOF or a truncated frame seen before it
// were symptoms of it.
func (a *runnerActor) classifyExit(ctx actor.Context) {
	st := *a.exit
	var fe *frame.Error
	// Set before fail, which may finish (and panic) at once: its stderr says
	// why it died, and finishFailure quotes it in the reason. A runner that
	// said why (TerminationError, a Failed status) or wrote garbage is
	// diagnosed by that already; a frame cut off by the death is not
	// garbage.
	a.diedByItself = a.termination == "" && a.runnerSaid == nil && (a.readerErr == nil || errors.Is(a.readerErr, frame.ErrTruncated))
	var badShebang *proc.Interpreter // why a script that exited 126/127 before it spoke could not run
	if !a.handshaken() && (st.Code == 126 || st.Code == 127) && a.p != nil {
		if badShebang = a.p.BadInterpreter(); badShebang != nil {
			a.diedByItself = false // env's last stderr line would only mislead (below)
		}
	}
	switch {
	case a.readerErr != nil && !errors.Is(a.readerErr, frame.ErrTruncated) && errors.As(a.readerErr, &fe):
		// It wrote bytes that are not frames before it died: that is the
		// runner author's bug to see first.
		kind := errhandler.KindGarbage
		if !a.handshaken() {
			kind = errhandler.KindNotARunner
		}
		a.fail(ctx, kind, SourceProtocol, "bad output from runner: "+a.readerErr.Error(), a.readerErr)
	case badShebang != nil:
		// env found no such program (the #! line "#!/usr/bin/env
		// python9", or one with Windows line endings): say so, with the
		// fix, rather than quote env's last stderr line (a new user's
		// trial: "use -[v]S to pass options in shebang lines" for a
		// CRLF line). A broken #! line never heals: no restart.
		a.fail(ctx, errhandler.KindExecNotFound, SourceHandshake, "exited before saying Hello ("+st.String()+"): the script cannot run: "+badShebang.String(), nil)
	case !a.handshaken() && (st.Code != 0 || st.Signaled()):
		// Died: more likely a runner that crashed as it started (an
		// import failing, no GPU) than a command that is no runner (a
		// new user's trial: "not a runner" for a runner that exited 7).
		a.fail(ctx, errhandler.KindNotARunner, SourceHandshake, "exited before saying Hello ("+st.String()+"): a runner that crashed as it started, or no runner", nil)
	case !a.handshaken():
		a.fail(ctx, errhandler.KindNotARunner, SourceHandshake, "not a runner: exited before saying Hello ("+st.String()+")", nil)
	case a.termination != "":
		a.fail(ctx, errhandler.KindTerminationError, SourceTermination, "runner sent TerminationError: "+a.termination, nil)
	case a.runnerSaid != nil:
		a.fail(ctx, errhandler.KindTerminationError, SourceExit, "runner reported Failed: "+a.runnerSaid.GetErrorMessage()+"; then exited: "+st.String(), nil)
	case st.Signaled():
		a.fail(ctx, errhandler.KindSignal, SourceExit, "runner died: "+st.String(), nil)
	case st.Code == 0:
		a.fail(ctx, errhandler.KindExitZero, SourceExit, "runner exited unasked: "+st.String(), nil)
	default:
		a.fail(ctx, errhandler.KindExitNonZero, SourceExit, "runner exited: "+st.String(), nil)
	}
}

func (a *runnerActor) onTimer(ctx actor.Context, k timerKind) {
	now := a.node.runnerClock.Now()
	t := a.node.timeouts
	switch k {
	case timerHandshake:
		if a.life == lifeStarting {
			a.fail(ctx, errhandler.KindHandshakeTimeout, SourceHandshake,
				fmt.Sprintf("never said Hello within %s (command %q)", t.Handshake, a.command), nil)
		}
	case timerWatchdog:
		if a.life != lifeServing && a.life != lifeDraining {
			return
		}
		if a.watchdogLate(now) {
			a.armWatchdog(ctx) // the node was behind: let the reader catch up first
			return
		}
		kind := a.status.GetKind()
		switch {
		case now.Sub(a.lastHeartbeat) > t.HeartbeatTimeout:
			a.fail(ctx, errhandler.KindHang, SourceHeartbeat,
				fmt.Sprintf("runner hangs: no heartbeat for %s (limit %s)", now.Sub(a.lastHeartbeat).Round(time.Millisecond), t.HeartbeatTimeout), nil)
		case a.caps[protocol.CapProgress] && now.Sub(a.lastProgress) > t.ProgressTimeout && a.working(kind):
			while := "while Running"
			if kind != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING {
				while = "while it runs a task (it reports " + protocol.StatusName(kind) + ")"
			}
			a.fail(ctx, errhandler.KindNoProgress, SourceProgress,
				fmt.Sprintf("runner makes no progress: heartbeats but counters frozen for %s %s (limit %s)", now.Sub(a.lastProgress).Round(time.Millisecond), while, t.ProgressTimeout)+a.refusedText(), nil)
		case loadingWatched(kind) && now.Sub(a.lastLayers) > t.LoadingStall:
			at := protocol.FormatStatus(a.status)
			if kind != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING {
				at += ", before its first Loading report"
			}
			a.fail(ctx, errhandler.KindLoadingStall, SourceLoading,
				fmt.Sprintf("loading stalled at %s: no layer progress for %s (limit %s)", at, now.Sub(a.lastLayers).Round(time.Millisecond), t.LoadingStall)+a.refusedText(), nil)
		default:
			a.armWatchdog(ctx)
		}
	case timerExitGrace:
		switch a.life {
		case lifeSuspect:
			// The symptom's grace is over: the failure it becomes is not
			// given another (a runner that reported Failed and neither
			// exited nor sent TerminationError waited two exit graces
			// before its SIGKILL, against docs/protocol.md: a Python
			// runner's trial).
			s := a.symptom
			a.fail(ctx, s.kind, s.src, s.msg, s.cause)
			if a.life == lifeFailing && a.timers[timerExitGrace].t != nil {
				a.cancel(timerExitGrace)
				a.log.WithField("reason", "no exit within the exit grace").Warn("killing runner process group")
				a.kill("no exit within the exit grace")
			}
		case lifeFailing:
			a.log.WithField("reason", "no exit within the exit grace").Warn("killing runner process group")
			a.kill("no exit within the exit grace")
		}
	case timerStopStep:
		if a.life == lifeStopping {
			a.nextStopStep(ctx)
		}
	case timerDrain:
		a.log.Warn("pipe readers still open after the exit (a process outside the group holds them): closing our ends")
		a.p.ForceCloseOutput()
		a.p.ForceCloseInput()
	case timerDrainDeadline:
		if a.life == lifeDraining {
			a.drainDeadlinePassed(ctx)
		}
	case timerClosingDeadline:
		if a.life != lifeDone {
			a.forceKill(ctx, killClosingDeadline)
		}
	}
}

// fail records the first detected failure, enters lifeFailing and makes sure
// the process ends. The actor fails (panics to its parent) only in
// finishFailure, once the process is reaped and all its goroutines ended.
func (a *runnerActor) fail(ctx actor.Context, kind errhandler.Kind, src DetectionSource, msg string, cause error) {
	if a.failure != nil || a.life.ending() && a.life != lifeExited && a.life != lifeStopping {
		return // first source wins; a stop that is ending it stays a stop
	}
	if !a.to(lifeFailing) {
		return
	}
	a.failure = a.newFailure(kind, src, msg, cause)
	a.cancel(timerHandshake)
	a.cancel(timerWatchdog)
	a.cancel(timerDrainDeadline)
	a.cancel(timerStopStep)
	a.log.WithFields(logrus.Fields{"reason": msg, "kind": string(kind), "source": string(src)}).Warn("runner failure detected")
	if a.exit != nil {
		a.to(lifeReaping)
		a.enterReaping(ctx)
		return
	}
	switch {
	case src == SourceTermination || src == SourceRunnerFail || kind == errhandler.KindVersionMismatch:
		// It said it is dying, or it was refused (and must read why): let it
		// exit by itself, so its exit status is real. SIGKILL after ExitGrace.
		a.arm(ctx, timerExitGrace, a.node.timeouts.ExitGrace)
	case src == SourceNodeKill:
		a.kill("FORCE_CLEANUP by the node")
	default:
		a.kill("failure detected: " + string(kind))
	}
}

// kill sends SIGKILL to the process group and notes it in the failure.
func (a *runnerActor) kill(why string) {
	if a.p == nil || a.exit != nil {
		return
	}
	err := a.p.Signal(syscall.SIGKILL)
	switch {
	case err != nil && !errors.Is(err, proc.ErrReaped):
		a.log.WithError(err).Error("could not kill runner process group")
	case err == nil && a.failure != nil:
		a.failure.Cleaned = append(a.failure.Cleaned, fmt.Sprintf("SIGKILL to process group %d (%s)", a.p.Pid, why))
	}
}

func (a *runnerActor) newFailure(kind errhandler.Kind, src DetectionSource, msg string, cause error) *RunnerFailure {
	now := a.node.runnerClock.Now()
	f := &RunnerFailure{
		Failure: errhandler.Failure{Kind: kind, Component: "runner", Operation: string(src),
			RunnerID: a.slot.id, RunnerKind: a.slot.spec.Kind, Generation: a.gen, Message: msg, Cause: cause}.WithHint(src.hint()),
		Source: src,
		At:     now,
		Uptime: now.Sub(a.started),
	}
	if a.p != nil {
		f.Pid = a.p.Pid
	}
	if a.slot.spec.Builtin && (kind == errhandler.KindNotARunner || kind == errhandler.KindExecNotFound) {
		// The spec has no Command of its own: the advice to check it
		// misled a host whose BuiltinBinary was its own program (a host's
		// trial). Not for a handshake timeout (a slow built-in runner is
		// told to raise the bound), nor after the Hello (a binary that said
		// it is a runner, and its bad output is its own).
		k := a.slot.spec.Kind
		bin := a.command
		if bin == "" { // the spawn failed: a.command is set once a process started
			bin = a.node.builtinBinary
		}
		f.Hint = fmt.Sprintf("a built-in runner runs the exo-actors binary with the spec's Args: check that %s is one (Config.BuiltinBinary, by default this program's own executable, right only for exo-actors itself: a host sets it to a built exo-actors, e.g. bin/exo-actors from make build; docs/host-guide.md), then the args (RunnerSpec.Args; on a node, kinds.%s.args in its config) and the runner's stderr for why it ended before its Hello",
			bin, k)
	}
	var fe *frame.Error
	if f.Hint == "" && errors.As(cause, &fe) && fe.Misencoded() {
		// Protobuf its encoder got wrong, not a stray print: the advice
		// of garbage (log to stderr, nothing else may write to stdout)
		// sent a raw runner's author looking for prints (invalid UTF-8 in
		// a token, an unknown field in a TokenChunk).
		f.Hint = fe.EncoderHint()
	}
	if f.Hint == "" && errors.As(cause, &fe) && errors.Is(fe, frame.ErrTextOnStdout) && f.Kind == errhandler.KindGarbage {
		// A print: the garbage advice without its SDK clause, which is
		// about bodies that do not decode (a new user's Java runner).
		f.Hint = errhandler.PrintHint
	}
	if f.Hint != "" {
		f.Failure = f.Failure.WithHint(f.Hint)
	}
	return f
}

// enterReaping: the process is gone; close its stdin (the writer ends after
// what is queued) and wait for the goroutines, bounded by Drain.
func (a *runnerActor) enterReaping(ctx actor.Context) {
	if a.p != nil {
		a.p.CloseInput()
		if a.pipesOpen != 0 {
			a.arm(ctx, timerDrain, a.node.timeouts.Drain)
		}
	}
	a.maybeFinish(ctx)
}

func (a *runnerActor) pipeDone(ctx actor.Context, which pipeSet) {
	a.pipesOpen &^= which
	a.maybeFinish(ctx)
}

// maybeFinish ends the process's life once it is reaped and every goroutine
// of it has said its last word.
func (a *runnerActor) maybeFinish(ctx actor.Context) {
	if a.life != lifeReaping || a.pipesOpen != 0 {
		return
	}
	if a.p != nil && a.exit == nil {
		return
	}
	a.cancelAllTimers()
	// After a failure the supervisor closes this generation's resources
	// (process, pipes) as part of its decision; a stop closes them all.
	if a.failure != nil {
		a.finishFailure(ctx)
		return
	}
	a.node.failTasks(a.slot, "runner stopped before the task ended", false)
	a.to(lifeReleasing)
	if a.node.resourcesPID == nil {
		a.finishStop(ctx, nil)
		return
	}
	a.closeResources(ctx, 0) // finishStop once the runner's resources are closed
}

func (a *runnerActor) onCloseResult(ctx actor.Context, m *resources.CloseResult) {
	if m.Err != nil {
		a.log.WithFields(logrus.Fields{"reason": m.Err.Error()}).Warn("runner resources did not all close cleanly")
	}
	if a.life != lifeReleasing || m.Tag != a.closeTag(0) {
		a.log.WithField("tag", m.Tag).Debug("close result of an earlier request (another generation): noted, not applied")
		return
	}
	a.finishStop(ctx, &m.Report)
}

func (a *runnerActor) finishStop(ctx actor.Context, closed *resources.CloseReport) {
	now := a.node.runnerClock.Now()
	s := a.stop
	res := &StopResult{RunnerID: a.slot.id, Generation: a.gen, Exit: a.exit, EndedBy: "not running"}
	if s != nil {
		res.Total = now.Sub(s.start)
		if n := len(s.steps); n > 0 {
			if s.steps[n-1].Duration == 0 {
				s.steps[n-1].Duration = now.Sub(s.steps[n-1].Started)
			}
			res.EndedBy = s.steps[n-1].Name
		}
		res.Steps = s.steps
		res.Complaint = s.complaint
	}
	res.Resources = closed
	a.result = res
	// Done hands what is left in the ledger to the supervisor (ownsLedger):
	// this incarnation's task timers end here, as in finishFailure.
	a.slot.tasks.stopTimers()
	a.to(lifeDone)
	if a.status.GetKind() != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN {
		a.setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN}, "stopped: "+res.Summary())
	}
	stopLog := a.log.WithFields(logrus.Fields{"ended_by": res.EndedBy, "duration": res.Total, "exit": a.exit.String()})
	if res.Ended() != res.EndedBy {
		stopLog.Warn("runner stopped, but its process did not exit 0 after the Shutdown frame")
	} else {
		stopLog.Info("runner stopped")
	}
	a.emit(&RunnerStopped{Result: *res})
	// The supervisor stops us (a poison pill behind what it already
	// forwarded). It hears of it before StopRunner returns: a Shutdown its
	// caller starts next finds the runner gone, so the report never lists
	// it (TestRunnerStoppedBeforeShutdownIsNotInTheReport).
	ctx.Send(ctx.Parent(), &runnerDone{id: a.slot.id})
	a.answerStopWaiters(ctx, res)
	// Forced: it did not exit on the Shutdown frame. A runner still in its
	// handshake cannot read one: its stop starts at SIGTERM (nextStopStep),
	// and its exit on that SIGTERM is its graceful stop (a demo
	// interrupted 50 ms in reported such runners forced, and itself not
	// clean).
	framed := len(res.Steps) > 0 && res.Steps[0].Name == "shutdown frame"
	forced := res.EndedBy == "SIGKILL" || res.EndedBy == "SIGTERM" && framed
	a.answerPhaseWaiters(ctx, func(r *PhaseReport) {
		if r.Note == "" {
			r.Note = res.Summary()
			if !framed && forced {
				r.Note += StopNoteNoFrame
			}
		}
		if forced && r.Phase == PhaseClosing {
			r.Outcome = OutcomeForced
		}
	})
}

func (a *runnerActor) finishFailure(ctx actor.Context) {
	f := a.failure
	f.Exit = a.exit
	f.Termination = a.termination
	if a.runnerSaid != nil {
		f.RunnerMessage = a.runnerSaid.GetErrorMessage()
		f.RunnerDiagnostics = a.runnerSaid.GetDiagnostics()
	}
	f.StderrTail = append([]string(nil), a.stderrTail...)
	if a.diedByItself {
		f.addStderrReason(a.stderrAge)
	}
	if a.p != nil {
		f.Cleaned = append(f.Cleaned, fmt.Sprintf("process %d reaped (%s)", a.p.Pid, a.exit),
			"stdin, stdout and stderr pipes closed; their reader, writer and waiter goroutines ended")
	}
	if n := len(a.slot.tasks.live); n > 0 {
		f.Cleaned = append(f.Cleaned, fmt.Sprintf("%d task timers stopped; the tasks await the supervisor's decision", n))
	}
	if f.Exit != nil {
		f.ExitCode = f.Exit.Code
		f.Signal = f.Exit.Signal
	}
	a.to(lifeDone)
	a.setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED,
		ErrorMessage: f.Message, Diagnostics: f.Diagnostics()}, "failure: "+string(f.Source))
	// A StopRunner under way ends with this failure: the failure says so
	// (the health monitor counts the runner stopped on request, not
	// retired by the error policy; it said "the runner was retired: the
	// error policy escalated its failure" for one stopped during its
	// forced restart). One end event per runner: RunnerFailed, no
	// RunnerStopped beside it (TestSpawnKillStopCycles counts them).
	f.stopAsked = len(a.stopWaiters) > 0
	a.emit(&RunnerFailed{Failure: f})
	res := &StopResult{RunnerID: a.slot.id, Generation: a.gen, Exit: a.exit, Failure: f, EndedBy: "failure"}
	if a.stop != nil {
		res.Total, res.Steps = a.node.runnerClock.Now().Sub(a.stop.start), a.stop.steps
	}
	a.result = res // later stop requests get it too
	if len(a.stopWaiters) > 0 {
		// A StopRunner ends with this failure: the supervisor takes the
		// runner off its children before the caller hears of it, as for a
		// clean stop (the failure itself reaches it as a system message,
		// which may come after a Shutdown the caller starts next).
		ctx.Send(ctx.Parent(), &runnerDone{id: a.slot.id, failed: true})
	}
	a.answerStopWaiters(ctx, res)
	// No answer to a shutdown phase from here: the supervisor answers for
	// this runner in HandleFailure, once it has ended the runner's tasks.
	// Answered here, the report could reach the supervisor before the
	// failure (protoactor escalates it after the panic below), the phase
	// could end, the node close its streams, and the tasks' terminal
	// statuses then go to closed streams: exo-actors chaos saw tasks whose
	// runner failed during a node's shutdown missing from its tasks stream.
	a.phaseWaiters = nil
	// The tasks wait for the supervisor's decision (a retry keeps some);
	// their timers belong to this incarnation and end with it.
	a.slot.tasks.stopTimers()
	// Hand the failure to the parent's supervisor strategy. Everything this
	// process owned has ended, so nothing is lost when the mailbox suspends.
	panic(f)
}

// ownsLedger reports whether this incarnation may touch the slot's task
// ledger. Once Done it may not: a failed incarnation stopped its task timers
// in finishFailure and handed its tasks to the supervisor, whose
// HandleFailure (failTasks) runs on the supervisor's goroutine while this
// actor may still handle a Stop or Restart system message on its own (a
// node shutdown stopping the tree as the runner fails): the race detector
// caught stopTimers here reading the ledger's map as failTasks deleted from
// it (TestCoreSemanticsStress under load).
func (a *runnerActor) ownsLedger() bool { return a.life != lifeDone }

// onActorStopping: the actor stops for good (retired, stopped by its
// supervisor, or the whole tree stops). Nothing of its process may remain,
// and nobody who waits on it may wait forever. Its remaining tasks are
// ended by the supervisor when it sees this actor Terminated.
func (a *runnerActor) onActorStopping(ctx actor.Context) {
	if a.panicInStopping {
		panic(fmt.Sprintf("test hook: runner %s panics in its Stopping handler as a bug would", a.slot.id))
	}
	a.cancelAllTimers()
	a.endProcess()
	a.emitExit() // no frame of this process is handled from here on
	if a.life == lifePanicked {
		a.slot.tasks.stopTimers() // still the ledger's owner (enterPanicked); its tasks ended there
		a.to(lifeDone)            // the supervisor's pill: everything queued before it was answered
	}
	if a.life == lifeDone {
		// Its tasks' timers are stopped (finishStop ended every task,
		// finishFailure stopped them), and the ledger may be the
		// supervisor's now: a failed incarnation is stopped by a Stop that
		// gets past its suspended mailbox while the supervisor's
		// HandleFailure ends its tasks (the tree stopping under a failure
		// after StopRunner; TestCoreSemanticsStress under -race).
		return
	}
	a.slot.tasks.stopTimers()
	why := "runner actor stopped before the runner finished (" + a.life.String() + ")"
	a.log.WithField("state", a.life.String()).Warn("runner actor stopped before its process was done: killed its process group; answering every waiter")
	res := &StopResult{RunnerID: a.slot.id, Generation: a.gen, Exit: a.exit, EndedBy: "actor stopped", Failure: a.failure}
	a.result = res
	a.answerStopWaiters(ctx, res)
	a.answerPhaseWaiters(ctx, func(r *PhaseReport) { r.Outcome, r.Note = OutcomeForced, why })
}

func (a *runnerActor) answerStopWaiters(ctx actor.Context, res *StopResult) {
	for _, w := range a.stopWaiters {
		ctx.Send(w, res)
	}
	if len(a.stopWaiters) > 0 {
		yieldToAnswered()
	}
	a.stopWaiters = nil
}

func (a *runnerActor) arm(ctx actor.Context, k timerKind, d time.Duration) {
	a.cancel(k)
	a.slot.timerSeq++
	seq, gen, self, system := a.slot.timerSeq, a.gen, ctx.Self(), ctx.ActorSystem()
	a.timers[k] = timerSlot{seq: seq, t: a.node.runnerClock.AfterFunc(d, func() {
		system.Root.Send(self, &timerFired{gen: gen, kind: k, seq: seq})
	})}
}

func (a *runnerActor) cancel(k timerKind) {
	if t := a.timers[k].t; t != nil {
		t.Stop()
		a.timers[k].t = nil
	}
}

func (a *runnerActor) cancelAllTimers() {
	for k := range a.timers {
		a.cancel(timerKind(k))
	}
}

func (a *runnerActor) emit(e Event) { a.node.emitFor(a.slot, e) }

// emitExit publishes the held ProcessExited, if any (see exitEvent).
func (a *runnerActor) emitExit() {
	if a.exitEvent != nil {
		a.emit(a.exitEvent)
		a.exitEvent = nil
	}
}

// procSpec turns the slot's RunnerSpec into what proc starts.
func (n *nodeConfig) procSpec(s *slot) (proc.Spec, error) {
	spec := s.spec
	ps := proc.Spec{Path: spec.Command, Args: spec.Args, Dir: spec.Dir}
	if spec.Builtin {
		if n.builtinBinary == "" {
			return ps, errors.New("no built-in runner binary configured (Config.BuiltinBinary) and os.Executable failed")
		}
		ps.Path = n.builtinBinary
		ps.Args = append([]string{"runner"}, spec.Args...)
	}
	env := append([]string(nil), n.baseEnv...)
	if env == nil {
		env = os.Environ()
	}
	env = append(env, spec.Env...)
	ps.Env = append(env, protocol.EnvRunnerID+"="+s.id)
	return ps, nil
}
