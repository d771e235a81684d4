package actors_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestShutdownPhaseStepsInOrder runs a node's shutdown one phase at a time,
// as a cluster-wide shutdown does: after SIGNALING the node takes no new
// work but a task in flight keeps streaming until DRAINING; asking for
// CLOSING runs DRAINING first; the final report holds the three phases.
func TestShutdownPhaseStepsInOrder(t *testing.T) {
	n := startNode(t)
	id := readyRunner(t, n, "--token-delay", "2ms")
	h := mustSubmit(t, n, id, textTask("a", 50))
	if _, err := h.Chunk(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ShutdownPhase(ctxT(t), actors.Phase(7), 0, 0); err == nil || !strings.Contains(err.Error(), "shutdown phase 7: want SIGNALING (0)") {
		t.Errorf("phase 7: %v", err)
	}
	rep, err := n.ShutdownPhase(ctxT(t), actors.PhaseSignaling, time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Root.Phases[actors.PhaseSignaling] == nil || rep.Root.Phases[actors.PhaseDraining] != nil || rep.PhaseDuration[actors.PhaseSignaling] <= 0 {
		t.Fatalf("after SIGNALING:\n%s", rep)
	}
	select {
	case <-n.Done():
		t.Fatal("Done closed after SIGNALING")
	default:
	}
	if _, err := n.Submit(ctxT(t), id, textTask("b", 1)); !errors.Is(err, actors.ErrShuttingDown) {
		t.Errorf("Submit after SIGNALING: %v, want ErrShuttingDown", err)
	}
	// Asking again for a phase that ran returns the report as it is.
	again, err := n.ShutdownPhase(ctxT(t), actors.PhaseSignaling, time.Second, 0)
	if err != nil || again.Root.Phases[actors.PhaseDraining] != nil {
		t.Fatalf("SIGNALING again: %v\n%s", err, again)
	}
	final, err := n.ShutdownPhase(ctxT(t), actors.PhaseClosing, 5*time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	<-n.Done()
	for ph, p := range final.Root.Phases {
		if p == nil || p.Outcome != actors.OutcomeOK {
			t.Errorf("node phase %d: %+v\n%s", ph, p, final)
		}
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("task in flight: %+v, want it drained (Complete)", o)
	}
	// The copy handed out after SIGNALING was not changed by later phases.
	if rep.Root.Phases[actors.PhaseDraining] != nil {
		t.Error("the report returned after SIGNALING changed later")
	}
	// Shutdown after a stepped shutdown returns the same report.
	same, _ := n.Shutdown(context.Background())
	if same.Total != final.Total {
		t.Errorf("Shutdown after the steps: total %v, want %v", same.Total, final.Total)
	}
}

// TestShutdownPhaseGoesOnAlone: a node whose coordinator never asks for the
// next phase finishes its shutdown alone after goOnAfter.
func TestShutdownPhaseGoesOnAlone(t *testing.T) {
	n := startNode(t)
	readyRunner(t, n)
	if _, err := n.ShutdownPhase(ctxT(t), actors.PhaseSignaling, time.Second, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.Done():
	case <-ctxT(t).Done():
		t.Fatal("the node did not go on alone")
	}
	rep, err := n.Shutdown(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for ph, p := range rep.Root.Phases {
		if p == nil {
			t.Errorf("phase %d missing after going on alone:\n%s", ph, rep)
		}
	}
}

// TestShutdownBeganBeforeDone: ShutdownBegan is closed when the shutdown
// begins (here its first phase), long before Done; a node that is a
// cluster member leaves its cluster then (exo-actors node), whoever asked.
func TestShutdownBeganBeforeDone(t *testing.T) {
	n := startNode(t)
	select {
	case <-n.ShutdownBegan():
		t.Fatal("ShutdownBegan closed on a running node")
	default:
	}
	if _, err := n.ShutdownPhase(ctxT(t), actors.PhaseSignaling, time.Second, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.ShutdownBegan():
	default:
		t.Fatal("ShutdownBegan not closed after SIGNALING")
	}
	select {
	case <-n.Done():
		t.Fatal("Done closed after SIGNALING")
	default:
	}
	rep, err := n.Shutdown(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	<-n.Done()
	// The report says which deadline each phase ran with, and whose: the
	// coordinator's for SIGNALING, the node's own for the phases Shutdown
	// ran (exo-actors node names the setting to raise from them).
	if rep.PhaseDeadline[actors.PhaseSignaling] != time.Second || !rep.PhaseCoordinated[actors.PhaseSignaling] {
		t.Errorf("SIGNALING ran with %v (coordinated %v), want 1s, the coordinator's", rep.PhaseDeadline[actors.PhaseSignaling], rep.PhaseCoordinated[actors.PhaseSignaling])
	}
	for _, ph := range []actors.Phase{actors.PhaseDraining, actors.PhaseClosing} {
		if rep.PhaseDeadline[ph] <= 0 || rep.PhaseCoordinated[ph] {
			t.Errorf("%s ran with %v (coordinated %v), want the node's own", ph, rep.PhaseDeadline[ph], rep.PhaseCoordinated[ph])
		}
	}
}

// TestCancelDuringShutdownIsAnswered: once the node shuts down it takes no
// new work, but a Cancel of a task in flight is answered as the Node's
// contract says (it was refused with ErrShuttingDown): the task ends
// Cancelled, so the drain need not wait for it.
func TestCancelDuringShutdownIsAnswered(t *testing.T) {
	n := startNode(t)
	id := readyRunner(t, n, "--token-delay", "5ms")
	h := mustSubmit(t, n, id, textTask("long", 100000))
	if _, err := h.Chunk(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ShutdownPhase(ctxT(t), actors.PhaseSignaling, time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Submit(ctxT(t), id, textTask("new", 1)); !errors.Is(err, actors.ErrShuttingDown) {
		t.Errorf("Submit after SIGNALING: %v, want ErrShuttingDown", err)
	}
	got, err := n.Cancel(ctxT(t), id, "long")
	if err != nil || got != 1 {
		t.Fatalf("Cancel after SIGNALING: %d, %v; want 1 task cancelled", got, err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED {
		t.Errorf("the cancelled task ended %+v, want Cancelled", o)
	}
	final, err := n.ShutdownPhase(ctxT(t), actors.PhaseClosing, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p := final.Root.Phases[actors.PhaseDraining]; p == nil || p.Outcome != actors.OutcomeOK {
		t.Errorf("DRAINING after the cancel: %+v, want ok (nothing left in flight)\n%s", p, final)
	}
	if _, err := n.Cancel(ctxT(t), id, ""); !errors.Is(err, actors.ErrShuttingDown) {
		t.Errorf("Cancel after the shutdown: %v, want ErrShuttingDown (ErrStopped)", err)
	}
}

// TestDrainDeadlineKeepsACancelsOutcome: a task cancelled during the
// shutdown whose runner never confirms the Cancel, overtaken by the drain
// deadline, ends as the Cancel said (Cancelled) and is not counted as cut.
// Before, the deadline cut it (TimedOut, ReasonShutdownDrainCut), which a
// ClusterClient resubmits on another node: a task whose Cancel returned 1
// could run again.
func TestDrainDeadlineKeepsACancelsOutcome(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Tasks.CancelWait = time.Minute })
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "deaf", Command: helperBinary(t), Env: []string{"EXO_ACTORS_HELPER=deaf-to-cancel"}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	h := mustSubmit(t, n, id, textTask("deaf", 1))
	if _, err := h.Chunk(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ShutdownPhase(ctxT(t), actors.PhaseSignaling, time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if got, err := n.Cancel(ctxT(t), id, "deaf"); err != nil || got != 1 {
		t.Fatalf("Cancel after SIGNALING: %d, %v; want 1", got, err)
	}
	rep, err := n.ShutdownPhase(ctxT(t), actors.PhaseDraining, 300*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED || o.Reason == actors.ReasonShutdownDrainCut ||
		!strings.Contains(o.Reason, "drain deadline passed before the runner confirmed") {
		t.Errorf("the cancelled task ended %s (%q); want Cancelled, its Cancel's reason and the deadline's note", o.Status, o.Reason)
	}
	p := rep.Root.Phases[actors.PhaseDraining]
	if p == nil || p.Outcome != actors.OutcomeOK {
		t.Errorf("DRAINING: %+v; want ok, nothing cut\n%s", p, rep)
	}
	if _, err := n.ShutdownPhase(ctxT(t), actors.PhaseClosing, 30*time.Second, 0); err != nil {
		t.Fatal(err)
	}
}
