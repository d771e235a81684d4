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
		"no-stray-stdout": `stdout is not frames: "task done\n" (did the runner print to stdout? log to stderr)`,
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
	if c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, `"Loading model…\n"`) {
		t.Errorf("hello case against echo: %+v", c)
	}
	rep = run(t, conformance.Config{Command: []string{"/nonexistent/runner"}, Only: []string{"hello"}})
	if c := rep.Case("hello"); c == nil || c.Outcome != conformance.Fail || !strings.Contains(c.Reason, "could not start") {
		t.Errorf("hello case against a missing executable: %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  conformance.Config
		want string
	}{
		{conformance.Config{}, "no runner command"},
		{conformance.Config{Command: []string{binary, "runner"}, Only: []string{"nosuch"}}, `unknown case "nosuch"`},
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
