package cli

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// limitedNode starts a node whose kind "echo" allows one live runner
// (max_runners 1), as in the trial: a runner left behind by a run makes
// the next run fail with "gateway limit reached". fault, when not empty,
// is a --fault of the built-in runner.
func limitedNode(t *testing.T, name, fault string) (*exec.Cmd, string) {
	t.Helper()
	return limitedNodeDrain(t, name, fault, "2s")
}

// limitedNodeDrain is limitedNode with timeouts.stop_drain set to drain.
func limitedNodeDrain(t *testing.T, name, fault, drain string) (*exec.Cmd, string) {
	t.Helper()
	args := `"--layers", "1", "--layer-delay", "0s", "--token-delay", "1ms"`
	if fault != "" {
		args += `, "--fault", "` + fault + `"`
	}
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true, "args": [`+args+`], "max_runners": 1}},
		"timeouts": {"stop_grace": "500ms", "term_wait": "500ms", "stop_drain": "`+drain+`"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return startListeningNode(t, name, "--config", conf)
}

// startRun starts `exo-actors remote run` as a process with its stdout
// piped, and returns it once it printed its "spawned" line.
func startRun(t *testing.T, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer, string) {
	t.Helper()
	c := exec.Command(exoBinary(t), append([]string{"remote", "--log-level", "warn"}, args...)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	pipe, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.StartChild(t, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }) // only if the test failed early
	out := bufio.NewReader(pipe)
	head := readUntil(t, out, " spawned ")
	_, id, _ := strings.Cut(head, " spawned ")
	return c, out, &stderr, strings.TrimSpace(id)
}

// checkNodeFree: the node has no live runner, and a new run of one short
// task passes (max_runners 1 would refuse it otherwise).
func checkNodeFree(t *testing.T, addr string) {
	t.Helper()
	stdout, stderr, code := runRemoteCmd(t, "status", "--node", addr, "--timeout", "60s")
	if code != 0 || !strings.Contains(stdout, "(0 live)") {
		t.Errorf("status after the run: exit %d, %q %q; want (0 live)", code, stdout, stderr)
	}
	stdout, stderr, code = runRemoteCmd(t, "--node", addr, "--timeout", "60s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1")
	if code != 0 {
		t.Errorf("the next run: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestRemoteRunSignalCleansUp: on SIGINT or SIGTERM `remote run` cancels
// its tasks and stops the runner it spawned, says so, and exits 3. Before,
// it died within 2 ms with no cleanup; the runner stayed Ready and, with
// max_runners 1, every later run was refused until the node restarted.
func TestRemoteRunSignalCleansUp(t *testing.T) {
	node, addr := limitedNode(t, "sig-a", "")
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
		run, out, stderr, id := startRun(t, "--node", addr, "--timeout", "120s", "run", "--kind", "echo", "--tasks", "2", "--tokens", "1000000")
		if err := run.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(out)
		code := waitExit(t, run)
		text := string(rest)
		for _, want := range []string{"== interrupted by " + name + ": cancelling its open tasks and stopping the runners it spawned", "stopped " + id + ": ended by "} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: output lacks %q:\n%s", name, want, text)
			}
		}
		if code != ExitInterrupted || !strings.Contains(stderr.String(), "exo-actors: interrupted by "+name+" after 0 of 2 tasks ended; its tasks were cancelled and its runners stopped as printed above") {
			t.Errorf("%s: exit %d, stderr %q", name, code, stderr.String())
		}
		checkNodeFree(t, addr)
	}
	_ = node.Process.Signal(syscall.SIGTERM)
	_ = node.Wait()
}

// TestRemoteRunTimeoutCleansUp: when --timeout ends the run, it cancels
// its tasks, stops its runner and says what the user can do. Before, it
// printed the Go API's advice ("stopped waiting: context deadline
// exceeded; the task itself goes on: wait again, or end it with Cancel"),
// and the runner and its tasks went on.
func TestRemoteRunTimeoutCleansUp(t *testing.T) {
	node, addr := limitedNode(t, "to-a", "")
	// --timeout must end after the dial, the spawn and both submits (or
	// the text is "before any runner was spawned"): 4 s left too little
	// room for a loaded machine; the tasks (1,000,000 tokens of 1 ms) run
	// far longer than 10 s.
	stdout, stderr, code := runRemoteCmd(t, "--node", addr, "--timeout", "10s", "run", "--kind", "echo", "--tasks", "2", "--tokens", "1000000")
	for _, want := range []string{"== --timeout 10s reached: cancelling its open tasks and stopping the runners it spawned", "cancelled 2 open tasks", "stopped echo-"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	// The advice goes by the chunks streamed so far: the tasks need far
	// more than 4 × 10 s (before, it always said 4 × --timeout).
	want := "exo-actors: --timeout 10s reached before the run ended (0 of 2 tasks had ended, 2 submitted; "
	progress := regexp.MustCompile(`; its 2 open tasks had streamed (\d+) of 2000000 chunks: at that rate they need about \S+\); its tasks were cancelled and its runners stopped as printed above; allow more time with --timeout \(e\.g\. --timeout (\S+)\)`)
	m := progress.FindStringSubmatch(stderr)
	if code != ExitFailure || !strings.HasPrefix(stderr, want) || m == nil || strings.Contains(stderr, "wait again") {
		t.Fatalf("exit %d, stderr %q; want 1 and %q…, the chunks streamed and the --timeout they need", code, stderr, want)
	}
	if d, err := time.ParseDuration(m[2]); err != nil || d <= 40*time.Second {
		t.Errorf("suggested --timeout %s after %s of 2,000,000 chunks in 10s; want more than 4 × 10s", m[2], m[1])
	}
	checkNodeFree(t, addr)
	_ = node.Process.Signal(syscall.SIGTERM)
	_ = node.Wait()
}

// TestRemoteRunSecondSignalExitsAtOnce: a second signal during the cleanup
// (here a runner that ignores the Shutdown frame, so its stop waits out
// the grace) exits at once, saying the node stops the runner itself: it
// was leased to the run's session, which ends with the run's process.
func TestRemoteRunSecondSignalExitsAtOnce(t *testing.T) {
	node, addr := limitedNode(t, "sig2-a", "ignore-shutdown:forever")
	run, out, stderr, id := startRun(t, "--node", addr, "--timeout", "120s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1000000")
	// Running, so that its stop sends the Shutdown frame it ignores and the
	// cleanup waits out the grace: a runner still starting was stopped at
	// once, and the cleanup could end before the second signal (exit 3
	// "interrupted by SIGINT after 0 of 1 tasks ended", once in a run of
	// the package).
	waitStatus(t, addr, "live runner "+id+" (kind echo, Running)")
	_ = run.Process.Signal(syscall.SIGINT)
	readUntil(t, out, "== interrupted by SIGINT")
	_ = run.Process.Signal(syscall.SIGINT)
	_, _ = io.ReadAll(out)
	code := waitExit(t, run)
	if code != ExitInterrupted || !strings.Contains(stderr.String(), "exo-actors: second SIGINT: exiting at once, without the cleanup; each node stops the runners it spawned for this run (leased to its session)") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	// Whatever the cleanup got done before the exit, the node ends the rest.
	waitStatus(t, addr, "(0 live)")
	_ = node.Process.Signal(syscall.SIGTERM)
	_ = node.Wait()
}

// TestRemoteStop: the runner of a `remote run` killed with SIGKILL is
// stopped by the node (leased to the run's session, which ended with its
// process); with --keep-runners it stays, and `remote stop` stops such
// runners by ID or by --kind, says when one had already ended, and names
// an ID no node lists.
func TestRemoteStop(t *testing.T) {
	node, addr := limitedNode(t, "stop-a", "")
	kill := func(flags ...string) string {
		run, _, _, id := startRun(t, append([]string{"--node", addr, "--timeout", "120s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1000000"}, flags...)...)
		_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
		_ = run.Wait()
		return id
	}
	kill()
	waitStatus(t, addr, "(0 live)") // leased: the node stopped it
	id := kill("--keep-runners")
	// remote status lists the live runner by ID, as remote stop wants it.
	if stdout, stderr, code := runRemoteCmd(t, "status", "--node", addr); code != 0 || !strings.Contains(stdout, "stop-a     live runner "+id+" (kind echo, ") {
		t.Errorf("status with a killed client's runner: exit %d, %q %q; want the runner listed by ID", code, stdout, stderr)
	}
	// The kind's one runner is taken: the refusal says how to free it.
	_, stderr, code := runRemoteCmd(t, "--node", addr, "--timeout", "60s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1")
	if code != ExitFailure || !strings.Contains(stderr, "its max_runners; stop one first (runners a killed client left: exo-actors remote stop --node "+addr+" --kind echo)") {
		t.Errorf("run with the kind's runner taken: exit %d, %q", code, stderr)
	}
	stdout, stderr, code := runRemoteCmd(t, "stop", "--node", addr, "--timeout", "60s", id)
	if code != 0 || !strings.Contains(stdout, "node stop-a   stopped "+id+": ended by ") {
		t.Errorf("stop by ID: exit %d, %q %q", code, stdout, stderr)
	}
	stdout, _, code = runRemoteCmd(t, "stop", "--node", addr, "--timeout", "60s", id)
	if code != 0 || !strings.Contains(stdout, id+" had already ended (Shutdown)") {
		t.Errorf("stop of a stopped runner: exit %d, %q", code, stdout)
	}
	id = kill("--keep-runners")
	stdout, stderr, code = runRemoteCmd(t, "stop", "--node", addr, "--timeout", "60s", "--kind", "echo")
	if code != 0 || !strings.Contains(stdout, "stopped "+id+": ended by ") {
		t.Errorf("stop --kind echo: exit %d, %q %q", code, stdout, stderr)
	}
	checkNodeFree(t, addr)
	_, stderr, code = runRemoteCmd(t, "stop", "--node", addr, "--timeout", "60s", "echo-nosuch")
	if code != ExitFailure || !strings.Contains(stderr, "exo-actors: runner echo-nosuch: no --node lists it") {
		t.Errorf("stop of an unknown ID: exit %d, %q", code, stderr)
	}
	_, stderr, code = runRemoteCmd(t, "stop", "--node", addr)
	if code != ExitUsage || !strings.Contains(stderr, "name the runners to stop") {
		t.Errorf("stop without IDs or --kind: exit %d, %q", code, stderr)
	}
	// A kind the node does not have is an error naming its kinds (it was
	// "no live runner of kind \"llama\"", exit 0); a --node given twice is
	// a usage error (remote run spawned and ran on the one node twice).
	_, stderr, code = runRemoteCmd(t, "stop", "--node", addr, "--timeout", "60s", "--kind", "llama")
	if code != ExitFailure || !strings.Contains(stderr, `has no runner kind "llama" (its kinds: echo)`) {
		t.Errorf("stop --kind llama: exit %d, %q", code, stderr)
	}
	_, stderr, code = runRemoteCmd(t, "stop", "--node", addr+","+addr, "--kind", "echo")
	if code != ExitUsage || !strings.Contains(stderr, "--node "+addr+" is given twice") {
		t.Errorf("--node twice: exit %d, %q", code, stderr)
	}
	_ = node.Process.Signal(syscall.SIGTERM)
	_ = node.Wait()
}
