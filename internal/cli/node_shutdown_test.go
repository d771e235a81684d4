package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestNodeShutdownEnd: a node whose shutdown a second signal forced says
// so and exits 3 (ExitInterrupted, as demo's forced shutdown); before, it
// printed "shut down gracefully" and exited 0 after a CLOSING forced.
func TestNodeShutdownEnd(t *testing.T) {
	for _, c := range []struct {
		name                string
		interrupted, forced bool
		line                string
		code                int
	}{
		{"by a client", false, false, "", ExitOK},
		{"one signal", true, false, "node n1: shut down gracefully\n", ExitOK},
		{"second signal", true, true, "node n1: shutdown forced (SIGKILL to every runner's process group)\n", ExitInterrupted},
		{"signal after a client's shutdown", false, true, "node n1: shutdown forced (SIGKILL to every runner's process group)\n", ExitInterrupted},
	} {
		var out, stderr bytes.Buffer
		err := nodeShutdownEnd(&out, "n1", c.interrupted, c.forced)
		if got := out.String(); got != c.line {
			t.Errorf("%s: printed %q, want %q", c.name, got, c.line)
		}
		if code := exitCode(err, &stderr); code != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, code, c.code)
		}
		if c.forced && !strings.Contains(stderr.String(), "exo-actors: node n1 interrupted twice: shutdown forced") {
			t.Errorf("%s: stderr %q", c.name, stderr.String())
		}
	}
}
