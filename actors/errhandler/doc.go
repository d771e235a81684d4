// Package errhandler decides what exo-actors does when something goes wrong,
// and keeps the books on it. It is pure and deterministic: it reads the time
// from an injected clock, draws jitter from an injected random source, starts
// no goroutines and arms no timers. The actors carry out its decisions.
//
// # Classification
//
// A [Failure] describes what happened: an in-process error (a write to a
// closed pipe, a protocol error, a timeout, a resource that failed to close)
// or a process outcome (an exit code, a signal, a hang found by the
// heartbeat), and whether the node was shutting down. One table of [Rule]
// values maps it to a [Decision]: a [Severity] (LOW, MEDIUM, HIGH, CRITICAL)
// and an [Action]:
//
//   - RETRY restarts the runner after a backoff delay;
//   - SKIP carries on: only the task or message at hand fails;
//   - FORCE_CLEANUP kills the runner's process group and releases its
//     resources, then does the decision's Then (RETRY, SKIP or ESCALATE);
//   - ESCALATE stops the runner and hands the failure to the parent. For a
//     runner this ends at its supervisor (the node keeps serving its other
//     runners); only node-wide kinds ([Kind.NodeWide]) reach the node root,
//     which shuts the node down gracefully.
//
// The first matching rule wins. The user's rules ([Config.Rules]) come before
// [DefaultRules], so they can add cases or override defaults. Configuration
// errors are never retried. docs/errors.md shows the default table; a test
// keeps it in step with the code.
//
// # Records, backoff and intensity
//
// [Handler.Handle] turns each failure into a [Record]: who, what, the final
// decision, the restart attempt, the planned delay, the cause chain, and
// later its [Resolution]. A restarted runner's records are resolved when it
// is Ready again ([Handler.RunnerReady]). The history is bounded; [Stats]
// keeps counting what it drops.
//
// Restart delays grow exponentially with equal jitter ([Backoff]) and start
// over once the runner has stayed Ready for a stable period. Restart
// intensity works as in OTP: a restart that would exceed MaxRestarts within
// Window becomes ESCALATE, and the record says why.
package errhandler
