package actors

import "fmt"

// notRunning is the error for a request to a runner whose actor is gone
// (stopped, or failed and not restarted): it names the runner, its last error
// when there is one, and what to do.
func notRunning(id, lastError string) error {
	last := ""
	if lastError != "" {
		last = " (last error: " + lastError + ")"
	}
	return fmt.Errorf("%w: runner %s is not running (stopped, or failed for good: no restart is planned)%s; spawn a new runner", ErrRunnerNotAvailable, id, last)
}

// taskNotFound is the error for a cancel of a task the runner does not know.
func taskNotFound(runnerID, taskID string) error {
	return fmt.Errorf("%w: runner %s has no task %q; check the ID (finished tasks are forgotten after TaskLimits.DedupMemory more)", ErrTaskNotFound, runnerID, taskID)
}
