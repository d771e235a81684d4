package cli

import (
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestNodeShutItselfDownOverAFault: a node that runs out of file
// descriptors when a client spawns a runner (a node-wide fault) shuts
// itself down, says so with the fault, and exits 1, so that a supervisor's
// restart-on-failure restarts it. Before, it printed "== shut down by a
// client" and "node N: shut down gracefully (asked by a client)", exit 0.
// The limit is set in a shell before exec, soft and hard: the node starts
// with about 10 descriptors open, and a runner needs 4 more.
func TestNodeShutItselfDownOverAFault(t *testing.T) {
	node := nodeCommand(t, "fault-a", `{"kinds": {"echo": {"builtin": true}}}`, "warn") // node_http_test.go
	node.Args = append([]string{"/bin/sh", "-c", `ulimit -n 13 && exec "$0" "$@"`}, node.Args...)
	node.Path = "/bin/sh"
	var stderr strings.Builder
	node.Stderr = &stderr
	out := startNodeCommand(t, node)
	listen := listenAddr(t, out)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, exoBinary(t), "remote", "--node", listen, "--timeout", "30s", "run", "--kind", "echo", "--tasks", "1")
	runOut, _ := testutil.CombinedOutputChild(run) // it fails: the node shut down under it

	b, _ := io.ReadAll(out) // to EOF: the node ended
	tail := string(b)
	code := waitExit(t, node)
	const began = "== shutting down: node-wide fault: runner "
	const end = "node fault-a: shut itself down: node-wide fault: runner "
	if code != ExitFailure || !strings.Contains(tail, began) || !strings.Contains(tail, end) || !strings.Contains(tail, "too many open files") {
		t.Fatalf("exit %d, want %d, %q and %q naming the fault in:\n%s\nstderr:\n%s\nremote run:\n%s", code, ExitFailure, began, end, tail, stderr.String(), runOut)
	}
	if strings.Contains(tail, "by a client") || strings.Contains(tail, "gracefully") {
		t.Errorf("the node says a client shut it down, or that it shut down gracefully:\n%s", tail)
	}
	// Said once, on stdout: main does not print the line again on stderr.
	if strings.Contains(stderr.String(), end) {
		t.Errorf("stderr repeats %q:\n%s", end, stderr.String())
	}
}
