package actors

import (
	"fmt"

	"github.com/sirupsen/logrus"
)

// life is where one runner actor incarnation is in its lifecycle. It is the
// only lifecycle value the actor holds: every message is handled by the state
// it arrives in, and every change goes through runnerActor.to, which checks
// it against lifeTransitions. docs/architecture.md ("The runner lifecycle")
// draws the machine.
//
// What the states do not say is kept as evidence or data, never as a flag
// that decides the lifecycle: the exit status, the failure, the negotiated
// protocol version, the goroutines still running, the waiters to answer.
type life int

const (
	// lifeStarting: the process started; the runner has not said Hello yet.
	lifeStarting life = iota
	// lifeServing: the handshake is done; tasks are dispatched while the
	// runner is Ready (unless admission is closed by SIGNALING).
	lifeServing
	// lifeDraining: no new work; in-flight tasks finish or reach the drain
	// deadline. Entered on StopRunner or a node DRAINING phase with tasks in
	// flight; it then goes on to drainThen (Serving or Stopping).
	lifeDraining
	// lifeSuspect: something says the process is ending (stdout EOF, a
	// truncated frame, a failed write to stdin, a Failed status from the
	// runner); the exit decides the diagnosis, else the symptom does after
	// ExitGrace.
	lifeSuspect
	// lifeExited: the process exited unasked; the stdout reader's last
	// frames (a TerminationError names the cause better) are awaited before
	// the exit is classified.
	lifeExited
	// lifeStopping: the stop escalation (Shutdown frame → StopGrace →
	// SIGTERM → TermWait → SIGKILL to the group) until the process exits.
	lifeStopping
	// lifeFailing: a failure was detected; the process is being ended
	// (SIGKILL, or ExitGrace to exit by itself after it said it is dying).
	lifeFailing
	// lifeReaping: the process was reaped (or never started); its reader,
	// stderr and writer goroutines are finishing (bounded by Drain, then the
	// pipes are closed from our side).
	lifeReaping
	// lifeReleasing: a stopped runner's process and goroutines are gone; the
	// resource manager closes its resources (the stop answers after).
	lifeReleasing
	// lifePanicked: a handler panicked with something other than the
	// failure hand-off (a bug). The process group was killed, the tasks
	// ended Failed and every waiter was answered, naming the panic; every
	// request still queued for the actor is answered with it
	// (receivePanicked) until the supervisor's poison pill, queued behind
	// them, stops the actor (→ Done). runner_panic.go.
	lifePanicked
	// lifeDone: terminal. A stopped runner answers stop requests with its
	// result; a failed one has handed its failure to the supervisor.
	lifeDone
	numLives
)

var lifeNames = [numLives]string{"Starting", "Serving", "Draining", "Suspect", "Exited", "Stopping", "Failing", "Reaping", "Releasing", "Panicked", "Done"}

func (l life) String() string {
	if l >= 0 && l < numLives {
		return lifeNames[l]
	}
	return fmt.Sprintf("life(%d)", int(l))
}

// lifeTransitions is the table of legal transitions: from → the states it may
// go to. Anything else is a bug, logged and counted (never applied silently).
var lifeTransitions = map[life][]life{
	// Hello accepted; a stop or CLOSING before Hello; a detected failure; the
	// exit; a symptom of dying; the process could not start (→ Reaping).
	// From every state but Done: a handler panicked (a bug) → Panicked.
	lifeStarting: {lifeServing, lifeStopping, lifeFailing, lifeExited, lifeSuspect, lifeReaping, lifePanicked},
	lifeServing:  {lifeDraining, lifeStopping, lifeFailing, lifeExited, lifeSuspect, lifePanicked},
	// Drained (→ Serving or Stopping), or it died or failed while draining.
	lifeDraining: {lifeServing, lifeStopping, lifeFailing, lifeExited, lifeSuspect, lifePanicked},
	// The exit came (→ Exited, then classified), ExitGrace passed (→ Failing),
	// or a stop came (→ Stopping: the stop ends it anyway).
	lifeSuspect: {lifeExited, lifeFailing, lifeStopping, lifePanicked},
	// Classified: a failure whose process is already gone.
	lifeExited:   {lifeFailing, lifePanicked},
	lifeStopping: {lifeReaping, lifeFailing, lifePanicked},
	lifeFailing:  {lifeReaping, lifePanicked},
	// A stop releases resources first; a failure goes to Done and hands
	// itself to the supervisor.
	lifeReaping:   {lifeReleasing, lifeDone, lifePanicked},
	lifeReleasing: {lifeDone, lifePanicked},
	// The supervisor's poison pill arrived: everything queued before it was
	// answered.
	lifePanicked: {lifeDone},
	lifeDone:     {},
}

// legal reports whether from → to is in lifeTransitions.
func legal(from, to life) bool {
	for _, t := range lifeTransitions[from] {
		if t == to {
			return true
		}
	}
	return false
}

// to moves the incarnation to state next. An illegal transition is a bug: it
// is logged at error and counted in the slot (RunnerInfo.LifecycleErrors),
// and not applied.
func (a *runnerActor) to(next life) bool {
	if !legal(a.life, next) {
		a.slot.countLifecycleError()
		a.log.WithFields(logrus.Fields{"from": a.life.String(), "to": next.String()}).Error("illegal runner lifecycle transition (a bug): ignored")
		return false
	}
	a.log.WithFields(logrus.Fields{"from": a.life.String(), "to": next.String()}).Debug("runner lifecycle")
	a.life = next
	return true
}

// alive says the process may still be running and was not told to end.
func (l life) alive() bool {
	return l == lifeStarting || l == lifeServing || l == lifeDraining || l == lifeSuspect
}

// ending says the process is being ended or is gone.
func (l life) ending() bool { return l >= lifeExited }
