package errhandler

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Kind names what went wrong. Kinds are stable identifiers: they appear in
// records, statistics, rules and docs/errors.md.
type Kind string

// Start and configuration.
const (
	// KindExecNotFound: the runner executable does not exist or is not on PATH.
	KindExecNotFound Kind = "exec_not_found"
	// KindSpawnFailed: starting the runner process failed for a reason of its
	// own (permission, not executable, bad working directory). Failures that
	// hit the whole node, such as fork failing, are KindNodeFault.
	KindSpawnFailed Kind = "spawn_failed"
	// KindVersionMismatch: the runner's Hello names a protocol version this
	// node does not speak.
	KindVersionMismatch Kind = "version_mismatch"
	// KindHandshakeTimeout: the process started but sent no Hello in time.
	KindHandshakeTimeout Kind = "handshake_timeout"
	// KindNotARunner: the process wrote something that is not a Hello, or
	// closed its output without one: the command does not start a runner.
	KindNotARunner Kind = "not_a_runner"
)

// The runner pipe and in-process errors.
const (
	// KindProtocolError: a well-formed frame that breaks the protocol: an
	// unknown or empty body, a transition the runner's phase does not allow.
	KindProtocolError Kind = "protocol_error"
	// KindGarbage: an undecodable or oversized frame; the stream is out of
	// sync and cannot be trusted again.
	KindGarbage Kind = "garbage"
	// KindAckTimeout: the runner did not acknowledge a task in time.
	KindAckTimeout Kind = "ack_timeout"
	// KindTaskTimeout: a task ran past its deadline.
	KindTaskTimeout Kind = "task_timeout"
	// KindWriteClosedPipe: a write to the runner's stdin found it closed.
	KindWriteClosedPipe Kind = "write_closed_pipe"
	// KindSendToStopped: a message was sent to an actor that has stopped.
	KindSendToStopped Kind = "send_to_stopped"
	// KindResourceCloseFailed: releasing a resource (file, pipe, handle)
	// returned an error.
	KindResourceCloseFailed Kind = "resource_close_failed"
	// KindStreamClosed: a queue or event stream was closed under a reader or
	// writer.
	KindStreamClosed Kind = "stream_closed"
)

// Process outcomes and health.
const (
	// KindExitZero: the runner exited with status 0 while it was not being
	// stopped. Its supervisor reports no failure for an exit it asked for.
	KindExitZero Kind = "exit_zero"
	// KindExitNonZero: the runner exited with a non-zero status
	// (Failure.ExitCode).
	KindExitNonZero Kind = "exit_nonzero"
	// KindSignal: the runner was killed by a signal (Failure.Signal).
	KindSignal Kind = "signal"
	// KindTerminationError: the runner sent a TerminationError frame, then
	// died; Failure.Message holds what it said.
	KindTerminationError Kind = "termination_error"
	// KindHang: no heartbeat arrived within the heartbeat deadline.
	KindHang Kind = "hang"
	// KindNoProgress: heartbeats arrive, but their progress counters stay
	// frozen while the runner is working.
	KindNoProgress Kind = "no_progress"
	// KindLoadingStall: the runner stayed in its loading phase too long.
	KindLoadingStall Kind = "loading_stall"
	// KindUnhealthy: the health monitor found the runner unhealthy for
	// several checks in a row and asked for a forced restart (its score and
	// reason are in the message).
	KindUnhealthy Kind = "unhealthy"
	// KindNodeFault: a fault of the whole node (cannot fork, out of file
	// descriptors, a stream or the health monitor failing over and over).
	KindNodeFault Kind = "node_fault"
	// KindNodeLost: the cluster declared dead the member that hosted the
	// runner (kill -9, a crashed host, a partition longer than the
	// provider's bound). Its RETRY is a re-placement on another member
	// (runtime.ClusterClient), with the same backoff and intensity as a
	// restart.
	KindNodeLost Kind = "node_lost"
	// KindActorPanic: the runner's actor panicked, a bug in exo-actors,
	// not in the runner: the actor killed the runner's process group and
	// ended its tasks Failed (docs/architecture.md, "A runner actor that
	// panics"). Message holds the panic's value.
	KindActorPanic Kind = "actor_panic"
)

// NodeWide reports whether a failure of this kind concerns the whole node
// rather than one runner: its ESCALATE goes to the node root, which shuts the
// node down gracefully. Every other ESCALATE ends at the runner supervisor.
func (k Kind) NodeWide() bool { return k == KindNodeFault }

// Phrase is the short human description of k used by Failure.Error, e.g.
// "no heartbeat".
func (k Kind) Phrase() string { return k.phrase() }

// phrase is the short human description of k used by Failure.Error.
func (k Kind) phrase() string {
	switch k {
	case KindExecNotFound:
		return "executable not found"
	case KindSpawnFailed:
		return "cannot start process"
	case KindVersionMismatch:
		return "protocol version mismatch"
	case KindHandshakeTimeout:
		return "no hello before the handshake deadline"
	case KindNotARunner:
		return "process is not a runner"
	case KindProtocolError:
		return "protocol error"
	case KindGarbage:
		return "stdout is not valid frames"
	case KindAckTimeout:
		return "task not acknowledged in time"
	case KindTaskTimeout:
		return "task timed out"
	case KindWriteClosedPipe:
		return "write to closed pipe"
	case KindSendToStopped:
		return "send to stopped actor"
	case KindResourceCloseFailed:
		return "resource close failed"
	case KindStreamClosed:
		return "stream closed"
	case KindExitZero:
		return "process exited unexpectedly"
	case KindExitNonZero, KindSignal:
		return "process exited"
	case KindTerminationError:
		return "runner reported a termination error"
	case KindHang:
		return "no heartbeat"
	case KindNoProgress:
		return "no progress"
	case KindLoadingStall:
		return "loading stalled"
	case KindUnhealthy:
		return "unhealthy by health score"
	case KindNodeFault:
		return "node fault"
	case KindNodeLost:
		return "node lost"
	case KindActorPanic:
		return "runner actor panicked (a bug in exo-actors)"
	case "":
		return "failure"
	default:
		return string(k)
	}
}

// Failure describes one thing that went wrong, as reported to the Handler.
// It is an error (use the value, not a pointer), and unwraps to Cause.
type Failure struct {
	// Kind says what happened; it is what the rules mostly match on.
	Kind Kind
	// Component is the part of the node that saw the failure, e.g. "runner",
	// "pipe", "stream", "health".
	Component string
	// Operation is what that component was doing, e.g. "handshake", "submit".
	Operation string
	// RunnerID identifies the runner, when the failure concerns one.
	RunnerID string
	// RunnerKind is that runner's kind (RunnerSpec.Kind): a hint that names
	// a node's config key names this kind's ("kinds.llama.command"), and
	// the kind-agnostic "kinds.<kind>.command" when it is empty.
	RunnerKind string
	// Generation is the runner's process generation (1 for the first process).
	Generation uint64
	// ExitCode is the exit status for KindExitZero and KindExitNonZero.
	ExitCode int
	// Signal is the signal that killed the process, 0 if none.
	Signal syscall.Signal
	// ShuttingDown is true when the node was shutting down at the time.
	ShuttingDown bool
	// Message adds detail, e.g. the text of a TerminationError.
	Message string
	// Cause is the underlying error, if any.
	Cause error

	// hint, when set, replaces Kind.Hint at the end of the text (WithHint).
	hint string
}

// WithHint returns f with hint as what to do at the end of its text, in
// place of Kind.Hint: for a failure the advice of its kind does not fit.
func (f Failure) WithHint(hint string) Failure {
	f.hint = hint
	return f
}

// Error returns a one-line description that says each thing once: the
// subject (runner and generation, or component), the operation unless the
// rest names it, what happened (Message, or the kind's phrase with the exit
// status), the cause unless already said, and what to do (WithHint's, or
// Kind.Hint) unless
// already said; e.g. "runner llama-3f2a gen 2: process exited: signal=9
// (killed); check the runner's stderr for why it died (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)".
func (f Failure) Error() string { return f.describe(true) }

// Describe is Error for callers whose Message already says what happened in
// full (the runner actor's): the kind's phrase is left out when Message is
// set, so the text does not say it twice.
func (f Failure) Describe() string { return f.describe(false) }

func (f Failure) describe(phrase bool) string {
	var subject string
	switch {
	case f.RunnerID != "" && f.Generation > 0:
		subject = fmt.Sprintf("runner %s gen %d", f.RunnerID, f.Generation)
	case f.RunnerID != "":
		subject = "runner " + f.RunnerID
	case f.Component != "":
		subject = f.Component
	}
	what := f.Message
	if what == "" || phrase {
		what = f.Kind.phrase()
		switch {
		case f.Signal != 0 && (f.Kind == KindSignal || f.Kind == KindExitNonZero || f.Kind == KindExitZero):
			what += fmt.Sprintf(": signal=%d (%s)", int(f.Signal), f.Signal)
		case f.Kind == KindExitZero || f.Kind == KindExitNonZero:
			what += fmt.Sprintf(": exit=%d", f.ExitCode)
		}
		if f.Message != "" && !strings.Contains(strings.ToLower(f.Message), strings.ToLower(what)) {
			what += ": " + f.Message
		}
	}
	lower := strings.ToLower(what)
	if f.Cause != nil {
		if c := strings.TrimSpace(f.Cause.Error()); c != "" && !strings.Contains(lower, strings.ToLower(c)) {
			what += ": " + c
			lower = strings.ToLower(what)
		}
	}
	parts := make([]string, 0, 3)
	if subject != "" {
		parts = append(parts, subject)
	}
	if op := f.Operation; op != "" && !strings.Contains(lower, strings.ToLower(op)) && !strings.Contains(strings.ToLower(subject), strings.ToLower(op)) {
		parts = append(parts, op)
	}
	parts = append(parts, what)
	s := strings.Join(parts, ": ")
	h := f.hint
	if h == "" {
		h = f.Kind.HintFor(f.RunnerKind)
	}
	if h != "" && !strings.Contains(lower, strings.ToLower(h)) {
		s += "; " + h
	}
	return strings.ReplaceAll(s, "\n", " ")
}

// PrintHint is what to do about bytes on a runner's stdout that are no
// frame: the start of the garbage kind's hint, and the whole of it for a
// line of text, a print (the rest is about bodies that do not decode).
const PrintHint = "stdout carries only frames: log to stderr, and check that nothing else (a print, a library, a child process) writes to stdout"

// Hint says what to do about a failure of this kind, for the end of error
// texts; "" when there is nothing to advise. A hint that names a node's
// config key of a runner kind says "kinds.<kind>."; HintFor names the kind.
func (k Kind) Hint() string { return k.HintFor("") }

// HintFor is Hint for a failure of a runner of runnerKind: a node's config
// key is named with that kind ("kinds.llama.command"), with "<kind>" when
// runnerKind is "".
func (k Kind) HintFor(runnerKind string) string {
	if runnerKind == "" {
		runnerKind = "<kind>"
	}
	switch k {
	case KindExecNotFound:
		return "check the runner's command and PATH (RunnerSpec.Command; on a node, kinds." + runnerKind + ".command in its config)"
	case KindSpawnFailed:
		return "check the command's permissions and the runner's directory (RunnerSpec.Dir; on a node, kinds." + runnerKind + ".dir in its config)"
	case KindVersionMismatch:
		return "upgrade the older side"
	case KindHandshakeTimeout:
		// The process is alive and wrote no frame: it may be a runner that
		// starts slowly, one stuck before its Hello, or no runner at all
		// (text on stdout, an exit before Hello are not_a_runner). Say what a
		// runner does and what to change, without presuming which.
		return "a runner says Hello as soon as it starts (docs/protocol.md): its stderr may say what held it up; if it only starts slowly, raise RunnerTimeouts.Handshake (node config: timeouts.handshake)"
	case KindNotARunner:
		// Named with the kind's config keys: a typo in a kind's args (an
		// operator's trial: "--layer" for "--layers") fails here, at the
		// first spawn, not at the node's start.
		return "a runner says Hello on its stdout as soon as it starts (docs/protocol.md): check that the command and its arguments start one (RunnerSpec.Command and Args; on a node, kinds." + runnerKind + ".command and kinds." + runnerKind + ".args in its config), and its stderr for why it ended before"
	case KindProtocolError, KindGarbage:
		return PrintHint + "; a runner on an SDK: check that its version matches the node's protocol"
	case KindAckTimeout:
		return "check the runner's stderr; raise TaskLimits.AckTimeout if it is only slow"
	case KindTaskTimeout:
		return "raise the task's Timeout if it needs longer"
	case KindWriteClosedPipe:
		return "the runner stopped reading its stdin: check its stderr"
	case KindSendToStopped, KindStreamClosed:
		return "the target had already stopped: nothing to do unless it repeats"
	case KindResourceCloseFailed:
		return "check the resource's Close function"
	case KindTerminationError:
		// The runner said why: "check its stderr for why it died" sent a
		// new author who had already said it to look elsewhere (a trial).
		return "the runner said why (its TerminationError or Failed status, in this message): fix that; its stderr may say more (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)"
	case KindExitZero, KindExitNonZero, KindSignal:
		return "check the runner's stderr for why it died (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)"
	case KindHang:
		return "check the runner's stderr for where it hangs; a runner sends a Heartbeat every heartbeat_interval (HelloAccepted says it) from a thread of its own, idle or busy (docs/protocol.md, \"Heartbeats and progress\"); raise RunnerTimeouts.HeartbeatTimeout (node config: timeouts.heartbeat_timeout) if it is only slow"
	case KindUnhealthy:
		// The monitor finds a silent runner first (HeartbeatLimit, 2.5s by
		// default, before the runner's own 5s watchdog): its text needs the
		// hang's advice too (a new user's trial).
		return "the reason names what the health monitor found (docs/operations.md, \"Scores\"): for no heartbeat, a runner sends a Heartbeat every heartbeat_interval (HelloAccepted says it) " +
			"from a thread of its own, idle or busy (docs/protocol.md, \"Heartbeats and progress\"), and its stderr may say where it hangs " +
			"(memory or CPU past its limit takes at most 0.2 off a score: its own over_limit alert says so)"
	case KindNoProgress:
		return "check the runner's handler for where it hangs; raise RunnerTimeouts.ProgressTimeout (node config: timeouts.progress_timeout) if it is only slow"
	case KindLoadingStall:
		return "check the runner's stderr; raise RunnerTimeouts.LoadingStall (node config: timeouts.loading_stall) if loading is only slow"
	case KindNodeFault:
		return "free memory, processes or file descriptors on the node"
	case KindNodeLost:
		return "check why the node died (its log, the host); its Retryable tasks are placed on another member"
	case KindActorPanic:
		return "spawn a new runner, and report the bug with the node's log line 'runner actor panicked' (it has the stack)"
	}
	return ""
}

// Unwrap returns Cause.
func (f Failure) Unwrap() error { return f.Cause }

// FromProcessState turns how a process ended into a Failure with Kind,
// ExitCode and Signal set: KindSignal for a death by signal (ps.ExitCode()
// says -1 then, so the wait status is read instead), KindExitZero or
// KindExitNonZero otherwise. The caller fills in the rest, and reports an
// exit 0 only when it was not stopping the runner.
func FromProcessState(ps *os.ProcessState) Failure {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Failure{Kind: KindSignal, ExitCode: -1, Signal: ws.Signal()}
	}
	code := ps.ExitCode()
	if code == 0 {
		return Failure{Kind: KindExitZero}
	}
	return Failure{Kind: KindExitNonZero, ExitCode: code}
}

// causeChain lists the messages of err and of every error it wraps, outermost
// first, depth-first through errors that wrap several (errors.Join).
func causeChain(err error) []string {
	const maxDepth = 16
	var chain []string
	var walk func(error)
	walk = func(e error) {
		for e != nil && len(chain) < maxDepth {
			chain = append(chain, e.Error())
			switch u := e.(type) {
			case interface{ Unwrap() []error }:
				for _, inner := range u.Unwrap() {
					walk(inner)
				}
				return
			default:
				e = errors.Unwrap(e)
			}
		}
	}
	walk(err)
	return chain
}
