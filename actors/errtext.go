package actors

import "fmt"

// notRunning is the error for a request to a runner whose actor is gone
// (stopped, or failed and not restarted): it names the runner, its last error
// when there is one, and what to do.
func notRunning(id, lastError string) error {
	if lastError == "" {
		return fmt.Errorf("%w: runner %s is not running and no restart is planned (it was stopped, or failed for good); spawn a new runner", ErrRunnerNotAvailable, id)
	}
	return fmt.Errorf("%w: runner %s is not running and no restart is planned (it was stopped, or failed for good; last error: %s); fix what the last error names (e.g. the runner's command or spec), then spawn a new runner", ErrRunnerNotAvailable, id, lastError)
}

// failedForGood is the error for a task sent to a runner whose failure the
// error policy decided not to retry (ESCALATE or SKIP): no restart is
// planned, so waiting does not help.
func failedForGood(id, failure string) error {
	return fmt.Errorf("%w: runner %s failed (%s) and no restart is planned (the error policy stopped it for good); fix what failed (e.g. the runner's command or spec), then spawn a new runner", ErrRunnerNotAvailable, id, failure)
}

// taskNotFound is the error for a cancel of a task the runner does not know:
// never submitted to it, or finished so long ago that the ledger forgot it
// (ledger.remember: the oldest finished task is forgotten when one more
// than TaskLimits.DedupMemory have finished; a remembered one cancels
// nothing and is no error).
func taskNotFound(runnerID, taskID string) error {
	return fmt.Errorf("%w: runner %s has no task %q; check the ID (a finished task is forgotten once TaskLimits.DedupMemory newer tasks have finished)", ErrTaskNotFound, runnerID, taskID)
}
