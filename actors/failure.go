package actors

import (
	"fmt"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/internal/proc"
)

// DetectionSource says how a runner's failure was noticed. The first source
// to notice wins; later evidence is kept in the failure's fields.
type DetectionSource string

// The crash sources.
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
)

// RunnerFailure is the typed error a runner actor fails with; its parent's
// supervisor strategy receives it. It embeds the error handler's Failure (what
// the policy classifies) and adds the runner's diagnostics.
type RunnerFailure struct {
	errhandler.Failure
	Source      DetectionSource
	Pid         int
	Exit        *proc.ExitStatus // nil when the process never started
	Termination string           // the TerminationError text, if one came
	// RunnerError and RunnerDiagnostics are the error_message and
	// diagnostics of a Failed status the runner reported itself (a Python
	// runner's traceback, say), kept beside the supervisor's own.
	RunnerError       string
	RunnerDiagnostics string
	StderrTail        []string // the last stderr lines
	Uptime            time.Duration
	At                time.Time
	// Cleaned lists what was released before the failure was handed on
	// (process group killed, process reaped, pipes closed, timers stopped).
	Cleaned []string
}

// Error returns a one-line description.
func (f *RunnerFailure) Error() string {
	s := f.Failure.Error()
	if f.Exit != nil && !strings.Contains(s, f.Exit.String()) {
		s += " (" + f.Exit.String() + ")"
	}
	return s + " [detected by " + string(f.Source) + "]"
}

// Unwrap returns the embedded Failure, so errors.As finds either.
func (f *RunnerFailure) Unwrap() error { return f.Failure }

// Diagnostics renders what is known for the Failed status's diagnostics field.
func (f *RunnerFailure) Diagnostics() string {
	var b strings.Builder
	fmt.Fprintf(&b, "detected by: %s\n", f.Source)
	if f.Exit != nil {
		fmt.Fprintf(&b, "exit: %s\n", f.Exit)
	}
	if f.Pid > 0 {
		fmt.Fprintf(&b, "pid: %d\n", f.Pid)
	}
	fmt.Fprintf(&b, "uptime: %s\n", f.Uptime.Round(time.Millisecond))
	if f.Termination != "" {
		fmt.Fprintf(&b, "termination error: %s\n", f.Termination)
	}
	if f.RunnerError != "" {
		fmt.Fprintf(&b, "runner reported Failed: %s\n", f.RunnerError)
	}
	if d := strings.TrimRight(f.RunnerDiagnostics, "\n"); d != "" {
		b.WriteString("runner diagnostics:\n")
		for _, l := range strings.Split(d, "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	if len(f.StderrTail) > 0 {
		b.WriteString("last stderr lines:\n")
		for _, l := range f.StderrTail {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// stderrReasonMax is the longest stderr line a one-line reason quotes.
const stderrReasonMax = 200

// addStderrReason appends the runner's last non-blank stderr line (a
// traceback's last line, say) to the one-line reason. For a runner that
// died by itself, that line usually says why.
func (f *RunnerFailure) addStderrReason() {
	for i := len(f.StderrTail) - 1; i >= 0; i-- {
		line := strings.TrimSpace(f.StderrTail[i])
		if line == "" {
			continue
		}
		if len(line) > stderrReasonMax {
			line = strings.ToValidUTF8(line[:stderrReasonMax], "") + "…"
		}
		f.Message += "; last stderr line: " + line
		return
	}
}

// StopStep is one step of a runner's stop escalation.
type StopStep struct {
	Name     string // "shutdown frame", "SIGTERM", "SIGKILL"
	Started  time.Time
	Duration time.Duration
}

// StopResult says how a stop ended.
type StopResult struct {
	RunnerID   string
	Generation uint64
	// EndedBy names the step after which the process exited: "shutdown frame",
	// "SIGTERM", "SIGKILL", or "not running" when there was no live process.
	EndedBy string
	Exit    *proc.ExitStatus
	Steps   []StopStep
	Total   time.Duration
	// Failure is set when the runner had already failed when the stop came.
	Failure *RunnerFailure
	// Resources is how the runner's resources closed (process, then pipes).
	Resources *resources.CloseReport
}
