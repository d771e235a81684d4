package cli

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitStatus runs `remote status` until its output contains want (each
// run is a query of the node, no fixed wait), for at most a minute.
func waitStatus(t *testing.T, addr, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		stdout, stderr, code := runRemoteCmd(t, "status", "--node", addr, "--timeout", "30s")
		if code == 0 && strings.Contains(stdout, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("status never showed %q: exit %d, %q %q", want, code, stdout, stderr)
		}
	}
}

// TestRemoteStopTimeoutSaysTheStopGoesOn: when --timeout ends `remote stop`
// while the node still drains the runner's tasks (a live client's task
// that runs for minutes), the node goes on with the stop; the error says
// so and how to check, instead of a bare "did not answer: context deadline
// exceeded" that reads as a stop that failed.
func TestRemoteStopTimeoutSaysTheStopGoesOn(t *testing.T) {
	// The --timeout must cover the command's start, its dial and its
	// Runners call, and end while the node still drains: 1 s against a
	// 2 s drain left no room for a loaded machine, where a process's start
	// and dial alone can take a second or two; 5 s against a 12 s drain
	// does.
	node, addr := limitedNodeDrain(t, "stopto-a", "", "12s")
	run, _, _, id := startRun(t, "--node", addr, "--timeout", "120s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1000000")
	waitStatus(t, addr, "open tasks 1")
	_, stderr, code := runRemoteCmd(t, "stop", "--node", addr, "--timeout", "5s", id)
	t.Log(stderr)
	want := "stop not confirmed for " + id + ": still stopping when --timeout 5s ended; the node goes on with the stop"
	if code != ExitFailure || !strings.Contains(stderr, want) || !strings.Contains(stderr, "exo-actors remote status") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 1 and one line with %q", code, stderr, want)
	}
	waitStatus(t, addr, "(0 live)") // the node did go on
	_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
	_ = run.Wait()
	_ = node.Process.Signal(syscall.SIGTERM)
	_ = node.Wait()
}
