package actors

import (
	"io"
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
		f.addStderrReason(tc.age)
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
	f.addStderrReason(a.stderrAge())
	if want := "runner died: signal=9 (killed); last stderr line, 5.1s before the exit: task t-1 ended"; f.Message != want {
		t.Errorf("reason %q, want %q", f.Message, want)
	}
}
