package actors_test

import (
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
)

// runTasks submits n tasks to a runner and waits until each ended Complete.
func runTasks(t *testing.T, n *testNode, id string, count int) {
	t.Helper()
	for i := 0; i < count; i++ {
		h, err := n.Submit(ctxT(t), id, textTask("t"+string(rune('a'+i)), 3))
		if err != nil {
			t.Fatal(err)
		}
		if o := wait(t, h); o.Status.String() != "TASK_STATUS_COMPLETE" {
			t.Fatalf("task %s ended %v, want Complete", h.ID, o.Status)
		}
	}
}

// TestHealthTaskCountersOfAStoppedRunner: a runner stopped after its tasks
// ended reports them (ended, completed, completion_rate, pending 0) in the
// health report, not the figures of its last live check. Before, a runner
// whose tasks ran between two checks and which was then stopped showed
// "ended 0, completed 0, completion_rate 0" (or "pending 2, ended 0") for
// good, while exo_tasks_total counted them Complete.
func TestHealthTaskCountersOfAStoppedRunner(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second})
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second) // scored live, no task yet
	runTasks(t, n, id, 2)
	if _, err := n.StopRunner(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	step(t, fc, checks, time.Second) // sees it gone
	step(t, fc, checks, time.Second)
	r := runnerHealth(t, n, id)
	if r.State != actors.RunnerStoppedState || r.Tasks.Ended != 2 || r.Tasks.Completed != 2 || r.Tasks.CompletionRate != 1 || r.Tasks.Pending != 0 {
		t.Errorf("stopped runner after 2 tasks Complete: state %q tasks %+v; want stopped, ended 2, completed 2, rate 1, pending 0", r.State, r.Tasks)
	}
	if len(r.LastStop) == 0 {
		t.Errorf("stopped runner: no last_stop_steps: %+v", r)
	}
}

// TestHealthTaskCountersBetweenChecks: the ended and completed counts of a
// live runner are current when the report is read, not as of the last
// check (pending is as of the last check: the runner's own answer).
func TestHealthTaskCountersBetweenChecks(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second})
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	runTasks(t, n, id, 2)
	r := runnerHealth(t, n, id)
	if r.Tasks.Ended != 2 || r.Tasks.Completed != 2 || r.Tasks.CompletionRate != 1 {
		t.Errorf("live runner after 2 tasks Complete, before the next check: tasks %+v; want ended 2, completed 2, rate 1", r.Tasks)
	}
}

// TestHealthErrorRateCountsTaskErrors: a task's error record (a task that
// ran past its Timeout: task_timeout) counts in the runner's error rate,
// as docs/operations.md says, beside its process's failures. Before, only
// a RunnerFailed counted: six timeouts left the errors part at 1 and the
// score at 1 (a new user's trial), while exo_errors_total counted them.
// A task the runner itself reports Failed is an outcome, not an error,
// and does not count (completion_rate shows it).
func TestHealthErrorRateCountsTaskErrors(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, ErrorBudget: 4})
	id := readyRunner(t, n, "--token-delay", "1h")
	step(t, fc, checks, time.Second)
	if r := runnerHealth(t, n, id); r.Components.Errors != 1 || r.Failures != 0 {
		t.Fatalf("before any task: errors part %.3f, failures %d; want 1 and 0", r.Components.Errors, r.Failures)
	}
	spec := textTask("slow", 3)
	spec.Timeout = 500 * time.Millisecond
	h, err := n.Submit(ctxT(t), id, spec)
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "task slow acknowledged", func(evs []actors.Event) bool {
		for _, e := range evs {
			if a, ok := e.(*actors.TaskAcknowledged); ok && a.TaskID == "slow" {
				return true
			}
		}
		return false
	})
	step(t, fc, checks, time.Second) // past the Timeout: task_timeout
	step(t, fc, checks, time.Second) // past CancelWait: the outcome
	if o := wait(t, h); o.Status.String() != "TASK_STATUS_TIMED_OUT" {
		t.Fatalf("task ended %v, want TimedOut", o.Status)
	}
	step(t, fc, checks, time.Second)
	r := runnerHealth(t, n, id)
	// One error of a budget of 4: rate 0.75, errors part 0.5·0.75 + 0.5.
	if r.Failures != 1 || r.Components.Errors != 0.875 {
		t.Errorf("after one task_timeout: failures %d, errors part %.3f; want 1 and 0.875", r.Failures, r.Components.Errors)
	}
}
