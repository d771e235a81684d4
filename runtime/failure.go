package runtime

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
)

// FailureKind names what went wrong. Kinds are stable identifiers: they
// appear in records, statistics, rules and docs/errors.md.
type FailureKind string

// Failure kinds: start and configuration.
const (
	// FailureExecNotFound: the runner executable does not exist or is not
	// on PATH (SpawnRunner refuses such a command at once; this kind remains
	// for one that disappears later, before a restart).
	FailureExecNotFound FailureKind = "exec_not_found"
	// FailureSpawnFailed: starting the runner process failed for a reason of
	// its own (permission, bad working directory).
	FailureSpawnFailed FailureKind = "spawn_failed"
	// FailureVersionMismatch: the runner's Hello names protocol versions
	// this node does not speak.
	FailureVersionMismatch FailureKind = "version_mismatch"
	// FailureHandshakeTimeout: the process started but sent no Hello in
	// time (RunnerTimeouts.Handshake).
	FailureHandshakeTimeout FailureKind = "handshake_timeout"
	// FailureNotARunner: the process wrote something that is not a Hello,
	// or ended without one: the command does not start a runner.
	FailureNotARunner FailureKind = "not_a_runner"
)

// Failure kinds: the runner pipe and in-process errors.
const (
	// FailureProtocolError: a well-formed frame that breaks the protocol.
	FailureProtocolError FailureKind = "protocol_error"
	// FailureGarbage: an undecodable or oversized frame.
	FailureGarbage FailureKind = "garbage"
	// FailureAckTimeout: the runner did not acknowledge a task in time.
	FailureAckTimeout FailureKind = "ack_timeout"
	// FailureTaskTimeout: a task ran past its Timeout.
	FailureTaskTimeout FailureKind = "task_timeout"
	// FailureWriteClosedPipe: a write to the runner's stdin found it closed.
	FailureWriteClosedPipe FailureKind = "write_closed_pipe"
	// FailureSendToStopped: a message went to an actor that had stopped.
	FailureSendToStopped FailureKind = "send_to_stopped"
	// FailureResourceCloseFailed: a resource's Close failed or timed out.
	FailureResourceCloseFailed FailureKind = "resource_close_failed"
	// FailureStreamClosed: an event stream was closed under a reader or
	// writer.
	FailureStreamClosed FailureKind = "stream_closed"
)

// Failure kinds: process outcomes and health.
const (
	// FailureExitZero: the runner exited with status 0 unasked.
	FailureExitZero FailureKind = "exit_zero"
	// FailureExitNonZero: the runner exited with a non-zero status.
	FailureExitNonZero FailureKind = "exit_nonzero"
	// FailureSignal: the runner was killed by a signal it was not sent by
	// its supervisor.
	FailureSignal FailureKind = "signal"
	// FailureTerminationError: the runner sent a TerminationError frame (or
	// reported status Failed), then died.
	FailureTerminationError FailureKind = "termination_error"
	// FailureHang: no heartbeat arrived within RunnerTimeouts.HeartbeatTimeout.
	FailureHang FailureKind = "hang"
	// FailureNoProgress: heartbeats arrive, but their progress counters stay
	// frozen while the runner is Running.
	FailureNoProgress FailureKind = "no_progress"
	// FailureLoadingStall: the runner stayed Loading with no layer progress.
	FailureLoadingStall FailureKind = "loading_stall"
	// FailureNodeFault: a fault of the whole node (cannot fork, out of file
	// descriptors); the node shuts itself down gracefully.
	FailureNodeFault FailureKind = "node_fault"
	// FailureNodeLost: the cluster declared dead the member that hosted
	// the runner; a ClusterClient re-places it on another member when the
	// policy says RETRY.
	FailureNodeLost FailureKind = "node_lost"
	// FailureActorPanic: the runner's actor panicked, a bug in exo-actors
	// (not in the runner): its process was killed, its tasks ended Failed,
	// and by default it is not restarted.
	FailureActorPanic FailureKind = "actor_panic"
)

// Severity says how bad a failure is.
type Severity int

// Severities, from least to most severe. The zero Severity is invalid.
const (
	// SeverityLow: expected, e.g. while the node shuts down; logged.
	SeverityLow Severity = iota + 1
	// SeverityMedium: one task or message is lost; the runner carries on.
	SeverityMedium
	// SeverityHigh: the runner process is gone or untrustworthy and is
	// restarted.
	SeverityHigh
	// SeverityCritical: restarting cannot help; the failure is escalated and
	// an alert goes out.
	SeverityCritical
)

// String returns "LOW", "MEDIUM", "HIGH" or "CRITICAL".
func (s Severity) String() string { return errhandler.Severity(s).String() }

// Action says what the supervisor does about a failure.
type Action int

// Actions. The zero Action means "none" (as a Decision's Then).
const (
	// ActionRetry restarts the runner after a backoff delay.
	ActionRetry Action = iota + 1
	// ActionSkip resumes: the runner carries on, only the task or message at
	// hand fails.
	ActionSkip
	// ActionForceCleanup kills the runner's process group and releases its
	// resources, then does the Decision's Then.
	ActionForceCleanup
	// ActionEscalate stops the runner and raises a CRITICAL alert; the node
	// keeps serving its other runners (a node fault shuts the node down).
	ActionEscalate
)

// String returns "RETRY", "SKIP", "FORCE_CLEANUP" or "ESCALATE" ("" for the
// zero Action).
func (a Action) String() string {
	if a == 0 {
		return ""
	}
	return errhandler.Action(a).String()
}

// Decision is what the error handler decided about one failure.
type Decision struct {
	// Rule is the name of the rule that matched.
	Rule     string
	Severity Severity
	Action   Action
	// Then is what follows ActionForceCleanup: retry, skip or escalate;
	// zero for every other Action.
	Then Action
}

// String returns e.g. "HIGH FORCE_CLEANUP then RETRY (rule hang)", and ""
// for the zero Decision (no decision), as Action's String does for the
// zero Action: a ClusterEvent without one printed "Severity(0) Action(0)".
func (d Decision) String() string {
	if d == (Decision{}) {
		return ""
	}
	return toDecision(d).String()
}

// Resolution says how a recorded failure ended.
type Resolution int

// Resolutions.
const (
	// Unresolved: a restart is planned or under way, or the runner was
	// stopped before it came back.
	Unresolved Resolution = iota
	// Resolved: the runner was Ready again after the restart.
	Resolved
	// Escalated: the failure was handed on (the runner stopped, an alert
	// went out).
	Escalated
	// Skipped: the decision was to carry on; nothing to wait for.
	Skipped
)

// String returns "unresolved", "resolved", "escalated" or "skipped".
func (r Resolution) String() string { return errhandler.Resolution(r).String() }

// ErrorRecord is one handled failure: what happened, what was decided, and
// how it ended.
type ErrorRecord struct {
	// ID numbers records from 1, in the order they were handled.
	ID uint64
	// Time is when the failure was handled, on Config.Clock.
	Time       time.Time
	Component  string
	Operation  string
	RunnerID   string
	Generation uint64
	Kind       FailureKind
	ExitCode   int
	Signal     syscall.Signal
	// Decision is the final decision, after restart intensity.
	Decision Decision
	// Note says why Decision differs from the table's answer, if it does.
	Note string
	// Attempt is the restart this record plans, from 1 since the runner was
	// last stable; 0 when the decision restarts nothing.
	Attempt int
	// Delay is the backoff before that restart; 0 when there is none.
	Delay time.Duration
	// Message is the failure's one-line description.
	Message string
	// Causes is the cause chain, outermost first.
	Causes []string
	// Cleanup lists the steps FORCE_CLEANUP carried out before the
	// follow-up, in order; empty for other actions.
	Cleanup []string
	// Resolution and ResolvedAt say how the failure ended; ResolvedAt is
	// zero while unresolved.
	Resolution Resolution
	ResolvedAt time.Time
}

// ErrorStats counts every failure handled, including those whose records
// have since been dropped from the bounded history.
type ErrorStats struct {
	// Total is the number of failures handled.
	Total      int
	ByKind     map[FailureKind]int
	BySeverity map[Severity]int
	// ByAction counts the final Action.
	ByAction map[Action]int
	// Retries counts decisions that restart a runner.
	Retries int
	// SuccessesAfterRetry counts runners Ready again after restarts.
	SuccessesAfterRetry int
	// IntensityExceeded counts restarts turned into ESCALATE by Intensity.
	IntensityExceeded int
	// Dropped is the number of records dropped from the history.
	Dropped int
}

// Failure describes one thing that went wrong. It is an error; use the
// value, not a pointer. Error texts say what happened once, name the
// runner or component, and say what to do.
type Failure struct {
	// Kind says what happened.
	Kind FailureKind
	// Component is the part of the node that saw the failure, e.g. "runner",
	// "resource".
	Component string
	// Operation is what that component was doing, e.g. "handshake", "close".
	Operation string
	// RunnerID identifies the runner, when the failure concerns one.
	RunnerID string
	// RunnerKind is that runner's kind (RunnerSpec.Kind); the advice at
	// the end of Error names its config key on a node
	// ("kinds.llama.command").
	RunnerKind string
	// Generation is the runner's process generation (1 for the first
	// process).
	Generation uint64
	// ExitCode is the exit status for FailureExitZero and FailureExitNonZero.
	ExitCode int
	// Signal is the signal that killed the process, 0 if none.
	Signal syscall.Signal
	// ShuttingDown is true when the node was shutting down at the time.
	ShuttingDown bool
	// Message adds detail, e.g. the text of a TerminationError.
	Message string
	// Cause is the underlying error, if any.
	Cause error
}

// Error returns a one-line description.
func (f Failure) Error() string { return toFailure(f).Error() }

// Unwrap returns Cause.
func (f Failure) Unwrap() error { return f.Cause }

// DetectionSource says how a runner's failure was noticed. The first source
// to notice wins; later evidence is kept in the failure's fields.
type DetectionSource string

// The detection sources.
const (
	SourceSpawn       DetectionSource = "spawn"             // the process could not start
	SourceHandshake   DetectionSource = "handshake"         // no Hello, not a runner, version mismatch
	SourceTermination DetectionSource = "termination_error" // the runner sent TerminationError
	SourceRunnerFail  DetectionSource = "runner_failed"     // the runner reported status Failed
	SourceStdoutEOF   DetectionSource = "stdout_eof"        // stdout closed, process still alive after ExitGrace
	SourceProtocol    DetectionSource = "protocol"          // undecodable or oversized frame
	SourceExit        DetectionSource = "process_exit"      // the process exited on its own
	SourceHeartbeat   DetectionSource = "heartbeat"         // no heartbeat (hang)
	SourceProgress    DetectionSource = "progress"          // heartbeats with frozen counters while Running
	SourceLoading     DetectionSource = "loading_stall"     // Loading with no layer progress
	SourceStdin       DetectionSource = "stdin"             // the runner stopped reading its stdin
	SourcePanic       DetectionSource = "actor_panic"       // the runner's actor panicked (a bug in exo-actors)
	SourceNodeKill    DetectionSource = "node_kill"         // the node killed it (a forced shutdown), not a fault of the runner
)

// ErrRunnerFailed is matched by every *RunnerFailure (errors.Is), e.g. the
// error WaitReady returns for a runner that failed before it was Ready.
var ErrRunnerFailed = errors.New("runner failed")

// RunnerFailure says how a runner failed: what the error handler classified
// (Failure) and the runner's diagnostics. errors.As finds it in the error
// WaitReady returns; errors.Is(err, ErrRunnerFailed) holds for it.
type RunnerFailure struct {
	Failure
	// Source says how the failure was noticed.
	Source DetectionSource
	// Pid is the process's ID; 0 when it never started.
	Pid int
	// Exit is how the process ended; nil when it never started.
	Exit *ExitStatus
	// Termination is the TerminationError text, if one came.
	Termination string
	// RunnerMessage and RunnerDiagnostics are what the runner itself said
	// in a Failed status (error_message, diagnostics: e.g. a traceback),
	// if it did; Diagnostics shows them beside the supervisor's.
	RunnerMessage     string
	RunnerDiagnostics string
	// StderrTail holds the last lines the runner wrote to stderr.
	StderrTail []string
	// Uptime is the time from the process's start to the detection of the
	// failure; Exit.Lifetime says how long the process lived.
	Uptime time.Duration
	// At is when the failure was detected, on Config.RunnerClock.
	At time.Time
	// Cleaned lists what was released before the failure was handed on
	// (process group killed, process reaped, pipes closed, timers stopped).
	Cleaned []string
	// Hint, when set, is what to do instead of the advice of the kind and
	// the source: a built-in runner that is no runner points at
	// Config.BuiltinBinary, not at the spec's Command and Args; a frame
	// that is protobuf its runner's encoder got wrong (a string that is not
	// UTF-8, an unknown field) points at the encoder, not at stray prints.
	Hint string
}

// Error returns a one-line description: the runner, what happened, and what
// to do.
func (f *RunnerFailure) Error() string { return toRunnerFailure(f).Error() }

// Unwrap returns the embedded Failure, so errors.As finds either.
func (f *RunnerFailure) Unwrap() error { return f.Failure }

// Is makes errors.Is(f, ErrRunnerFailed) true.
func (f *RunnerFailure) Is(target error) bool { return target == ErrRunnerFailed }

// Diagnostics renders what is known, one item a line (the text of the
// Failed status's diagnostics): detection source, exit, pid, uptime,
// termination error, last stderr lines.
func (f *RunnerFailure) Diagnostics() string { return toRunnerFailure(f).Diagnostics() }

// ExitStatus is how a runner process ended.
type ExitStatus struct {
	// Code is the exit code, or -1 when a signal killed the process.
	Code int
	// Signal is the signal that killed it, or 0.
	Signal   syscall.Signal
	CoreDump bool
	// Err is set when waiting for the process failed.
	Err error
	// Lifetime is how long the process lived, from its start to its exit.
	Lifetime time.Duration
}

// Signaled reports whether a signal ended the process.
func (s ExitStatus) Signaled() bool { return s.Signal != 0 }

// String renders the status as "exitcode=3" or "signal=9 (killed)".
func (s ExitStatus) String() string {
	switch {
	case s.Err != nil:
		return "wait failed: " + s.Err.Error()
	case s.Signal != 0:
		return fmt.Sprintf("signal=%d (%s)", int(s.Signal), s.Signal)
	default:
		return fmt.Sprintf("exitcode=%d", s.Code)
	}
}
