package actors

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// TestStderrReasonSaysAnOldLinesAge: a runner's last stderr line goes into
// the reason of a death nobody asked for as it is when it came just before
// the exit, and with its age when it is older: a host trial read "runner
// died: signal=9 (killed); last stderr line: … runner: task ended …
// task_id=t-llm-timeout" for a kill -9 from outside a second after an
// unrelated task's log line, and took the line for the cause.
func TestStderrReasonSaysAnOldLinesAge(t *testing.T) {
	for _, tc := range []struct {
		age  time.Duration
		want string
	}{
		{0, "runner died: signal=9 (killed); last stderr line: task t-1 ended"},
		{300 * time.Millisecond, "runner died: signal=9 (killed); last stderr line: task t-1 ended"},
		{1234 * time.Millisecond, "runner died: signal=9 (killed); last stderr line, 1.2s before the exit: task t-1 ended"},
	} {
		f := &RunnerFailure{StderrTail: []string{"loading", "task t-1 ended", "  "}}
		f.Message = "runner died: signal=9 (killed)"
		f.addStderrReason(func(int) time.Duration { return tc.age })
		if f.Message != tc.want {
			t.Errorf("age %s: %q, want %q", tc.age, f.Message, tc.want)
		}
	}
}

// TestStderrAgeIsTheQuotedLines: the age a death's reason gives is that
// of the line it quotes, the last non-blank one. A blank line written
// just before the exit (a log's trailing newline) made an old line read
// as fresh: "last stderr line: task t-1 ended" for a line written 5 s
// before a kill -9 from outside.
func TestStderrAgeIsTheQuotedLines(t *testing.T) {
	a := &runnerActor{log: logrus.NewEntry(logrus.New())}
	a.log.Logger.SetOutput(io.Discard)
	t0 := time.Unix(1_700_000_000, 0)
	a.onStderrLine(&proc.StderrLine{Line: "task t-1 ended", At: t0})
	a.onStderrLine(&proc.StderrLine{Line: "", At: t0.Add(5 * time.Second)})
	a.exitedAt = t0.Add(5100 * time.Millisecond)
	f := &RunnerFailure{StderrTail: append([]string(nil), a.stderrTail...)}
	f.Message = "runner died: signal=9 (killed)"
	f.addStderrReason(a.stderrAge)
	if want := "runner died: signal=9 (killed); last stderr line, 5.1s before the exit: task t-1 ended"; f.Message != want {
		t.Errorf("reason %q, want %q", f.Message, want)
	}
}

// TestStderrReasonQuotesTheErrorLine: the reason of a death quotes the
// stderr line that states the error, not the runtime's last words. A new
// user's Node.js runner with a syntax error read "exited before saying
// Hello (exitcode=1): …; last stderr line: Node.js v20.20.2": Node prints
// its stack, a blank line and its version after the error. A Python
// traceback's last line is still the last line; an error line long before
// the exit (a task's error the runner logged) is not the cause, and the
// last line is quoted with its age, as before.
func TestStderrReasonQuotesTheErrorLine(t *testing.T) {
	node, err := os.ReadFile("../internal/proc/testdata/stderr/node-syntax-error.txt") // node -e 'const x = ;', verbatim
	if err != nil {
		t.Fatal(err)
	}
	const died = "exited before saying Hello (exitcode=1): a runner that crashed as it started, or no runner"
	t0 := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		name  string
		lines []string
		at    []time.Duration // when each line came, from t0; the exit is at 10s
		want  string
	}{
		{"node", strings.Split(strings.TrimSuffix(string(node), "\n"), "\n"), nil,
			died + "; last error on stderr: SyntaxError: Unexpected token ';'"},
		{"python", []string{"Traceback (most recent call last):", "  File \"r.py\", line 3, in load", "ValueError: weights corrupt"}, nil,
			died + "; last stderr line: ValueError: weights corrupt"},
		{"an old error", []string{"ValueError: bad max_tokens", "loading layer 3"}, []time.Duration{2 * time.Second, 9900 * time.Millisecond},
			died + "; last stderr line: loading layer 3"},
		{"an old error, an old last line", []string{"ValueError: bad max_tokens", "loading layer 3"}, []time.Duration{2 * time.Second, 5 * time.Second},
			died + "; last stderr line, 5s before the exit: loading layer 3"},
		// A logged error, then the program's own exit message: both (a
		// review: the exit message was dropped for the retry line).
		{"a logged error, then more", []string{"ERROR:root:download failed, retrying (1/3)", "model weights not found: /models/x.bin"}, nil,
			died + "; last error on stderr: ERROR:root:download failed, retrying (1/3); last stderr line: model weights not found: /models/x.bin"},
		{"go run's exit status is no word of the program", []string{"panic: no GPU found", "", "goroutine 1 [running]:", "main.main()", "\t/tmp/p.go:2 +0x25", "exit status 2"}, nil,
			died + "; last error on stderr: panic: no GPU found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &runnerActor{log: logrus.NewEntry(logrus.New())}
			a.log.Logger.SetOutput(io.Discard)
			for i, l := range tc.lines {
				at := t0.Add(9990 * time.Millisecond)
				if tc.at != nil {
					at = t0.Add(tc.at[i])
				}
				a.onStderrLine(&proc.StderrLine{Line: l, At: at})
			}
			a.exitedAt = t0.Add(10 * time.Second)
			f := &RunnerFailure{StderrTail: append([]string(nil), a.stderrTail...)}
			f.Message = died
			f.addStderrReason(a.stderrAge)
			if f.Message != tc.want {
				t.Errorf("reason %q\nwant   %q", f.Message, tc.want)
			}
		})
	}
}
