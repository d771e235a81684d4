package actors

import (
	"fmt"
	"strings"
	"syscall"
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
	SourcePanic       DetectionSource = "actor_panic"       // the runner's actor panicked (a bug in exo-actors)
)

// hint says what to do about a failure from this source when the advice of
// its kind does not fit ("" to keep Kind.Hint): a runner that closed its
// stdout and lives on is a KindProtocolError, but neither its SDK version
// nor another writer is the likely cause.
func (s DetectionSource) hint() string {
	switch s {
	case SourceStdoutEOF:
		return "a runner must keep stdout open while it runs: it carries every frame to the node"
	case SourceNodeKill:
		// Not the signal kind's "check the runner's stderr for why it
		// died": the node says why it killed it.
		return "nothing to fix in the runner; a shutdown that is not forced lets its tasks finish"
	}
	return ""
}

// RunnerFailure is the typed error a runner actor fails with; its parent's
// supervisor strategy receives it. It embeds the error handler's Failure (what
// the policy classifies) and adds the runner's diagnostics.
type RunnerFailure struct {
	errhandler.Failure
	Source      DetectionSource
	Pid         int
	Exit        *proc.ExitStatus // nil when the process never started
	Termination string           // the TerminationError text, if one came
	// RunnerMessage and RunnerDiagnostics are what the runner itself said
	// in a Failed status (error_message, diagnostics), if it did.
	RunnerMessage     string
	RunnerDiagnostics string
	StderrTail        []string // the last stderr lines
	// Uptime is the time from the process's start to the detection of the
	// failure (the process may live on until it is killed; Exit.Lifetime
	// says how long it lived).
	Uptime time.Duration
	At     time.Time
	// Cleaned lists what was released before the failure was handed on
	// (process group killed, process reaped, pipes closed, timers stopped).
	Cleaned []string
	// Hint, when set, is what to do instead of the advice of the kind and
	// the source: a built-in runner that is no runner points at
	// BuiltinBinary, not at the spec's Command and Args; a frame that is
	// protobuf its runner's encoder got wrong points at the encoder, not
	// at stray prints (frame.Error.EncoderHint).
	Hint string
	// stopAsked: a StopRunner was under way when the runner failed (its
	// StopResult is ended by "failure"): stopped on request, for the
	// health monitor, though its one end event is this failure.
	stopAsked bool
}

// Error returns a one-line description: the runner, what happened, the
// process's exit when it ended by itself (not by the supervisor's own kill),
// and what to do.
func (f *RunnerFailure) Error() string {
	g := f.Failure
	if h := f.Source.hint(); h != "" {
		g = g.WithHint(h) // a copy that came through runtime or the gateway lost it
	}
	if f.Hint != "" {
		g = g.WithHint(f.Hint)
	}
	switch f.Source {
	case SourceHandshake, SourceSpawn, SourceProtocol, SourceStdin:
	default:
		g.Operation = "" // the source adds nothing the message does not say
	}
	if f.Exit != nil && !f.killedBySupervisor() {
		if e := f.Exit.String(); !strings.Contains(g.Message, e) && !strings.Contains(g.Error(), e) {
			if g.Message == "" {
				g.Message = g.Kind.Phrase()
			}
			g.Message += " (it then exited: " + e + ")"
		}
	}
	return g.Describe()
}

// killedBySupervisor reports whether the process died of the SIGKILL the
// supervisor sent after it detected the failure, or of the node's own
// (SourceNodeKill): that exit is not a cause.
func (f *RunnerFailure) killedBySupervisor() bool {
	if f.Exit == nil || f.Exit.Signal != syscall.SIGKILL {
		return false
	}
	if f.killedByNode() {
		return true // its reason names what killed it
	}
	if f.Kind == errhandler.KindSignal {
		return false
	}
	for _, c := range f.Cleaned {
		if strings.HasPrefix(c, "SIGKILL to process group") {
			return true
		}
	}
	return f.Source != SourceExit
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
	if f.Exit != nil && f.Exit.Lifetime > 0 {
		fmt.Fprintf(&b, "uptime: %s (process start to exit)\n", f.Exit.Lifetime.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "detected after: %s\n", f.Uptime.Round(time.Millisecond))
	if f.Termination != "" {
		fmt.Fprintf(&b, "termination error: %s\n", f.Termination)
	}
	if f.RunnerMessage != "" {
		fmt.Fprintf(&b, "runner reported Failed: %s\n", f.RunnerMessage)
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

// stderrFresh is how long before the exit a stderr line may have been
// written to be quoted as it is: a line written earlier (a runner killed
// from outside a second after its last log line) is quoted with its age,
// so that it is not read as the cause.
const stderrFresh = time.Second

// addStderrReason appends the stderr line that says why the runner died
// to the one-line reason: the last line of the tail that states an error
// (proc.CauseLine: a Python traceback's last line, the SyntaxError Node.js
// prints before its stack and its version), when it came within
// stderrFresh of the exit, else the last non-blank line. For a runner that
// died by itself, that line usually says why. age says how long before
// the exit the runner wrote line i of StderrTail.
func (f *RunnerFailure) addStderrReason(age func(i int) time.Duration) {
	i, line := proc.CauseLine(f.StderrTail)
	last, lastLine := lastNonBlank(f.StderrTail)
	switch {
	case i < 0:
		return
	case i == last:
		f.quoteStderr("last stderr line", line, age(i))
	case age(i) > stderrFresh:
		// An error the runner logged long before it died (a task's, say)
		// is not why it died: its last words, as for any runner.
		f.quoteStderr("last stderr line", lastLine, age(last))
	default:
		f.quoteStderr("last error on stderr", line, age(i))
		if !proc.OnlyTrailersAfter(f.StderrTail, i) {
			// The program said more of its own after it (a logged
			// "ERROR:root:download failed, retrying", then its exit
			// message): its last words may be the cause as well (a review).
			f.quoteStderr("last stderr line", lastLine, age(last))
		}
	}
}

// quoteStderr appends one stderr line to the reason under label, cut to
// stderrReasonMax, with its age when it is older than stderrFresh; a line
// whose last clause the reason already holds adds nothing.
func (f *RunnerFailure) quoteStderr(label, line string, age time.Duration) {
	if len(line) > stderrReasonMax {
		line = strings.ToValidUTF8(line[:stderrReasonMax], "") + "…"
	}
	clause := line
	if j := strings.LastIndex(line, ": "); j >= 0 {
		clause = line[j+2:]
	}
	if strings.Contains(f.Message, clause) {
		return
	}
	if age > stderrFresh {
		f.Message += fmt.Sprintf("; %s, %s before the exit: %s", label, age.Round(100*time.Millisecond), line)
		return
	}
	f.Message += "; " + label + ": " + line
}

// lastNonBlank returns the index of the last non-blank line and the line
// trimmed; -1 when there is none.
func lastNonBlank(lines []string) (int, string) {
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return i, l
		}
	}
	return -1, ""
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
	// Complaint is what the runner reported wrong during its stop, the
	// first such thing: "wrote bad output (…); its stdout was not read
	// after it" or "sent TerminationError: …"; empty when nothing. Summary
	// ends with it.
	Complaint string
}

// Ended says how the stop ended, for people: EndedBy, followed by the exit
// status when the process did not exit 0 on its own after a Shutdown frame
// ("shutdown frame (exitcode=5)": the runner stopped when asked, but said
// something went wrong). A SIGTERM or SIGKILL step's own signal is not
// repeated.
func (r *StopResult) Ended() string {
	return r.ended()
}

// StopNoteSIGTERM and StopNoteSIGKILL begin Summary (and so a runner's
// CLOSING note) when the stop's own escalation ended the runner: it did
// not exit on its Shutdown frame (SIGTERM), nor on SIGTERM (SIGKILL).
// exo-actors node's exit-4 hint tells them apart by these prefixes
// (TestStopNotesBeginSummary keeps them in step).
const (
	StopNoteSIGTERM = "ended by SIGTERM"
	StopNoteSIGKILL = "ended by SIGKILL"
	// StopNoteNoFrame follows the note of a runner forced in its
	// handshake: it had no Shutdown frame to ignore, only SIGTERM.
	StopNoteNoFrame = " (it got no Shutdown frame: it had not finished its handshake)"
)

// Summary says how the stop ended as a phrase for people, the subject being
// the runner: "ended by the Shutdown frame", "ended by SIGKILL", "was not
// running", "was waiting to restart: the restart was cancelled", with the
// exit status as in Ended. Write "stopped X: "+Summary(), not "ended by
// "+Ended(), which reads "ended by not running" for some values.
func (r *StopResult) Summary() string {
	if r.Complaint != "" {
		return r.summary() + "; during its stop the runner " + r.Complaint
	}
	return r.summary()
}

func (r *StopResult) summary() string {
	switch r.EndedBy {
	case "shutdown frame":
		return "ended by the Shutdown frame" + strings.TrimPrefix(r.ended(), r.EndedBy)
	case "not running":
		return "was not running"
	case "restart cancelled":
		return "was waiting to restart: the restart was cancelled"
	case "failure":
		return "ended by its failure"
	case "actor stopped":
		return "ended when its actor stopped"
	}
	return "ended by " + r.ended()
}

func (r *StopResult) ended() string {
	if r.EndedBy == "shutdown frame" && r.Exit != nil && (r.Exit.Code != 0 || r.Exit.Signaled() || r.Exit.Err != nil) {
		return r.EndedBy + " (" + r.Exit.String() + ")"
	}
	return r.EndedBy
}
