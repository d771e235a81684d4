// Package clock is the time source that exo-actors injects everywhere it reads
// the time or arms a timer, so that backoff, heartbeats, stable periods and
// restart intensity can be tested without sleeping.
//
// Production code takes a [Clock] and is given [Real]. Tests give it a [Fake]
// instead and move time by hand with [Fake.Advance] or [Fake.Set]. A Fake never
// moves by itself and starts no goroutines: a timer callback runs on the
// goroutine that calls Advance or Set, in due-time order, after the fake time
// has been moved to the timer's due time. A test that must wait until the code
// under test has armed its timers calls [Fake.WaitForTimers], which blocks on a
// notification, not on a sleep.
//
// Hosts embedding exo-actors can use Fake to test their own code the same way.
package clock
