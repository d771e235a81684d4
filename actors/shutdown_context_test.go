package actors_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestShutdownFitsItsContext: a Shutdown whose context ends before the
// phases' deadlines would (here 8 s against 2 s + 30 s + 15 s) runs every
// phase, each with a deadline fitted into the time the context leaves:
// DRAINING cuts the endless task short (TimedOut, the drain deadline's
// reason), CLOSING ends the runner by its Shutdown frame, and the report
// has all three phases. Before, the context ended in DRAINING, which was
// abandoned half-way ("DRAINING: ask node: node is shutting down and
// accepts no new work (no answer from node within 1ms…); CLOSING: context
// deadline exceeded"), the runner was SIGKILLed without a Shutdown frame
// and its task ended Failed "runner actor stopped before the task ended"
// (a new user's host, trial of the tenth session).
func TestShutdownFitsItsContext(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Shutdown = actors.ShutdownDeadlines{Signaling: 2 * time.Second, Draining: 30 * time.Second, Closing: 15 * time.Second}
	})
	id, h := endlessTask(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	rep, err := n.Shutdown(ctx)
	if err != nil {
		// A context that ended anyway (a starved machine overran the
		// margins) is the cut-short path, not this test's.
		t.Fatalf("Shutdown: %v\n%s", err, rep)
	}
	if d := rep.PhaseDeadline[actors.PhaseDraining]; d <= 0 || d >= 8*time.Second {
		t.Errorf("DRAINING ran with deadline %s; want it fitted into the context's 8s", d)
	}
	for ph := actors.PhaseSignaling; ph <= actors.PhaseClosing; ph++ {
		if rep.Root.Phases[ph] == nil {
			t.Errorf("the report has no %s\n%s", ph, rep)
		}
	}
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_TIMED_OUT || o.Reason != actors.ReasonShutdownDrainCut {
		t.Errorf("task: %s (%q); want TimedOut (%q)", o.Status, o.Reason, actors.ReasonShutdownDrainCut)
	}
	p := rep.Root.Children[0].Children[0].Phases[actors.PhaseClosing]
	if p == nil || p.Outcome != actors.OutcomeOK || len(rep.Forced) != 0 {
		t.Errorf("CLOSING of %s: %+v, forced %v; want ok (the Shutdown frame), nothing forced\n%s", id, p, rep.Forced, rep)
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
}

// TestShutdownContextCancelledMidDrain: a Shutdown whose context is
// cancelled while DRAINING waits for an endless task does not wait out the
// drain's 30 s deadline, nor abandon the phase: every runner's process
// group gets SIGKILL, the phases left run at once, the report has all
// three phases, and the error wraps context.Canceled and says what to
// give Shutdown. The task's reason names the cause, not the runner.
func TestShutdownContextCancelledMidDrain(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Shutdown = actors.ShutdownDeadlines{Draining: 30 * time.Second}
	})
	id, h := endlessTask(t, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := shutdownWhileDraining(t, n, ctx, id)
	cancel()
	var r shutdownResult
	select {
	case r = <-done:
	case <-time.After(20 * time.Second): // the drain's deadline is 30 s
		t.Fatal("Shutdown still runs 20s after its context was cancelled")
	}
	n.shutdownErrChecked = true
	const want = "context canceled: the context given to the shutdown ended during DRAINING: SIGKILL went to the runner's process group, " +
		"and the phases it had left ran with a zero deadline; to let those phases run to their deadlines " +
		"(the node's shutdown deadlines: DRAINING 30s, CLOSING 15s), give it a context of at least 46.9s, or context.Background()"
	if !errors.Is(r.err, context.Canceled) || r.err.Error() != want {
		t.Errorf("Shutdown: %v\nwant %q, wrapping context.Canceled", r.err, want)
	}
	for ph := actors.PhaseSignaling; ph <= actors.PhaseClosing; ph++ {
		if r.rep.Root.Phases[ph] == nil {
			t.Errorf("the report has no %s\n%s", ph, r.rep)
		}
	}
	const wantReason = "runner killed by the node's shutdown: the context given to Shutdown ended"
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.HasPrefix(o.Reason, wantReason) {
		t.Errorf("task: %s (%q); want Failed (%s…)", o.Status, o.Reason, wantReason)
	}
	select {
	case <-n.Done():
	default:
		t.Error("Shutdown returned but the node is not done")
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
}

// TestCancelDuringDrainEndsTheDrain: a Cancel of the task a DRAINING
// already waits for is answered (a Cancel is not new work), the task ends
// Cancelled once the runner confirms, and the drain ends with it: DRAINING
// ok, nothing cut, although its deadline is 30 s away. (The ninth
// session's TestCancelDuringShutdownIsAnswered cancels between SIGNALING
// and DRAINING; this one mid-drain, which only a review's reproducer had
// covered.)
func TestCancelDuringDrainEndsTheDrain(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Shutdown = actors.ShutdownDeadlines{Draining: 30 * time.Second}
	})
	id, h := endlessTask(t, n)
	ctx := ctxT(t)
	done := shutdownWhileDraining(t, n, context.Background(), id)
	if got, err := n.Cancel(ctx, id, "endless"); err != nil || got != 1 {
		t.Fatalf("Cancel mid-drain: %d, %v; want 1", got, err)
	}
	var r shutdownResult
	select {
	case r = <-done:
	case <-time.After(20 * time.Second): // the drain's deadline is 30 s
		t.Fatal("the drain did not end with its only task cancelled")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED || o.Reason != "cancelled on request" {
		t.Errorf("task: %s (%q); want Cancelled (cancelled on request)", o.Status, o.Reason)
	}
	if p := r.rep.Root.Phases[actors.PhaseDraining]; p == nil || p.Outcome != actors.OutcomeOK {
		t.Errorf("DRAINING: %+v; want ok, nothing cut\n%s", p, r.rep)
	}
}

// TestSteppedShutdownCutOnlyInItsCall: in a stepped shutdown, a call whose
// context ends during its phase (DRAINING here) cuts that phase only; the
// next call, with a context of its own, runs CLOSING with its full
// deadline and its own watch. (A first draft kept "cut" for the whole
// shutdown: later calls had no watch and their error said their phases
// "ran at once"; the review of the tenth session.)
func TestSteppedShutdownCutOnlyInItsCall(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Shutdown = actors.ShutdownDeadlines{Draining: 30 * time.Second, Closing: 15 * time.Second}
	})
	id, _ := endlessTask(t, n)
	if _, err := n.ShutdownPhase(ctxT(t), actors.PhaseSignaling, 0, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1) // never closed; one send
	go func() {
		_, err := n.ShutdownPhase(ctx, actors.PhaseDraining, 0, 0)
		done <- err
	}()
	n.logs.waitLog(t, 20*time.Second, "the runner drains", func(e *logrus.Entry) bool {
		return e.Message == "runner lifecycle" && e.Data["runner_id"] == id && e.Data["to"] == "Draining"
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "ended during DRAINING") {
		t.Fatalf("DRAINING: %v; want it to wrap context.Canceled and name DRAINING", err)
	}
	rep, err := n.ShutdownPhase(context.Background(), actors.PhaseClosing, 0, 0)
	n.shutdownErrChecked = true
	if d := rep.PhaseDeadline[actors.PhaseClosing]; d != 15*time.Second {
		t.Errorf("CLOSING ran with deadline %s; want its own 15s", d)
	}
	// A stepped call returns the errors of the phases it ran: CLOSING's
	// has no cut (its ctx did not end); the whole shutdown's error (what
	// Shutdown returns once it is over) names DRAINING's cut once.
	if err != nil && strings.Contains(err.Error(), "the context given to the shutdown ended") {
		t.Errorf("CLOSING: %v; want no cut named (CLOSING's ctx did not end; DRAINING's call said its own)", err)
	}
	if _, all := n.Shutdown(context.Background()); all == nil || strings.Count(all.Error(), "the context given to the shutdown ended") != 1 || strings.Contains(all.Error(), "before CLOSING") {
		t.Errorf("the shutdown's error: %v; want only DRAINING's cut named", all)
	}
	if p := rep.Root.Phases[actors.PhaseClosing]; p == nil {
		t.Errorf("the report has no CLOSING\n%s", rep)
	}
}

// shutdownResult is what a Shutdown run on a goroutine of a test returned.
type shutdownResult struct {
	rep actors.ShutdownReport
	err error
}

// shutdownWhileDraining runs n.Shutdown(ctx) on a goroutine of its own
// and returns once runner id drains (its lifecycle went Draining); the
// channel (capacity 1, one send, never closed) gets what Shutdown
// returned. The goroutine ends when Shutdown does: read the channel.
func shutdownWhileDraining(t *testing.T, n *testNode, ctx context.Context, id string) <-chan shutdownResult {
	t.Helper()
	done := make(chan shutdownResult, 1)
	go func() {
		rep, err := n.Shutdown(ctx)
		done <- shutdownResult{rep, err}
	}()
	n.logs.waitLog(t, 20*time.Second, "the runner drains", func(e *logrus.Entry) bool {
		return e.Message == "runner lifecycle" && e.Data["runner_id"] == id && e.Data["to"] == "Draining"
	})
	return done
}

// endlessTask starts a ready built-in runner on n and a task on it that
// streams for as long as the test lasts (1,000,000 tokens of 2 ms), and
// returns once its first chunk came: the runner's ID and the task.
func endlessTask(t *testing.T, n *testNode) (string, *actors.TaskHandle) {
	t.Helper()
	id := readyRunner(t, n, "--token-delay", "2ms")
	h := mustSubmit(t, n, id, textTask("endless", 1000000))
	if _, err := h.Chunk(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	return id, h
}

// TestSteppedShutdownPhaseErrorIsItsOwn: a stepped call's error is that of
// the phases it ran. Before, every later call returned the earlier calls'
// errors again, so a cluster shutdown counted a member whose SIGNALING had
// an error as failing DRAINING and CLOSING too, and kept its SIGNALING
// report. The whole shutdown's error (Shutdown, once over) has them all.
func TestSteppedShutdownPhaseErrorIsItsOwn(t *testing.T) {
	n := startNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := n.ShutdownPhase(ctx, actors.PhaseSignaling, 0, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("SIGNALING with a cancelled ctx: %v; want it cut", err)
	}
	for _, ph := range []actors.Phase{actors.PhaseDraining, actors.PhaseClosing} {
		if _, err := n.ShutdownPhase(ctxT(t), ph, 0, 0); err != nil {
			t.Errorf("%s with a live ctx: %v; want no error (SIGNALING's is not this call's)", ph, err)
		}
	}
	_, all := n.Shutdown(context.Background())
	n.shutdownErrChecked = true
	if !errors.Is(all, context.Canceled) {
		t.Errorf("the shutdown's error: %v; want SIGNALING's cut in it", all)
	}
}
