package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// The node runs out of file descriptors while the demo starts its runners
// (a node-wide fault: the node shuts itself down). The demo ends, exit 1,
// naming the fault and what to do; before, it waited for Ready events that
// never came until it was killed. The limit is set in a shell before exec,
// soft and hard, so the demo cannot raise it; 20 runners need 80.
func TestDemoOutOfFilesEndsWithTheFault(t *testing.T) {
	marker := fmt.Sprintf("demo-fault-%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command("/bin/sh", "-c", `ulimit -n 40 && exec "$0" demo --runners 20 --layers 1 --layer-delay 1ms --live off --log-level error`, exoBinary(t))
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // the one Wait; its goroutine ends with it
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("the demo still ran 2 minutes after its start (it waits for good):\n%s", stdout.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	last := strings.TrimSpace(stderr.String())
	if i := strings.LastIndex(last, "\n"); i >= 0 {
		last = last[i+1:]
	}
	if code != ExitFailure || !strings.Contains(last, "node-wide fault") || !strings.Contains(last, "too many open files") || !strings.Contains(last, "ulimit -n") {
		t.Errorf("exit %d, last stderr line %q; want %d and a line naming the node-wide fault, the open-file limit and ulimit -n", code, last, ExitFailure)
	}
	// The escalation of a node-wide failure says the node shuts down (it
	// said "the node keeps serving its other runners" as it shut down).
	if strings.Contains(stderr.String(), "keeps serving its other runners") {
		t.Errorf("a node-wide failure's escalation says the node keeps serving:\n%s", stderr.String())
	}
	if left := testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
}

// A runner's node-wide failure can reach the demo's WaitReady before its
// escalation reaches the node root (System.Fault still nil): the demo
// still says the node shut itself down after a node-wide fault (seen
// with ulimit -n 24 and 32 runners: "demo: runner … did not become
// Ready: … too many open files", about one run in twelve).
func TestNotReadyErrorNamesANodeWideFault(t *testing.T) {
	nodeFault := &exo.RunnerFailure{Failure: exo.Failure{Kind: exo.FailureNodeFault, Message: "spawn: too many open files"}}
	for _, tc := range []struct {
		fault, err error
		want       string
	}{
		{nil, nodeFault, "node-wide fault"},
		{errors.New("runner r gen 1: too many open files"), errors.New("shutting down"), "node-wide fault: runner r gen 1: too many open files"},
		{nil, &exo.RunnerFailure{Failure: exo.Failure{Kind: exo.FailureSpawnFailed, Message: "exit 1"}}, "runner r1 did not become Ready"},
	} {
		if got := notReadyError(tc.fault, "r1", tc.err); !strings.Contains(got.Error(), tc.want) {
			t.Errorf("fault %v, err %v: %q; want it to say %q", tc.fault, tc.err, got, tc.want)
		}
	}
}

// A spawn refused because the node is shutting down after a node-wide
// fault names the fault; any other spawn error is itself.
func TestSpawnErrorNamesANodeWideFault(t *testing.T) {
	fault := errors.New("runner r gen 1: spawn: too many open files")
	if got := spawnError(fault, exo.ErrShuttingDown); !strings.Contains(got.Error(), "node-wide fault: runner r gen 1: spawn: too many open files") {
		t.Errorf("refused after a fault: %v", got)
	}
	other := errors.New("no such kind")
	if got := spawnError(fault, other); got != other {
		t.Errorf("another error: %v", got)
	}
	if got := spawnError(nil, exo.ErrShuttingDown); !errors.Is(got, exo.ErrShuttingDown) || strings.Contains(got.Error(), "node-wide") {
		t.Errorf("refused with no fault: %v", got)
	}
}
