package actors_test

import (
	"errors"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestSubmitRouteFollowsTheRunner: Submit addresses a live runner actor
// directly; a stopped runner answers as the supervisor did (a refusal for a
// new task, the remembered outcome for a known one), and SIGNALING withdraws
// every route (ErrShuttingDown from the supervisor).
func TestSubmitRouteFollowsTheRunner(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, builtin())
	if err != nil {
		t.Fatal(err)
	}
	other, err := n.SpawnRunner(ctx, builtin())
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	if !n.DirectRouteForTest(id) {
		t.Fatal("no direct route to a Ready runner's actor")
	}
	h := mustSubmit(t, n, id, actors.TaskSpec{ID: "direct", Kind: "noop"})
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Fatalf("noop through the direct route: %+v", o)
	}
	if _, err := n.StopRunner(ctx, id); err != nil {
		t.Fatalf("StopRunner: %v", err)
	}
	// Whether the supervisor has withdrawn the route yet or not (it does
	// when the runner reports its end), the answers are the same.
	if _, err := n.Submit(ctx, id, actors.TaskSpec{ID: "late", Kind: "noop"}); !errors.Is(err, actors.ErrRunnerNotAvailable) {
		t.Errorf("Submit to a stopped runner: %v, want ErrRunnerNotAvailable", err)
	}
	if again, err := n.Submit(ctx, id, actors.TaskSpec{ID: "direct", Kind: "noop"}); err != nil || again.Outcome() == nil ||
		again.Outcome().Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("Submit of a finished task's ID to a stopped runner: %v, %v; want its remembered outcome (Complete)", again, err)
	}
	if _, err := n.ShutdownPhase(ctx, actors.PhaseSignaling, 10*time.Second, 0); err != nil {
		t.Fatalf("SIGNALING: %v", err)
	}
	for _, r := range []string{id, other} {
		if n.DirectRouteForTest(r) {
			t.Errorf("the direct route to %s is still open after SIGNALING", r)
		}
	}
	if _, err := n.Submit(ctx, other, actors.TaskSpec{ID: "after", Kind: "noop"}); !errors.Is(err, actors.ErrShuttingDown) {
		t.Errorf("Submit after SIGNALING: %v, want ErrShuttingDown", err)
	}
}
