package actors

import (
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

// TestStderrFloodWarningText: the once-a-second flood warning names only
// the counts that are not zero; its fields carry both. Before, a second
// with only dropped lines said "0 lines not logged (over 1000 a second)
// and 24314 dropped unread …".
func TestStderrFloodWarningText(t *testing.T) {
	const tail = ": the runner writes stderr faster than it should; its last lines are in its failure's stderr tail"
	for _, tc := range []struct {
		suppressed, dropped int
		want                string
	}{
		{48210, 912033, "runner stderr: 48210 lines not logged (over 1000 a second) and 912033 dropped unread (the node's stderr buffer of 256 lines was full)" + tail},
		{48210, 0, "runner stderr: 48210 lines not logged (over 1000 a second)" + tail},
		{0, 24314, "runner stderr: 24314 lines dropped unread (the node's stderr buffer of 256 lines was full)" + tail},
		{1, 0, "runner stderr: 1 line not logged (over 1000 a second)" + tail},
		{0, 1, "runner stderr: 1 line dropped unread (the node's stderr buffer of 256 lines was full)" + tail},
	} {
		logger, hook := test.NewNullLogger()
		s := stderrLogState{suppressed: tc.suppressed, dropped: tc.dropped}
		s.flush(logrus.NewEntry(logger))
		e := hook.LastEntry()
		if e == nil || len(hook.AllEntries()) != 1 {
			t.Fatalf("%d not logged, %d dropped: %d entries, want 1", tc.suppressed, tc.dropped, len(hook.AllEntries()))
		}
		if e.Level != logrus.WarnLevel || e.Message != tc.want {
			t.Errorf("%d not logged, %d dropped:\n got %s %q\nwant warning %q", tc.suppressed, tc.dropped, e.Level, e.Message, tc.want)
		}
		if e.Data["not_logged"] != tc.suppressed || e.Data["dropped"] != tc.dropped || e.Data["stream"] != "stderr" {
			t.Errorf("%d not logged, %d dropped: fields %v", tc.suppressed, tc.dropped, e.Data)
		}
		if s.suppressed != 0 || s.dropped != 0 {
			t.Errorf("counts not reset: %+v", s)
		}
	}
	logger, hook := test.NewNullLogger()
	(&stderrLogState{}).flush(logrus.NewEntry(logger))
	if len(hook.AllEntries()) != 0 {
		t.Errorf("nothing left out: %d entries, want none", len(hook.AllEntries()))
	}
}
