// Package health holds the health monitor's pure parts: the configuration
// with its defaults and validation, the score of a runner and of a node, the
// per-runner tracker that decides when to recover a runner and when it is
// persistently failed, and the alert book that deduplicates alerts while
// their condition holds. It starts no goroutines, arms no timers and reads
// the time only from what it is given; the monitor actor (actors/health.go)
// feeds it samples gathered by messages and carries out its decisions.
//
// # Score
//
// A runner's score is a number from 0 to 1, the weighted sum of four
// components, each from 0 to 1 (default weights in brackets):
//
//   - process (0.4): 0 when the process is gone, a zombie, or has sent no
//     heartbeat for HeartbeatLimit (a silent process is as good as dead);
//     otherwise 0.5·heartbeat + 0.25·memory + 0.25·cpu, where heartbeat is
//     1 up to HeartbeatGrace and falls linearly to 0 at HeartbeatLimit,
//     memory is 1 up to 80% of RSSLimit and falls to 0 at it (minus 0.25
//     when RSS rose at each of the last TrendSamples /proc readings and by 10% or
//     more in all), and cpu is 1 up to CPULimit (share of one core) and
//     falls to 0 at twice it. A zero limit turns that part off (1).
//   - status (0.2): the value of the runner's status (StatusValue).
//   - resources (0.2): the share of the runner's resources not in error,
//     minus 0.05 per error they counted (at most 0.5); 1 without resources.
//   - errors (0.2): 0.5·rate + 0.5·recovery, where rate is 1 − failures in
//     the last ErrorWindow / ErrorBudget (not below 0) and recovery is the
//     share of finished restarts in that window that reached Ready again (1
//     when there were none). The node counts as failures the runner's
//     error records but its resources': its process's failures and its
//     tasks' errors (task_timeout, ack_timeout); a task the runner itself
//     ends Failed is an outcome, not a failure.
//
// One override: when the process component is 0, the score is 0 whatever
// the others say. The score's level is healthy at Healthy (0.8) or above,
// degraded at Degraded (0.5) or above, else unhealthy.
//
// The node's score is the mean of the scores of its runners that are meant
// to be running (live, draining, failing or waiting to restart, once their
// current process was scored; not starting, not being stopped on request
// or stopped, not retired after an escalation, not persistently failed),
// and 1 when there are none. Its level uses the same thresholds; NodeScore also reports the
// worst runner.
//
// # Recovery
//
// A live runner (one with a running incarnation, not waiting to restart and
// not being stopped) that is unhealthy at UnhealthyChecks consecutive checks
// is recovered, in steps, each recorded: first its resources in error are
// reset (skipped when there are none); once the resets answered, if it is
// not healthy at the next check, it is restarted through the supervisor by the error policy's path
// (kind "unhealthy": FORCE_CLEANUP, then RETRY). Every recovery ends, with
// one outcome (RecoveryOutcomes): succeeded when a check finds the runner
// healthy again; failed when it stays unhealthy for UnhealthyChecks more
// checks in a row after the restart, when the restart is refused, when no
// new process is live within RestartChecks checks of the restart request,
// when the runner stops being live during the reset, or when it is
// removed (retired after an escalation, stopped, forgotten: Removed);
// degraded when the restarted runner, SettleChecks checks after its new
// process was first checked, was neither healthy nor unhealthy K checks in
// a row and the last check found it live and degraded (failed if it was not
// live or unhealthy then). The end step's note says which. The phase table
// in tracker.go lists every transition. A runner that needs its
// MaxRecoveries+1-th recovery within RecoveryWindow is persistently failed:
// it is stopped gracefully (a record of its own, which ends stopped, or
// failed when the stop failed), one CRITICAL alert goes out, and when the share
// of persistently failed runners reaches NodeShutdownShare (off by default)
// the node shuts down gracefully. The share is the persistently failed
// runners (until retention forgets them) out of those plus the runners
// meant to run, each runner counted once; runners stopped on request,
// retired after an escalation or starting are in neither.
package health
