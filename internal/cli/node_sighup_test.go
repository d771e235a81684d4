package cli

import (
	"bytes"
	"strings"
	"syscall"
	"testing"
)

// TestNodeSIGHUPShutsDownGracefully: SIGHUP (the node's terminal or SSH
// session closed) is a graceful shutdown, as SIGTERM is: the node says so,
// prints its report and "shut down gracefully", exit 0. It was Go's
// default, a silent death (an operator's trial).
func TestNodeSIGHUPShutsDownGracefully(t *testing.T) {
	cmd, out, stderr := startNodeProcess(t, "hup-a")
	readUntil(t, out, "node hup-a listening on ")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	tail := new(bytes.Buffer)
	_, _ = tail.ReadFrom(out)
	code := waitExit(t, cmd)
	text := tail.String()
	for _, want := range []string{"== hangup: graceful shutdown (send it again to force)\n", "shutdown report: total", "\nnode hup-a: shut down gracefully\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the node's stdout after SIGHUP lacks %q:\n%s", want, text)
		}
	}
	if code != ExitOK {
		t.Errorf("exit %d after SIGHUP, want %d; stderr:\n%s", code, ExitOK, stderr.String())
	}
}
