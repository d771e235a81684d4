package cli

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// startListeningNode starts a node process and returns it with the
// address it listens on.
func startListeningNode(t *testing.T, name string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := nodeCommand(t, name, `{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "1ms"]}}}`, "info", args...)
	log := &lockedBuffer{}
	cmd.Stderr = log
	out := startNodeCommand(t, cmd)
	// Registered after startNodeCommand's kill: runs before it, while the
	// node may still write (hence the lock).
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("node %s log (last 80 lines):\n%s", name, lastLines(log.String(), 80))
		}
	})
	addr := listenAddr(t, out)
	go func() { _, _ = io.Copy(io.Discard, out) }() // ends when the node exits (Wait closes the pipe)
	return cmd, addr
}

// lockedBuffer is a bytes.Buffer a process writes while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// listenAddr reads a node's stdout up to its "listening on ADDR" line and
// returns ADDR.
func listenAddr(t *testing.T, out *bufio.Reader) string {
	t.Helper()
	head := readUntil(t, out, "listening on ")
	_, rest, _ := strings.Cut(head, "listening on ")
	return strings.Fields(rest)[0]
}

// startRemote starts `exo-actors remote args...` in the background, its
// output (stdout and stderr) into out, in its own process group; it is
// killed and waited for when the test ends.
func startRemote(t *testing.T, out *bytes.Buffer, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(exoBinary(t), append([]string{"remote"}, args...)...)
	c.Stdout, c.Stderr = out, out
	if err := testutil.StartChild(t, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
	})
	return c
}

// runRemote runs `exo-actors remote args...` as a process and returns its
// stdout, stderr and exit code.
func runRemoteCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	c := exec.Command(exoBinary(t), append([]string{"remote", "--log-level", "warn"}, args...)...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := testutil.RunChild(c)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// TestRemoteStatusAndShutdownEachNode: with several --node, a node that is
// down fails alone. The trial's `remote status --node UP,DOWN` printed
// nothing for UP, and `remote shutdown --node DOWN,UP` left UP running.
func TestRemoteStatusAndShutdownEachNode(t *testing.T) {
	node, up := startListeningNode(t, "each-a")
	down := closedAddr(t)

	stdout, stderr, code := runRemoteCmd(t, "status", "--node", up+","+down, "--timeout", "60s")
	if code != ExitFailure || !strings.Contains(stdout, "each-a   "+up) {
		t.Errorf("status: exit %d, stdout %q; want exit 1 and the line of %s", code, stdout, up)
	}
	for _, want := range []string{"exo-actors: dial " + down + ": cannot connect to node " + down, "exo-actors: 1 of 2 nodes failed (above); the others were handled"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("status stderr %q: want %q", stderr, want)
		}
	}

	stdout, stderr, code = runRemoteCmd(t, "shutdown", "--node", down+","+up, "--timeout", "60s")
	if code != ExitFailure || !strings.Contains(stdout, "== node each-a shut down in") ||
		!strings.Contains(stderr, "exo-actors: dial "+down+": cannot connect") || !strings.Contains(stderr, "1 of 2 nodes failed") {
		t.Errorf("shutdown: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if err := node.Wait(); err != nil {
		t.Errorf("the reachable node after remote shutdown: %v (want it shut down, exit 0)", err)
	}
}

// TestRemoteStatusFrozenNode: a node stopped with SIGSTOP still has its
// connections accepted by the kernel, but answers nothing. `remote status`
// says so within --timeout, with no false cause. Before, it took 22.3 s
// (7.07 s with --timeout 5s) and said "its gateway terminated (NotFound)",
// or suggested TLS and certificates against a plaintext node.
func TestRemoteStatusFrozenNode(t *testing.T) {
	node, addr := startListeningNode(t, "frozen-a")
	if err := node.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runRemoteCmd(t, "status", "--node", addr, "--timeout", "1s")
	_ = node.Process.Signal(syscall.SIGCONT)
	want := "exo-actors: dial " + addr + ": node " + addr + " accepted the connection but did not answer within the dial timeout: it may be frozen (e.g. SIGSTOP), overloaded or unreachable"
	if code != ExitFailure || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want exit 1 and one line %q", code, stderr, want)
	}
	for _, bad := range []string{"terminated", "TLS", "certificate", "NotFound"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr %q has %q: a false cause", stderr, bad)
		}
	}
	_ = node.Process.Signal(syscall.SIGTERM)
	if err := node.Wait(); err != nil {
		t.Errorf("node after SIGTERM: %v", err)
	}
}

// TestRemoteTimeoutDefaults: --timeout 0 (the default) gives each command
// its own bound: a status is a few seconds, not the 2 minutes of a run.
func TestRemoteTimeoutDefaults(t *testing.T) {
	o := &remoteOptions{}
	if o.timeoutOr(statusTimeout) != statusTimeout || statusTimeout > 10*1e9 {
		t.Errorf("status default %s", o.timeoutOr(statusTimeout))
	}
	o.timeout = 3e9
	if o.timeoutOr(statusTimeout) != 3e9 {
		t.Errorf("--timeout 3s gave %s", o.timeoutOr(statusTimeout))
	}
	code, stderr := runCLI(t, "remote", "status", "--node", "127.0.0.1:1", "--timeout", "-1s")
	if code != ExitUsage || !strings.Contains(stderr, "--timeout -1s: want a positive duration") {
		t.Errorf("--timeout -1s: exit %d, stderr %q", code, stderr)
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestRemoteRunKindMissingOnEveryNode: a --kind that the nodes' configs
// lack is refused before anything is spawned, naming every such node and
// its kinds. An operator's trial was told of the first node only, while
// `remote stop --kind` names all of them.
func TestRemoteRunKindMissingOnEveryNode(t *testing.T) {
	_, a := startListeningNode(t, "kind-a")
	_, b := startListeningNode(t, "kind-b")
	stdout, stderr, code := runRemoteCmd(t, "--node", a+","+b, "--timeout", "60s", "run", "--kind", "whisper")
	want := `exo-actors: node kind-a: unknown runner kind "whisper": node kind-a runs only the kinds of its config: echo; node kind-b: unknown runner kind "whisper": node kind-b runs only the kinds of its config: echo`
	if code != ExitFailure || !strings.Contains(stderr, want) || strings.Contains(stdout, "spawned") {
		t.Errorf("remote run --kind whisper: exit %d\nstdout %s\nstderr %s\nwant exit 1, nothing spawned, stderr with %s", code, stdout, stderr, want)
	}
}
