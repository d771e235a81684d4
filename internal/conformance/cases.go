package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// caseFunc runs one case on a fresh session. It returns the evidence and nil
// to pass, errSkip (wrapped) to skip, any other error to fail.
type caseFunc func(s *session) (evidence []string, err error)

// errSkip marks a case that does not apply (a capability not announced).
var errSkip = errors.New("skipped")

func skipf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errSkip}, args...)...)
}

// testCase is one conformance case.
type testCase struct {
	name string
	what string // what it checks, one line
	run  caseFunc
}

// cases lists the suite in the order it runs.
var cases = []testCase{
	{"hello", "Hello is the first frame, within the handshake timeout, with a version range containing 1, the runner's PID and EXO_RUNNER_ID", caseHello},
	{"version-refusal", "after HelloRefused the runner exits by itself within the exit grace", caseVersionRefusal},
	{"capabilities", "capabilities are named once each; known ones are listed", caseCapabilities},
	{"status-order", "statuses up to Ready are legal transitions from Idle, with nothing else but heartbeats before Ready", caseStatusOrder},
	{"ack-before-work", "a task's TaskStatus Running comes first, then TaskAcknowledged, before any chunk or end, within the ack timeout", caseAck},
	{"chunk-order", "chunks carry the task's ID and indices 0, 1, 2, ... in order; Complete then Ready end the task", caseChunkOrder},
	{"finish-reason", "the last token chunk, and only it, has a finish_reason", caseFinishReason},
	{"next-task-before-ready", "a Task sent right after the terminal TaskStatus (before Ready) is run, not refused, and no Ready comes while it runs", caseBackToBack},
	{"cancel", "with the cancel capability, Cancel{task_id} ends a running task Cancelled within the cancel wait, then Ready", caseCancel},
	{"cancel-all", "Cancel{all} ends every running task Cancelled (with cancel), or is survived (without)", caseCancelAll},
	{"heartbeat", "heartbeats come at the asked interval (HelloAccepted), seq counting up by one (the case watches after Ready, so its first seq is past 1)", caseHeartbeat},
	{"progress", "with the progress capability, heartbeat counters are honest: tokens never ahead of the chunks sent, tasks_completed and layers_loaded exact", caseProgress},
	{"shutdown", "Shutdown{timeout}: ShuttingDown, Shutdown, exit 0 within the timeout", caseShutdown},
	{"shutdown-mid-task", "Shutdown{timeout} while a task streams (read while it streams): ShuttingDown, the task ends Cancelled, Shutdown, exit 0 within the timeout (an exit decided in async work, e.g. after the task's loop ends, must not hang)", caseShutdownMidTask},
	{"stdin-eof", "the end of stdin (supervisor gone) makes the runner exit within the exit grace", caseStdinEOF},
	{"no-stray-stdout", "over a whole life (handshake, Ready, a task, a second idle, Shutdown) every stdout byte is a valid frame", caseStdoutClean},
	{"unknown-message", "a supervisor frame with a body this version does not know is refused clearly (Failed/TerminationError and an exit code) or ignored, never a crash", caseUnknownMessage},
}

// Names returns the case names in the order the suite runs them.
func Names() []string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.name
	}
	return names
}

func caseHello(s *session) ([]string, error) {
	env, err := s.frame(s.cfg.Handshake, false)
	if err != nil {
		return nil, s.missing("frame", s.cfg.Handshake, err)
	}
	h := env.GetHello()
	if h == nil {
		return nil, fmt.Errorf("first frame is %s, not Hello", describe(env))
	}
	ev := []string{fmt.Sprintf("first frame after %s: %s", s.since(), describe(env))}
	var errs []string
	if h.GetMinVersion() > h.GetMaxVersion() {
		errs = append(errs, fmt.Sprintf("empty version range [%d, %d]", h.GetMinVersion(), h.GetMaxVersion()))
	}
	if _, err := protocol.Negotiate(h.GetMinVersion(), h.GetMaxVersion(), protocol.MinVersion, protocol.MaxVersion); err != nil {
		errs = append(errs, err.Error())
	}
	if int(h.GetPid()) != s.p.Pid {
		errs = append(errs, fmt.Sprintf("pid %d, but the process is %d", h.GetPid(), s.p.Pid))
	}
	if h.GetRunnerId() != s.id {
		errs = append(errs, fmt.Sprintf("runner_id %q, but %s=%s", h.GetRunnerId(), protocol.EnvRunnerID, s.id))
	}
	if len(errs) > 0 {
		return ev, errors.New(strings.Join(errs, "; "))
	}
	return ev, nil
}

func caseVersionRefusal(s *session) ([]string, error) {
	env, err := s.frame(s.cfg.Handshake, false)
	if err != nil || env.GetHello() == nil {
		return nil, fmt.Errorf("no Hello first: %v", err)
	}
	h := env.GetHello()
	supMin, supMax := h.GetMaxVersion()+1, h.GetMaxVersion()+1
	reason := fmt.Sprintf("runner speaks [%d, %d], supervisor speaks [%d, %d]; upgrade the older side (conformance test)",
		h.GetMinVersion(), h.GetMaxVersion(), supMin, supMax)
	if err := s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloRefused{HelloRefused: &exov1.HelloRefused{
		Reason: reason, SupervisorMinVersion: supMin, SupervisorMaxVersion: supMax}}}); err != nil {
		return nil, err
	}
	sent := time.Now()
	frames, exited := s.waitExit(s.cfg.ExitGrace)
	ev := []string{fmt.Sprintf("sent HelloRefused (supervisor speaks [%d, %d])", supMin, supMax)}
	for _, f := range frames {
		if f.GetHeartbeat() == nil {
			ev = append(ev, "then "+describe(f))
		}
	}
	if !exited {
		return ev, fmt.Errorf("still running %s after HelloRefused (exit grace %s)", s.cfg.ExitGrace, s.cfg.ExitGrace)
	}
	ev = append(ev, fmt.Sprintf("exited %s after the refusal: %s", s.exitAt.Sub(sent).Round(time.Millisecond), s.exit))
	if s.exit.Signaled() {
		return ev, fmt.Errorf("died by a signal (%s) rather than exiting", s.exit)
	}
	return ev, nil
}

func caseCapabilities(s *session) ([]string, error) {
	if err := s.handshake(); err != nil {
		return nil, err
	}
	caps := s.hello.GetCapabilities()
	seen := map[string]bool{}
	var known, unknown, dup []string
	for _, c := range caps {
		if seen[c] {
			dup = append(dup, c)
		}
		seen[c] = true
		switch c {
		case protocol.CapCancel, protocol.CapProgress:
			known = append(known, c)
		default:
			unknown = append(unknown, c)
		}
	}
	ev := []string{fmt.Sprintf("capabilities %v: known %v", caps, known)}
	if len(unknown) > 0 {
		ev = append(ev, fmt.Sprintf("unknown to this supervisor (ignored): %v", unknown))
	}
	if len(dup) > 0 {
		return ev, fmt.Errorf("capabilities named more than once: %v", dup)
	}
	for _, c := range caps {
		if c == "" || strings.TrimSpace(c) != c {
			return ev, fmt.Errorf("capability %q is empty or has spaces", c)
		}
	}
	return ev, nil
}

func caseStatusOrder(s *session) ([]string, error) {
	if err := s.handshake(); err != nil {
		return nil, err
	}
	seen, err := s.ready()
	ev := []string{"statuses: Idle → " + strings.Join(seen, " → ")}
	if err != nil {
		return ev, err
	}
	ev = append(ev, fmt.Sprintf("Ready %s after the start", s.since()))
	return ev, nil
}

// toReady runs the handshake and waits for Ready.
func toReady(s *session) error {
	if err := s.handshake(); err != nil {
		return err
	}
	_, err := s.ready()
	return err
}

// taskLife is what a task's frames looked like.
type taskLife struct {
	frames   []string // descriptions, heartbeats left out
	chunks   []*exov1.ChunkGenerated
	terminal *exov1.TaskStatusUpdated
	ackAt    int // index in frames of TaskAcknowledged, -1 if none
	ready    bool
	err      error
}

// runTask sends a task and reads until its terminal status and the Ready
// after it (or limit). Out-of-order frames are recorded, not fatal: the
// caller decides.
func runTask(s *session, id string, maxTokens int, limit time.Duration) *taskLife {
	l := &taskLife{ackAt: -1}
	if l.err = s.task(id, maxTokens); l.err != nil {
		return l
	}
	deadline := time.Now().Add(limit)
	for {
		env, err := s.frame(time.Until(deadline), true)
		if err != nil {
			l.err = fmt.Errorf("task %s, %s: %v (%s)", id, framesSoFar(len(l.frames), err), err, s.describeEnd())
			return l
		}
		l.frames = append(l.frames, describe(env))
		switch {
		case env.GetTaskAcknowledged() != nil:
			if l.ackAt < 0 {
				l.ackAt = len(l.frames) - 1
			}
		case env.GetChunkGenerated() != nil:
			l.chunks = append(l.chunks, env.GetChunkGenerated())
		case env.GetTaskStatusUpdated() != nil:
			if u := env.GetTaskStatusUpdated(); u.GetStatus() != exov1.TaskStatus_TASK_STATUS_RUNNING {
				l.terminal = u
			}
		case env.GetStatusUpdated() != nil:
			st := env.GetStatusUpdated().GetStatus()
			if err := s.applyStatus(st); err != nil {
				l.err = err
				return l
			}
			if l.terminal != nil && st.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
				l.ready = true
				return l
			}
		case env.GetTerminationError() != nil:
			l.err = fmt.Errorf("runner sent %s", describe(env))
			return l
		}
	}
}

// framesSoFar says where in a task's frames (n of them so far, heartbeats
// aside) err came. A frame error's number counts the whole stream since
// the runner started, which a trial's reader took for a contradiction
// ("frame 17 at byte 192: … after 0 frames").
func framesSoFar(n int, err error) string {
	where := "before any frame of it"
	if n > 0 {
		where = fmt.Sprintf("after %d of its frames", n)
	}
	if fe := (*frame.Error)(nil); errors.As(err, &fe) {
		where += " (heartbeats aside; a frame's number counts every frame since the runner started)"
	}
	return where
}

// summary shortens a task's frames for evidence: the first and last few.
func (l *taskLife) summary() string { return summarize(l.frames) }

func caseAck(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	if err := s.task("ack-1", 3); err != nil {
		return nil, err
	}
	sent := time.Now()
	var ev []string
	for i := 0; ; i++ {
		env, err := s.frame(s.cfg.AckTimeout-time.Since(sent), true)
		if err != nil {
			return ev, s.missing("TaskAcknowledged", s.cfg.AckTimeout, err)
		}
		ev = append(ev, describe(env))
		if st := env.GetStatusUpdated(); st != nil {
			if err := s.applyStatus(st.GetStatus()); err != nil {
				return ev, err
			}
			continue
		}
		if i == 0 && env.GetTaskStatusUpdated().GetStatus() != exov1.TaskStatus_TASK_STATUS_RUNNING {
			return ev, fmt.Errorf("first task frame is %s, want TaskStatus ack-1 RUNNING", describe(env))
		}
		if env.GetTaskAcknowledged() != nil {
			ev = append(ev, fmt.Sprintf("acknowledged %s after the Task", time.Since(sent).Round(time.Millisecond)))
			return ev, nil
		}
		if env.GetChunkGenerated() != nil || env.GetTaskStatusUpdated().GetStatus() > exov1.TaskStatus_TASK_STATUS_RUNNING {
			return ev, fmt.Errorf("%s before TaskAcknowledged: the supervisor ignores work it was not told was accepted", describe(env))
		}
	}
}

func caseChunkOrder(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	l := runTask(s, "chunks-1", 5, s.cfg.TaskTimeout)
	ev := []string{"frames: " + l.summary()}
	if l.err != nil {
		return ev, l.err
	}
	for i, c := range l.chunks {
		if c.GetTaskId() != "chunks-1" {
			return ev, fmt.Errorf("chunk %d names task %q, want chunks-1", i, c.GetTaskId())
		}
		if c.GetIndex() != uint64(i) {
			return ev, fmt.Errorf("chunk %d has index %d: indices must count 0, 1, 2, ... in order", i, c.GetIndex())
		}
	}
	if l.ackAt < 0 {
		return ev, errors.New("no TaskAcknowledged")
	}
	if l.terminal.GetStatus() != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		return ev, fmt.Errorf("task ended %s, want COMPLETE", describeStatus(l.terminal))
	}
	ev = append(ev, fmt.Sprintf("%d chunks, indices 0..%d, then Complete and Ready", len(l.chunks), len(l.chunks)-1))
	return ev, nil
}

func caseFinishReason(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	l := runTask(s, "finish-1", 5, s.cfg.TaskTimeout)
	ev := []string{"frames: " + l.summary()}
	if l.err != nil {
		return ev, l.err
	}
	if len(l.chunks) == 0 {
		return ev, fmt.Errorf("no chunks for a %s task with max_tokens=5: the suite needs a task kind that streams max_tokens token chunks (--task-kind; docs/runners.md)", s.cfg.TaskKind)
	}
	for i, c := range l.chunks {
		r := c.GetToken().GetFinishReason()
		last := i == len(l.chunks)-1
		if last && r == "" {
			return ev, fmt.Errorf("the last chunk (#%d) has no finish_reason", c.GetIndex())
		}
		if !last && r != "" {
			return ev, fmt.Errorf("chunk #%d has finish_reason %q but is not the last", c.GetIndex(), r)
		}
	}
	ev = append(ev, fmt.Sprintf("finish_reason %q on chunk #%d of %d", l.chunks[len(l.chunks)-1].GetToken().GetFinishReason(),
		len(l.chunks)-1, len(l.chunks)))
	return ev, nil
}

// next-task-before-ready: how long task b2b-2 runs while the case watches
// for a Ready (every Ready is checked against the tasks in flight, see
// session.checkTasks). A runner that decides Ready when a task ends but
// writes it late, after it accepted the next task, shows it in this window
// however late it writes it, up to the window: with the cancel capability
// b2b-2 is endless and cancelled only after b2bWatch and b2bChunks chunks;
// without it, b2b-2 asks for b2bTokens tokens.
const (
	b2bWatch  = 500 * time.Millisecond
	b2bChunks = 10
	b2bTokens = 100
)

func caseBackToBack(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	if err := s.task("b2b-1", 2); err != nil {
		return nil, err
	}
	withCancel := s.announced(protocol.CapCancel)
	tokens := b2bTokens
	if withCancel {
		tokens = 1_000_000
	}
	var (
		ev       []string
		second   []string // b2b-2's frames and what follows, heartbeats left out
		sentAt   time.Time
		runAt    time.Time // b2b-2's TaskStatus Running
		chunks   int
		cancelAt time.Time
		end      *exov1.TaskStatusUpdated
	)
	sentSecond := false
	deadline := time.Now().Add(s.cfg.TaskTimeout)
	then := func() string { return "then: " + summarize(second) }
	for {
		env, err := s.frame(time.Until(deadline), false)
		if err != nil {
			if sentSecond {
				ev = append(ev, then())
			}
			// Name the wait that ran out: a trial read "timed out
			// (process still running)" and could not tell which.
			what := "end of task b2b-1 (its terminal TaskStatus)"
			switch {
			case sentSecond && !cancelAt.IsZero():
				what = "end of task b2b-2 after its Cancel (does the task's handler stop when cancelled? docs/runners.md)"
			case sentSecond:
				what = "end of task b2b-2"
			}
			return ev, s.missing(what, s.cfg.TaskTimeout, err)
		}
		if st := env.GetStatusUpdated(); st != nil {
			if err := s.applyStatus(st.GetStatus()); err != nil {
				return append(ev, then()), err
			}
		}
		if env.GetHeartbeat() == nil && sentSecond {
			second = append(second, describe(env))
		}
		u := env.GetTaskStatusUpdated()
		switch {
		case !sentSecond && u != nil && u.GetTaskId() == "b2b-1" && u.GetStatus() > exov1.TaskStatus_TASK_STATUS_RUNNING:
			// Sent before the runner's Ready reaches us: the supervisor may
			// do this, so ending a task and becoming Ready must be atomic.
			if err := s.task("b2b-2", tokens); err != nil {
				return ev, err
			}
			sentSecond, sentAt = true, time.Now()
			ev = append(ev, "sent task b2b-2 on reading "+describe(env))
		case u != nil && u.GetTaskId() == "b2b-2" && u.GetStatus() == exov1.TaskStatus_TASK_STATUS_RUNNING:
			runAt = time.Now()
		case u != nil && u.GetTaskId() == "b2b-2" && u.GetStatus() > exov1.TaskStatus_TASK_STATUS_RUNNING:
			end = u
		case env.GetChunkGenerated().GetTaskId() == "b2b-2":
			chunks++
		}
		if end == nil && withCancel && cancelAt.IsZero() && !runAt.IsZero() && chunks >= b2bChunks && time.Since(runAt) >= b2bWatch {
			if err := s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{
				Target: &exov1.Cancel_TaskId{TaskId: "b2b-2"}}}}); err != nil {
				return ev, err
			}
			cancelAt = time.Now()
			second = append(second, fmt.Sprintf("(Cancel b2b-2 sent after %s and %d chunks of it)", cancelAt.Sub(runAt).Round(time.Millisecond), chunks))
		}
		if end == nil || s.status != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
			continue
		}
		// b2b-2 ended and the runner is Ready.
		ev = append(ev, then())
		want := exov1.TaskStatus_TASK_STATUS_COMPLETE
		if !cancelAt.IsZero() {
			want = exov1.TaskStatus_TASK_STATUS_CANCELLED
		}
		if st := end.GetStatus(); st != want && st != exov1.TaskStatus_TASK_STATUS_COMPLETE || chunks == 0 {
			return ev, fmt.Errorf("task b2b-2, sent between b2b-1's end and Ready, ended %s after %d chunks: a runner must end a task and become Ready atomically, and run the next task",
				describeStatus(end), chunks)
		}
		ran := "ran"
		if !cancelAt.IsZero() {
			ran = "ran until cancelled"
		}
		ev = append(ev, fmt.Sprintf("b2b-2 %s (%s, %d chunks; no Ready while it ran), then Ready %s after it was sent",
			ran, strings.TrimPrefix(end.GetStatus().String(), "TASK_STATUS_"), chunks, time.Since(sentAt).Round(time.Millisecond)))
		if !withCancel {
			ev = append(ev, fmt.Sprintf("cancel not announced: b2b-2 asked for only %d tokens, so a Ready written later than its end escapes this check", b2bTokens))
		}
		return ev, nil
	}
}

// summarize shortens frame descriptions for evidence: the first and last few.
func summarize(f []string) string {
	if len(f) > 8 {
		f = append(append(append([]string(nil), f[:4]...), fmt.Sprintf("… %d more …", len(f)-7)), f[len(f)-3:]...)
	}
	return strings.Join(f, ", ")
}

// longTask starts a task long enough to cancel and waits for its first chunk.
func longTask(s *session, id string) error {
	if err := s.task(id, 1_000_000); err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.TaskTimeout)
	for {
		env, err := s.frame(time.Until(deadline), true)
		if err != nil {
			return fmt.Errorf("task %s: no chunk: %v", id, err)
		}
		if st := env.GetStatusUpdated(); st != nil {
			if err := s.applyStatus(st.GetStatus()); err != nil {
				return err
			}
		}
		if env.GetChunkGenerated() != nil {
			return nil
		}
	}
}

// awaitEnds reads until every task in ids has a terminal status and the
// runner reported Ready after them, or the limit passes.
func awaitEnds(s *session, ids []string, limit time.Duration) (map[string]*exov1.TaskStatusUpdated, bool, error) {
	ends := map[string]*exov1.TaskStatusUpdated{}
	deadline := time.Now().Add(limit)
	for {
		env, err := s.frame(time.Until(deadline), true)
		if err != nil {
			return ends, false, err
		}
		if u := env.GetTaskStatusUpdated(); u != nil && u.GetStatus() > exov1.TaskStatus_TASK_STATUS_RUNNING {
			ends[u.GetTaskId()] = u
		}
		if st := env.GetStatusUpdated(); st != nil {
			if err := s.applyStatus(st.GetStatus()); err != nil {
				return ends, false, err
			}
			if st.GetStatus().GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY && len(ends) == len(ids) {
				return ends, true, nil
			}
		}
	}
}

func caseCancel(s *session) ([]string, error) {
	if err := s.handshake(); err != nil {
		return nil, err
	}
	if !s.announced(protocol.CapCancel) {
		return nil, skipf("the runner does not announce %q: the supervisor never sends it Cancel", protocol.CapCancel)
	}
	if _, err := s.ready(); err != nil {
		return nil, err
	}
	if err := longTask(s, "cancel-1"); err != nil {
		return nil, err
	}
	if err := s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{
		Target: &exov1.Cancel_TaskId{TaskId: "cancel-1"}}}}); err != nil {
		return nil, err
	}
	sent := time.Now()
	ends, ready, err := awaitEnds(s, []string{"cancel-1"}, s.cfg.CancelWait)
	u := ends["cancel-1"]
	if u == nil {
		return nil, fmt.Errorf("%w; a cancelled task must end at once: stop its work when the Cancel comes (in the SDKs, return when the task's context is done, or check task.cancelled)",
			s.missing("terminal TaskStatus after Cancel{task_id} (cancel wait)", s.cfg.CancelWait, err))
	}
	ev := []string{fmt.Sprintf("Cancel{task_id} → %s after %s", describeStatus(u), time.Since(sent).Round(time.Millisecond))}
	if u.GetStatus() != exov1.TaskStatus_TASK_STATUS_CANCELLED {
		return ev, fmt.Errorf("task ended %s, want CANCELLED", describeStatus(u))
	}
	if !ready {
		return ev, fmt.Errorf("no Ready after the cancelled task: %v", err)
	}
	return append(ev, "then Ready"), nil
}

func describeStatus(u *exov1.TaskStatusUpdated) string {
	s := strings.TrimPrefix(u.GetStatus().String(), "TASK_STATUS_")
	if u.GetReason() != "" {
		s += fmt.Sprintf(" (%s)", u.GetReason())
	}
	return s
}

func caseCancelAll(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	withCancel := s.announced(protocol.CapCancel)
	if err := longTask(s, "all-1"); err != nil {
		return nil, err
	}
	if err := s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{
		Target: &exov1.Cancel_All{All: true}}}}); err != nil {
		return nil, err
	}
	sent := time.Now()
	if !withCancel {
		// Without the capability the runner may ignore it, but must survive it.
		if err := heartbeatsFor(s, 3*s.interval+200*time.Millisecond); err != nil {
			return nil, fmt.Errorf("after Cancel{all} (cancel not announced): %v", err)
		}
		return []string{"cancel not announced: Cancel{all} survived, heartbeats go on"}, nil
	}
	ends, ready, err := awaitEnds(s, []string{"all-1"}, s.cfg.CancelWait)
	u := ends["all-1"]
	if u == nil {
		return nil, s.missing("terminal TaskStatus after Cancel{all} (cancel wait)", s.cfg.CancelWait, err)
	}
	ev := []string{fmt.Sprintf("Cancel{all} → %s after %s", describeStatus(u), time.Since(sent).Round(time.Millisecond))}
	if u.GetStatus() != exov1.TaskStatus_TASK_STATUS_CANCELLED {
		return ev, fmt.Errorf("task ended %s, want CANCELLED", describeStatus(u))
	}
	if !ready {
		return ev, fmt.Errorf("no Ready after the cancelled task: %v", err)
	}
	return append(ev, "then Ready"), nil
}

// heartbeatsFor reads for d and fails unless heartbeats keep coming.
func heartbeatsFor(s *session, d time.Duration) error {
	deadline := time.Now().Add(d)
	n := 0
	for time.Now().Before(deadline) {
		env, err := s.frame(time.Until(deadline), false)
		if errors.Is(err, errTimeout) {
			break
		}
		if err != nil {
			return err
		}
		if env.GetHeartbeat() != nil {
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("no heartbeat for %s (%s)", d, s.describeEnd())
	}
	return nil
}

func caseHeartbeat(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	window := s.cfg.HeartbeatWindow
	deadline := time.Now().Add(window)
	var (
		times []time.Time
		seqs  []uint64
	)
	for time.Now().Before(deadline) {
		env, err := s.frame(time.Until(deadline), false)
		if errors.Is(err, errTimeout) {
			break
		}
		if err != nil {
			return nil, err
		}
		if hb := env.GetHeartbeat(); hb != nil {
			times = append(times, time.Now())
			seqs = append(seqs, hb.GetSeq())
		}
	}
	asked := s.interval
	if len(times) < 2 {
		return nil, fmt.Errorf("%d heartbeats in %s at an asked interval of %s", len(times), window, asked)
	}
	var maxGap time.Duration
	for i := 1; i < len(times); i++ {
		maxGap = max(maxGap, times[i].Sub(times[i-1]))
	}
	mean := times[len(times)-1].Sub(times[0]) / time.Duration(len(times)-1)
	ev := []string{fmt.Sprintf("%d heartbeats in %s: mean interval %s, longest gap %s (asked %s); seq %d..%d",
		len(times), window, mean.Round(time.Millisecond), maxGap.Round(time.Millisecond), asked, seqs[0], seqs[len(seqs)-1])}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] != seqs[i-1]+1 {
			return ev, fmt.Errorf("seq jumps from %d to %d: it counts heartbeats sent, by one", seqs[i-1], seqs[i])
		}
	}
	if mean > 2*asked || mean < asked/2 {
		return ev, fmt.Errorf("mean interval %s is not within [%s, %s] of the asked %s", mean.Round(time.Millisecond), asked/2, 2*asked, asked)
	}
	// Generous: the machine may be busy. A gap past the supervisor's
	// heartbeat timeout would be a hang.
	if limit := 5*asked + 500*time.Millisecond; maxGap > limit {
		return ev, fmt.Errorf("a gap of %s between heartbeats (limit here %s)", maxGap.Round(time.Millisecond), limit)
	}
	return ev, nil
}

func caseProgress(s *session) ([]string, error) {
	if err := s.handshake(); err != nil {
		return nil, err
	}
	if !s.announced(protocol.CapProgress) {
		return nil, skipf("the runner does not announce %q: the supervisor does not check its counters", protocol.CapProgress)
	}
	if _, err := s.ready(); err != nil {
		return nil, err
	}
	loaded := s.lastLoading
	const n = 50
	if err := s.task("progress-1", n); err != nil {
		return nil, err
	}
	chunks, heartbeats := 0, 0
	done := false
	var last *exov1.Heartbeat
	deadline := time.Now().Add(s.cfg.TaskTimeout)
	for {
		env, err := s.frame(time.Until(deadline), false)
		if err != nil {
			return nil, fmt.Errorf("%v after %d chunks and %d heartbeats (%s)", err, chunks, heartbeats, s.describeEnd())
		}
		if c := env.GetChunkGenerated(); c != nil && c.GetToken() != nil {
			chunks++
		}
		if u := env.GetTaskStatusUpdated(); u != nil && u.GetStatus() == exov1.TaskStatus_TASK_STATUS_COMPLETE {
			done = true
		}
		hb := env.GetHeartbeat()
		if hb == nil {
			continue
		}
		heartbeats++
		if last != nil && (hb.GetTokensProduced() < last.GetTokensProduced() || hb.GetTasksCompleted() < last.GetTasksCompleted()) {
			return nil, fmt.Errorf("counters went backwards: %s after %s", describe(env), describe(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: last}}))
		}
		last = hb
		if hb.GetTokensProduced() > uint64(chunks) {
			return nil, fmt.Errorf("heartbeat claims %d tokens when only %d token chunks were sent before it", hb.GetTokensProduced(), chunks)
		}
		if done {
			break // the first heartbeat after Complete
		}
	}
	ev := []string{fmt.Sprintf("%d token chunks, %d heartbeats; after Complete: %s (Loading reported %d layers)",
		chunks, heartbeats, describe(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: last}}), loaded)}
	if last.GetTokensProduced() != uint64(chunks) {
		return ev, fmt.Errorf("tokens_produced %d after the task, want %d (token chunks sent)", last.GetTokensProduced(), chunks)
	}
	if last.GetTasksCompleted() != 1 {
		return ev, fmt.Errorf("tasks_completed %d after one completed task, want 1", last.GetTasksCompleted())
	}
	if last.GetLayersLoaded() != loaded {
		return ev, fmt.Errorf("layers_loaded %d, but the last Loading status said %d", last.GetLayersLoaded(), loaded)
	}
	return ev, nil
}

func caseShutdown(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	grace := s.cfg.StopGrace
	if err := s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{
		Timeout: durationpb.New(grace)}}}); err != nil {
		return nil, err
	}
	sent := time.Now()
	frames, exited := s.waitExit(grace + 500*time.Millisecond)
	var statuses []string
	for _, f := range frames {
		if st := f.GetStatusUpdated(); st != nil {
			statuses = append(statuses, protocol.FormatStatus(st.GetStatus()))
		}
	}
	ev := []string{fmt.Sprintf("Shutdown{timeout %s} → statuses %v", grace, statuses)}
	if !exited {
		return ev, fmt.Errorf("still running %s after Shutdown{timeout %s}: the supervisor would send SIGTERM now", time.Since(sent).Round(time.Millisecond), grace)
	}
	ev = append(ev, fmt.Sprintf("exited %s after Shutdown: %s", s.exitAt.Sub(sent).Round(time.Millisecond), s.exit))
	want := []string{"ShuttingDown", "Shutdown"}
	if strings.Join(statuses, ",") != strings.Join(want, ",") {
		return ev, fmt.Errorf("statuses %v after Shutdown, want %v", statuses, want)
	}
	if s.exit.Signaled() || s.exit.Code != 0 {
		return ev, fmt.Errorf("exit %s after Shutdown, want exitcode=0", s.exit)
	}
	return ev, nil
}

// caseShutdownMidTask sends Shutdown while a long task streams: the
// runner must read it while the task streams (a single-threaded runner
// that reads frames only between tasks never does), end the task
// (Cancelled) and exit, as protocol.md, "Shutdown", step 1 says, within
// the Shutdown's timeout. Unlike the idle
// shutdown, the exit here follows async work (the task's loop noticing the
// cancel): the Node.js trial's runner, reading stdin with
// fs.createReadStream(null, {fd: 0}), hung in process.exit() from such a
// callback while a read was pending, and the supervisor had to SIGTERM it.
func caseShutdownMidTask(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	if err := longTask(s, "shut-1"); err != nil {
		return nil, err
	}
	grace := s.cfg.StopGrace
	if err := s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{
		Timeout: durationpb.New(grace)}}}); err != nil {
		return nil, err
	}
	sent := time.Now()
	frames, exited := s.waitExit(grace + 500*time.Millisecond)
	var seen []string // statuses and the task's end, in order
	var end *exov1.TaskStatusUpdated
	chunks := 0
	for _, f := range frames {
		switch {
		case f.GetStatusUpdated() != nil:
			seen = append(seen, protocol.FormatStatus(f.GetStatusUpdated().GetStatus()))
		case f.GetTaskStatusUpdated() != nil && f.GetTaskStatusUpdated().GetStatus() > exov1.TaskStatus_TASK_STATUS_RUNNING:
			end = f.GetTaskStatusUpdated()
			seen = append(seen, "TaskStatus "+end.GetTaskId()+" "+describeStatus(end))
		case f.GetChunkGenerated() != nil:
			chunks++
		}
	}
	ev := []string{fmt.Sprintf("Shutdown{timeout %s} while task shut-1 streamed → %v (and %d more chunks)", grace, seen, chunks)}
	if !exited {
		return ev, fmt.Errorf("still running %s after Shutdown{timeout %s} sent while a task streamed: the supervisor would send SIGTERM now (%s)",
			time.Since(sent).Round(time.Millisecond), grace, midTaskHangCause(seen, chunks))
	}
	ev = append(ev, fmt.Sprintf("exited %s after Shutdown: %s", s.exitAt.Sub(sent).Round(time.Millisecond), s.exit))
	if end == nil {
		return ev, errors.New("task shut-1 got no terminal TaskStatus before the exit: a Shutdown cancels the tasks, which end Cancelled (protocol.md, Shutdown, step 1)")
	}
	if end.GetStatus() != exov1.TaskStatus_TASK_STATUS_CANCELLED {
		return ev, fmt.Errorf("task shut-1 ended %s, want CANCELLED (protocol.md, Shutdown, step 1)", describeStatus(end))
	}
	want := []string{"ShuttingDown", "TaskStatus shut-1 " + describeStatus(end), "Shutdown"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		return ev, fmt.Errorf("after Shutdown: %v, want %v (no Ready after ShuttingDown; the task's end before Shutdown)", seen, want)
	}
	if s.exit.Signaled() || s.exit.Code != 0 {
		return ev, fmt.Errorf("exit %s after Shutdown, want exitcode=0", s.exit)
	}
	return ev, nil
}

// midTaskHangCause says, from what a runner still running after a
// Shutdown sent mid-task wrote after it (seen: its statuses and the task's
// end; chunks: the task's chunks), the likely cause, language-neutral
// first. No ShuttingDown while chunks kept coming: it did not read stdin
// while the task streamed (a single-threaded runner that reads the next
// frame only between tasks; the trial's hint named Node.js alone). The
// Shutdown answered: the exit itself hangs.
func midTaskHangCause(seen []string, chunks int) string {
	answered := slices.Contains(seen, "ShuttingDown")
	switch {
	case !answered && chunks > 0:
		return fmt.Sprintf("no ShuttingDown, and %d more chunks after the Shutdown: the runner did not read stdin while the task streamed, "+
			"or a before-shutdown hook held its ShuttingDown back (the SDKs run the hook first: the Go SDK's ShutdownHook, the Python SDK's before_shutdown); "+
			"read the supervisor's frames on a thread or async task of their own, so that a Shutdown or Cancel is seen while a task runs, and keep a hook short (docs/runners.md)",
			chunks)
	case !answered:
		return "no ShuttingDown, nor anything else, after the Shutdown: was the Shutdown read? " +
			"read the supervisor's frames on a thread or async task of their own, so that a Shutdown is seen while a task runs (docs/runners.md)"
	}
	return "it answered the Shutdown but did not exit: does the exit run from async work (the task's loop ending) and never return? " +
		"in Node.js, read stdin with process.stdin, not fs.createReadStream on fd 0 (docs/runners.md)"
}

func caseStdinEOF(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	s.closeInput()
	sent := time.Now()
	_, exited := s.waitExit(s.cfg.ExitGrace)
	if !exited {
		return nil, fmt.Errorf("still running %s after its stdin closed: a runner whose supervisor is gone must exit", s.cfg.ExitGrace)
	}
	ev := []string{fmt.Sprintf("stdin closed → exited %s later: %s", s.exitAt.Sub(sent).Round(time.Millisecond), s.exit)}
	if s.exit.Signaled() {
		return ev, fmt.Errorf("died by a signal (%s) rather than exiting", s.exit)
	}
	return ev, nil
}

func caseStdoutClean(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	l := runTask(s, "clean-1", 5, s.cfg.TaskTimeout)
	if l.err != nil {
		return []string{"frames: " + l.summary()}, l.err
	}
	// Idle a while (heartbeats only): what a runner prints on a timer or
	// a late log line shows up here, not only in a long life at a node (a
	// trial's runner printed 0.3 s after Ready, past this case's end).
	idle := time.Now().Add(strayIdle)
	for !s.readerDone {
		if _, err := s.next(time.Until(idle)); errors.Is(err, errTimeout) {
			break
		}
	}
	if s.readerErr != nil {
		return nil, fmt.Errorf("idle after a task, after %d good frames: %v", s.frames, s.readerErr)
	}
	if err := s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{
		Timeout: durationpb.New(s.cfg.StopGrace)}}}); err != nil {
		return nil, err
	}
	// Read to the end of stdout: every byte must be a frame.
	deadline := time.Now().Add(s.cfg.StopGrace + s.cfg.ExitGrace)
	for !s.readerDone {
		if _, err := s.next(time.Until(deadline)); err != nil {
			return nil, fmt.Errorf("stdout still open %s after Shutdown (%s)", s.cfg.StopGrace+s.cfg.ExitGrace, s.describeEnd())
		}
	}
	if s.readerErr != nil {
		return nil, fmt.Errorf("after %d good frames: %v", s.frames, s.readerErr)
	}
	return []string{fmt.Sprintf("%d frames, then a clean end of stdout", s.frames)}, nil
}

// strayIdle is how long no-stray-stdout keeps a Ready runner idle.
const strayIdle = time.Second

// unknownBody is a SupervisorEnvelope carrying only field 99, which no
// version of this protocol defines: what a newer supervisor might send.
func unknownBody() *exov1.SupervisorEnvelope {
	env := &exov1.SupervisorEnvelope{}
	raw := protowire.AppendTag(nil, 99, protowire.BytesType)
	raw = protowire.AppendBytes(raw, []byte("from a newer supervisor"))
	env.ProtoReflect().SetUnknown(raw)
	return env
}

func caseUnknownMessage(s *session) ([]string, error) {
	if err := toReady(s); err != nil {
		return nil, err
	}
	if err := s.send(unknownBody()); err != nil {
		return nil, err
	}
	sent := time.Now()
	var said []string
	deadline := time.Now().Add(time.Second)
	// Until the exit and the end of stdout: the frames a runner wrote just
	// before it exited may still be unread when the exit is seen (a loaded
	// machine showed "exited without saying why" for a runner that had
	// said Failed and TerminationError).
	for s.exit == nil || !s.readerDone {
		if s.exit != nil && time.Until(deadline) < time.Second {
			deadline = time.Now().Add(time.Second) // the rest of stdout
		}
		m, err := s.next(time.Until(deadline))
		if errors.Is(err, errTimeout) {
			break
		}
		env, ok := m.(*exov1.RunnerEnvelope)
		if !ok {
			continue
		}
		if st := env.GetStatusUpdated(); st != nil && st.GetStatus().GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED {
			said = append(said, fmt.Sprintf("Failed(%q)", st.GetStatus().GetErrorMessage()))
			deadline = time.Now().Add(s.cfg.ExitGrace)
		}
		if t := env.GetTerminationError(); t != nil {
			said = append(said, describe(env))
			deadline = time.Now().Add(s.cfg.ExitGrace)
		}
	}
	if s.readerErr != nil {
		// Its stdout broke meanwhile (a stray line, a bad frame): that is
		// the failure, whatever follows it.
		return []string{"sent an unknown frame"}, fmt.Errorf("its stdout broke after the unknown frame: %v", s.readerErr)
	}
	if len(said) == 0 && s.exit == nil {
		// Ignored: fine, if it still serves. Shut it down to prove it.
		ev := []string{"ignored the unknown frame; sent Shutdown to see it still serves"}
		if err := s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{
			Timeout: durationpb.New(s.cfg.StopGrace)}}}); err != nil {
			return ev, err
		}
		if _, exited := s.waitExit(s.cfg.StopGrace + 500*time.Millisecond); !exited || s.exit.Code != 0 {
			return ev, fmt.Errorf("after ignoring an unknown frame it did not shut down cleanly (%s)", s.describeEnd())
		}
		return append(ev, "then shut down cleanly: "+s.exit.String()), nil
	}
	ev := []string{"after an unknown frame: " + strings.Join(said, ", ")}
	if s.exit == nil {
		return ev, fmt.Errorf("refused, but still running %s later", time.Since(sent).Round(time.Millisecond))
	}
	ev = append(ev, fmt.Sprintf("exited %s later: %s", s.exitAt.Sub(sent).Round(time.Millisecond), s.exit))
	switch {
	case s.exit.Signaled():
		return ev, fmt.Errorf("crashed: %s", s.exit)
	case len(said) == 0:
		return ev, fmt.Errorf("exited (%s) without saying why: report Failed(error_message) and TerminationError first", s.exit)
	}
	return ev, nil
}
