package conformance

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/proc"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// maxQueued bounds the messages a session holds unread; past it, frames are
// dropped and counted (a runner flooding its stdout fails its case anyway).
const maxQueued = 1 << 16

// maxInFlight bounds the tasks a session tracks as running (the cases send
// at most two at a time); a runner that claims more breaks the protocol.
const maxInFlight = 64

// stderrTail is how many stderr lines a session keeps for the evidence.
const stderrTail = 8

// session is one fresh runner process for one case. The proc goroutines
// deliver into its queue; the case's goroutine reads it with next.
type session struct {
	cfg     *Config
	p       *proc.Process
	started time.Time
	id      string // the runner ID given in EXO_RUNNER_ID

	mu      sync.Mutex
	queue   []queued
	dropped int
	notify  chan struct{} // capacity 1; never closed

	// Read by the case's goroutine only, set by next.
	stderr      []string
	exit        *proc.ExitStatus
	exitAt      time.Time
	readerDone  bool
	readerErr   error
	stderrDone  bool
	writerDone  bool
	status      exov1.RunnerStatusKind
	last        *exov1.RunnerStatus // the last status applied: LoadingProblem reads the Loading before
	hello       *exov1.Hello
	interval    time.Duration
	frames      int
	lastLoading uint32
	// stderrLines counts the stderr lines read; stderrError is the last
	// that states an error (proc.ErrorLine) and stderrErrorAt its number
	// in that count, shown when the tail no longer holds it.
	stderrLines   int
	stderrError   string
	stderrErrorAt int
	// envs are frames of a batch (proc.Frames) not returned yet, which
	// arrived at envsAt.
	envs   []*exov1.RunnerEnvelope
	envsAt time.Time

	// What passed between the suite and the runner, for an end the runner
	// was not asked for (unasked): accepted once HelloAccepted was sent;
	// said the last frame (no heartbeat) and when it arrived; sent the
	// last frame sent and when; endAsked what asked the runner to end
	// (HelloRefused, stdin's end, or a Shutdown it answered), "" until
	// then; shutdownAt a Shutdown sent and not answered yet; explained
	// that the runner said why it ends (Failed, TerminationError).
	accepted   bool
	said       string
	saidAt     time.Time
	sent       string
	sentAt     time.Time
	endAsked   string
	shutdownAt time.Time
	// shutdownSent describes that Shutdown frame (Shutdown{timeout …}).
	shutdownSent string
	explained    bool

	// The heartbeat rule while a task runs (gapCheck): tasks are the
	// tasks sent and not ended (no terminal TaskStatus yet), lastHB when
	// the last heartbeat arrived (HelloAccepted's sending before the
	// first), gap the first gap past Config.HeartbeatGap, closing set by
	// close (the case is over).
	tasks   []string
	lastHB  time.Time
	gap     error
	closing bool

	// The protocol's task rules, checked on every frame as next returns
	// it (whatever the case reads): reported is the last status the
	// runner reported (as sent, legal or not); inFlight the tasks between
	// their TaskStatus Running and their terminal status, in that order;
	// violation the first rule broken, which frame returns from then on.
	reported  exov1.RunnerStatusKind
	inFlight  []flight
	violation error
}

// flight is a task between its TaskStatus Running and its terminal status.
type flight struct {
	id string
	// running: StatusUpdated{Running} came before or since its TaskStatus
	// Running (protocol.md, Tasks, step 2).
	running bool
}

// queued is a message from proc and when it arrived.
type queued struct {
	m  any
	at time.Time
}

// errTimeout: nothing arrived in time.
var errTimeout = errors.New("timed out")

func (s *session) deliver(m any) {
	at := time.Now()
	s.mu.Lock()
	if len(s.queue) >= maxQueued {
		s.dropped++
	} else {
		s.queue = append(s.queue, queued{m, at})
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// start starts a fresh runner process for the named case.
func start(sp *proc.Spawner, cfg *Config, name string) (*session, error) {
	s := &session{cfg: cfg, notify: make(chan struct{}, 1), id: "conformance-" + name,
		status: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE}
	env := append(append(os.Environ(), cfg.Env...), protocol.EnvRunnerID+"="+s.id)
	p, err := sp.Start(proc.Spec{Path: cfg.Command[0], Args: cfg.Command[1:], Env: env, Dir: cfg.Dir}, 1, s.deliver,
		proc.Options{FrameStall: time.Second})
	if err != nil {
		return nil, err
	}
	s.p, s.started = p, time.Now()
	return s, nil
}

// takeStderr keeps the last stderrTail lines the runner wrote
// (proc.StderrReady).
func (s *session) takeStderr() { s.addStderr(s.p.TakeStderr()) }

// addStderr keeps lines, which came after dropped lines that the process's
// stderr buffer dropped unread (its oldest).
func (s *session) addStderr(lines []proc.StderrLine, dropped int) {
	// The dropped lines are the oldest, before these: counted, so that the
	// "(N lines)" between the error line and the tail stays true under a
	// flood (a review).
	s.stderrLines += dropped
	for _, l := range lines {
		if len(s.stderr) == stderrTail {
			s.stderr = s.stderr[1:]
		}
		s.stderr = append(s.stderr, l.Text())
		if proc.ErrorLine(l.Line) {
			s.stderrError, s.stderrErrorAt = l.Text(), s.stderrLines
		}
		s.stderrLines++
	}
}

// stderrCause returns the last stderr line that states an error and how
// many lines came between it and the tail, when the tail (the last
// stderrTail lines) no longer holds it: Node.js writes its stack, a blank
// line and its version after the error, 8 lines or more (a new user's
// runner with a syntax error showed only those).
func (s *session) stderrCause() (line string, between int) {
	if s.stderrError == "" || s.stderrLines-s.stderrErrorAt <= len(s.stderr) {
		return "", 0
	}
	return s.stderrError, s.stderrLines - s.stderrErrorAt - 1 - len(s.stderr)
}

// since is the time from the process's start, rounded for evidence.
func (s *session) since() time.Duration { return time.Since(s.started).Round(time.Millisecond) }

// next returns the next frame (*exov1.RunnerEnvelope) or end of a goroutine
// (*proc.ReaderClosed, *proc.Exited, *proc.StderrClosed, *proc.WriterClosed),
// waiting at most d; stderr lines are kept, not returned. While a task runs
// it holds the runner to its heartbeats (gapCheck): a wait that reaches
// Config.HeartbeatGap past the last heartbeat ends early, once, with the
// gap's error (s.gap).
func (s *session) next(d time.Duration) (any, error) {
	deadline := time.Now().Add(d)
	for {
		if len(s.envs) > 0 {
			env := s.envs[0]
			s.envs[0] = nil
			s.envs = s.envs[1:]
			s.frames++
			if st := env.GetStatusUpdated(); st != nil && st.GetStatus().GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING {
				s.lastLoading = st.GetStatus().GetLayersLoaded()
			}
			if err := s.checkTasks(env); err != nil && s.violation == nil {
				s.violation = err
			}
			s.observe(env, s.envsAt)
			return env, nil
		}
		s.mu.Lock()
		var q queued
		if len(s.queue) > 0 {
			q = s.queue[0]
			s.queue[0] = queued{}
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
		if q.m == nil {
			wait, gapFirst := time.Until(deadline), false
			if s.gapCheck() {
				if g := time.Until(s.lastHB.Add(s.cfg.HeartbeatGap)); g < wait {
					wait, gapFirst = g, true
				}
			}
			if wait <= 0 && !gapFirst {
				return nil, errTimeout
			}
			timer := time.NewTimer(max(wait, 0))
			select {
			case <-s.notify:
				timer.Stop()
				continue
			case <-timer.C:
				if gapFirst {
					s.gap = s.gapError(time.Since(s.lastHB))
					return nil, s.gap
				}
				return nil, errTimeout
			}
		}
		switch v := q.m.(type) {
		case *proc.StderrReady:
			s.takeStderr()
		case *proc.StderrClosed:
			s.takeStderr()
			s.stderrDone = true
			return v, nil
		case *proc.WriterClosed:
			s.writerDone = true
			return v, nil
		case *proc.WriteFailed:
		case *proc.Frames:
			// One batch of the reader's: return its frames one by one, and
			// give the reader its credit back.
			s.envs, s.envsAt = append(s.envs, v.Envs...), q.at
			s.p.Release()
			continue
		case *proc.ReaderClosed:
			s.readerDone, s.readerErr = true, withEncoderHint(v.Err)
			return v, nil
		case *proc.Exited:
			st := v.Status
			s.exit, s.exitAt = &st, v.At
			return v, nil
		}
	}
}

// gapCheck reports whether the heartbeat rule holds now: a task runs
// (sent, not ended), the runner was not asked to end, it has not ended,
// the case goes on, and no gap was found yet.
func (s *session) gapCheck() bool {
	return len(s.tasks) > 0 && s.gap == nil && !s.closing && s.endAsked == "" && s.shutdownAt.IsZero() &&
		!s.readerDone && s.exit == nil
}

// gapError is the failure for a heartbeat gap of d while s.tasks ran.
func (s *session) gapError(d time.Duration) error {
	return fmt.Errorf("no heartbeat for %s while task %s ran (asked every %s; the limit here is %s): "+
		"send heartbeats from a thread of their own, idle or busy (docs/protocol.md, \"Heartbeats and progress\")",
		d.Round(time.Millisecond), strings.Join(s.tasks, ", "), s.interval, s.cfg.HeartbeatGap)
}

// observe notes a frame that arrived at: the heartbeat rule (a gap past
// Config.HeartbeatGap while a task runs, though the frames still came),
// the tasks that ended, and what the runner said last.
func (s *session) observe(env *exov1.RunnerEnvelope, at time.Time) {
	if s.gapCheck() && at.Sub(s.lastHB) > s.cfg.HeartbeatGap {
		s.gap = s.gapError(at.Sub(s.lastHB))
	}
	if env.GetHeartbeat() != nil {
		s.lastHB = at
		return
	}
	s.said, s.saidAt = describe(env), at
	if u := env.GetTaskStatusUpdated(); u != nil && u.GetStatus() > exov1.TaskStatus_TASK_STATUS_RUNNING {
		if i := slices.Index(s.tasks, u.GetTaskId()); i >= 0 {
			s.tasks = slices.Delete(s.tasks, i, i+1)
		}
	}
	switch k := env.GetStatusUpdated().GetStatus().GetKind(); {
	case env.GetTerminationError() != nil || k == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED:
		s.explained = true
	case !s.shutdownAt.IsZero() && (k == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN || k == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN):
		s.endAsked = "a Shutdown it answered"
	}
}

// frame returns the next frame, skipping heartbeats when skipHB; an end of
// stdout or an exit first is an error that says so.
func (s *session) frame(d time.Duration, skipHB bool) (*exov1.RunnerEnvelope, error) {
	deadline := time.Now().Add(d)
	for {
		m, err := s.next(time.Until(deadline))
		if err != nil {
			return nil, err
		}
		switch v := m.(type) {
		case *exov1.RunnerEnvelope:
			if s.violation != nil {
				return nil, s.violation
			}
			if skipHB && v.GetHeartbeat() != nil {
				continue
			}
			return v, nil
		case *proc.ReaderClosed:
			if v.Err != nil {
				return nil, s.readerErr // a *frame.Error: it names the frame, the offset and what was wrong
			}
			return nil, errors.New("stdout closed")
		case *proc.Exited:
			// Frames written before the exit may still be in the pipe:
			// read on until the reader ends.
			continue
		}
	}
}

// checkTasks applies a frame to the tasks in flight and returns the task
// rule it breaks, if any: Ready only once no task runs (protocol.md, Tasks,
// step 6: a runner that writes Ready after it accepted the next task
// reports Ready while that task runs), and StatusUpdated{Running} before a
// task's chunks or its end (step 2).
func (s *session) checkTasks(env *exov1.RunnerEnvelope) error {
	const (
		ready   = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY
		running = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING
	)
	find := func(id string) int {
		for i, f := range s.inFlight {
			if f.id == id {
				return i
			}
		}
		return -1
	}
	// noRunning is the error for task i's first chunk or end (what) while
	// the runner never reported Running for it.
	noRunning := func(i int, what string) error {
		return fmt.Errorf("no StatusUpdated{Running} for task %s before %s: the runner still reports %s "+
			"(protocol.md, Tasks, step 2: StatusUpdated{Running} follows TaskStatus Running unless the runner is already Running)",
			s.inFlight[i].id, what, protocol.StatusName(s.reported))
	}
	switch b := env.GetBody().(type) {
	case *exov1.RunnerEnvelope_StatusUpdated:
		s.reported = b.StatusUpdated.GetStatus().GetKind()
		switch s.reported {
		case running:
			for i := range s.inFlight {
				s.inFlight[i].running = true
			}
		case ready:
			if len(s.inFlight) > 0 {
				ids := make([]string, len(s.inFlight))
				for i, f := range s.inFlight {
					ids[i] = f.id
				}
				return fmt.Errorf("Ready while task %s runs (protocol.md, Tasks, step 6: Ready only once no task runs any more; "+
					"decide Ready under the same lock as the terminal status and write both at once)", strings.Join(ids, ", "))
			}
		}
	case *exov1.RunnerEnvelope_TaskStatusUpdated:
		u := b.TaskStatusUpdated
		i := find(u.GetTaskId())
		switch {
		case u.GetStatus() == exov1.TaskStatus_TASK_STATUS_RUNNING && i < 0:
			if len(s.inFlight) == maxInFlight {
				return fmt.Errorf("TaskStatus Running for %d tasks that have not ended: the suite never sends that many", maxInFlight+1)
			}
			s.inFlight = append(s.inFlight, flight{id: u.GetTaskId(), running: s.reported == running})
		case u.GetStatus() > exov1.TaskStatus_TASK_STATUS_RUNNING && i >= 0:
			if !s.inFlight[i].running {
				return noRunning(i, "its end ("+strings.TrimPrefix(u.GetStatus().String(), "TASK_STATUS_")+")")
			}
			s.inFlight = append(s.inFlight[:i], s.inFlight[i+1:]...)
		}
	case *exov1.RunnerEnvelope_ChunkGenerated:
		if i := find(b.ChunkGenerated.GetTaskId()); i >= 0 && !s.inFlight[i].running {
			return noRunning(i, "its chunks")
		}
	}
	return nil
}

// missing is the error for a wait for what that ended with err: "no X
// within 5s" only when the wait timed out; otherwise what ended it (stdout
// closed, stdout not frames, a broken rule) and when, since the process
// started.
func (s *session) missing(what string, limit time.Duration, err error) error {
	if errors.Is(err, errTimeout) {
		return fmt.Errorf("no %s within %s (%s)", what, limit, s.describeEnd())
	}
	return fmt.Errorf("no %s, %s after the start: %v (%s)", what, time.Since(s.started).Round(100*time.Microsecond), err, s.describeEnd())
}

// exitAfterEOF bounds describeEnd's wait for the exit of a process whose
// stdout closed: the reap comes after the pipe's end, a moment later.
const exitAfterEOF = time.Second

// describeEnd says how the process ended (or that it lives), for evidence.
// Once stdout closed the process is most likely exiting: it waits (at most
// exitAfterEOF) for the exit, so a runner that died says how ("process
// ended: exitcode=1"), not "still running" (a trial saw either, by a race,
// for the same crash).
func (s *session) describeEnd() string {
	if s.exit == nil && s.readerDone {
		deadline := time.Now().Add(exitAfterEOF)
		for s.exit == nil {
			if _, err := s.next(time.Until(deadline)); err != nil {
				break // timed out: it lives with its stdout closed
			}
		}
	}
	if s.exit == nil {
		return "process still running"
	}
	return "process ended: " + s.exit.String()
}

// handshake expects Hello first and answers it with HelloAccepted.
func (s *session) handshake() error {
	env, err := s.frame(s.cfg.Handshake, false)
	if err != nil {
		return s.missing("Hello", s.cfg.Handshake, err)
	}
	h := env.GetHello()
	if h == nil {
		return fmt.Errorf("first frame is %s, not Hello", describe(env))
	}
	s.hello = h
	v, err := protocol.Negotiate(h.GetMinVersion(), h.GetMaxVersion(), protocol.MinVersion, protocol.MaxVersion)
	if err != nil {
		return err
	}
	s.interval = s.cfg.HeartbeatInterval
	s.accepted, s.lastHB = true, time.Now()
	return s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloAccepted{HelloAccepted: &exov1.HelloAccepted{
		Version: v, RunnerId: s.id, HeartbeatInterval: durationpb.New(s.interval)}}})
}

func (s *session) send(env *exov1.SupervisorEnvelope) error {
	if err := s.p.Send(env); err != nil {
		return fmt.Errorf("writing to the runner's stdin: %w", err)
	}
	s.sent, s.sentAt = describeSent(env), time.Now()
	switch b := env.GetBody().(type) {
	case *exov1.SupervisorEnvelope_HelloRefused:
		s.endAsked = "HelloRefused"
	case *exov1.SupervisorEnvelope_Shutdown:
		s.shutdownAt, s.shutdownSent = s.sentAt, s.sent
	case *exov1.SupervisorEnvelope_Task:
		if len(s.tasks) == 0 && s.lastHB.Before(s.sentAt) {
			// The gap a task is judged on starts with it: a runner silent
			// while it loaded is the heartbeat case's to judge (a review:
			// a 2.2 s warm-up without heartbeats failed chunk-order with
			// "no heartbeat for 2.2s while task ack-1 ran").
			s.lastHB = s.sentAt
		}
		s.tasks = append(s.tasks, b.Task.GetId())
	}
	return nil
}

// closeInput closes the runner's stdin: the end of its supervisor, which
// asks it to exit.
func (s *session) closeInput() {
	s.p.CloseInput()
	s.sent, s.sentAt, s.endAsked = "the end of stdin", time.Now(), "the end of stdin"
}

// unknownFrame names the frame unknownBody sends.
const unknownFrame = "unknown frame"

// describeSent renders a supervisor frame on one line.
func describeSent(env *exov1.SupervisorEnvelope) string {
	switch b := env.GetBody().(type) {
	case *exov1.SupervisorEnvelope_HelloAccepted:
		return "HelloAccepted"
	case *exov1.SupervisorEnvelope_HelloRefused:
		return "HelloRefused"
	case *exov1.SupervisorEnvelope_Task:
		return "Task " + b.Task.GetId()
	case *exov1.SupervisorEnvelope_Cancel:
		if b.Cancel.GetAll() {
			return "Cancel{all}"
		}
		return "Cancel{task_id " + b.Cancel.GetTaskId() + "}"
	case *exov1.SupervisorEnvelope_Shutdown:
		return fmt.Sprintf("Shutdown{timeout %s}", b.Shutdown.GetTimeout().AsDuration())
	case nil:
		return unknownFrame
	}
	return fmt.Sprintf("%T", env.GetBody())
}

// unasked returns, for a case that failed, the failure that leads its
// text when the runner ended (its process exited, or its stdout closed)
// after the handshake without being asked to (no HelloRefused, no end of
// stdin, no Shutdown it answered) and without saying why (Failed,
// TerminationError): the case's own text would then blame what it was
// checking (a trial's runner, whose main thread returned right after
// Ready, got advice about Cancel and statuses). nil otherwise, and when
// stdout broke (that text says what broke it).
func (s *session) unasked() error {
	if !s.accepted || s.endAsked != "" || s.explained || s.readerErr != nil || !s.readerDone && s.exit == nil {
		return nil
	}
	end := "closed its stdout"
	if s.describeEnd(); s.exit != nil {
		end = "exited"
	}
	// A Shutdown was sent: the runner may have ended on it without a word
	// (a trial's runner called exit on Shutdown), or on its own before it
	// read it; from outside the two look alike, so both are said, and
	// neither is called "unasked".
	shutdown := !s.shutdownAt.IsZero()
	what := fmt.Sprintf("the runner %s", end)
	if !shutdown {
		what += " unasked"
	}
	at := s.exitAt
	if s.exit != nil {
		what += " (" + s.exit.String() + ")"
	} else {
		what += " (its process still running)"
		at = time.Now()
	}
	if s.said != "" {
		what += fmt.Sprintf(" %s after %s", at.Sub(s.saidAt).Round(time.Millisecond), strings.TrimPrefix(s.said, "Status "))
	}
	switch {
	case shutdown:
		what += fmt.Sprintf(", %s after the %s was sent, without answering it (no ShuttingDown came): a runner answers Shutdown with Status ShuttingDown, lets its tasks end (or cancels them) within the timeout, reports Status Shutdown, then exits (docs/protocol.md)",
			at.Sub(s.shutdownAt).Round(time.Millisecond), s.shutdownSent)
	case s.sent != "" && s.sentAt.After(s.saidAt):
		what += fmt.Sprintf(", before it answered the suite's %s (sent %s before): a runner runs until its Shutdown frame or stdin's end (docs/protocol.md)",
			s.sent, at.Sub(s.sentAt).Round(time.Millisecond))
	case s.sent != "":
		what += fmt.Sprintf(", with nothing asked of it since the suite's %s: a runner runs until its Shutdown frame or stdin's end (docs/protocol.md)", s.sent)
	default:
		what += ": a runner runs until its Shutdown frame or stdin's end (docs/protocol.md)"
	}
	switch i, line := proc.CauseLine(s.stderr); {
	case s.exit != nil && !s.exit.Signaled() && s.exit.Err == nil && s.exit.Code == 0:
		if shutdown {
			what += "; if it ended before it read the Shutdown, it ended on its own"
		}
		what += "; check that its main thread does not return while other threads work"
	case (s.exit != nil || shutdown) && i >= 0:
		// The line that says why, as the node quotes it (a trial: the node
		// named the ValueError, conformance only pointed at stderr); a
		// crash on the Shutdown too (a review).
		what += fmt.Sprintf("; its stderr says %q", line)
	case s.exit != nil || shutdown:
		what += "; its stderr may say why it ended"
	}
	if s.sent == unknownFrame {
		what += "; if the unknown frame ended it, it must say why first: Failed(error_message) and TerminationError"
	}
	return errors.New(what)
}

// ready reads statuses after the handshake until Ready; each must be a legal
// transition, and nothing but statuses and heartbeats may come. It returns
// the statuses seen.
func (s *session) ready() ([]string, error) {
	var seen []string
	deadline := time.Now().Add(s.cfg.ReadyTimeout)
	for {
		env, err := s.frame(time.Until(deadline), true)
		if err != nil {
			return seen, s.missing(fmt.Sprintf("Ready (statuses so far %v)", seen), s.cfg.ReadyTimeout, err)
		}
		st := env.GetStatusUpdated()
		if st == nil {
			return seen, fmt.Errorf("%s before Ready (statuses so far %v)", describe(env), seen)
		}
		if err := s.applyStatus(st.GetStatus()); err != nil {
			return seen, err
		}
		seen = append(seen, protocol.FormatStatus(st.GetStatus()))
		if s.status == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
			return seen, nil
		}
	}
}

// applyStatus checks a reported status against the legal transitions.
func (s *session) applyStatus(st *exov1.RunnerStatus) error {
	to := st.GetKind()
	if !protocol.ValidTransition(s.status, to) {
		return fmt.Errorf("illegal status transition %s → %s (after %s a runner reports %s; docs/protocol.md, \"Runner statuses\")",
			protocol.StatusName(s.status), protocol.FormatStatus(st), protocol.StatusName(s.status), protocol.LegalAfter(s.status))
	}
	if to == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING {
		// The node refuses these too: a runner that passed here with
		// Loading(0/0) stayed Idle on a node and was killed as stalled.
		if p := protocol.LoadingProblem(s.last, st); p != "" {
			return fmt.Errorf("illegal report: %s (docs/protocol.md, \"Runner statuses\")", p)
		}
	}
	s.status = to
	s.last = st
	return nil
}

// announced reports whether the runner's Hello named capability c.
func (s *session) announced(c string) bool {
	for _, x := range s.hello.GetCapabilities() {
		if x == c {
			return true
		}
	}
	return false
}

// task sends a task of the configured kind with max_tokens.
func (s *session) task(id string, maxTokens int) error {
	params := map[string]string{}
	for k, v := range s.cfg.Params {
		params[k] = v
	}
	params["max_tokens"] = fmt.Sprint(maxTokens)
	return s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{
		Id: id, Kind: s.cfg.TaskKind, Params: params}}})
}

// waitExit waits up to d for the process to exit, and then (briefly) for
// the frames it wrote before exiting; it returns those frames and whether
// it exited.
func (s *session) waitExit(d time.Duration) ([]*exov1.RunnerEnvelope, bool) {
	deadline := time.Now().Add(d)
	var frames []*exov1.RunnerEnvelope
	for s.exit == nil || !s.readerDone {
		if s.exit != nil && time.Until(deadline) < time.Second {
			deadline = time.Now().Add(time.Second) // the rest of stdout
		}
		m, err := s.next(time.Until(deadline))
		if err != nil {
			break
		}
		if env, ok := m.(*exov1.RunnerEnvelope); ok {
			frames = append(frames, env)
		}
	}
	return frames, s.exit != nil
}

// close kills the process group, reaps it and waits until every goroutine
// proc started for it has said its last word.
func (s *session) close() {
	s.closing = true
	if s.exit == nil {
		_ = s.p.Signal(syscall.SIGKILL)
	}
	s.p.CloseInput()
	deadline := time.Now().Add(10 * time.Second)
	forced := false
	for s.exit == nil || !s.readerDone || !s.stderrDone || !s.writerDone {
		if _, err := s.next(time.Until(deadline)); err == nil {
			continue
		}
		if forced {
			return // cannot happen: the pipes are closed
		}
		// A process outside the group holds the pipes: close our ends.
		s.p.ForceCloseOutput()
		forced, deadline = true, time.Now().Add(10*time.Second)
	}
}

// describe renders a runner frame on one line.
func describe(env *exov1.RunnerEnvelope) string {
	switch b := env.GetBody().(type) {
	case *exov1.RunnerEnvelope_Hello:
		h := b.Hello
		return fmt.Sprintf("Hello{versions [%d, %d], runner_id %q, pid %d, capabilities %v}",
			h.GetMinVersion(), h.GetMaxVersion(), h.GetRunnerId(), h.GetPid(), h.GetCapabilities())
	case *exov1.RunnerEnvelope_StatusUpdated:
		return "Status " + protocol.FormatStatus(b.StatusUpdated.GetStatus())
	case *exov1.RunnerEnvelope_TaskAcknowledged:
		return "TaskAcknowledged " + b.TaskAcknowledged.GetTaskId()
	case *exov1.RunnerEnvelope_TaskStatusUpdated:
		u := b.TaskStatusUpdated
		s := fmt.Sprintf("TaskStatus %s %s", u.GetTaskId(), strings.TrimPrefix(u.GetStatus().String(), "TASK_STATUS_"))
		if u.GetReason() != "" {
			s += fmt.Sprintf(" (%s)", u.GetReason())
		}
		return s
	case *exov1.RunnerEnvelope_ChunkGenerated:
		c := b.ChunkGenerated
		if e := c.GetError(); e != nil {
			return fmt.Sprintf("ErrorChunk %s #%d %q", c.GetTaskId(), c.GetIndex(), e.GetErrorMessage())
		}
		s := fmt.Sprintf("Chunk %s #%d %q", c.GetTaskId(), c.GetIndex(), c.GetToken().GetText())
		if r := c.GetToken().GetFinishReason(); r != "" {
			s += " finish_reason=" + r
		}
		return s
	case *exov1.RunnerEnvelope_TerminationError:
		return fmt.Sprintf("TerminationError %q", b.TerminationError.GetMessage())
	case *exov1.RunnerEnvelope_Heartbeat:
		h := b.Heartbeat
		return fmt.Sprintf("Heartbeat{seq %d, tokens %d, layers %d, completed %d, nonce %d}",
			h.GetSeq(), h.GetTokensProduced(), h.GetLayersLoaded(), h.GetTasksCompleted(), h.GetPingNonce())
	}
	return "an envelope with no body"
}

// withEncoderHint adds to a frame error whose body is protobuf that the
// runner's encoder got wrong (frame.Error.Misencoded) what to do about it,
// as the node's failure says it.
func withEncoderHint(err error) error {
	var fe *frame.Error
	if errors.As(err, &fe) && fe.Misencoded() {
		return fmt.Errorf("%w; %s", err, fe.EncoderHint())
	}
	return err
}
