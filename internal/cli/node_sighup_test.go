package cli

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestNodeSIGHUPShutsDownGracefully: SIGHUP (the node's terminal or SSH
// session closed) is a graceful shutdown, as SIGTERM is: the node says so,
// prints its report and "shut down gracefully", exit 0. It was Go's
// default, a silent death (an operator's trial). A second SIGHUP does not
// force it (a review: a closing SSH session sends two).
func TestNodeSIGHUPShutsDownGracefully(t *testing.T) {
	cmd, out, stderr := startNodeProcess(t, "hup-a")
	readUntil(t, out, "node hup-a listening on ")
	// Twice, as a closing SSH session sends it (bash to its jobs, the
	// kernel to the foreground group): the second forces nothing.
	for range 2 {
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	tail := new(bytes.Buffer)
	_, _ = tail.ReadFrom(out)
	code := waitExit(t, cmd)
	text := tail.String()
	if strings.Contains(text, "forc") && !strings.Contains(text, "SIGINT or SIGTERM forces it") || strings.Contains(text, "shutdown forced") {
		t.Errorf("a second SIGHUP forced the shutdown:\n%s", text)
	}
	for _, want := range []string{"== hangup: graceful shutdown (SIGINT or SIGTERM forces it)\n", "shutdown report: total", "\nnode hup-a: shut down gracefully\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("the node's stdout after SIGHUP lacks %q:\n%s", want, text)
		}
	}
	if code != ExitOK {
		t.Errorf("exit %d after SIGHUP, want %d; stderr:\n%s", code, ExitOK, stderr.String())
	}
}

// TestNodeUnderNohupKeepsRunningOnSIGHUP: a node started with SIGHUP
// ignored (nohup) keeps it ignored: a SIGHUP does nothing, and the SIGTERM
// after it is the signal that begins the shutdown. Catching SIGHUP undid
// nohup's ignore, and such a node shut down at logout (a review).
func TestNodeUnderNohupKeepsRunningOnSIGHUP(t *testing.T) {
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("nohup is not installed (coreutils)")
		}
		t.Skip("nohup is not installed here (coreutils); CI has it")
	}
	cmd := nodeCommand(t, "hup-n", `{"kinds": {"echo": {"builtin": true}}}`, "warn")
	cmd.Args = append([]string{"nohup"}, cmd.Args...)
	cmd.Path = nohup
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out := startNodeCommand(t, cmd)
	readUntil(t, out, "node hup-n listening on ")
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	tail := new(bytes.Buffer)
	_, _ = tail.ReadFrom(out)
	code := waitExit(t, cmd)
	if text := tail.String(); !strings.HasPrefix(text, "== terminated: graceful shutdown") || strings.Contains(text, "hangup") ||
		!strings.Contains(text, "node hup-n: shut down gracefully") || code != ExitOK {
		t.Errorf("exit %d; stdout after SIGHUP and SIGTERM:\n%s\nwant the SIGTERM's graceful shutdown first, no word of the ignored SIGHUP; stderr:\n%s", code, text, stderr.String())
	}
}
