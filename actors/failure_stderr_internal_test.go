package actors

import (
	"testing"
	"time"
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
