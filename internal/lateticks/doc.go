// Package lateticks tells a periodic check whether a tick came too late to
// judge by: a process that did not run on time (a starved machine, a
// stop-the-world pause, a mailbox behind a flood) must not blame a peer
// for the silence its own stall made. The runner watchdog
// (actors/runner_watchdog.go) follows the same rule with its own timer.
package lateticks
