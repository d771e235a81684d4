package actors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// A forced shutdown (ForceKill, the second SIGTERM of exo-actors node)
// that kills a runner mid-drain names the node as what killed it: in the
// task's reason, the runner's failure, the report's DRAINING row and the
// log, with no "check the runner's stderr" hint and no stderr line quoted
// as the cause. Before, the SIGKILL's exit reached the runner in Serving
// (or Suspect) and was classified as its own death: "runner failed: runner
// died: signal=9 (killed); last stderr line, 3.2s before the exit: …; check
// the runner's stderr for why it died" (trial-rust, run-force).
func TestForceKillMidDrainNamesTheNodeNotTheRunner(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Shutdown = actors.ShutdownDeadlines{Draining: time.Minute} // only the force ends the drain
	})
	id := readyRunner(t, n, "--token-delay", "2ms")
	ctx := ctxT(t)
	h := mustSubmit(t, n, id, textTask("endless", 1000000))
	if _, err := h.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	done := shutdownWhileDraining(t, n, context.Background(), id)
	if k, err := n.ForceKill(ctx); err != nil || k != 1 {
		t.Fatalf("ForceKill: %d %v", k, err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	const want = "runner killed by the node's forced shutdown"
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.HasPrefix(o.Reason, want) {
		t.Errorf("task: %s (%s), want Failed (%s…)", o.Status, o.Reason, want)
	}
	// Exactly the fixed reason, which a ClusterClient tells apart (it
	// resubmits such a Retryable task), and the node says it was forced
	// (its gateway's shutdown note carries it).
	if o.Reason != actors.ReasonShutdownForced {
		t.Errorf("task reason %q, want actors.ReasonShutdownForced %q", o.Reason, actors.ReasonShutdownForced)
	}
	if !n.ShutdownForced() {
		t.Error("ShutdownForced: false after a ForceKill during the shutdown")
	}
	blames := func(s string) bool {
		return strings.Contains(s, "runner died") || strings.Contains(s, "runner failed") ||
			strings.Contains(s, "check the runner's stderr") || strings.Contains(s, "last stderr line")
	}
	if blames(o.Reason) {
		t.Errorf("task reason blames the runner: %s", o.Reason)
	}
	fs := failures(n.rec.snapshot(), id)
	if len(fs) != 1 {
		t.Fatalf("%d failures of %s, want 1", len(fs), id)
	}
	if f := fs[0]; f.Source != actors.SourceNodeKill || blames(f.Error()) || !strings.Contains(f.Error(), want) {
		t.Errorf("failure: source %s: %s", f.Source, f.Error())
	}
	p := r.rep.Root.Children[0].Children[0].Phases[actors.PhaseDraining]
	if p == nil || p.Outcome != actors.OutcomeFailed || !strings.HasPrefix(p.Note, want) || blames(p.Note) {
		t.Errorf("DRAINING of %s: %+v, want failed naming the forced shutdown\n%s", id, p, r.rep)
	}
	for _, e := range n.logs.all() {
		for _, v := range e.Data {
			if s, ok := v.(string); ok && blames(s) {
				t.Errorf("log %q blames the runner: %s", e.Message, s)
			}
		}
	}
}
