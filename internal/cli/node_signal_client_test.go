package cli

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNodeSignalDuringAClientsShutdown: a SIGTERM (systemd's stop) to a
// node already draining for a client's `remote shutdown` does not cut its
// task: the shutdown goes on gracefully (DRAINING runs to its 3s), the
// node says so, its end line still says a client asked, and it exits 4
// (the task was cut by DRAINING's deadline), not 3. Before, it printed
// "== terminated: graceful shutdown" and "node N: shut down, not cleanly"
// without "(asked by a client)"; the docs said the signal forced it.
func TestNodeSignalDuringAClientsShutdown(t *testing.T) {
	node, stdout, running := startNodeLogged(t, "drain-sig",
		`{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "5ms"]}},
		  "shutdown": {"draining": "3s"}}`, "to=Running")
	listen := listenAddr(t, stdout)
	var runOut bytes.Buffer
	startRemote(t, &runOut, "--node", listen, "--timeout", "2m", "run", "--kind", "echo", "--tasks", "1", "--tokens", "100000")
	select {
	case <-running:
	case <-time.After(time.Minute):
		t.Fatalf("no task ran within a minute; remote run:\n%s", runOut.String())
	}
	var shutOut bytes.Buffer
	shut := startRemote(t, &shutOut, "--node", listen, "shutdown")
	readUntil(t, stdout, "== shut down by a client")
	// DRAINING holds the task for 3s from here: the signal comes during it.
	if err := node.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	readUntil(t, stdout, "== terminated during the shutdown a client asked for: it goes on gracefully (send it again to force)")
	b, _ := io.ReadAll(stdout)
	code := waitExit(t, node)
	text := string(b)
	want := regexp.MustCompile(`(?m)^node drain-sig: shut down \(asked by a client\), not cleanly: DRAINING timed out after [34](\.\d+)?s \(1 task cut short\); raise shutdown.draining`)
	if code != ExitUnclean || !want.MatchString(text) || strings.Contains(text, "forcing") {
		t.Fatalf("exit %d, want %d and a line matching %s, no forcing, in:\n%s", code, ExitUnclean, want, text)
	}
	if c := waitExit(t, shut); c != ExitUnclean {
		t.Errorf("remote shutdown exit %d, want %d:\n%s", c, ExitUnclean, shutOut.String())
	}
}
