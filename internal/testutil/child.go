package testutil

import (
	"bytes"
	"errors"
	"os/exec"
	goruntime "runtime"
	"syscall"
	"testing"
)

// A test's child process gets a process group of its own and the parent-
// death signal (SIGKILL), so that a test binary that dies (a timeout's
// panic skips every cleanup) leaves no child behind. The signal fires when
// the *thread* that forked the child ends (go.dev/issue/27505), and Go ends
// a thread whenever a goroutine locked to it exits locked, as the runner
// spawner's does when a System closes: a child started from a plain
// goroutine could be SIGKILLed in the middle of its test, whenever its
// forking thread was later taken by such a goroutine (a review killed an
// etcd that way in 3 runs of 3). So every start here happens on a
// goroutine locked to its thread for as long as the child may run.

// StartChild starts cmd as a test's child (its own process group,
// SIGKILL when the forking thread ends) from a goroutine locked to its
// thread until the test's cleanup, so the thread outlives the test's use of
// the child. The release is a cleanup registered now: cleanups the test
// registers after this call (a graceful stop, killing and reaping the
// child) run before it; one registered before it runs after, and finds
// the child killed (SIGKILL, as the thread ended), so stop a child
// gracefully in a cleanup registered after StartChild, or in the test.
// (On the process's main thread Go parks the thread instead of ending it,
// and the child then outlives the release: the cleanups kill it.) Call it
// from the test's goroutine, before the test ends.
func StartChild(t testing.TB, cmd *exec.Cmd) error {
	t.Helper()
	childAttrs(cmd)
	started := make(chan error, 1) // capacity 1: the goroutine never waits on it; never closed
	release := make(chan struct{})
	go func() { // owner: the test's cleanup, which releases it
		goruntime.LockOSThread() // never unlocked: the thread ends with this goroutine, after the test
		err := cmd.Start()
		started <- err
		if err != nil {
			return // no child: the thread has nothing to keep
		}
		<-release
	}()
	t.Cleanup(func() { close(release) }) // sole sender: this cleanup
	return <-started
}

// RunChild runs cmd as a test's child (StartChild's attributes) to its end
// on a goroutine locked to its thread meanwhile, and returns Wait's error,
// as cmd.Run does.
func RunChild(cmd *exec.Cmd) error {
	childAttrs(cmd)
	done := make(chan error, 1) // capacity 1; never closed
	// owner: RunChild, which waits on done
	go func() {
		goruntime.LockOSThread()
		err := cmd.Start()
		if err == nil {
			err = cmd.Wait()
		}
		goruntime.UnlockOSThread() // the child is reaped: the thread may go on
		done <- err
	}()
	return <-done
}

// CombinedOutputChild is RunChild returning stdout and stderr together,
// as cmd.CombinedOutput does (and as it does, it refuses a cmd whose
// Stdout or Stderr is set).
func CombinedOutputChild(cmd *exec.Cmd) ([]byte, error) {
	if cmd.Stdout != nil {
		return nil, errors.New("exec: Stdout already set")
	}
	if cmd.Stderr != nil {
		return nil, errors.New("exec: Stderr already set")
	}
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := RunChild(cmd)
	return b.Bytes(), err
}

func childAttrs(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid, cmd.SysProcAttr.Pdeathsig = true, syscall.SIGKILL
}
