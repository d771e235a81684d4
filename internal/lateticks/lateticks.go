package lateticks

import "time"

// MaxSkips bounds how many late ticks in a row pass without a judgement:
// a process that stays that far behind still judges, a few ticks later.
const MaxSkips = 3

// Judge remembers when the previous tick came and how many late ticks in
// a row it let pass. Its zero value is ready; one goroutine (an actor)
// uses it.
type Judge struct {
	last  time.Time
	skips int
}

// Late reports whether the tick at now, of a ticker due every period,
// came more than two periods after the one before: then the caller did
// not run on time, and what its peer sent meanwhile may still wait unread
// (in a connection, a pipe, or the mailbox behind this tick), so a
// silence measured now is the caller's stall, not the peer's. The caller
// skips its judgement for this tick and lets what is pending arrive; a
// peer that is really silent is judged at the next tick on time, or after
// MaxSkips late ones in a row. The first tick is never late.
func (j *Judge) Late(now time.Time, period time.Duration) bool {
	late := !j.last.IsZero() && now.Sub(j.last) > 2*period
	j.last = now
	if late && j.skips < MaxSkips {
		j.skips++
		return true
	}
	j.skips = 0
	return false
}
