package actors_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// python is the interpreter the Python runner SDK supports (Debian's, with
// python3-protobuf).
const python = "/usr/bin/python3"

// needPython skips when /usr/bin/python3 or its google.protobuf is missing,
// except under CI (CI set), where it fails.
// pythonTimeouts give a Python runner the time a loaded machine takes to
// start one (the interpreter and google.protobuf's import): these tests
// check what a runner says, not how fast. With fastTimeouts' 2 s
// handshake and 400 ms stalls, TestPythonRunnerException failed under a
// load of 10 ("never said Hello within 2s"; another run, the loading
// stall at 478 ms).
func pythonTimeouts(c *actors.NodeConfig) {
	c.Timeouts.Handshake, c.Timeouts.LoadingStall = 20*time.Second, 20*time.Second
	c.Timeouts.HeartbeatTimeout, c.Timeouts.ProgressTimeout = 10*time.Second, 10*time.Second
	c.Timeouts.FrameStall = time.Second
}

func needPython(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import google.protobuf").CombinedOutput()
	if err == nil {
		return
	}
	msg := "needs " + python + " with google.protobuf (apt-get install python3-protobuf): " + strings.TrimSpace(string(out))
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " — CI is set: a failure, not a skip")
	}
	t.Skip(msg)
}

func pythonTestdata(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "sdk", "python", "testdata", name)
}

// TestPythonRunnerException: an exception in a Python runner's load ends it
// with exit code 1 (not a signal: the SDK exits with os._exit, so no daemon
// thread blocked on stdin can abort the interpreter's shutdown), and the
// traceback reaches the failure: the runner's own Failed diagnostics, the
// stderr tail, and the exception in the one-line reason. Its print() went
// to stderr (the SDK's stdout guard), not into the frame stream.
func TestPythonRunnerException(t *testing.T) {
	needPython(t)
	n := startNode(t, pythonTimeouts)
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "py-raise", Command: python,
		Args: []string{pythonTestdata("raising_runner.py")}})
	if err != nil {
		t.Fatal(err)
	}
	f := failures(n.rec.waitFor(t, 30*time.Second, "failure", failed(id)), id)[0]
	t.Logf("%s\n%s", f.Error(), f.Diagnostics())
	if f.Kind != errhandler.KindTerminationError || f.Exit == nil || f.Exit.Signaled() || f.Exit.Code != 1 {
		t.Errorf("failure %s, exit %v; want termination_error and exitcode=1", f.Kind, f.Exit)
	}
	want := "ValueError: weights corrupt: /models/layer-2.bin"
	if !strings.Contains(f.Message, want) || f.RunnerMessage != want {
		t.Errorf("reason %q, runner error %q; want both to name %q", f.Message, f.RunnerMessage, want)
	}
	if !strings.Contains(f.RunnerDiagnostics, "Traceback (most recent call last)") || !strings.Contains(f.RunnerDiagnostics, "in read_weights") {
		t.Errorf("runner diagnostics lack the traceback:\n%s", f.RunnerDiagnostics)
	}
	if !strings.Contains(strings.Join(f.StderrTail, "\n"), "Loading model…") {
		t.Errorf("the print() did not reach stderr: %q", f.StderrTail)
	}
}

// TestPythonRunnerHugeException: an exception whose text is larger than a
// frame still reaches the node, cut to what it keeps (the SDK cuts it as
// the node would): before, the Failed frame was over the frame limit, its
// write failed, and the runner died with nothing said but its stderr.
func TestPythonRunnerHugeException(t *testing.T) {
	needPython(t)
	n := startNode(t, pythonTimeouts)
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "py-huge", Command: python,
		Args: []string{pythonTestdata("raising_runner.py"), "huge"}})
	if err != nil {
		t.Fatal(err)
	}
	f := failures(n.rec.waitFor(t, 30*time.Second, "failure", failed(id)), id)[0]
	if f.Kind != errhandler.KindTerminationError || !strings.HasPrefix(f.RunnerMessage, "ValueError: weights corrupt: www") ||
		len(f.RunnerMessage) > 4096 || !strings.Contains(f.RunnerMessage, " …[truncated ") {
		t.Errorf("failure %s, runner message of %d bytes (%.60q…); want termination_error with the text cut to 4096 bytes", f.Kind, len(f.RunnerMessage), f.RunnerMessage)
	}
}

// TestPythonRunnerStopsBeforeSIGTERMWhenLoadIgnoresCancel: a Python
// runner whose load never returns and ignores its cancellation still ends
// on the Shutdown frame: the SDK gives up on the load before the frame's
// timeout (the stop grace) ends, so the stop needs no SIGTERM. Before, the
// SDK waited the whole timeout, and the SIGTERM came first (a new user's
// trial: "CLOSING forced … did not exit on its Shutdown frame").
func TestPythonRunnerStopsBeforeSIGTERMWhenLoadIgnoresCancel(t *testing.T) {
	needPython(t)
	n := startNode(t, pythonTimeouts, func(c *actors.NodeConfig) {
		c.Timeouts.LoadingStall, c.Timeouts.StopGrace, c.Timeouts.TermWait = time.Minute, 3*time.Second, 2*time.Second
	})
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "py-stubborn", Command: python,
		Args: []string{pythonTestdata("stubborn_runner.py")}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 30*time.Second, "Loading", hasStatus(id, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING))
	r, err := n.StopRunner(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.EndedBy != "shutdown frame" {
		t.Errorf("the stop ended by %q after %s (%s), want the shutdown frame", r.EndedBy, r.Total, r.Ended())
	}
}
