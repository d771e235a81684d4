package actors

// SourceNodeKill: the node itself killed the runner's process group while
// the runner was neither stopping nor failing (a forced shutdown: ForceKill,
// the second SIGINT/SIGTERM of exo-actors node, during DRAINING say). The
// runner is not at fault: the failure's reason names what killed it, its
// exit is no diagnosis, and its stderr is not quoted as a cause.
const SourceNodeKill DetectionSource = "node_kill"

// nodeKill says why the node itself sends SIGKILL to a runner's process
// group (FORCE_CLEANUP). The forceKill message carries it to the runner
// actor, which carries it on through its lifecycle: a runner that is
// stopping records it as the stop's SIGKILL step; one that is alive
// (Starting, Serving, Draining, Suspect) enters Failing with a failure of
// SourceNodeKill whose reason is this cause. Its exit then reaches the actor
// in Failing, where an exit is never classified as the runner's own death
// (before, it came in Serving or Suspect and read "runner died: signal=9
// (killed)", with the stderr hint: trial-rust's run-force).
type nodeKill int

const (
	// killForced: Node.ForceKill during the node's shutdown, an operator
	// who would not wait for the graceful shutdown (exo-actors node and
	// demo call it on a second SIGINT/SIGTERM).
	killForced nodeKill = iota
	// killForcedRunning: Node.ForceKill with no shutdown begun (a host's
	// own call): no "forced shutdown" to name.
	killForcedRunning
	// killClosingDeadline: the CLOSING deadline passed before the runner
	// had stopped (its own timer, or the runner supervisor's for a runner
	// that did not answer).
	killClosingDeadline
	// killShutdownContext: the context given to Shutdown ended while a
	// phase ran (its caller would wait no longer): the phase running is
	// cut short so that the shutdown ends at once (node_stepped.go).
	killShutdownContext
)

// what names the cause as the subject of "runner killed by …". Whether a
// ForceKill was a forced shutdown is the node's to say (its shutdown had
// begun when ForceKill was called), not the runner's: a runner the
// shutdown's SIGNALING has not reached yet was killed by the same forced
// shutdown (it read "killed by the node: ForceKill …" then, in 5 of 60
// runs of TestRemoteRunNodeShutDownMidTask).
func (k nodeKill) what() string {
	switch k {
	case killClosingDeadline:
		return "the node: the CLOSING deadline of its shutdown passed"
	case killForcedRunning:
		return "the node: ForceKill sent SIGKILL to every runner's process group"
	case killShutdownContext:
		return "the node's shutdown: the context given to Shutdown ended before its phases did, so every runner's process group got SIGKILL"
	}
	return forcedShutdownWhat
}

// forcedShutdownWhat is killForced's cause, as ReasonShutdownForced says it.
const forcedShutdownWhat = "the node's forced shutdown: ForceKill sent SIGKILL to every runner's process group"

// note is the cause as the phase report of CLOSING has always said it
// ("forced: SIGKILL to the process group").
func (k nodeKill) note() string {
	if k == killClosingDeadline {
		return "closing deadline passed"
	}
	return "forced"
}

// killedByNode says whether the node itself ended the runner (a forced
// shutdown, a CLOSING deadline) rather than the runner failing.
func (f *RunnerFailure) killedByNode() bool { return f.Source == SourceNodeKill }

// taskReason is the reason the runner's tasks end with when this failure
// ends them: "runner failed: <what happened>", or, when the node killed the
// runner (SourceNodeKill), what killed it, without blaming the runner.
func (f *RunnerFailure) taskReason() string {
	if f.killedByNode() {
		return f.Message
	}
	return "runner failed: " + f.Message
}
