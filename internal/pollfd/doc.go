// Package pollfd puts a runner's stdin and stdout pipes on Go's network
// poller.
//
// Stdin: a pipe a process inherits as its stdin is in blocking mode, so Go
// reads it with a blocking read(2) that holds an OS thread and, with it,
// the goroutine scheduler's P (processor) until the read returns. A
// goroutine the reader makes runnable just before it reads again (the
// runner SDK starts a task's handler that way) then waits in that P's
// queue until another thread is woken to steal it or the scheduler's
// monitor retakes the P: 20–50 µs on a small VM, per task. Read through the
// poller, the reader parks instead and the new goroutine runs at once on
// the same thread.
//
// Stdout: Writer writes each Write at once while the pipe has room and,
// when the pipe is full (the supervisor reads slower than the runner
// writes), keeps what follows (up to a limit) and writes it in one
// write(2) as soon as the pipe has room, so a runner that floods its
// supervisor spends one system call per pipe-full instead of one per
// frame.
package pollfd
