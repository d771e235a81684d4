package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// The SRE trial's node: DRAINING timed out (1 task cut short) and CLOSING
// forced a runner, yet it printed "shut down gracefully" and exited 0. Its
// report is not clean: the node names what was cut short and exits 4.
func TestUncleanShutdownExits4AndSaysWhatWasCutShort(t *testing.T) {
	root := &exo.ActorReport{Name: "node"}
	root.Phases[exo.PhaseSignaling] = &exo.PhaseReport{Phase: exo.PhaseSignaling, Outcome: exo.OutcomeOK, Duration: time.Millisecond}
	root.Phases[exo.PhaseDraining] = &exo.PhaseReport{Phase: exo.PhaseDraining, Outcome: exo.OutcomeTimedOut, Duration: 30 * time.Second, TasksFailed: 1}
	root.Phases[exo.PhaseClosing] = &exo.PhaseReport{Phase: exo.PhaseClosing, Outcome: exo.OutcomeForced, Duration: 3012 * time.Millisecond}
	rep := exo.ShutdownReport{Root: root, Forced: []string{"node/runners/busy-ee2e17"}}
	cut := shutdownCutShort(rep)
	want := "DRAINING timed out after 30s (1 task cut short); CLOSING forced after 3.01s; forced: node/runners/busy-ee2e17"
	if cut != want {
		t.Errorf("shutdownCutShort = %q, want %q", cut, want)
	}
	var out, stderr bytes.Buffer
	err := nodeShutdownEnd(&out, "node-d", false, false, nil, nil, cut) // a signal's: not by a client
	if got := out.String(); got != "node node-d: shut down, not cleanly: "+want+"\n" || strings.Contains(got, "gracefully") {
		t.Errorf("printed %q", got)
	}
	if code := exitCode(err, &stderr); code != ExitUnclean || code == ExitOK || code == ExitFailure || code == ExitUsage || code == ExitInterrupted {
		t.Errorf("exit %d, want %d", code, ExitUnclean)
	}
	// Said once: on stdout, not again by main on stderr.
	if stderr.Len() > 0 {
		t.Errorf("stderr %q repeats the line printed", stderr.String())
	}

	// A clean report says nothing is cut short.
	for _, p := range root.Phases {
		p.Outcome, p.TasksFailed = exo.OutcomeOK, 0
	}
	if cut := shutdownCutShort(exo.ShutdownReport{Root: root}); cut != "" {
		t.Errorf("clean report: %q", cut)
	}
	if cut := shutdownCutShort(exo.ShutdownReport{Root: root, Errors: []string{"runner x: no answer"}}); cut != "1 error: runner x: no answer" {
		t.Errorf("report with an error: %q", cut)
	}
}
