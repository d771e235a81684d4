package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRemoteRunCleanupSaysTheStopGoesOn: when the cleanup's bound
// (--cleanup-timeout) ends while the node still stops the runner (here a
// runner that ignores the Shutdown frame, and a node that waits 4s before
// SIGTERM), the line says the node goes on with the stop and how to check
// it, and the node does finish it. Before, it said "stop of … failed: node
// … did not answer: context deadline exceeded", while the node went on and
// stopped the runner.
func TestRemoteRunCleanupSaysTheStopGoesOn(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "1ms", "--fault", "ignore-shutdown:forever"], "max_runners": 1}},
		"timeouts": {"stop_grace": "4s", "term_wait": "500ms", "stop_drain": "2s"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	node, addr := startListeningNode(t, "cleanto-a", "--config", conf)
	run, out, stderr, id := startRun(t, "--node", addr, "--timeout", "120s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1000000", "--cleanup-timeout", "1s")
	waitStatus(t, addr, "live runner "+id+" (kind echo, Running)") // the Shutdown frame would reach it
	_ = run.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(out)
	code := waitExit(t, run)
	text := string(rest)
	t.Log(text)
	for _, want := range []string{"(at most 1s)", id + " still stopping when the cleanup's 1s ended: the node goes on with the stop",
		"check with `exo-actors remote status --node " + addr + "`", "--cleanup-timeout"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, "failed") || code != ExitInterrupted {
		t.Errorf("exit %d (want 3), output says failed or stderr %q", code, stderr.String())
	}
	waitStatus(t, addr, "(0 live)") // the node did go on with the stop
	_, errText, code := runRemoteCmd(t, "--node", addr, "run", "--kind", "echo", "--cleanup-timeout", "0s")
	if code != ExitUsage || !strings.Contains(errText, "--cleanup-timeout 0s: want a positive duration") {
		t.Errorf("--cleanup-timeout 0s: exit %d, %q", code, errText)
	}
	_ = node.Process.Signal(syscall.SIGTERM)
	_ = node.Wait()
}
