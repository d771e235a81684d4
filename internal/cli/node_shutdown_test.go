package cli

import (
	"bytes"
	"errors"
	"strings"
	"syscall"
	"testing"
)

// TestNodeShutdownEnd: a node whose shutdown a second signal forced says
// so and exits 3 (ExitInterrupted, as demo's forced shutdown); before, it
// printed "shut down gracefully" and exited 0 after a CLOSING forced.
func TestNodeShutdownEnd(t *testing.T) {
	for _, c := range []struct {
		name                string
		interrupted, forced bool
		fault, shutErr      error
		cut                 string
		line                string
		code                int
		stderr              string // in stderr, when set
	}{
		// A client's shutdown says how it ended too (before: no line, and
		// exit 0 also when it cut a task short).
		{"by a client", false, false, nil, nil, "", "node n1: shut down gracefully (asked by a client)\n", ExitOK, ""},
		{"by a client, not clean", false, false, nil, nil, "DRAINING timed out after 30s (1 task cut short)",
			"node n1: shut down (asked by a client), not cleanly: DRAINING timed out after 30s (1 task cut short)\n", ExitUnclean, ""},
		{"one signal", true, false, nil, nil, "", "node n1: shut down gracefully\n", ExitOK, ""},
		{"one signal, not clean", true, false, nil, nil, "CLOSING forced after 3.01s; forced: node/runners/busy-ee2e17",
			"node n1: shut down, not cleanly: CLOSING forced after 3.01s; forced: node/runners/busy-ee2e17\n", ExitUnclean, ""},
		{"second signal", true, true, nil, nil, "x", "node n1: shutdown forced (SIGKILL to every runner's process group)\n", ExitInterrupted,
			"exo-actors: node n1 interrupted twice: shutdown forced"},
		{"signal after a client's shutdown", false, true, nil, nil, "x", "node n1: shutdown forced (SIGKILL to every runner's process group)\n", ExitInterrupted,
			"exo-actors: node n1 interrupted during the shutdown a client asked for: shutdown forced"},
		// A forced shutdown exits 3 also when Shutdown returned an error
		// (before: exit 1, "node n1: shutdown: …", against the documented 3).
		{"second signal, shutdown error", true, true, nil, shutdownErr, "", "node n1: shutdown forced (SIGKILL to every runner's process group)\n", ExitInterrupted,
			"exo-actors: node n1 interrupted twice: shutdown forced"},
		{"one signal, shutdown error", true, false, nil, shutdownErr, "", "", ExitFailure, ""},
		// A node that shut itself down over a node-wide fault says so and
		// exits 1, so that a supervisor's restart-on-failure restarts it
		// (before: "shut down gracefully (asked by a client)", exit 0).
		{"node-wide fault", false, false, healthFault, nil, "",
			"node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed\n", ExitFailure,
			"exo-actors: node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed\n"},
		{"node-wide fault, not clean", false, false, healthFault, nil, "DRAINING timed out after 30s (1 task cut short)",
			"node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed; not cleanly: DRAINING timed out after 30s (1 task cut short)\n", ExitFailure, ""},
		{"node-wide fault, a signal during it", true, false, healthFault, nil, "",
			"node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed\n", ExitFailure, ""},
		{"node-wide fault, shutdown error", false, false, healthFault, shutdownErr, "x",
			"node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed; the shutdown also reported: DRAINING: context deadline exceeded\n", ExitFailure, ""},
		{"node-wide fault, forced", false, true, healthFault, nil, "", "node n1: shutdown forced (SIGKILL to every runner's process group)\n", ExitInterrupted,
			"exo-actors: node n1 interrupted during the shutdown it began after a node-wide fault (health monitor: 2 of 3 runners persistently failed): shutdown forced"},
	} {
		var out, stderr bytes.Buffer
		err := nodeShutdownEnd(&out, "n1", c.interrupted, c.forced, c.fault, c.shutErr, c.cut)
		if got := out.String(); got != c.line {
			t.Errorf("%s: printed %q, want %q", c.name, got, c.line)
		}
		if code := exitCode(err, &stderr); code != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, code, c.code)
		}
		if c.stderr != "" && !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("%s: stderr %q, want %q", c.name, stderr.String(), c.stderr)
		}
		if c.shutErr != nil && !strings.Contains(stderr.String(), c.shutErr.Error()) {
			t.Errorf("%s: stderr %q, want the shutdown's error %q", c.name, stderr.String(), c.shutErr)
		}
	}
}

// TestNodeShutdownBeganLine: a shutdown the node began over a node-wide
// fault says the fault, not that a client asked (it said "== shut down by
// a client" for both).
func TestNodeShutdownBeganLine(t *testing.T) {
	if got, want := nodeShutdownBeganLine(nil), "== shut down by a client\n"; got != want {
		t.Errorf("a client's: %q, want %q", got, want)
	}
	if got, want := nodeShutdownBeganLine(healthFault), "== shutting down: node-wide fault: health monitor: 2 of 3 runners persistently failed\n"; got != want {
		t.Errorf("a fault's: %q, want %q", got, want)
	}
}

// TestNodeForceLine: the line printed when a signal forces the shutdown
// says "second" only when it is the second signal; after a client's
// remote shutdown it is the first one the node got.
func TestNodeForceLine(t *testing.T) {
	if got, want := nodeForceLine(syscall.SIGTERM, true), "== second terminated: forcing — SIGKILL to every runner's process group\n"; got != want {
		t.Errorf("after a signal: %q, want %q", got, want)
	}
	if got, want := nodeForceLine(syscall.SIGINT, false), "== interrupt during the shutdown a client asked for: forcing — SIGKILL to every runner's process group\n"; got != want {
		t.Errorf("after a client's shutdown: %q, want %q", got, want)
	}
}

var (
	shutdownErr = errors.New("DRAINING: context deadline exceeded")
	healthFault = errors.New("health monitor: 2 of 3 runners persistently failed")
)
