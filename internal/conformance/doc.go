// Package conformance checks that a runner program — in any language —
// speaks the runner protocol (docs/protocol.md) the way the exo-actors
// supervisor expects: `exo-actors conformance [--json] -- CMD ARGS…`.
//
// Each case starts a fresh process (through internal/proc: its own process
// group, parent-death signal, pipes read by their own goroutines), plays the
// supervisor's side with internal/frame and messages/exo/v1 directly, and
// kills and reaps the process group when the case ends. A case passes, fails
// with the reason and the evidence (frames seen, timings, the exit, the last
// stderr lines, and the last line that states an error when those no longer
// hold it), or is skipped when it checks an optional capability the
// runner does not announce.
//
// The cases, in order: hello, version-refusal, capabilities, status-order,
// ack-before-work, chunk-order, finish-reason, next-task-before-ready,
// cancel, cancel-all, heartbeat, progress, shutdown, stdin-eof,
// no-stray-stdout, unknown-message (Names lists them; cases.go says what
// each checks). Tasks are of Config.TaskKind ("text_generation") with the
// parameter max_tokens, which each case sets (Run refuses it in
// Config.Params); a runner is expected to stream up to max_tokens token
// chunks for them. Whatever the case, every frame read is also held to the
// task rules of docs/protocol.md: no Ready while a task runs, and
// StatusUpdated{Running} before a task's chunks or end; and while a task
// runs (from its Task to its terminal TaskStatus, until the suite asks for
// an end), no heartbeat gap longer than Config.HeartbeatGap (max(20 × the
// asked interval, 2s)), counted from the Task at the earliest: a case that
// passed otherwise fails on it (a case that skips stays skipped). A case
// that fails after the handshake because the runner ended unasked (no
// HelloRefused, no end of stdin, no Shutdown it answered) and without
// saying why (Failed, TerminationError) says that first, with when it
// ended and what the suite had sent, instead of the case's own advice.
package conformance
