package actors

import "time"

// A runner removed for good (retired after an escalation, stopped,
// forgotten by retention) is never checked again: the monitor ends its
// recovery under way (health.Tracker.Removed) and counts it, or the record
// stayed "in progress" for good, in no count and in no report.

// removedWhy names why a runner in state is removed for good, "" when it
// is not: a recovery under way ends failed with it (health.Tracker.Removed).
func removedWhy(state string) string {
	switch state {
	case RunnerGone:
		return "the runner was retired: the error policy escalated its failure (state gone)"
	case RunnerStoppedState:
		return "the runner was stopped (StopRunner, a cancelled restart, or the node's shutdown)"
	}
	return ""
}

// endRemoved ends and counts the recovery under way of a runner the node
// no longer lists (forgotten before a check saw it gone), before its view,
// and the record with it, goes.
func (m *healthMonitor) endRemoved(v *runnerView, now time.Time) {
	v.tracker.Removed(now, "the runner was removed, and forgotten by the node's retention before a check saw it gone")
	m.syncRecords(v)
}
