package actors_test

import (
	"errors"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
)

// TestRejectedSubmitsAreCounted: a Submit the node refuses is counted in
// exo_tasks_rejected_total by reason, every reason listed at 0 from the
// start. Before, an SRE's trial had a client refused seven times
// (ErrQueueFull) and found no trace on the node: no metric, no /status
// field, no log line.
func TestRejectedSubmitsAreCounted(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Tasks.InFlight, c.Tasks.Queue = 1, 1 })
	for _, reason := range []string{"queue_full", "runner_not_available", "unknown_runner", "invalid_task", "shutting_down", "no_answer"} {
		if v, ok := gaugeOf(t, n, "exo_tasks_rejected_total", "reason", reason); !ok || v != 0 {
			t.Errorf("exo_tasks_rejected_total{reason=%q} %v (listed %v), want 0 at the start", reason, v, ok)
		}
	}
	id := readyRunner(t, n, "--token-delay", "5ms")
	mustSubmit(t, n, id, textTask("running", 2000)) // 10 s: holds the runner while the queue fills
	mustSubmit(t, n, id, textTask("queued", 1))
	for _, c := range []struct {
		runner string
		spec   actors.TaskSpec
		want   error
		reason string
	}{
		{id, textTask("third", 1), actors.ErrQueueFull, "queue_full"},
		{id, textTask("fourth", 1), actors.ErrQueueFull, "queue_full"},
		{"no-such-runner", textTask("x", 1), actors.ErrUnknownRunner, "unknown_runner"},
		{id, actors.TaskSpec{ID: "", Kind: "text_generation"}, actors.ErrInvalidTask, "invalid_task"},
	} {
		if _, err := n.Submit(ctxT(t), c.runner, c.spec); !errors.Is(err, c.want) {
			t.Fatalf("Submit %q to %s: %v, want %v", c.spec.ID, c.runner, err, c.want)
		}
	}
	for reason, want := range map[string]float64{"queue_full": 2, "unknown_runner": 1, "invalid_task": 1, "shutting_down": 0} {
		if v, _ := gaugeOf(t, n, "exo_tasks_rejected_total", "reason", reason); v != want {
			t.Errorf("exo_tasks_rejected_total{reason=%q} %v, want %v", reason, v, want)
		}
	}
	if _, err := n.Cancel(ctxT(t), id, "running"); err != nil {
		t.Fatal(err)
	}
}
