package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestShutDownLinesDocumented: every line remote run prints for a node
// that shut down or is shutting down at its cleanup reads in the tense of
// what the node answered, and docs/remote.md quotes each form. Before, a
// node that answered the stop with ErrStopped (its shutdown had ended, its
// gateway still waited for goodbyes) was said to be "shutting down", and
// the doc showed only two of the three forms (a newcomer's trial met the
// third: `is shutting down: its shutdown stops …`).
func TestShutDownLinesDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/remote.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(b)), " ")
	const runner = "rust-48731c88c776"
	nr := &nodeRun{c: &exo.Client{}, runner: runner}
	line := func(err error) string {
		l, ok := shutDownLine(nr, err)
		if !ok {
			t.Fatalf("shutDownLine(%v): not a shutdown", err)
		}
		return l
	}
	for _, tc := range []struct {
		what, line, want string
	}{
		{"refused as it shuts down", line(fmt.Errorf("stop %s: %w", runner, exo.ErrShuttingDown)),
			"is shutting down: its shutdown stops " + runner + "; nothing to clean up there"},
		{"answered that it stopped", line(fmt.Errorf("stop %s: %w", runner, exo.ErrStopped)),
			"shut down during the run: its shutdown stopped " + runner + "; nothing to clean up there"},
		{"its gateway said it shut down", line(fmt.Errorf("%w: %w", exo.ErrNodeLost, exo.ErrShuttingDown)),
			"shut down during the run: its shutdown stopped " + runner + "; nothing to clean up there"},
		{"answered the stop", shutDownStopLine(nr, &exo.StopResult{RunnerID: runner, EndedBy: "shutdown frame"}),
			"is shutting down (its shutdown ended tasks of the run); " + runner + " stopped: ended by the Shutdown frame"},
	} {
		got := strings.TrimSpace(strings.TrimPrefix(tc.line, "node "))
		if got != tc.want {
			t.Errorf("%s: line %q, want %q", tc.what, tc.line, "node NAME "+tc.want)
		}
		if !strings.Contains(doc, got) {
			t.Errorf("%s: docs/remote.md does not quote %q", tc.what, got)
		}
	}
	if _, ok := shutDownLine(nr, exo.ErrNodeLost); ok {
		t.Error("a node lost without a shutdown got a shutdown line")
	}
	if _, ok := shutDownLine(nr, errors.New("refused")); ok {
		t.Error("another error got a shutdown line")
	}
}
