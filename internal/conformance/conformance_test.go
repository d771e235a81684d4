package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/conformance"
)

// python is the interpreter the Python SDK supports: Debian's, with its
// python3-protobuf (the python3 on PATH may be another one without it).
const python = "/usr/bin/python3"

// sdkDir is sdk/python in this repository.
func sdkDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "sdk", "python")
}

// needPython skips the test when /usr/bin/python3 or its google.protobuf is
// missing — except under CI (CI set), where that is a broken setup: fail.
func needPython(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import google.protobuf; print(google.protobuf.__version__)").CombinedOutput()
	if err == nil {
		return
	}
	msg := "needs " + python + " with google.protobuf (Debian: apt-get install python3-protobuf): " +
		strings.TrimSpace(string(out)) + " " + err.Error()
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " — CI is set, so this is a failure, not a skip (.ci/run installs python3-protobuf)")
	}
	t.Skip(msg)
}

func run(t *testing.T, cfg conformance.Config) *conformance.Report {
	t.Helper()
	rep, err := conformance.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = rep.WriteText(&b)
	t.Logf("\n%s", b.String())
	return rep
}

// wantAllPass checks that every case passed (none skipped: both runners
// announce cancel and progress).
func wantAllPass(t *testing.T, rep *conformance.Report) {
	t.Helper()
	if len(rep.Cases) != len(conformance.Names()) {
		t.Errorf("%d cases ran, want %d", len(rep.Cases), len(conformance.Names()))
	}
	for _, c := range rep.Cases {
		if c.Outcome != conformance.Pass {
			t.Errorf("case %s: %s: %s", c.Name, c.Outcome, c.Reason)
		}
	}
	if !rep.OK() || rep.Passed != len(conformance.Names()) {
		t.Errorf("report: %d passed, %d failed, %d skipped", rep.Passed, rep.Failed, rep.Skipped)
	}
}

func TestBuiltinRunnerConforms(t *testing.T) {
	wantAllPass(t, run(t, conformance.Config{Command: []string{binary, "runner"}}))
}

func TestPythonExampleRunnerConforms(t *testing.T) {
	needPython(t)
	wantAllPass(t, run(t, conformance.Config{Command: []string{python, filepath.Join(sdkDir(t), "examples", "text_generation.py")}}))
}

// TestBrokenRunnerFailsNamedCases: a runner that prints to stdout, skips the
// acknowledgement and ignores Shutdown fails exactly the cases that check
// those, with evidence naming what it did.
func TestBrokenRunnerFailsNamedCases(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: []string{python, filepath.Join(sdkDir(t), "testdata", "broken_runner.py")}})
	if rep.OK() {
		t.Fatal("the broken runner passed the suite")
	}
	for name, want := range map[string]string{
		"no-stray-stdout": `stdout is not frames: "task done" (did the runner print to stdout? log to stderr)`,
		"ack-before-work": `Chunk ack-1 #0 "tok0 " before TaskAcknowledged`,
		"shutdown":        "still running",
		"hello":           "", // passes: it does say Hello properly
	} {
		c := rep.Case(name)
		if c == nil {
			t.Fatalf("no case %s", name)
		}
		if want == "" {
			if c.Outcome != conformance.Pass {
				t.Errorf("%s: %s (%s), want pass", name, c.Outcome, c.Reason)
			}
			continue
		}
		if c.Outcome != conformance.Fail || !strings.Contains(c.Reason, want) {
			t.Errorf("%s: %s %q, want a failure saying %q", name, c.Outcome, c.Reason, want)
		}
	}
}

// TestIgnoredShutdownFails: the Go built-in runner told to ignore Shutdown
// fails the shutdown case (no Python needed).
func TestIgnoredShutdownFails(t *testing.T) {
	rep := run(t, conformance.Config{Command: []string{binary, "runner", "--fault", "ignore-shutdown:forever"},
		Only: []string{"shutdown", "hello"}})
	if c := rep.Case("shutdown"); c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, "still running") {
		t.Errorf("shutdown case: %+v", c)
	}
	if c := rep.Case("hello"); c == nil || c.Outcome != conformance.Pass {
		t.Errorf("hello case: %+v", c)
	}
	if rep.OK() || rep.Failed != 1 || len(rep.Cases) != 2 {
		t.Errorf("report: %d passed, %d failed of %d", rep.Passed, rep.Failed, len(rep.Cases))
	}
}

func TestNotARunner(t *testing.T) {
	rep := run(t, conformance.Config{Command: []string{"/bin/echo", "Loading model…"}, Only: []string{"hello"}})
	c := rep.Case("hello")
	if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, `"Loading model…"`) {
		t.Errorf("hello case against echo: %+v", c)
	}
}

// TestCommandThatCannotStart: a runner command that cannot be started is
// one error before any case, naming the command and what to do — not
// every case failing alike with "could not start the runner: … check the
// runner spec's command and PATH" (the trial: 17 of them for
// `conformance -- /no/such`).
func TestCommandThatCannotStart(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "runner.py")
	noInterp := filepath.Join(dir, "no_interp.sh")
	if err := os.WriteFile(notExec, []byte("print()\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noInterp, []byte("#!/no/such/interpreter\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Through env: env starts and exits 127, so every case would fail on
	// it; refused before the first (a new user's trial).
	envMissing := filepath.Join(dir, "env_missing.py")
	envCRLF := filepath.Join(dir, "env_crlf.py")
	if err := os.WriteFile(envMissing, []byte("#!/usr/bin/env python9\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envCRLF, []byte("#!/usr/bin/env sh\r\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  conformance.Config
		want string
	}{
		{conformance.Config{Command: []string{"/nonexistent/runner"}},
			`runner command "/nonexistent/runner" does not exist; give the runner executable's path after --`},
		{conformance.Config{Command: []string{"no-such-runner-in-path"}},
			`runner command "no-such-runner-in-path" is not an executable in PATH; give its full path after --, or install it in PATH`},
		{conformance.Config{Command: []string{dir}}, `runner command "` + dir + `" is a directory; give the runner executable after --`},
		{conformance.Config{Command: []string{notExec}},
			`runner command "` + notExec + `" is not executable (mode -rw-r--r--); chmod +x it, or give its interpreter first, e.g. -- /usr/bin/python3 ` + notExec},
		{conformance.Config{Command: []string{"./runner.py"}, Dir: filepath.Join(dir, "nosuch")}, `working directory "` + filepath.Join(dir, "nosuch") + `": no such file or directory; give an existing directory`},
		// Found and executable, but exec fails: the first case's start
		// says so, and no case is reported.
		{conformance.Config{Command: []string{noInterp}},
			`runner command "` + noInterp + `" could not be started: its #! line names /no/such/interpreter, which does not exist; install it, or fix the script's #! line`},
		{conformance.Config{Command: []string{envMissing}, Env: []string{"PATH=/usr/bin:/bin"}},
			`runner command "` + envMissing + `" could not be started: its #! line runs python9 through /usr/bin/env, which finds no python9 in the runner's PATH (/usr/bin:/bin); install python9, add its directory to the runner's PATH, or fix the script's #! line`},
		{conformance.Config{Command: []string{envCRLF}},
			`runner command "` + envCRLF + `" could not be started: its #! line runs "sh\r" through /usr/bin/env, which finds no such program: the line ends in a carriage return (the script has Windows line endings); convert the script to Unix line endings, e.g. with dos2unix, so that its #! line runs sh`},
	} {
		rep, err := conformance.Run(context.Background(), tc.cfg)
		if err == nil || err.Error() != tc.want || rep != nil {
			t.Errorf("%v: report %v, error %v\nwant the error %q", tc.cfg.Command, rep, err, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  conformance.Config
		want string
	}{
		{conformance.Config{}, "no runner command"},
		{conformance.Config{Command: []string{binary, "runner"}, Only: []string{"nosuch"}}, `unknown case "nosuch"`},
		{conformance.Config{Command: []string{binary, "runner"}, Params: map[string]string{"max_tokens": "40"}},
			"task parameter max_tokens is set by each case; leave it out"},
		{conformance.Config{Command: []string{binary, "runner"}, Params: map[string]string{"temperature": "0", "max_tokens": "oops"}},
			"task parameter max_tokens is set by each case; leave it out"},
	} {
		if _, err := conformance.Run(context.Background(), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

func TestJSONReport(t *testing.T) {
	rep := run(t, conformance.Config{Command: []string{binary, "runner"}, Only: []string{"hello"}})
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Cases []struct {
			Name, Outcome string
			Evidence      []string
		}
		Passed int
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if back.Passed != 1 || len(back.Cases) != 1 || back.Cases[0].Name != "hello" || back.Cases[0].Outcome != "pass" || len(back.Cases[0].Evidence) == 0 {
		t.Errorf("JSON report: %s", b.String())
	}
}

// faulty is sdk/python/testdata/faulty_runner.py with the fault named.
func faulty(t *testing.T, fault string) []string {
	return []string{python, filepath.Join(sdkDir(t), "testdata", "faulty_runner.py"), fault}
}

// TestLateReadyFails: a runner that writes a task's Ready late, when it has
// already accepted the next task, fails next-task-before-ready on that
// Ready — every time, not only when the timing is unlucky (issue from a new
// user's runner: it passed). The faulty runner holds the Ready until the
// next task is accepted, not for a fixed 50 ms, which a slow machine could
// outlast before the next task came.
func TestLateReadyFails(t *testing.T) {
	needPython(t)
	for i := range 3 {
		rep := run(t, conformance.Config{Command: faulty(t, "late-ready"), Only: []string{"next-task-before-ready"}})
		c := rep.Case("next-task-before-ready")
		if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, "Ready while task b2b-2 runs (protocol.md, Tasks, step 6") {
			t.Fatalf("run %d: %+v, want a failure on the Ready while b2b-2 runs", i, c)
		}
	}
}

// TestBadLoadingFails: a runner whose Loading reports have total_layers 0
// fails the suite, which refuses them as a node does; before, it passed,
// and on a node the refused report left it Idle until the loading-stall
// bound killed it. The Python SDK refuses to send them (the faulty runner
// writes them past it, after checking that).
func TestBadLoadingFails(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "bad-loading"), Only: []string{"status-order"}})
	c := rep.Case("status-order")
	if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, "illegal report: status Loading(0/0): total_layers must be above 0") {
		t.Fatalf("%+v, want a failure naming the Loading(0/0)", c)
	}
}

// TestBackToBackPassesCorrectRunner: the same runner without the fault (the
// example runner) passes the case, which watches b2b-2 run before it cancels it.
func TestBackToBackPassesCorrectRunner(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: []string{python, filepath.Join(sdkDir(t), "examples", "text_generation.py")},
		Only: []string{"next-task-before-ready"}})
	c := rep.Case("next-task-before-ready")
	if c == nil || c.Outcome != conformance.Pass || !strings.Contains(strings.Join(c.Evidence, "\n"), "b2b-2 ran until cancelled (CANCELLED") {
		t.Errorf("%+v, want a pass with b2b-2 cancelled after the watch", c)
	}
}

// TestNoRunningStatusNamed: a runner that never reports
// StatusUpdated{Running} fails the cases that run a task, saying so — not
// "illegal status transition Ready → Ready".
func TestNoRunningStatusNamed(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "no-running"),
		Only: []string{"chunk-order", "finish-reason", "next-task-before-ready", "cancel", "no-stray-stdout"}})
	for _, c := range rep.Cases {
		want := "no StatusUpdated{Running} for task " // then the task's ID
		if c.Outcome != conformance.Fail || !strings.Contains(c.Reason, want) || !strings.Contains(c.Reason, "step 2") ||
			strings.Contains(c.Reason, "illegal status transition") {
			t.Errorf("%s: %s %q, want a failure saying %q", c.Name, c.Outcome, c.Reason, want)
		}
	}
	if len(rep.Cases) != 5 {
		t.Errorf("%d cases ran, want 5", len(rep.Cases))
	}
}

// TestTextOnStdoutSaysWhatHappened: a "runner" that prints a line fails at
// once, and the reason says what came instead of a frame — not "within 5s",
// which it did not wait — quoting the line the same way whether it came in
// one write or two.
func TestTextOnStdoutSaysWhatHappened(t *testing.T) {
	for _, cmd := range [][]string{
		{"/bin/echo", "Loading model..."},
		{"/bin/sh", "-c", `printf 'Loading model...'; sleep 0.2; echo; sleep 5`},
	} {
		rep := run(t, conformance.Config{Command: cmd, Only: []string{"hello", "capabilities"}})
		for _, c := range rep.Cases {
			if c.Outcome != conformance.Fail || !strings.Contains(c.Reason, `stdout is not frames: "Loading model..." (did the runner print`) ||
				strings.Contains(c.Reason, "within") {
				t.Errorf("%v, case %s: %s %q", cmd, c.Name, c.Outcome, c.Reason)
			}
		}
	}
}

// TestBusyShutdownHangFails: a runner that answers a Shutdown sent while a
// task streams but then never exits (the Node.js trial's hang: an exit
// from a callback that did not return while a read of fd 0 was pending)
// passes the idle shutdown case and fails shutdown-mid-task, which names
// the likely cause.
func TestBusyShutdownHangFails(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "busy-shutdown-hangs"), Only: []string{"shutdown", "shutdown-mid-task"}})
	if c := rep.Case("shutdown"); c == nil || c.Outcome != conformance.Pass {
		t.Errorf("shutdown: %+v, want a pass (the idle Shutdown exits)", c)
	}
	c := rep.Case("shutdown-mid-task")
	if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, "still running") ||
		!strings.Contains(c.Reason, "sent while a task streamed") || !strings.Contains(c.Reason, "process.stdin") {
		t.Errorf("shutdown-mid-task: %+v, want a failure saying it is still running after the Shutdown", c)
	}
	if !strings.Contains(strings.Join(c.Evidence, "\n"), "TaskStatus shut-1 CANCELLED") {
		t.Errorf("evidence %q: want the task's Cancelled end", c.Evidence)
	}
}

// TestDeafWhileStreamingNamed: a single-threaded runner that reads stdin
// only between tasks fails shutdown-mid-task, and the reason says what the
// evidence shows — it did not read stdin while the task streamed — not the
// Node.js hint alone (a new user's Python runner got "in Node, read stdin
// with process.stdin").
func TestDeafWhileStreamingNamed(t *testing.T) {
	needPython(t)
	_, file, _, _ := runtime.Caller(0)
	rep := run(t, conformance.Config{Command: []string{python, filepath.Join(filepath.Dir(file), "testdata", "deaf_runner.py")},
		Only: []string{"shutdown", "shutdown-mid-task"}})
	if c := rep.Case("shutdown"); c == nil || c.Outcome != conformance.Pass {
		t.Errorf("shutdown: %+v, want a pass (idle, it reads the Shutdown)", c)
	}
	c := rep.Case("shutdown-mid-task")
	want := "more chunks after the Shutdown: the runner did not read stdin while the task streamed, or a before-shutdown hook held its ShuttingDown back"
	if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, "no ShuttingDown, and ") || !strings.Contains(c.Reason, want) ||
		strings.Contains(c.Reason, "process.stdin") {
		t.Errorf("shutdown-mid-task: %+v\nwant a failure saying %q, without the Node.js hint", c, want)
	}
}

// TestCrashSaysHowItEnded: a runner that dies before its Hello is described
// by its exit, every time. Before, the evidence said "process still
// running" whenever the end of stdout was read before the reap (half of a
// trial's runs), and the exit code was lost.
func TestCrashSaysHowItEnded(t *testing.T) {
	for i := range 10 {
		rep, err := conformance.Run(context.Background(), conformance.Config{
			Command: []string{"/bin/sh", "-c", "echo boom: model file missing >&2; exit 7"}, Only: []string{"hello"}})
		if err != nil {
			t.Fatal(err)
		}
		c := rep.Case("hello")
		if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, "(process ended: exitcode=7)") {
			t.Fatalf("run %d: hello case against a crash: %+v; want it to say the process ended with exit code 7", i, c)
		}
	}
}

// TestCrashShowsTheErrorLine: a runner that dies as Node.js does (the
// error, its stack, a blank line and "Node.js v20.20.2": verbatim, a
// script with a syntax error) shows the line that states the error, which
// the 8 lines kept had lost (a new user saw stack frames and the version).
func TestCrashShowsTheErrorLine(t *testing.T) {
	nodeCrash, err := filepath.Abs("../proc/testdata/stderr/node-script-syntax-error.txt")
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, conformance.Config{Command: []string{"/bin/sh", "-c", `cat "$0" >&2; exit 1`, nodeCrash}, Only: []string{"hello"}})
	c := rep.Case("hello")
	if c == nil || c.Outcome != conformance.Fail {
		t.Fatalf("hello case against a crash: %+v", c)
	}
	if c.StderrError != "SyntaxError: Unexpected token ';'" || c.StderrBetween != 1 || c.StderrTail[len(c.StderrTail)-1] != "Node.js v20.20.2" {
		t.Errorf("stderr error %q, %d lines between, tail %q; want the SyntaxError line, 1 line, then the last 8", c.StderrError, c.StderrBetween, c.StderrTail)
	}
	var out strings.Builder
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	want := "       stderr| SyntaxError: Unexpected token ';'\n       stderr| … (1 line)\n       stderr|     at Module._compile"
	if !strings.Contains(out.String(), want) {
		t.Errorf("report:\n%s\nwant it to hold:\n%s", out.String(), want)
	}
}

// TestLateStrayLineFails: a runner that prints a line to stdout 0.3 s after
// its first Ready (a trial's runner: a debug print on a timer) fails
// no-stray-stdout, whose runner now idles a second after its task, and
// unknown-message, both quoting the line. Before, no-stray-stdout passed
// (its whole life was shorter) and unknown-message failed for a shutdown
// that "did not go cleanly", without the line.
func TestLateStrayLineFails(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "stray-late"), Only: []string{"no-stray-stdout", "unknown-message"}})
	for _, name := range []string{"no-stray-stdout", "unknown-message"} {
		c := rep.Case(name)
		if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, `stdout is not frames: "debug: model ready, cache warm`) {
			t.Errorf("%s: %+v; want a failure quoting the stray line", name, c)
		}
	}
}

// TestMisencodedHelloBlamesTheEncoder: a Hello that is protobuf with a
// runner_id that is not UTF-8 fails hello naming the field, with advice
// about the runner's encoder (a raw Node.js runner's trial got none: the
// error named no field, and the node's advice was about stray prints).
func TestMisencodedHelloBlamesTheEncoder(t *testing.T) {
	// A frame of RunnerEnvelope{hello: Hello{min_version 1, max_version 1,
	// runner_id "r\xc3"}}, in octal for sh's printf.
	rep := run(t, conformance.Config{Command: []string{"/bin/sh", "-c", `printf '\012\012\010\010\001\020\001\032\002r\303'; exec sleep 30`}, Only: []string{"hello"}})
	c := rep.Case("hello")
	if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, "string field contains invalid UTF-8: exoactors.v1.Hello.runner_id (field 3); body 0a 08 08 01 10 01 1a 02 72 c3; the body is protobuf") ||
		!strings.Contains(c.Reason, "the runner's encoder wrote them, not a stray print") {
		t.Errorf("hello case against a misencoded Hello: %+v", c)
	}
}

// TestExitAfterReadySaysUnasked: a runner that exits 0 right after Ready
// (a new user's Java runner: main returned, its other threads daemons)
// fails the cases that go on after Ready, and each text leads with that
// fact and the advice for it, not the case's own (before: cancel said "a
// cancelled task must end at once", unknown-message "report Failed(…)
// first", shutdown "statuses [] after Shutdown").
func TestExitAfterReadySaysUnasked(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "exit-after-ready"), Only: []string{"cancel", "unknown-message", "shutdown"}})
	want := "the runner exited unasked (exitcode=0) "
	advice := "a runner runs until its Shutdown frame or stdin's end (docs/protocol.md); check that its main thread does not return while other threads work"
	for _, name := range []string{"cancel", "unknown-message", "shutdown"} {
		c := rep.Case(name)
		if name == "shutdown" && c != nil && strings.Contains(c.Reason, "was sent, without answering it") {
			// Its exit came after the suite's Shutdown was sent: said as
			// either cause (TestExitOnShutdownWithoutAWord).
			if !strings.Contains(c.Reason, "check that its main thread does not return while other threads work") || !strings.Contains(c.Reason, "after Ready") {
				t.Errorf("shutdown: %q, want both causes and when it exited", c.Reason)
			}
			continue
		}
		if c == nil || c.Outcome != conformance.Fail || !strings.HasPrefix(c.Reason, want) || !strings.Contains(c.Reason, advice) ||
			strings.Contains(c.Reason, "must end at once") || strings.Contains(c.Reason, "statuses [] after Shutdown") {
			t.Errorf("%s: %+v\nwant a failure starting %q, with %q", name, c, want, advice)
		}
	}
	if c := rep.Case("shutdown"); c != nil && !strings.Contains(c.Reason, "after Ready") {
		t.Errorf("shutdown: %q, want it to say when it exited (after Ready)", c.Reason)
	}
}

// TestCrashAfterReadyQuotesItsError: a runner that dies after Ready with
// a Python traceback fails the cases after Ready quoting the error line,
// as the node does ("last stderr line: ValueError: …"); before, the text
// said only that its stderr may say why (a new author's trial).
func TestCrashAfterReadyQuotesItsError(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "crash-after-ready"), Only: []string{"cancel"}})
	c := rep.Case("cancel")
	if c == nil || c.Outcome != conformance.Fail || !strings.HasPrefix(c.Reason, "the runner exited unasked (exitcode=1)") ||
		!strings.Contains(c.Reason, `its stderr says "ValueError: weights corrupt"`) {
		t.Errorf("cancel: %+v\nwant it to quote the error line", c)
	}
}

// TestExitOnShutdownWithoutAWord: a runner that exits 0 on its Shutdown
// frame without a status (a new author's runner) fails the shutdown case
// with what a runner answers to Shutdown; before, it read "the runner
// exited unasked", advice about its main thread alone, for a runner that
// was asked.
func TestExitOnShutdownWithoutAWord(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "exit-on-shutdown"), Only: []string{"shutdown"}})
	c := rep.Case("shutdown")
	want := "was sent, without answering it (no ShuttingDown came): a runner answers Shutdown with Status ShuttingDown, lets its tasks end (or cancels them) within the timeout, reports Status Shutdown, then exits (docs/protocol.md)"
	if c == nil || c.Outcome != conformance.Fail || !strings.HasPrefix(c.Reason, "the runner exited (exitcode=0) ") || !strings.Contains(c.Reason, want) || strings.Contains(c.Reason, "unasked") {
		t.Errorf("shutdown: %+v\nwant a failure starting \"the runner exited (exitcode=0) \", saying %q, not \"unasked\"", c, want)
	}
	// A crash on the Shutdown: its error line, not the main-thread advice
	// (a review).
	rep = run(t, conformance.Config{Command: faulty(t, "crash-on-shutdown"), Only: []string{"shutdown"}})
	c = rep.Case("shutdown")
	if c == nil || c.Outcome != conformance.Fail || !strings.HasPrefix(c.Reason, "the runner exited (exitcode=1) ") || !strings.Contains(c.Reason, "after the Shutdown{timeout") ||
		!strings.Contains(c.Reason, `its stderr says "RuntimeError: flush failed"`) || strings.Contains(c.Reason, "main thread") {
		t.Errorf("shutdown, crashing on it: %+v\nwant the error line quoted, no main-thread advice", c)
	}
}

// TestHeartbeatGapWhileTaskRuns: a runner that sends no heartbeat while a
// task runs (heartbeats sent between tokens, a first token 3 s late)
// fails the cases that run a task, naming the gap, the task and the rule;
// before, chunk-order and progress passed after the silence, which a node
// kills. The suite's gap bound is shortened for the test (its default is
// 2 s); the runner's silence outlasts it.
func TestHeartbeatGapWhileTaskRuns(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "silent-task"), Params: map[string]string{"first_token_delay_ms": "3000"},
		HeartbeatGap: 400 * time.Millisecond, Only: []string{"chunk-order", "progress"}})
	for _, name := range []string{"chunk-order", "progress"} {
		c := rep.Case(name)
		if c == nil || c.Outcome != conformance.Fail || !strings.HasPrefix(c.Reason, "no heartbeat for ") ||
			!strings.Contains(c.Reason, " while task ") ||
			!strings.Contains(c.Reason, `(asked every 100ms; the limit here is 400ms): send heartbeats from a thread of their own, idle or busy (docs/protocol.md, "Heartbeats and progress")`) {
			t.Errorf("%s: %+v, want a failure naming the heartbeat gap", name, c)
		}
	}
}

// TestHeartbeatGapCountsFromTheTask: a runner silent while it warmed up
// (0.8 s, past this test's 400 ms bound) and beating once Ready passes a
// case that runs a task: the gap a task is judged on starts when it is
// sent. Before, its first task failed at once with "no heartbeat for …
// while task … ran" (a review).
func TestHeartbeatGapCountsFromTheTask(t *testing.T) {
	needPython(t)
	rep := run(t, conformance.Config{Command: faulty(t, "silent-warmup"), HeartbeatGap: 400 * time.Millisecond, Only: []string{"chunk-order"}})
	if c := rep.Case("chunk-order"); c == nil || c.Outcome != conformance.Pass {
		t.Errorf("chunk-order: %+v, want a pass", c)
	}
}
