package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteShutdownUnclean: remote shutdown's line for a node whose
// shutdown was not clean names the deadline the phase ran with (the
// client cannot tell the node's config, so never "the default"), and
// the timeouts of a runner that ignored its Shutdown frame without a
// value; nothing for a clean report or a node that sent no report.
func TestRemoteShutdownUnclean(t *testing.T) {
	root := &exo.ActorReport{Name: "node"}
	root.Phases[exo.PhaseSignaling] = &exo.PhaseReport{Phase: exo.PhaseSignaling, Outcome: exo.OutcomeOK}
	root.Phases[exo.PhaseDraining] = &exo.PhaseReport{Phase: exo.PhaseDraining, Outcome: exo.OutcomeTimedOut, Duration: 3 * time.Second, TasksFailed: 1}
	root.Phases[exo.PhaseClosing] = &exo.PhaseReport{Phase: exo.PhaseClosing, Outcome: exo.OutcomeForced, Duration: 3012 * time.Millisecond}
	runner := &exo.ActorReport{Name: "deaf-1"}
	runner.Phases[exo.PhaseClosing] = &exo.PhaseReport{Phase: exo.PhaseClosing, Outcome: exo.OutcomeForced, Note: "ended by SIGTERM"}
	root.Children = []*exo.ActorReport{{Name: "runners", Children: []*exo.ActorReport{runner}}}
	rep := exo.ShutdownReport{Root: root}
	rep.PhaseDeadline = [3]time.Duration{time.Second, 3 * time.Second, 15 * time.Second}
	got := remoteShutdownUnclean(exo.RemoteShutdownReport{Node: "n1", Report: rep})
	want := "node n1: shut down (asked by a client), not cleanly: DRAINING timed out after 3s (1 task cut short); CLOSING forced after 3.01s; " +
		"raise shutdown.draining in the node config (3s) to let tasks finish; runner deaf-1 did not exit on its Shutdown frame: " +
		"its stop sent SIGTERM after timeouts.stop_grace; make the runner exit when it reads the frame, or raise timeouts.stop_grace if it needs longer\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := remoteShutdownUnclean(exo.RemoteShutdownReport{Node: "n1", Text: "report"}); got != "" {
		t.Errorf("no report on the wire: %q, want none", got)
	}
	for _, p := range root.Phases {
		p.Outcome, p.TasksFailed = exo.OutcomeOK, 0
	}
	runner.Phases[exo.PhaseClosing].Outcome = exo.OutcomeOK
	if got := remoteShutdownUnclean(exo.RemoteShutdownReport{Node: "n1", Report: exo.ShutdownReport{Root: root}}); got != "" {
		t.Errorf("clean: %q, want none", got)
	}
}

// TestRemoteUncleanErrorDocumented: remote shutdown's stderr line after a
// node's unclean shutdown, for one node and for several, is the one
// docs/remote.md shows (a newcomer met it undocumented), and exits 4.
func TestRemoteUncleanErrorDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/remote.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ")
	for _, c := range [][2]int{{1, 1}, {2, 3}} {
		err := remoteUncleanError(c[0], c[1])
		var stderr bytes.Buffer
		if code := exitCode(err, &stderr); code != ExitUnclean {
			t.Errorf("%d of %d: exit %d, want %d", c[0], c[1], code, ExitUnclean)
		}
		if line := strings.TrimSpace(stderr.String()); !strings.Contains(doc, line) {
			t.Errorf("%d of %d: docs/remote.md does not show %q", c[0], c[1], line)
		}
	}
}
