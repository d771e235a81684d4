package proc_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// readStderr returns a captured stderr's lines as the node keeps them (no
// newline; the last line's newline ends it).
func readStderr(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stderr", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// TestCauseLineOfRealCrashes: the line a failure quotes is the one that
// says why the process died. A new user's Node.js runner with a syntax
// error was reported as "last stderr line: Node.js v20.20.2": Node prints
// its stack, a blank line and its version after the error. The stderr of
// each file in testdata/stderr is what the runtime wrote, verbatim
// (node -e 'const x = ;', node -e 'throw new Error("boom")', node on a
// script with that syntax error, a Python traceback, a Go panic under
// go run, a Rust panic, a Java exception with a cause).
func TestCauseLineOfRealCrashes(t *testing.T) {
	for _, tc := range []struct {
		file string
		want string
	}{
		{"node-syntax-error.txt", "SyntaxError: Unexpected token ';'"},
		{"node-script-syntax-error.txt", "SyntaxError: Unexpected token ';'"},
		{"node-throw.txt", "Error: boom"},
		// As before: a traceback's last line is the last line.
		{"python-traceback.txt", "ValueError: weights corrupt: /models/layer-2.bin"},
		{"go-run-panic.txt", "panic: no GPU found"},
		{"rust-panic.txt", "thread 'main' (12559) panicked at r.rs:1:13: no GPU found"},
		{"java-exception.txt", "Caused by: java.io.IOException: disk full"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			lines := readStderr(t, tc.file)
			if _, got := proc.CauseLine(lines); got != tc.want {
				t.Errorf("CauseLine = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOnlyTrailersAfter: what runtimes print after an error (a stack, a
// blank line, Node.js's version, go run's exit status, Rust's message and
// backtrace) is no word of the program's; a log line is.
func TestOnlyTrailersAfter(t *testing.T) {
	for _, tc := range []struct {
		file string
		want bool
	}{
		{"node-syntax-error.txt", true}, {"node-throw.txt", true}, {"go-run-panic.txt", true},
		{"rust-panic.txt", true}, {"java-exception.txt", true}, {"python-traceback.txt", true},
	} {
		lines := readStderr(t, tc.file)
		i, _ := proc.CauseLine(lines)
		if got := proc.OnlyTrailersAfter(lines, i); got != tc.want {
			t.Errorf("%s: OnlyTrailersAfter(%d) = %v, want %v", tc.file, i, got, tc.want)
		}
	}
	for _, lines := range [][]string{
		{"ERROR:root:download failed, retrying (1/3)", "model weights not found: /models/x.bin"},
		{"error: could not reach registry, using cache", "2026/12/03 10:00:00 open /models/x.bin: no such file or directory"},
		{"Error: 0 warnings", "loading model", "Killed: out of GPU memory"},
	} {
		i, _ := proc.CauseLine(lines)
		if proc.OnlyTrailersAfter(lines, i) {
			t.Errorf("%q: the program's own lines after line %d taken for a runtime's", lines, i)
		}
	}
}

// TestCauseLine: without a line that states an error, the last non-blank
// line, as before (a runner's own last words); a statement earlier than
// the last line is found; blank lines alone are nothing.
func TestCauseLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		index int
		want  string
	}{
		{"last non-blank", []string{"loading", "task t-1 ended", "  "}, 1, "task t-1 ended"},
		{"only blank", []string{"", " "}, -1, ""},
		{"none", nil, -1, ""},
		{"statement before the last", []string{"ValueError: x", "exiting"}, 0, "ValueError: x"},
		{"the last of two", []string{"KeyError: 'a'", "During handling of the above exception, another exception occurred:", "RuntimeError: b"}, 2, "RuntimeError: b"},
		{"indented is not", []string{"    raise ValueError: x", "done"}, 1, "done"},
		{"node error code", []string{"TypeError [ERR_INVALID_ARG_TYPE]: The \"path\" argument must be of type string", "    at f (x.js:1:1)", "", "Node.js v20.20.2"}, 0,
			"TypeError [ERR_INVALID_ARG_TYPE]: The \"path\" argument must be of type string"},
		{"go fatal error", []string{"fatal error: all goroutines are asleep - deadlock!", "", "goroutine 1 [chan receive]:", "main.main()"}, 0, "fatal error: all goroutines are asleep - deadlock!"},
		{"java main", []string{"Exception in thread \"main\" java.lang.RuntimeException: boom", "\tat M.main(M.java:1)"}, 0, "Exception in thread \"main\" java.lang.RuntimeException: boom"},
		{"python interrupt", []string{"Traceback (most recent call last):", "  File \"r.py\", line 3", "KeyboardInterrupt"}, 2, "KeyboardInterrupt"},
		{"error prefix", []string{"error: could not open /dev/nvidia0", "cleaning up"}, 0, "error: could not open /dev/nvidia0"},
		{"a word ending in Error is not", []string{"Errors: 0", "done"}, 1, "done"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, got := proc.CauseLine(tc.lines)
			if i != tc.index || got != tc.want {
				t.Errorf("CauseLine = %d %q, want %d %q", i, got, tc.index, tc.want)
			}
		})
	}
}

// TestCauseLineOfNodeNow runs /usr/bin/node, when the machine has it, on
// the syntax error of TestCauseLineOfRealCrashes: a newer Node that prints
// its error otherwise shows here first. CI needs no node: the test skips.
func TestCauseLineOfNodeNow(t *testing.T) {
	const node = "/usr/bin/node"
	if _, err := os.Stat(node); err != nil {
		t.Skipf("%s is not installed (%v): the captured output in testdata/stderr is tested instead", node, err)
	}
	var stderr strings.Builder
	cmd := exec.Command(node, "-e", "const x = ;")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatalf("%s ran a syntax error without failing; stderr %q", node, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	if _, got := proc.CauseLine(lines); got != "SyntaxError: Unexpected token ';'" {
		t.Errorf("CauseLine = %q of node's stderr:\n%s", got, stderr.String())
	}
}
