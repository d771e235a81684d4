package cli

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestRemoteRunNodeShutDownMidTask: the node of a `remote run` is shut
// down mid-task and forced (two SIGTERMs), while the run is frozen
// (SIGSTOP), so that the node has shut down before the run goes on. The
// run prints the task's FAILED line with the node's reason (the forced
// shutdown killed the runner: not "runner died … check the runner's
// stderr"), says that the node's shutdown stopped the runner and there is
// nothing to clean up, and exits 1 (the task was cut) saying the node
// shut down. Before (trial-rust run6), the stop of the runner failed with
// "node lost", the run ended on it before printing the task's FAILED
// line, and its cleanup failed with "node lost: …: cannot clean up … there".
func TestRemoteRunNodeShutDownMidTask(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "node.json")
	// session_timeout: the frozen run sends no heartbeat; the node must not
	// drop its session meanwhile.
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "2ms"]}},
		"session_timeout": "60s"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	node := exec.Command(exoBinary(t), "node", "--name", "shut-r", "--listen", "127.0.0.1:0", "--config", conf, "--log-level", "info")
	nodeOut, err := node.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	nodeErr, err := node.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.StartChild(t, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-node.Process.Pid, syscall.SIGKILL) }) // only if the test failed early
	// The node's log, read to its end: "to=Running" says the task runs;
	// "closing after the node's shutdown" that its gateway told its
	// clients so and waits (1 s at most) for their goodbyes.
	running, closing := make(chan struct{}, 1), make(chan struct{}, 1) // capacity 1, never closed
	logDone := watchLog(nodeErr, logSignal{taskRunning, running},
		logSignal{func(l string) bool { return strings.Contains(l, "gateway: closing after the node's shutdown") }, closing})
	out := bufio.NewReader(nodeOut)
	addr := listenAddr(t, out)

	run, runOut, runErr, id := startRun(t, "--node", addr, "--timeout", "120s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1000000")
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatal("the task did not start within 30s")
	}
	if err := syscall.Kill(run.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"graceful shutdown", "forcing"} {
		if err := node.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		readUntil(t, out, want)
	}
	select {
	case <-closing:
	case <-time.After(30 * time.Second):
		t.Fatal("the node's gateway did not close within 30s of the forced shutdown")
	}
	// The node has shut down; the run, thawed, finds its task's outcome
	// and then the note that the node shut down (its goodbye lets the
	// node exit).
	if err := syscall.Kill(run.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, out)
	<-logDone
	_ = node.Wait()
	b, _ := io.ReadAll(runOut)
	code := waitExit(t, run)
	text := string(b)
	for _, want := range []string{
		"FAILED task-0000 on shut-r: Failed (runner killed by the node's forced shutdown",
		"node shut-r   shut down during the run: its shutdown stopped " + id + "; nothing to clean up there",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, bad := range []string{"cannot clean up", "runner died", "check the runner's stderr", "== the run failed"} {
		if strings.Contains(text, bad) {
			t.Errorf("output has %q:\n%s", bad, text)
		}
	}
	const wantErr = "exo-actors: 1 of 1 tasks failed; node shut-r shut down during the run"
	if code != 1 || !strings.HasPrefix(runErr.String(), wantErr) {
		t.Errorf("exit %d, stderr %q; want 1 and %q…", code, runErr.String(), wantErr)
	}
}

// TestRemoteRunTimeoutAfterANodeShutDown: a run on two nodes whose
// --timeout ends it after one of them was shut down and forced mid-task
// (trial9). The run prints that node's task's FAILED line (it printed the
// FAILED lines only at its normal end, so a run ended by --timeout dropped
// them), names the node that shut down, and does not call its runner
// failing ("never became Ready: … fix the runner or the node config": the
// runner had streamed until the node's forced shutdown killed it).
func TestRemoteRunTimeoutAfterANodeShutDown(t *testing.T) {
	t.Parallel()
	nodeA, addrA := limitedNode(t, "dn-a", "")
	running := make(chan struct{}, 1) // capacity 1, never closed
	b, bOut, logDone, addrB := startWatchedNode(t, "dn-b", `{"kinds": {"echo": `+echoKindJSON+`}}`, logSignal{taskRunning, running})

	// The tasks (1,000,000 tokens) outlive --timeout; 20 s leaves room for
	// the dials, the spawns and node B's shutdown on a loaded machine.
	run, runOut, runErr, _ := startRun(t, "--node", addrA+","+addrB, "--timeout", "20s", "run", "--kind", "echo", "--tasks", "2", "--tokens", "1000000")
	select {
	case <-running:
	case <-time.After(20 * time.Second):
		t.Fatal("node B's task did not start within 20s")
	}
	for _, want := range []string{"graceful shutdown", "forcing"} {
		if err := b.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		readUntil(t, bOut, want)
	}
	_, _ = io.Copy(io.Discard, bOut)
	<-logDone
	_ = b.Wait()

	rest, _ := io.ReadAll(runOut)
	code := waitExit(t, run)
	text, stderr := string(rest), runErr.String()
	if !strings.Contains(text, "== --timeout") {
		t.Fatalf("the run did not end by its --timeout (node B shut down too late?): exit %d\n%s%s", code, text, stderr)
	}
	if !strings.Contains(text, "FAILED task-0001 on dn-b: Failed (runner killed by the node's forced shutdown") {
		t.Errorf("output lacks node B's task's FAILED line:\n%s", text)
	}
	if !strings.Contains(text, "node dn-b     shut down during the run: its shutdown stopped") {
		t.Errorf("the cleanup does not say node B shut down:\n%s", text)
	}
	const want, down = "exo-actors: --timeout 20s reached before the run ended (1 of 2 tasks had ended, 2 submitted; its 1 open task had streamed ", "); node dn-b shut down during the run"
	if code != ExitFailure || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, down) {
		t.Errorf("exit %d, stderr %q; want 1 and %q…%q", code, stderr, want, down)
	}
	for _, bad := range []string{"never became Ready", "not Ready again", "fix the runner"} {
		if strings.Contains(stderr+text, bad) {
			t.Errorf("the run calls node B's runner failing (%q):\n%s%s", bad, text, stderr)
		}
	}
	checkNodeFree(t, addrA)
	_ = nodeA.Process.Signal(syscall.SIGTERM)
	_ = nodeA.Wait()
}

// logSignal is a condition on a node's log lines and the channel (capacity
// 1) watchLog signals, without blocking, on each line that meets it.
type logSignal struct {
	match func(line string) bool
	ch    chan struct{}
}

// taskRunning matches the log line of a runner going Running (a task runs).
func taskRunning(l string) bool {
	return strings.Contains(l, "runner status changed") && strings.Contains(l, "to=Running")
}

// watchLog reads a node's log (its stderr) to its end on a goroutine of its
// own, signalling each matching signal; the channel it returns closes when
// the log ends (the node exited): wait for it before the test ends.
func watchLog(r io.Reader, signals ...logSignal) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done) // sole sender: this reader
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			for _, sg := range signals {
				if sg.match(sc.Text()) {
					select {
					case sg.ch <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return done
}

// TestRemoteRunNodeDrainCutSaysItShutDown: the node of a `remote run` is
// shut down gracefully (one SIGTERM) mid-task, with a short drain that cuts
// the task. The run's summary says that the node shut down, whether its
// cleanup reached the node while it still closed (its stop then succeeds)
// or after (the node says it shut down). Before, the first case printed
// "node N stopped ID: ended by the Shutdown frame", as if the run had
// stopped the runner, and a summary with no word of the shutdown (a new
// user's trial, tenth session).
func TestRemoteRunNodeDrainCutSaysItShutDown(t *testing.T) {
	t.Parallel()
	running := make(chan struct{}, 1) // capacity 1, never closed
	n, nOut, logDone, addr := startWatchedNode(t, "dc-a", `{"kinds": {"echo": `+echoKindJSON+`}, "shutdown": {"draining": "1s"}}`,
		logSignal{taskRunning, running})

	run, runOut, runErr, _ := startRun(t, "--node", addr, "--timeout", "60s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1000000")
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatal("the task did not start within 30s")
	}
	if err := n.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, nOut)
	<-logDone
	_ = n.Wait()
	rest, _ := io.ReadAll(runOut)
	code := waitExit(t, run)
	text, stderr := string(rest), runErr.String()
	if !strings.Contains(text, "FAILED task-0000 on dc-a: TimedOut (drain deadline passed during shutdown)") {
		t.Errorf("output lacks the task's FAILED line:\n%s", text)
	}
	if strings.Contains(text, "node dc-a     stopped ") {
		t.Errorf("the cleanup reads as if the run stopped the runner of a node that shut down:\n%s", text)
	}
	const want = "exo-actors: 1 of 1 tasks failed; node dc-a shut down during the run"
	if code != ExitFailure || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 1 and %q…\n%s", code, stderr, want, text)
	}
}

// TestNodeSignalDuringCloseSkipsTheGoodbyes: a signal to a node whose
// shutdown has ended while its gateway waits for a client's goodbye (here
// the client that asked for the shutdown, frozen by SIGSTOP so that it
// never says it) ends that wait: the node says so and exits. Before, the
// signal was ignored while the gateway waited (up to 3 s for a requester,
// gateway.RequesterGrace).
func TestNodeSignalDuringCloseSkipsTheGoodbyes(t *testing.T) {
	t.Parallel()
	running, closing := make(chan struct{}, 1), make(chan struct{}, 1) // capacity 1, never closed
	n, nOut, logDone, addr := startWatchedNode(t, "sk-a", `{"kinds": {"echo": `+echoKindJSON+`}, "shutdown": {"draining": "2s"}, "session_timeout": "60s"}`,
		logSignal{taskRunning, running},
		logSignal{func(l string) bool { return strings.Contains(l, "gateway: closing after the node's shutdown") }, closing})

	// A task for the drain to wait for: the shutdown takes 2 s, in which
	// the requester is frozen before its report comes.
	run, runOut, _, _ := startRun(t, "--node", addr, "--timeout", "60s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1000000")
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatal("the task did not start within 30s")
	}
	req := exec.Command(exoBinary(t), "remote", "--log-level", "warn", "--node", addr, "shutdown")
	if err := testutil.StartChild(t, req); err != nil { // its output is not read: it goes to /dev/null
		t.Fatal(err)
	}
	readUntil(t, nOut, "shut down by a client")
	if err := syscall.Kill(req.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(req.Process.Pid, syscall.SIGCONT)
		_ = req.Wait()
	}()
	select {
	case <-closing:
	case <-time.After(30 * time.Second):
		t.Fatal("the node's gateway did not begin to close within 30s")
	}
	if err := n.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	readUntil(t, nOut, "== interrupt: not waiting for the clients' goodbyes (the shutdown has ended)")
	_, _ = io.Copy(io.Discard, nOut)
	<-logDone
	_ = n.Wait()
	_, _ = io.ReadAll(runOut)
	_ = waitExit(t, run)
}

// echoKindJSON is the built-in runner kind of these tests: one layer, no
// loading delay, a token every 2 ms.
const echoKindJSON = `{"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "2ms"]}`

// startWatchedNode starts `exo-actors node` (log level info) with config,
// watches its log for signals (watchLog: logDone closes when the log
// ends) and returns once it listens: the command, its stdout after the
// listening line, and its address.
func startWatchedNode(t *testing.T, name, config string, signals ...logSignal) (*exec.Cmd, *bufio.Reader, <-chan struct{}, string) {
	t.Helper()
	cmd := nodeCommand(t, name, config, "info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := startNodeCommand(t, cmd)
	logDone := watchLog(stderr, signals...)
	return cmd, out, logDone, listenAddr(t, out)
}
