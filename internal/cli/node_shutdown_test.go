package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestNodeShutdownEnd: a node whose shutdown a second signal forced says
// so and exits 3 (ExitInterrupted, as demo's forced shutdown); before, it
// printed "shut down gracefully" and exited 0 after a CLOSING forced. A
// line that says it all (not cleanly, exit 4; shut itself down, exit 1) is
// printed once, on stdout.
func TestNodeShutdownEnd(t *testing.T) {
	for _, c := range []struct {
		name             string
		byClient, forced bool
		fault, shutErr   error
		cut              string
		line             string
		code             int
	}{
		// A client's shutdown says how it ended too (before: no line, and
		// exit 0 also when it cut a task short); also when a first signal
		// came during it, which lets it go on (runNode; before, the line
		// then dropped "(asked by a client)").
		{"by a client", true, false, nil, nil, "", "node n1: shut down gracefully (asked by a client)\n", ExitOK},
		{"by a client, not clean", true, false, nil, nil, "DRAINING timed out after 30s (1 task cut short)",
			"node n1: shut down (asked by a client), not cleanly: DRAINING timed out after 30s (1 task cut short)\n", ExitUnclean},
		{"one signal", false, false, nil, nil, "", "node n1: shut down gracefully\n", ExitOK},
		{"one signal, not clean", false, false, nil, nil, "CLOSING forced after 3.01s; forced: node/runners/busy-ee2e17",
			"node n1: shut down, not cleanly: CLOSING forced after 3.01s; forced: node/runners/busy-ee2e17\n", ExitUnclean},
		{"second signal", false, true, nil, nil, "x", "node n1: shutdown forced (SIGKILL to every runner's process group): interrupted twice\n", ExitInterrupted},
		{"two signals during a client's shutdown", true, true, nil, nil, "x", "node n1: shutdown forced (SIGKILL to every runner's process group): interrupted twice during the shutdown a client asked for\n", ExitInterrupted},
		// A forced shutdown exits 3 also when Shutdown returned an error
		// (before: exit 1, "node n1: shutdown: …", against the documented 3).
		{"second signal, shutdown error", false, true, nil, shutdownErr, "", "node n1: shutdown forced (SIGKILL to every runner's process group): interrupted twice; the shutdown also reported: DRAINING: context deadline exceeded\n", ExitInterrupted},
		{"one signal, shutdown error", false, false, nil, shutdownErr, "", "", ExitFailure},
		// A node that shut itself down over a node-wide fault says so and
		// exits 1, so that a supervisor's restart-on-failure restarts it
		// (before: "shut down gracefully (asked by a client)", exit 0).
		{"node-wide fault", false, false, healthFault, nil, "",
			"node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed\n", ExitFailure},
		{"node-wide fault, not clean", false, false, healthFault, nil, "DRAINING timed out after 30s (1 task cut short)",
			"node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed; not cleanly: DRAINING timed out after 30s (1 task cut short)\n", ExitFailure},
		{"node-wide fault, a signal during it", false, false, healthFault, nil, "",
			"node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed\n", ExitFailure},
		{"node-wide fault, shutdown error", false, false, healthFault, shutdownErr, "x",
			"node n1: shut itself down: node-wide fault: health monitor: 2 of 3 runners persistently failed; the shutdown also reported: DRAINING: context deadline exceeded\n", ExitFailure},
		{"node-wide fault, forced", false, true, healthFault, nil, "",
			"node n1: shutdown forced (SIGKILL to every runner's process group): interrupted twice during the shutdown it began after a node-wide fault (health monitor: 2 of 3 runners persistently failed)\n", ExitInterrupted},
	} {
		var out, stderr bytes.Buffer
		err := nodeShutdownEnd(&out, "n1", c.byClient, c.forced, c.fault, c.shutErr, c.cut)
		if got := out.String(); got != c.line {
			t.Errorf("%s: printed %q, want %q", c.name, got, c.line)
		}
		if code := exitCode(err, &stderr); code != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, code, c.code)
		}
		if c.shutErr != nil && !strings.Contains(stderr.String()+out.String(), c.shutErr.Error()) {
			t.Errorf("%s: stdout %q, stderr %q, want the shutdown's error %q", c.name, out.String(), stderr.String(), c.shutErr)
		}
		// The end line printed is said once: main does not print it again
		// on stderr (before, "exo-actors: node n1: shut down, not cleanly:
		// …" and "exo-actors: node n1: shut itself down: …" repeated it).
		if c.line != "" && stderr.Len() > 0 {
			t.Errorf("%s: stderr %q repeats the line printed, %q", c.name, stderr.String(), c.line)
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

// TestNodeForceLine: the line of the signal that forces the shutdown is
// always the second one's: a first signal during a shutdown a client asked
// for lets it go on (nodeSignalDuringLine), it does not force it.
func TestNodeForceLine(t *testing.T) {
	if got, want := nodeForceLine(syscall.SIGTERM), "== second terminated: forcing — SIGKILL to every runner's process group\n"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// TestNodeSignalDuringLine: a first signal during a shutdown the node did
// not begin says the shutdown goes on and that a second one forces (it
// said "== terminated: graceful shutdown", as if it had begun it).
func TestNodeSignalDuringLine(t *testing.T) {
	if got, want := nodeSignalDuringLine(syscall.SIGTERM, nil), "== terminated during the shutdown a client asked for: it goes on gracefully (send it again to force)\n"; got != want {
		t.Errorf("a client's: %q, want %q", got, want)
	}
	if got, want := nodeSignalDuringLine(syscall.SIGINT, healthFault), "== interrupt during the shutdown after a node-wide fault: it goes on gracefully (send it again to force)\n"; got != want {
		t.Errorf("a fault's: %q, want %q", got, want)
	}
}

var (
	shutdownErr = errors.New("DRAINING: context deadline exceeded")
	healthFault = errors.New("health monitor: 2 of 3 runners persistently failed")
)

// TestDemoNodeExitText: the demo's (and chaos') problem for a node that
// exited badly names the line its stdout ended on, which its stderr no
// longer repeats, and else its stderr's last line.
func TestDemoNodeExitText(t *testing.T) {
	errf, err := os.Create(filepath.Join(t.TempDir(), "node-1.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errf.Close()
	if _, err := errf.WriteString("time=x level=info msg=\"Killed Proto.Actor server\"\n"); err != nil {
		t.Fatal(err)
	}
	n := &demoNode{name: "node-1", readEnd: make(chan struct{}), stderr: errf}
	close(n.readEnd) // sole sender: this test, once: the reader has "read" stdout
	if got, want := n.exitText(), `time=x level=info msg="Killed Proto.Actor server"`; got != want {
		t.Errorf("no end line: %q, want %q", got, want)
	}
	line := "node node-1: shut itself down: node-wide fault: x"
	n.endLine.Store(&line)
	if got := n.exitText(); got != line {
		t.Errorf("%q, want %q", got, line)
	}
}
