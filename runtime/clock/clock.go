package clock

import "time"

// Clock tells the time and arms one-shot timers. Both [Real] and [Fake]
// implement it; all methods are safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Since returns the time elapsed since t: Now().Sub(t).
	Since(t time.Time) time.Duration
	// AfterFunc calls f once, d from now, and returns a Timer that can cancel
	// the call. With the real clock f runs in its own goroutine; with a Fake it
	// runs on the goroutine that advances the fake time.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop cancels the call. It returns true if the call was still pending and
	// will now never happen, false if it already ran or was stopped before.
	// Like time.Timer.Stop, it does not wait for a callback already running.
	Stop() bool
}

// Real returns the clock of the operating system, backed by package time.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                  { return time.Now() }
func (realClock) Since(t time.Time) time.Duration { return time.Since(t) }
func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(d, f)
}
