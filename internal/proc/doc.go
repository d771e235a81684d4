// Package proc starts and owns runner processes: the os/exec details the runner
// actor should not have to think about.
//
// Every process is started from one Spawner goroutine that holds
// runtime.LockOSThread for its whole life, because the parent-death signal
// (Pdeathsig: SIGKILL) fires when the *thread* that forked the child exits
// (go.dev/issue/27505). Each process gets its own process group (Setpgid), so
// signals reach its children too.
//
// Pipes come from os.Pipe, and the parent closes its copies of the child's ends
// right after Start, so cmd.Wait never closes a pipe under a reader and the
// last frames a runner writes before dying (its TerminationError) are read.
//
// Four goroutines serve one process, each ending on its own when its pipe or
// the process ends, each delivering to the owner's callback (the runner actor's
// mailbox) and never touching a channel anyone else closes:
//
//	reader   decodes stdout frames        → Frames (batches) ..., then one ReaderClosed
//	stderr   splits stderr into lines     → into a bounded buffer, one StderrReady until the owner's TakeStderr; then one StderrClosed
//	waiter   waits for exit, reaps        → one Exited
//	writer   writes frames to stdin       → WriteFailed at its first error; one WriterClosed (after CloseInput)
//
// The reader never waits behind a frame that has begun but stays incomplete
// while stdout stays open (the first byte of a stray text line read as a
// length, say): past Options.FrameStall it ends with frame.ErrStalled, or
// frame.ErrTextOnStdout when the bytes are text. Text at a frame boundary is
// reported at once (package frame).
// The reader delivers what is already buffered as one Frames batch and takes
// one unit of credit per batch (Options.ReadWindow units; the owner gives one
// back with Process.Release): with none left it stops reading, so a runner
// that writes faster than its owner consumes blocks on its pipe instead of
// filling the owner's memory. Send writes a frame to stdin itself when the
// writer has nothing queued and the pipe has room (one non-blocking write of
// at most PIPE_BUF bytes), and otherwise queues it for the writer.
//
// Every message carries the process's generation, so an owner that outlives a
// process (a restarted runner) can drop what its predecessor's goroutines send.
//
// Signals go to the whole group and are never sent after the leader has been
// reaped (when its ID could be reused): the waiter first waits with WNOWAIT,
// then, under the lock Signal takes, kills what is left of the group and reaps.
package proc
