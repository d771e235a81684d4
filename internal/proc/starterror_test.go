package proc_test

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// A start that fails for want of file descriptors says so and what to do.
func TestStartErrorOutOfFiles(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE} {
		err := &proc.StartError{Path: "/bin/runner", Err: fmt.Errorf("stdin pipe: %w", os.NewSyscallError("pipe2", errno))}
		got := err.Error()
		for _, want := range []string{`start "/bin/runner"`, errno.Error(), "open-file limit", "ulimit -n", "fewer runners"} {
			if !strings.Contains(got, want) {
				t.Errorf("%v: %q lacks %q", errno, got, want)
			}
		}
	}
	// The forked child's EBADF is its dup3 past the open-file limit (Go
	// moves the descriptors above the highest one open): out of files too.
	child := &proc.StartError{Path: "/bin/runner", Err: &fs.PathError{Op: "fork/exec", Path: "/bin/runner", Err: syscall.EBADF}}
	if !child.OutOfFiles() || !strings.Contains(child.Error(), "ulimit -n") {
		t.Errorf("the child's EBADF: OutOfFiles %v, %q", child.OutOfFiles(), child.Error())
	}
	if (&proc.StartError{Path: "/bin/runner", Err: syscall.EBADF}).OutOfFiles() {
		t.Error("an EBADF not from the forked child counts as out of files")
	}
	other := (&proc.StartError{Path: "/bin/runner", Err: syscall.EPERM}).Error()
	if strings.Contains(other, "ulimit") {
		t.Errorf("EPERM: %q speaks of the file limit", other)
	}
}
