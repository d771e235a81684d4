package actors

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// stderrLogPerSecond bounds the stderr lines of one runner logged per
// second. Past it lines still go into the failure tail (stderrTail) and
// are counted; once a second has passed (or stderr closes) one warning
// says how many were not logged. A runner that floods its stderr (a loop
// that prints) would otherwise fill the node's log and take its CPU.
const stderrLogPerSecond = 1000

// stderrLogState is the per-second budget of logged stderr lines and what
// was left out: suppressed (over the budget) and dropped (the process's
// stderr buffer was full before the actor took it, proc.Options.StderrBuffer).
type stderrLogState struct {
	window     time.Time // start of the current second
	logged     int
	suppressed int
	dropped    int
}

// admit says whether a line read at at may be logged, and reports what
// the previous second left out when a new second begins.
func (s *stderrLogState) admit(at time.Time, log *logrus.Entry) bool {
	if at.Sub(s.window) >= time.Second {
		s.flush(log)
		s.window, s.logged = at, 0
	}
	if s.logged >= stderrLogPerSecond {
		s.suppressed++
		return false
	}
	s.logged++
	return true
}

// flush logs one warning of the lines left out since the last one, if any.
// The text names only the counts that are not zero; the fields carry both.
func (s *stderrLogState) flush(log *logrus.Entry) {
	if s.suppressed == 0 && s.dropped == 0 {
		return
	}
	log.WithFields(logrus.Fields{"stream": "stderr", "not_logged": s.suppressed, "dropped": s.dropped}).
		Warn(stderrLeftOut(s.suppressed, s.dropped))
	s.suppressed, s.dropped = 0, 0
}

// stderrLeftOut is flush's warning: "runner stderr: 48210 lines not
// logged (over 1000 a second) and 912033 dropped unread (…): …", with
// only the parts whose count is not zero.
func stderrLeftOut(suppressed, dropped int) string {
	lines := func(n int) string {
		if n == 1 {
			return "1 line"
		}
		return strconv.Itoa(n) + " lines"
	}
	const (
		notLogged = " not logged (over %d a second)"
		unread    = " dropped unread (the node's stderr buffer of %d lines was full)"
	)
	var what string
	switch {
	case dropped == 0:
		what = lines(suppressed) + fmt.Sprintf(notLogged, stderrLogPerSecond)
	case suppressed == 0:
		what = lines(dropped) + fmt.Sprintf(unread, proc.DefaultStderrBuffer)
	default:
		what = lines(suppressed) + fmt.Sprintf(notLogged, stderrLogPerSecond) +
			" and " + strconv.Itoa(dropped) + fmt.Sprintf(unread, proc.DefaultStderrBuffer)
	}
	return "runner stderr: " + what + ": the runner writes stderr faster than it should; its last lines are in its failure's stderr tail"
}

// drainStderr takes what the stderr reader has read (proc.StderrReady):
// each line into the tail and the log, and the count it had to drop.
func (a *runnerActor) drainStderr() {
	if a.p == nil {
		return
	}
	lines, dropped := a.p.TakeStderr()
	a.stderrLog.dropped += dropped
	for i := range lines {
		a.onStderrLine(&lines[i])
	}
}
