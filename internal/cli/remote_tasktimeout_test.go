package cli

import (
	"strings"
	"syscall"
	"testing"
)

// TestRemoteRunTaskTimeout: remote run --task-timeout gives each task a
// Timeout, so that an operator can see a task_timeout (the run's check
// fails: a task ended TimedOut); a negative one is a usage error. Before,
// no flag or config key set a task's timeout from the command line, and
// an operator's trial could not make one time out.
func TestRemoteRunTaskTimeout(t *testing.T) {
	node, stdout, _ := startNodeWithConfig(t, "tt-a", `{"kinds": {"slow": {"builtin": true, "args": ["--token-delay", "2s"]}}}`)
	listen := listenAddr(t, stdout)
	defer func() {
		_ = node.Process.Signal(syscall.SIGTERM)
		_ = waitExit(t, node)
	}()
	out, stderr, code := runRemoteCmd(t, "--node", listen, "--timeout", "30s", "run", "--kind", "slow", "--tasks", "1", "--tokens", "3", "--task-timeout", "200ms")
	if code != ExitFailure || !strings.Contains(out+stderr, "TimedOut (timed out after 200ms") {
		t.Errorf("exit %d, want %d and a task TimedOut after 200ms:\n%s\n%s", code, ExitFailure, out, stderr)
	}
	_, stderr, code = runRemoteCmd(t, "--node", listen, "run", "--kind", "slow", "--task-timeout", "-1s")
	if code != ExitUsage || !strings.Contains(stderr, "--task-timeout -1s: want a positive duration") {
		t.Errorf("--task-timeout -1s: exit %d, want %d and a usage error:\n%s", code, ExitUsage, stderr)
	}
}
