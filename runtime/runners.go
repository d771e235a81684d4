package runtime

import (
	"strconv"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/resources"
)

// RunnerSpec says how to start a runner. SpawnRunner refuses a spec that
// cannot work (Validate), and a Command that does not exist or is not
// executable, with an error wrapping ErrInvalidSpec that names it.
type RunnerSpec struct {
	// Kind names what the runner is, e.g. "llama-3b"; it starts the
	// runner's ID ("llama-3b-4f9c2a"). 1-40 lowercase letters, digits or
	// '-', starting with a letter or digit; required.
	Kind string
	// Builtin runs this project's own built-in runner (`exo-actors runner`,
	// see Config.BuiltinBinary) with Args appended; Command must then be
	// empty.
	Builtin bool
	// Command is the executable to run: a path, or a name (no '/') looked
	// up in the host's PATH. A relative path is taken from Dir, or from the
	// host process's working directory when Dir is empty.
	Command string
	// Args are the arguments, without the program name.
	Args []string
	// Env is added to the runner's environment (KEY=VALUE), after
	// Config.Env.
	Env []string
	// Dir is the runner's working directory; empty means the host
	// process's. A relative Dir is taken from the host process's working
	// directory at each start of the runner (its restarts included), as
	// os/exec does: a host that may chdir should pass an absolute one.
	// (exo-actors node resolves a relative kinds.K.dir from its config
	// file's directory before it gets here.)
	Dir string
}

// Validate returns an error wrapping ErrInvalidSpec, naming every problem
// on one line, for a spec that cannot work; it does not look at the file
// system (SpawnRunner does).
func (s RunnerSpec) Validate() error { return toRunnerSpec(s).Validate() }

// RunnerStatus is where a runner is in its life, as exo names it:
//
//	Idle → Connecting → Connected → Loading → Loaded → WarmingUp → Ready ⇄ Running
//	any → ShuttingDown → Shutdown;  any → Failed
//
// The runner reports its own statuses up to Ready and Running; the
// supervisor sets Failed and Shutdown.
type RunnerStatus int

// The runner statuses. The zero value is StatusUnknown (never reported).
const (
	StatusUnknown RunnerStatus = iota
	StatusIdle
	StatusConnecting
	StatusConnected
	StatusLoading
	StatusLoaded
	StatusWarmingUp
	StatusReady
	StatusRunning
	StatusShuttingDown
	StatusShutdown
	StatusFailed
)

var statusNames = [...]string{"Unknown", "Idle", "Connecting", "Connected", "Loading", "Loaded",
	"WarmingUp", "Ready", "Running", "ShuttingDown", "Shutdown", "Failed"}

// String returns exo's name of the status, e.g. "WarmingUp".
func (s RunnerStatus) String() string {
	if s < 0 || int(s) >= len(statusNames) {
		return "RunnerStatus(" + strconv.Itoa(int(s)) + ")"
	}
	return statusNames[s]
}

// Terminal reports whether the status is final for the process: Shutdown or
// Failed.
func (s RunnerStatus) Terminal() bool { return s == StatusShutdown || s == StatusFailed }

// RunnerInfo is a snapshot of one runner.
type RunnerInfo struct {
	ID   string
	Kind string
	// Generation counts the runner's processes (1 for the first).
	Generation uint64
	// Attempts counts the processes started for this runner, its first
	// included (1 for a runner never restarted; today always Generation);
	// its restarts are Generation − 1, as /status shows. (It was documented
	// as "restarts since the runner was last stable", which it never was:
	// a new user's trial.)
	Attempts int
	Pid      int
	// Status is the runner's status; Loading carries LayersLoaded of
	// TotalLayers, Failed carries StatusError and StatusDiagnostics.
	Status            RunnerStatus
	LayersLoaded      uint32
	TotalLayers       uint32
	StatusError       string
	StatusDiagnostics string
	// StatusSince is when Status was entered.
	StatusSince time.Time
	// StaleDrops counts messages from an older process generation that were
	// dropped.
	StaleDrops uint64
	// ProtocolErrors counts frames that broke the protocol's order: logged,
	// never applied.
	ProtocolErrors uint64
	// LifecycleErrors counts illegal transitions of the runner actor's
	// lifecycle: bugs in exo-actors, logged at error and not applied.
	// Always 0 unless something is wrong in exo-actors itself.
	LifecycleErrors uint64
	// LastError is the text of the runner's last failure, if any.
	LastError string
	// LastRecord is the last error record of the runner; nil if none.
	LastRecord *ErrorRecord
	// LastFailure is the failure of the runner's current generation, as
	// its RunnerFailed carried it; nil while that generation has not
	// failed (a runner restarted after a failure has none until it fails
	// again). WaitReady returns it for a runner that had failed before
	// the call, as it returns the live event's.
	LastFailure *RunnerFailure
	// NextDelay is the backoff delay its next restart would wait.
	NextDelay time.Duration
	// Restarting: the runner waits RestartIn before restart RestartAttempt.
	Restarting     bool
	RestartIn      time.Duration
	RestartAttempt int
}

// StatusText renders the runner's state for people: its status, or
// "restarting in 1.6s (attempt 2)" while it waits in backoff.
func (in RunnerInfo) StatusText() string { return toRunnerInfo(in).StatusText() }

// StopStep is one step of a runner's stop escalation.
type StopStep struct {
	// Name is "shutdown frame", "SIGTERM" or "SIGKILL".
	Name     string
	Started  time.Time
	Duration time.Duration
}

// StopResult says how a runner's stop ended.
type StopResult struct {
	RunnerID   string
	Generation uint64
	// EndedBy names the step after which the process exited: "shutdown
	// frame", "SIGTERM", "SIGKILL"; "failure" when the runner failed while
	// the stop was under way, "not running" when there was no live process
	// (a runner retired after an escalation among them: Failure then says
	// why), "restart cancelled" for a runner waiting to restart. Ended adds
	// a non-zero exit after the Shutdown frame.
	EndedBy string
	// Exit is how the process ended; nil when there was none.
	Exit *ExitStatus
	// Steps are the stop's steps in order; from a remote node (Client)
	// they carry their names only.
	Steps []StopStep
	// Total is the time from the stop request to the end, the drain
	// included: running tasks finish first, for up to
	// RunnerTimeouts.StopDrain (Steps are what came after the drain). To
	// stop a runner mid-task without the drain, Cancel its tasks first or
	// set a short StopDrain.
	Total time.Duration
	// Failure is set when the runner had already failed when the stop came.
	Failure *RunnerFailure
	// Resources is how the runner's resources closed (process, then pipes).
	Resources *CloseReport
	// Complaint is what the runner reported wrong during its stop, the
	// first such thing: "wrote bad output (…); its stdout was not read
	// after it" or "sent TerminationError: …"; empty when nothing (and from
	// a node of an earlier release). Summary ends with it.
	Complaint string
}

// Ended says how the stop ended, for people: EndedBy, followed by the exit
// status when the process did not exit 0 after its Shutdown frame
// ("shutdown frame (exitcode=5)": it stopped when asked, but said something
// went wrong). A remote node's StopResult carries the exit the node saw.
func (r *StopResult) Ended() string {
	return (&actors.StopResult{EndedBy: r.EndedBy, Exit: toExit(r.Exit)}).Ended()
}

// Summary says how the stop ended as a phrase for people ("ended by the
// Shutdown frame", "was not running", "was waiting to restart: the
// restart was cancelled"): write "stopped X: "+Summary() (actors.StopResult.Summary).
func (r *StopResult) Summary() string {
	return (&actors.StopResult{EndedBy: r.EndedBy, Exit: toExit(r.Exit), Complaint: r.Complaint}).Summary()
}

// CloseOutcome is how one resource's close ended.
type CloseOutcome int

// The outcomes of a close.
const (
	// CloseOK: Close returned nil within its timeout.
	CloseOK CloseOutcome = iota + 1
	// CloseFailed: Close returned an error or panicked.
	CloseFailed
	// CloseTimedOut: Close did not return within its timeout; its function
	// may still be running.
	CloseTimedOut
)

// String returns "closed", "failed" or "timed out".
func (o CloseOutcome) String() string { return resources.Outcome(o).String() }

// CloseReport tells how one cleanup of resources went.
type CloseReport struct {
	// Scope is what was asked: "owner <id>" or "all".
	Scope    string
	Started  time.Time
	Duration time.Duration
	// Entries has one entry per resource closed, in the order the closes
	// finished.
	Entries []CloseEntry
	// Order is the names of Entries, in the same order.
	Order []string
	// Failures lists the failures of the failed and timed-out closes
	// (FailureResourceCloseFailed), in Entries order.
	Failures []Failure
}

// CloseEntry is one resource's close in a CloseReport.
type CloseEntry struct {
	Name       string
	Kind       string
	Owner      string
	Generation uint64
	// Started is when its Close was called; Duration how long it ran (the
	// timeout for CloseTimedOut).
	Started  time.Time
	Duration time.Duration
	Outcome  CloseOutcome
	// Err is what Close returned, or a timeout error; nil for CloseOK.
	Err error
	// StillRunning: the close timed out and its function had not returned
	// yet.
	StillRunning bool
	// Dependent: the resource is another owner's and was closed first
	// because it depends on one in scope.
	Dependent bool
	// Failure is the failure reported for a failed or timed-out close.
	Failure *Failure
}
