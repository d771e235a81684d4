package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// maxLateWatchdogs bounds how many late watchdog firings in a row pass
// without a judgement (watchdogLate): on a node that stays that far behind,
// a hung runner is still found, a few watchdog periods later.
const maxLateWatchdogs = 3

// watchdogState is the runner watchdog's timing: when its timer is due and
// how many late firings in a row it let pass.
type watchdogState struct {
	due   time.Time
	skips int
}

// armWatchdog arms the watchdog timer one period from now and notes when
// it is due.
func (a *runnerActor) armWatchdog(ctx actor.Context) {
	p := a.node.timeouts.watchdogPeriod()
	a.watchdog.due = a.node.runnerClock.Now().Add(p)
	a.arm(ctx, timerWatchdog, p)
}

// watchdogLate reports whether this watchdog firing came too late to judge
// the runner by: more than one watchdog period after it was due. Then the
// node itself did not run on time (a starved machine, a stop-the-world
// pause, a mailbox behind a flood), and the runner's frames written
// meanwhile may still wait unread in the pipe, or in the mailbox behind
// this timer's message: "no heartbeat for 2.4s" would measure the node's
// stall, not the runner's. The caller re-arms the watchdog instead, which
// gives the stdout reader a period to deliver what is pending; a runner that
// really hangs is found by the next firing that comes on time, or after
// maxLateWatchdogs late ones in a row.
func (a *runnerActor) watchdogLate(now time.Time) bool {
	late := now.Sub(a.watchdog.due) > a.node.timeouts.watchdogPeriod()
	if late && a.watchdog.skips < maxLateWatchdogs {
		a.watchdog.skips++
		return true
	}
	a.watchdog.skips = 0
	return false
}
