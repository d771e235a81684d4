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
	timerHandshake timerKind = iota
	timerWatchdog
	timerExitGrace // after TerminationError / stdout EOF / runner-reported Failed
	timerStopStep  // the next step of the stop escalation
	timerDrain     // the readers lag after the exit
	timerPhase     // a shutdown phase's deadline
	numTimers
)

const stderrTailLines = 20

type timerSlot struct {
	t   clock.Timer
	seq uint64
}

// runnerActor owns one runner process at a time. One instance is one
// incarnation; what must survive a restart lives in the slot.
type runnerActor struct {
	node *nodeConfig
	slot *slot
	self *actor.PID
	log  *logrus.Entry

	gen     uint64
	command string // the executable actually started
	caps    map[string]bool
	p       *proc.Process
	status  *exov1.RunnerStatus
	started time.Time

	handshakeDone bool
	lastHeartbeat time.Time
	lastProgress  time.Time
	lastLayers    time.Time
	counters      [3]uint64 // tokens, layers, tasks from the last heartbeat
	stderrTail    []string

	// Wind-down: set once the process must end (failure or stop).
	failure      *RunnerFailure
	stop         *stopState
	exit         *proc.ExitStatus
	readerDone   bool
	stderrDone   bool
	writerDone   bool
	readerErr    error
	termination  string
	runnerSaid   string // the error of a Failed status the runner reported
	outputForced bool   // we closed stdout/stderr ourselves after the exit
	truncated    error  // stdout ended mid-frame; the exit (if it comes) decides
	finished     bool
	result       *StopResult

	timers [numTimers]timerSlot

	// Shutdown phases (runner_phases.go).
	signaled  bool
	drain     *drainState
	closing   *closingState
	stopping3 bool // StopRunner is walking the three phases
	// awaitResources: the process is gone; the stop answers once the
	// resource manager closed the runner's resources (closedResources).
	awaitResources  bool
	closedResources *resources.CloseReport
	stopWaiters     []*actor.PID // StopRunner callers waiting for the drain
}

type stopState struct {
	start   time.Time
	steps   []StopStep
	waiters []*actor.PID
}

func newRunnerActor(node *nodeConfig, s *slot) actor.Actor {
	return &runnerActor{node: node, slot: s}
}

// Receive implements actor.Actor.
func (a *runnerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.self = ctx.Self()
		a.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.cancelAllTimers()
		a.slot.tasks.stopTimers()
		if a.p != nil && a.exit == nil {
			// Never leave a process behind, whatever stopped us.
			_ = a.p.Signal(syscall.SIGKILL)
		}
	case *proc.Frame:
		if a.current(m.Gen) {
			a.onFrame(ctx, m.Env)
		}
	case *proc.StderrLine:
		if a.current(m.Gen) {
			a.onStderr(m.Line)
		}
	case *proc.ReaderClosed:
		if a.current(m.Gen) {
			a.onReaderClosed(ctx, m)
		}
	case *proc.StderrClosed:
		if a.current(m.Gen) {
			a.stderrDone = true
			a.maybeFinish(ctx)
		}
	case *proc.WriteFailed:
		if a.current(m.Gen) && a.exit == nil && !a.windingDown() {
			// Its stdin is closed while it lives: it can no longer be told
			// anything (tasks, cancels, Shutdown).
			a.fail(ctx, errhandler.KindWriteClosedPipe, SourceStdin, "runner closed its stdin: "+m.Err.Error(), m.Err)
		}
	case *proc.WriterClosed:
		if a.current(m.Gen) {
			a.writerDone = true
			a.maybeFinish(ctx)
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
		a.forceKill("forced")
	case *submitTask:
		a.onSubmit(ctx, m)
	case *cancelTasks:
		a.onCancel(ctx, m)
	case *taskTimerFired:
		a.onTaskTimer(ctx, m)
	case *runnerInfoQuery:
		ctx.Respond(a.slot.info())
	case healthMessage: // health_query.go
		a.onHealth(ctx, m)
	case *resources.RegisterResult:
		a.onResourceReply(m)
	case *resources.CloseResult:
		a.onResourceReply(m)
		if a.awaitResources {
			a.awaitResources = false
			a.closedResources = &m.Report
			a.finishStop(ctx)
		}
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

func (a *runnerActor) windingDown() bool { return a.failure != nil || a.stop != nil }

func (a *runnerActor) start(ctx actor.Context) {
	a.gen = a.slot.nextGeneration()
	a.status = a.slot.info().Status
	if protocol.Terminal(a.status.GetKind()) {
		a.status = &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE}
	}
	a.log = a.node.logger.WithFields(logrus.Fields{"runner_id": a.slot.id, "generation": a.gen})
	a.started = a.node.runnerClock.Now()

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
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE):
			kind = errhandler.KindNodeFault // cannot fork, out of memory or file descriptors: node-wide
		}
		a.failure = a.newFailure(kind, SourceSpawn, err.Error(), err)
		a.log.WithError(err).WithField("reason", string(kind)).Error("runner process could not start")
		a.finished = true
		a.finishFailure(ctx)
		return
	}
	a.log = a.log.WithField("pid", a.p.Pid)
	a.slot.setPid(a.p.Pid)
	a.command = spec.Path
	a.log.WithField("command", spec.Path).Info("runner process started")
	a.emit(&ProcessStarted{RunnerID: a.slot.id, Generation: a.gen, Pid: a.p.Pid, At: a.started})
	a.registerResources(ctx)
	a.arm(ctx, timerHandshake, a.node.timeouts.Handshake)
}

func (a *runnerActor) onFrame(ctx actor.Context, env *exov1.RunnerEnvelope) {
	if a.failure != nil {
		if t := env.GetTerminationError(); t != nil {
			a.termination = t.GetMessage() // late evidence, kept for diagnostics
		}
		return
	}
	if !a.handshakeDone {
		a.onHandshakeFrame(ctx, env)
		return
	}
	now := a.node.runnerClock.Now()
	switch b := env.Body.(type) {
	case *exov1.RunnerEnvelope_Heartbeat:
		hb := b.Heartbeat
		a.lastHeartbeat = now
		c := [3]uint64{hb.GetTokensProduced(), uint64(hb.GetLayersLoaded()), hb.GetTasksCompleted()}
		if c != a.counters {
			if c[1] != a.counters[1] {
				a.lastLayers = now
			}
			a.counters = c
			a.lastProgress = now
		}
	case *exov1.RunnerEnvelope_StatusUpdated:
		a.lastProgress = now
		a.onRunnerStatus(ctx, b.StatusUpdated.GetStatus())
	case *exov1.RunnerEnvelope_TerminationError:
		a.termination = b.TerminationError.GetMessage()
		a.fail(ctx, errhandler.KindTerminationError, SourceTermination, "runner sent TerminationError: "+a.termination, nil)
	case *exov1.RunnerEnvelope_Hello:
		a.protocolViolation("second Hello after the handshake")
	default: // task frames
		a.lastProgress = now
		a.onTaskFrame(ctx, env)
	}
}

func (a *runnerActor) onHandshakeFrame(ctx actor.Context, env *exov1.RunnerEnvelope) {
	h := env.GetHello()
	if h == nil {
		a.fail(ctx, errhandler.KindNotARunner, SourceHandshake,
			fmt.Sprintf("not a runner: its first frame was %T, not Hello", env.Body), nil)
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
		a.fail(ctx, errhandler.KindWriteClosedPipe, SourceStdin, "could not answer Hello", err)
		return
	}
	a.handshakeDone = true
	a.caps = map[string]bool{}
	for _, c := range h.GetCapabilities() {
		a.caps[c] = true
	}
	a.cancel(timerHandshake)
	now := a.node.runnerClock.Now()
	a.lastHeartbeat, a.lastProgress, a.lastLayers = now, now, now
	a.log.WithFields(logrus.Fields{"version": v, "capabilities": h.GetCapabilities(),
		"duration": now.Sub(a.started)}).Info("runner handshake done")
	a.arm(ctx, timerWatchdog, a.node.timeouts.watchdogPeriod())
}

func (a *runnerActor) onRunnerStatus(ctx actor.Context, st *exov1.RunnerStatus) {
	from, to := a.status.GetKind(), st.GetKind()
	if from == to && !protocol.ValidTransition(from, to) {
		return // a repeat (Idle after the handshake, ShuttingDown we already show): harmless
	}
	if !protocol.ValidTransition(from, to) {
		a.protocolViolation(fmt.Sprintf("status %s → %s is not a legal transition", protocol.StatusName(from), protocol.StatusName(to)),
			logrus.Fields{"from": protocol.FormatStatus(a.status), "to": protocol.FormatStatus(st)})
		return
	}
	if to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING && st.GetLayersLoaded() != a.status.GetLayersLoaded() {
		a.lastLayers = a.node.runnerClock.Now()
	}
	if to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED {
		// An announcement: its TerminationError or its exit follows and names
		// the source. If neither comes within ExitGrace, this status is it.
		a.runnerSaid = st.GetErrorMessage()
		a.arm(ctx, timerExitGrace, a.node.timeouts.ExitGrace)
		return
	}
	a.setStatus(st, "runner reported")
	if to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
		a.node.policy.RunnerReady(a.slot.id) // resolves a retried failure; starts the stable period
	}
	a.dispatch(ctx)
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
	a.log.WithFields(logrus.Fields{"from": protocol.FormatStatus(from), "to": protocol.FormatStatus(st), "reason": reason}).Info("runner status changed")
	a.emit(&StatusChanged{RunnerID: a.slot.id, Generation: a.gen, From: from, To: st, At: now})
}

func (a *runnerActor) onStderr(line string) {
	if len(a.stderrTail) == stderrTailLines {
		copy(a.stderrTail, a.stderrTail[1:])
		a.stderrTail = a.stderrTail[:stderrTailLines-1]
	}
	a.stderrTail = append(a.stderrTail, line)
	a.log.WithField("stream", "stderr").Info(line)
}

func (a *runnerActor) onReaderClosed(ctx actor.Context, m *proc.ReaderClosed) {
	a.readerDone = true
	a.readerErr = m.Err
	switch {
	case a.windingDown():
	case a.exit != nil && a.outputForced:
		a.classifyExit(ctx) // we closed the pipe ourselves after the exit
	case m.Err != nil && !a.handshakeDone:
		a.fail(ctx, errhandler.KindNotARunner, SourceHandshake, "not a runner: its output is not protocol frames: "+m.Err.Error(), m.Err)
	case errors.Is(m.Err, frame.ErrTruncated) && a.exit != nil:
		a.classifyExit(ctx) // it died mid-frame: the exit is the diagnosis
	case errors.Is(m.Err, frame.ErrTruncated):
		// Output cut mid-frame: most likely the process is dying. Let its
		// exit say how, within ExitGrace; else it is a protocol failure.
		a.truncated = m.Err
		a.arm(ctx, timerExitGrace, a.node.timeouts.ExitGrace)
	case m.Err != nil:
		kind := errhandler.KindProtocolError
		var fe *frame.Error
		if errors.As(m.Err, &fe) && (fe.Fatal() || errors.Is(fe, frame.ErrUndecodable) || errors.Is(fe, frame.ErrUnknownFields)) {
			kind = errhandler.KindGarbage
		}
		a.fail(ctx, kind, SourceProtocol, "bad output from runner: "+m.Err.Error(), m.Err)
	case a.exit != nil:
		a.classifyExit(ctx) // the exit came first; every frame is in now
	default:
		// stdout closed: the process is probably exiting. Give it ExitGrace to
		// say how (an exit code beats "stdout EOF" as a diagnosis).
		a.arm(ctx, timerExitGrace, a.node.timeouts.ExitGrace)
	}
	a.maybeFinish(ctx)
}

func (a *runnerActor) onExited(ctx actor.Context, m *proc.Exited) {
	st := m.Status
	a.exit = &st
	a.p.CloseInput()
	a.cancel(timerExitGrace)
	a.log.WithFields(logrus.Fields{"exit": st.String(), "uptime": m.At.Sub(a.p.Started)}).Info("runner process exited")
	a.emit(&ProcessExited{RunnerID: a.slot.id, Generation: a.gen, Pid: a.p.Pid, Status: st, At: m.At})
	if !a.windingDown() && a.readerDone {
		a.classifyExit(ctx)
	}
	// Otherwise frames may still be in the pipe (a TerminationError names the
	// cause better than the exit does): classify when the reader has finished.
	if !a.readerDone || !a.stderrDone {
		a.arm(ctx, timerDrain, a.node.timeouts.Drain)
	}
	a.maybeFinish(ctx)
}

// classifyExit turns an exit nobody asked for into a failure, once the stdout
// reader has delivered every frame the runner wrote before dying.
func (a *runnerActor) classifyExit(ctx actor.Context) {
	st := *a.exit
	switch {
	case !a.handshakeDone:
		a.fail(ctx, errhandler.KindNotARunner, SourceHandshake, "not a runner: exited before saying Hello ("+st.String()+")", nil)
	case a.runnerSaid != "":
		a.fail(ctx, errhandler.KindTerminationError, SourceExit, "runner reported Failed: "+a.runnerSaid+"; then exited: "+st.String(), nil)
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
		if !a.handshakeDone && !a.windingDown() {
			a.fail(ctx, errhandler.KindHandshakeTimeout, SourceHandshake,
				fmt.Sprintf("never said Hello within %s: is %q a runner?", t.Handshake, a.command), nil)
		}
	case timerWatchdog:
		if a.windingDown() {
			return
		}
		kind := a.status.GetKind()
		switch {
		case now.Sub(a.lastHeartbeat) > t.HeartbeatTimeout:
			a.fail(ctx, errhandler.KindHang, SourceHeartbeat,
				fmt.Sprintf("runner hangs: no heartbeat for %s (limit %s)", now.Sub(a.lastHeartbeat).Round(time.Millisecond), t.HeartbeatTimeout), nil)
		case kind == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING && a.caps[protocol.CapProgress] && now.Sub(a.lastProgress) > t.ProgressTimeout:
			a.fail(ctx, errhandler.KindNoProgress, SourceProgress,
				fmt.Sprintf("runner makes no progress: heartbeats but counters frozen for %s while Running (limit %s)", now.Sub(a.lastProgress).Round(time.Millisecond), t.ProgressTimeout), nil)
		case kind == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING && now.Sub(a.lastLayers) > t.LoadingStall:
			a.fail(ctx, errhandler.KindLoadingStall, SourceLoading,
				fmt.Sprintf("loading stalled at %s: no layer progress for %s (limit %s)", protocol.FormatStatus(a.status), now.Sub(a.lastLayers).Round(time.Millisecond), t.LoadingStall), nil)
		default:
			a.arm(ctx, timerWatchdog, t.watchdogPeriod())
		}
	case timerExitGrace:
		if a.exit != nil {
			return
		}
		switch {
		case !a.windingDown() && a.runnerSaid != "":
			a.fail(ctx, errhandler.KindTerminationError, SourceRunnerFail, "runner reported Failed: "+a.runnerSaid, nil)
			return
		case !a.windingDown() && a.truncated != nil:
			a.fail(ctx, errhandler.KindGarbage, SourceProtocol, "bad output from runner: "+a.truncated.Error(), a.truncated)
			return
		case !a.windingDown():
			a.fail(ctx, errhandler.KindProtocolError, SourceStdoutEOF, "runner closed its stdout but kept running", nil)
			return
		}
		a.log.WithField("reason", "no exit within the exit grace").Warn("killing runner process group")
		_ = a.p.Signal(syscall.SIGKILL)
	case timerStopStep:
		a.nextStopStep(ctx)
	case timerPhase:
		a.onPhaseTimer(ctx)
	case timerDrain:
		a.log.Warn("pipe readers still open after the exit (a process outside the group holds them): closing our ends")
		a.outputForced = true
		a.p.ForceCloseOutput()
	}
}

// fail records the first detected failure and makes sure the process ends.
// The actor fails (panics to its parent) only in finishFailure, once the
// process is reaped and all its goroutines have ended.
func (a *runnerActor) fail(ctx actor.Context, kind errhandler.Kind, src DetectionSource, msg string, cause error) {
	if a.failure != nil {
		return // first source wins
	}
	a.failure = a.newFailure(kind, src, msg, cause)
	a.cancel(timerHandshake)
	a.cancel(timerWatchdog)
	a.log.WithFields(logrus.Fields{"reason": msg, "kind": string(kind), "source": string(src)}).Warn("runner failure detected")
	if a.exit != nil {
		a.maybeFinish(ctx)
		return
	}
	switch {
	case src == SourceTermination || src == SourceRunnerFail || kind == errhandler.KindVersionMismatch:
		// It said it is dying, or it was refused (and must read why): let it
		// exit by itself, so its exit status is real. SIGKILL after ExitGrace.
		a.arm(ctx, timerExitGrace, a.node.timeouts.ExitGrace)
	default:
		if a.stop != nil {
			return // the stop escalation is already ending it
		}
		if err := a.p.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, proc.ErrReaped) {
			a.log.WithError(err).Error("could not kill runner process group")
		} else if err == nil {
			a.failure.Cleaned = append(a.failure.Cleaned, fmt.Sprintf("SIGKILL to process group %d", a.p.Pid))
		}
	}
}

func (a *runnerActor) newFailure(kind errhandler.Kind, src DetectionSource, msg string, cause error) *RunnerFailure {
	f := &RunnerFailure{
		Failure: errhandler.Failure{Kind: kind, Component: "runner", Operation: string(src),
			RunnerID: a.slot.id, Generation: a.gen, Message: msg, Cause: cause},
		Source: src,
		At:     a.node.runnerClock.Now(),
		Uptime: a.node.runnerClock.Now().Sub(a.started),
	}
	if a.p != nil {
		f.Pid = a.p.Pid
	}
	return f
}

func (a *runnerActor) onStop(ctx actor.Context, sender *actor.PID) {
	if a.finished && a.result != nil {
		if sender != nil {
			ctx.Send(sender, a.result)
		}
		return
	}
	if a.stop == nil {
		a.stop = &stopState{start: a.node.runnerClock.Now()}
		a.cancel(timerHandshake)
		a.cancel(timerWatchdog)
		a.log.WithField("reason", "stop requested").Info("stopping runner")
		if a.failure == nil && a.exit == nil {
			if !protocol.Terminal(a.status.GetKind()) && a.status.GetKind() != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN {
				a.setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN}, "stop requested")
			}
			a.nextStopStep(ctx)
		}
	}
	if sender != nil {
		a.stop.waiters = append(a.stop.waiters, sender)
	}
	a.maybeFinish(ctx)
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
	case len(s.steps) == 0 && a.handshakeDone:
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

// maybeFinish ends the process's life once it is reaped and every goroutine
// of it has said its last word.
func (a *runnerActor) maybeFinish(ctx actor.Context) {
	if a.finished || !a.windingDown() {
		return
	}
	if a.exit == nil || !a.readerDone || !a.stderrDone || !a.writerDone {
		return
	}
	a.finished = true
	a.cancelAllTimers()
	a.closeResources(ctx)
	if a.failure != nil {
		a.finishFailure(ctx) // the close report comes to the next incarnation, or the retired one
		return
	}
	a.node.failTasks(a.slot, "runner stopped before the task ended", false)
	if a.node.resourcesPID != nil {
		a.awaitResources = true // finishStop once the runner's resources are closed
		return
	}
	a.finishStop(ctx)
}

func (a *runnerActor) finishStop(ctx actor.Context) {
	now := a.node.runnerClock.Now()
	s := a.stop
	res := &StopResult{RunnerID: a.slot.id, Generation: a.gen, Exit: a.exit, Total: now.Sub(s.start), EndedBy: "not running"}
	if n := len(s.steps); n > 0 {
		if s.steps[n-1].Duration == 0 {
			s.steps[n-1].Duration = now.Sub(s.steps[n-1].Started)
		}
		res.EndedBy = s.steps[n-1].Name
	}
	res.Steps = s.steps
	res.Resources = a.closedResources
	a.result = res
	if a.status.GetKind() != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN {
		a.setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN}, "stopped: ended by "+res.EndedBy)
	}
	a.log.WithFields(logrus.Fields{"ended_by": res.EndedBy, "duration": res.Total, "exit": a.exit.String()}).Info("runner stopped")
	a.emit(&RunnerStopped{Result: *res})
	for _, w := range s.waiters {
		ctx.Send(w, res)
	}
	s.waiters = nil
	if c := a.closing; c != nil {
		a.closing = nil
		if c.report.Note == "" {
			c.report.Note = "ended by " + res.EndedBy
		}
		if res.EndedBy == "SIGTERM" || res.EndedBy == "SIGKILL" {
			c.report.Outcome = OutcomeForced // it did not exit on the Shutdown frame
		}
		a.answer(ctx, c.waiter, c.report)
	}
	// The supervisor stops us (a poison pill behind what it already forwarded).
	ctx.Send(ctx.Parent(), &runnerDone{id: a.slot.id})
}

func (a *runnerActor) finishFailure(ctx actor.Context) {
	f := a.failure
	f.Exit = a.exit
	f.Termination = a.termination
	f.StderrTail = append([]string(nil), a.stderrTail...)
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
	a.setStatus(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED,
		ErrorMessage: f.Message, Diagnostics: f.Diagnostics()}, "failure: "+string(f.Source))
	a.emit(&RunnerFailed{Failure: f})
	res := &StopResult{RunnerID: a.slot.id, Generation: a.gen, Exit: a.exit, Failure: f, EndedBy: "failure"}
	if a.stop != nil {
		res.Total, res.Steps = a.node.runnerClock.Now().Sub(a.stop.start), a.stop.steps
		for _, w := range a.stop.waiters {
			ctx.Send(w, res)
		}
		a.stop.waiters = nil
	}
	a.result = res // later stop requests get it too
	// The tasks wait for the supervisor's decision (a retry keeps some);
	// their timers belong to this incarnation and end with it.
	a.slot.tasks.stopTimers()
	// Hand the failure to the parent's supervisor strategy. Everything this
	// process owned has ended, so nothing is lost when the mailbox suspends.
	panic(f)
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

func (a *runnerActor) emit(e Event) { a.node.emit(e) }

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
