// Package pollfd turns a runner's stdin pipe into a file Go's network poller
// can wait on.
//
// A pipe a process inherits as its stdin is in blocking mode, so Go reads it
// with a blocking read(2) that holds an OS thread and, with it, the
// goroutine scheduler's P (processor) until the read returns. A goroutine
// the reader makes runnable just before it reads again (the runner SDK
// starts a task's handler that way) then waits in that P's queue until
// another thread is woken to steal it or the scheduler's monitor retakes
// the P: 20–50 µs on a small VM, per task. Read through the poller, the
// reader parks instead and the new goroutine runs at once on the same
// thread.
package pollfd
