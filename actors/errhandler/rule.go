package errhandler

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/exo-actors/exo-actors/internal/suggest"
)

// Severity says how bad a failure is.
type Severity int

// Severities, from least to most severe. The zero Severity is invalid.
const (
	// Low: expected, e.g. while the node shuts down; logged, nothing to do.
	Low Severity = iota + 1
	// Medium: one task or message is lost; the runner carries on.
	Medium
	// High: the runner process is gone or untrustworthy and is restarted.
	High
	// Critical: restarting cannot help (configuration, node fault, restarts
	// exhausted); the failure is escalated and an alert goes out.
	Critical
)

// String returns "LOW", "MEDIUM", "HIGH" or "CRITICAL".
func (s Severity) String() string {
	switch s {
	case Low:
		return "LOW"
	case Medium:
		return "MEDIUM"
	case High:
		return "HIGH"
	case Critical:
		return "CRITICAL"
	}
	return fmt.Sprintf("Severity(%d)", int(s))
}

// MarshalText encodes s as its String.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Low || s > Critical {
		return nil, fmt.Errorf("invalid severity %d: want LOW, MEDIUM, HIGH or CRITICAL", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a String of a Severity.
func (s *Severity) UnmarshalText(b []byte) error {
	for v := Low; v <= Critical; v++ {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q: want LOW, MEDIUM, HIGH or CRITICAL", b)
}

// Action says what the supervisor does about a failure.
type Action int

// Actions. The zero Action is invalid as an Action and means "none" as a
// Decision's Then.
const (
	// Retry restarts the runner after a backoff delay.
	Retry Action = iota + 1
	// Skip resumes: the runner carries on, only the task or message at hand
	// fails.
	Skip
	// ForceCleanup kills the runner's process group and releases its
	// resources, then does the Decision's Then.
	ForceCleanup
	// Escalate stops the runner and hands the failure, with its record, to
	// the parent: the runner supervisor, or the node root for node-wide kinds.
	Escalate
)

// String returns "RETRY", "SKIP", "FORCE_CLEANUP" or "ESCALATE".
func (a Action) String() string {
	switch a {
	case Retry:
		return "RETRY"
	case Skip:
		return "SKIP"
	case ForceCleanup:
		return "FORCE_CLEANUP"
	case Escalate:
		return "ESCALATE"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// MarshalText encodes a as its String; the zero Action encodes as "".
func (a Action) MarshalText() ([]byte, error) {
	if a == 0 {
		return []byte{}, nil
	}
	if a < Retry || a > Escalate {
		return nil, fmt.Errorf("invalid action %d: want RETRY, SKIP, FORCE_CLEANUP or ESCALATE", int(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText decodes a String of an Action; "" decodes as the zero Action.
func (a *Action) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = 0
		return nil
	}
	for v := Retry; v <= Escalate; v++ {
		if v.String() == string(b) {
			*a = v
			return nil
		}
	}
	return fmt.Errorf("unknown action %q: want RETRY, SKIP, FORCE_CLEANUP or ESCALATE", b)
}

// Decision is the answer of the classification table for one failure.
type Decision struct {
	// Rule is the name of the rule that matched.
	Rule     string
	Severity Severity
	Action   Action
	// Then is what follows a ForceCleanup: Retry, Skip or Escalate. It is
	// zero for every other Action.
	Then Action
}

// Restarts reports whether the decision restarts the runner: Retry, or
// ForceCleanup then Retry.
func (d Decision) Restarts() bool {
	return d.Action == Retry || (d.Action == ForceCleanup && d.Then == Retry)
}

// String returns e.g. "HIGH FORCE_CLEANUP then RETRY (rule hang)".
func (d Decision) String() string {
	s := d.Severity.String() + " " + d.Action.String()
	if d.Action == ForceCleanup {
		s += " then " + d.Then.String()
	}
	if d.Rule != "" {
		s += " (rule " + d.Rule + ")"
	}
	return s
}

// ErrInvalidRule is wrapped by the error New returns for a malformed rule
// (no Name, Severity or Action, a Then that does not fit the Action, a Kind
// not in Kinds). The error names every fault of every rule, in one line.
var ErrInvalidRule = errors.New("invalid error policy rule")

// Rule is one row of the classification table: a pattern over a Failure and
// the Decision it leads to. Zero-valued pattern fields match anything; all set
// fields must match. The first matching rule wins, user rules before
// DefaultRules.
type Rule struct {
	// Name identifies the rule in decisions, records and docs. Required.
	Name string
	// Kind matches Failure.Kind; empty matches any kind. A kind not in
	// Kinds would never match: New refuses it.
	Kind Kind
	// ExitCode, when set, matches only exits (KindExitZero, KindExitNonZero)
	// with this status.
	ExitCode *int
	// Signal, when non-zero, matches Failure.Signal.
	Signal syscall.Signal
	// Component, when non-empty, matches Failure.Component.
	Component string
	// ShuttingDown, when set, matches Failure.ShuttingDown.
	ShuttingDown *bool

	// Severity and Action are the decision. Then is required with
	// ForceCleanup and must be zero otherwise.
	Severity Severity
	Action   Action
	Then     Action
	// Reason explains the rule to people; docs/errors.md shows it.
	Reason string
}

// Match reports whether the rule's pattern matches f.
func (r Rule) Match(f Failure) bool {
	switch {
	case r.Kind != "" && f.Kind != r.Kind:
		return false
	case r.ExitCode != nil && (f.Kind != KindExitZero && f.Kind != KindExitNonZero || f.ExitCode != *r.ExitCode):
		return false
	case r.Signal != 0 && f.Signal != r.Signal:
		return false
	case r.Component != "" && f.Component != r.Component:
		return false
	case r.ShuttingDown != nil && f.ShuttingDown != *r.ShuttingDown:
		return false
	}
	return true
}

// decision returns the rule's Decision.
func (r Rule) decision() Decision {
	return Decision{Rule: r.Name, Severity: r.Severity, Action: r.Action, Then: r.Then}
}

// validate checks that the rule can be used; the error wraps ErrInvalidRule.
// Its texts name the fields as a host sets them (Rule.Severity, the
// constants SeverityLow…SeverityCritical and ActionRetry…ActionEscalate of
// package runtime; LOW…, RETRY… in a node config), never this package (a
// host's trial read "errhandler: invalid rule").
func (r Rule) validate() error {
	// Every fault of the rule, not the first alone: a rule without
	// Severity and Action said only "Severity is not set", and its next
	// start "Action is not set" (a new user's trial).
	var faults []string
	bad := func(format string, args ...any) { faults = append(faults, fmt.Sprintf(format, args...)) }
	switch {
	case r.Severity == 0: // not "Severity is Severity(0)"
		bad("Severity is not set: set one of LOW, MEDIUM, HIGH, CRITICAL (SeverityLow … SeverityCritical in Go)")
	case r.Severity < Low || r.Severity > Critical:
		bad("Severity is %s: set one of LOW, MEDIUM, HIGH, CRITICAL (SeverityLow … SeverityCritical in Go)", r.Severity)
	}
	switch {
	case r.Action == 0:
		bad("Action is not set: set one of RETRY, SKIP, FORCE_CLEANUP, ESCALATE (ActionRetry … ActionEscalate in Go)")
	case r.Action < Retry || r.Action > Escalate:
		bad("Action is %s: set one of RETRY, SKIP, FORCE_CLEANUP, ESCALATE (ActionRetry … ActionEscalate in Go)", r.Action)
	case r.Action == ForceCleanup && r.Then != Retry && r.Then != Skip && r.Then != Escalate:
		bad("Action FORCE_CLEANUP needs Then, what follows the cleanup: RETRY, SKIP or ESCALATE, not %s", r.Then)
	case r.Action != ForceCleanup && r.Then != 0:
		bad("Then is %s, but Then is only for Action FORCE_CLEANUP (this rule's Action is %s): leave it unset", r.Then, r.Action)
	}
	if r.Kind != "" && !r.Kind.Known() {
		// A rule whose Kind no failure has never matches, in silence (a
		// new user's trial wrote the default rule's name, node-lost, for
		// the kind node_lost).
		bad("Kind %q is no failure kind, so the rule would never match%s: set one of %s (the Failure… constants in Go), or leave Kind empty to match any kind",
			string(r.Kind), didYouMean(r.Kind), kindList())
	}
	if r.Name == "" {
		what := "without a Name: name every rule (decisions, records and alerts quote it)"
		if len(faults) > 0 {
			what += "; and " + strings.Join(faults, "; ")
		}
		return fmt.Errorf("%w %s", ErrInvalidRule, what)
	}
	if len(faults) == 0 {
		return nil
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidRule, r.Name, strings.Join(faults, "; "))
}

// didYouMean is ` (did you mean "node_lost"?)` for a kind near a known
// one (a misspelling, or a default rule's name such as node-lost), or "".
func didYouMean(k Kind) string {
	var names []string
	for _, x := range Kinds() {
		names = append(names, string(x))
	}
	if s := suggest.Closest(string(k), names); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	for _, r := range DefaultRules() { // a default rule's name: its kind
		if r.Name == string(k) && r.Kind != "" {
			return fmt.Sprintf(" (did you mean %q? %q is the default rule's name)", string(r.Kind), r.Name)
		}
	}
	return ""
}

// kindList is the known kinds, comma-separated.
func kindList() string {
	var names []string
	for _, x := range Kinds() {
		names = append(names, string(x))
	}
	return strings.Join(names, ", ")
}

// DefaultRules returns the built-in classification table, in match order. It
// returns a new slice on each call. The handler consults it after the user's
// rules; docs/errors.md is generated from it.
func DefaultRules() []Rule {
	yes := true
	exit := func(code int) *int { return &code }
	return []Rule{
		// Configuration and node faults: never retried, shutting down or not.
		{Name: "exec-not-found", Kind: KindExecNotFound, Severity: Critical, Action: Escalate,
			Reason: "The runner executable is missing: a configuration error that no restart fixes."},
		{Name: "spawn-failed", Kind: KindSpawnFailed, Severity: Critical, Action: Escalate,
			Reason: "The process could not be started (permission, not executable, bad working directory): configuration."},
		{Name: "version-mismatch", Kind: KindVersionMismatch, Severity: Critical, Action: Escalate,
			Reason: "The runner speaks another protocol version: upgrade the runner or the node."},
		{Name: "not-a-runner", Kind: KindNotARunner, Severity: Critical, Action: Escalate,
			Reason: "The process wrote something other than a Hello, or closed without one: the command does not start a runner, or the runner crashed as it started (its stderr says why); starting it again would do the same."},
		{Name: "node-fault", Kind: KindNodeFault, Severity: Critical, Action: Escalate,
			Reason: "Node-wide (cannot fork, out of file descriptors: the reason says which limit and what to do): goes to the node root, which shuts the node down gracefully; `System.Fault()` then returns it."},
		{Name: "actor-panic", Kind: KindActorPanic, Severity: Critical, Action: Escalate,
			Reason: "The runner's actor panicked: a bug in exo-actors. The actor killed the runner's process and ended its tasks Failed; it is retired, not restarted (a restart would run the same bug on the same state), and the alert asks a person to report it. A rule of yours for `actor_panic` may RETRY it instead."},
		{Name: "node-lost", Kind: KindNodeLost, Severity: High, Action: Retry,
			Reason: "The cluster declared the runner's member dead: place the runner again on another member (backoff and restart intensity as for a restart) and resubmit its Retryable tasks there once; the others end Failed."},
		{Name: "resource-close-failed", Kind: KindResourceCloseFailed, Severity: Medium, Action: ForceCleanup, Then: Skip,
			Reason: "A resource did not close cleanly or in time: it is left in Error and its owner lets go of it (FORCE_CLEANUP); worth a look (a leak), even during shutdown."},

		// While the node shuts down: stuck processes are killed, not restarted;
		// everything else is expected.
		{Name: "shutdown-handshake-timeout", Kind: KindHandshakeTimeout, ShuttingDown: &yes, Severity: Medium, Action: ForceCleanup, Then: Skip,
			Reason: "A process still starting when the node stops: kill it, do not restart."},
		{Name: "shutdown-protocol-error", Kind: KindProtocolError, ShuttingDown: &yes, Severity: Medium, Action: ForceCleanup, Then: Skip,
			Reason: "A misbehaving runner during shutdown: kill it rather than wait for its grace period."},
		{Name: "shutdown-garbage", Kind: KindGarbage, ShuttingDown: &yes, Severity: Medium, Action: ForceCleanup, Then: Skip,
			Reason: "The pipe is out of sync during shutdown: kill the runner, do not restart."},
		{Name: "shutdown-hang", Kind: KindHang, ShuttingDown: &yes, Severity: Medium, Action: ForceCleanup, Then: Skip,
			Reason: "A hung runner would hold up the shutdown: kill it, do not restart."},
		{Name: "shutdown-no-progress", Kind: KindNoProgress, ShuttingDown: &yes, Severity: Medium, Action: ForceCleanup, Then: Skip,
			Reason: "A stuck runner would hold up the shutdown: kill it, do not restart."},
		{Name: "shutdown-loading-stall", Kind: KindLoadingStall, ShuttingDown: &yes, Severity: Medium, Action: ForceCleanup, Then: Skip,
			Reason: "A runner stuck loading would hold up the shutdown: kill it, do not restart."},
		{Name: "shutdown-unhealthy", Kind: KindUnhealthy, ShuttingDown: &yes, Severity: Medium, Action: ForceCleanup, Then: Skip,
			Reason: "An unhealthy runner during shutdown: kill it, do not restart."},
		{Name: "shutting-down", ShuttingDown: &yes, Severity: Low, Action: Skip,
			Reason: "Expected while the node stops: closed pipes and streams, stopped actors, timeouts, exits and signals caused by the stop."},

		// Runner could not get going, or its pipe cannot be trusted.
		{Name: "handshake-timeout", Kind: KindHandshakeTimeout, Severity: High, Action: ForceCleanup, Then: Retry,
			Reason: "No Hello in time (a runner says Hello as soon as it starts): kill the process group and start again. One that only starts slowly needs a longer handshake timeout, not more restarts."},
		{Name: "protocol-error", Kind: KindProtocolError, Severity: High, Action: ForceCleanup, Then: Retry,
			Reason: "The runner broke the protocol, so its state is unknown: kill and restart."},
		{Name: "garbage", Kind: KindGarbage, Severity: High, Action: ForceCleanup, Then: Retry,
			Reason: "Undecodable or oversized frame: the stream is out of sync for good. Kill and restart."},
		{Name: "hang", Kind: KindHang, Severity: High, Action: ForceCleanup, Then: Retry,
			Reason: "No heartbeat: the process is alive but stuck. Kill the group and restart."},
		{Name: "no-progress", Kind: KindNoProgress, Severity: High, Action: ForceCleanup, Then: Retry,
			Reason: "Heartbeats with frozen counters while working: stuck inside a task. Kill and restart."},
		{Name: "loading-stall", Kind: KindLoadingStall, Severity: High, Action: ForceCleanup, Then: Retry,
			Reason: "Loading took too long: kill and restart."},
		{Name: "unhealthy", Kind: KindUnhealthy, Severity: High, Action: ForceCleanup, Then: Retry,
			Reason: "The health monitor's recovery: unhealthy for several checks after its resources were reset. Kill the group and restart."},

		// One task or message lost; the runner carries on.
		{Name: "ack-timeout", Kind: KindAckTimeout, Severity: Medium, Action: Skip,
			Reason: "Fail that task; a runner that is really stuck is caught by the heartbeat."},
		{Name: "task-timeout", Kind: KindTaskTimeout, Severity: Medium, Action: Skip,
			Reason: "Fail that task only."},
		{Name: "write-closed-pipe", Kind: KindWriteClosedPipe, Severity: Medium, Action: Skip,
			Reason: "The process is going away; its exit, reported next, decides the restart."},
		{Name: "send-to-stopped", Kind: KindSendToStopped, Severity: Medium, Action: Skip,
			Reason: "The message is lost; its sender gets an error."},
		{Name: "stream-closed", Kind: KindStreamClosed, Severity: Medium, Action: Skip,
			Reason: "The reader or writer gets an error; a stream that keeps failing is a node fault."},

		// The process ended while it should have been running.
		{Name: "exit-zero", Kind: KindExitZero, Severity: Medium, Action: Retry,
			Reason: "Exit 0 while not stopping: the runner quit on its own. Restart it."},
		{Name: "exit-126", Kind: KindExitNonZero, ExitCode: exit(126), Severity: Critical, Action: Escalate,
			Reason: "Exit 126 from a wrapper shell: the command is not executable. Configuration."},
		{Name: "exit-127", Kind: KindExitNonZero, ExitCode: exit(127), Severity: Critical, Action: Escalate,
			Reason: "Exit 127 from a wrapper shell: command not found. Configuration."},
		{Name: "exit-nonzero", Kind: KindExitNonZero, Severity: High, Action: Retry,
			Reason: "The runner failed: restart with backoff."},
		{Name: "termination-error", Kind: KindTerminationError, Severity: High, Action: Retry,
			Reason: "The runner said why it gave up (in the record's message), then died: restart with backoff."},
		{Name: "sigkill", Kind: KindSignal, Signal: syscall.SIGKILL, Severity: High, Action: Retry,
			Reason: "Killed, most often by the kernel's OOM killer (see the kernel log): restart with backoff."},
		{Name: "sigsegv", Kind: KindSignal, Signal: syscall.SIGSEGV, Severity: High, Action: Retry,
			Reason: "Crash (invalid memory access): restart with backoff."},
		{Name: "sigabrt", Kind: KindSignal, Signal: syscall.SIGABRT, Severity: High, Action: Retry,
			Reason: "Abort (failed assertion, runtime abort): restart with backoff."},
		{Name: "sigterm", Kind: KindSignal, Signal: syscall.SIGTERM, Severity: Medium, Action: Retry,
			Reason: "Terminated from outside the node (an operator, the system): restart."},
		{Name: "signal", Kind: KindSignal, Severity: High, Action: Retry,
			Reason: "Killed by another signal: restart with backoff."},

		// Anything the table does not know.
		{Name: "unclassified", Severity: Critical, Action: Escalate,
			Reason: "No rule matched: stop the runner and alert rather than guess. Add a rule."},
	}
}
