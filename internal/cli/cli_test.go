package cli

import (
	"bufio"
	"bytes"
	"errors"
	"io"

	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestUsageErrorsExit2WithOneLine(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"nosuch"}, {"nosuch", "--help"}, {"--log-level", "debug", "nosuch", "-h"}, {"version", "--bad"}, {"--log-format", "xml", "version"}, {"--log-level", "loud", "version"}, {"demo", "--runners", "1"}, {"demo", "--runner-fault", "explode"}, {"conformance"}, {"conformance", "--only", "nosuch", "--", "true"}, {"conformance", "--param", "novalue", "--", "true"}, {"conformance", "--", "/no/such"}, {"demo", "--http", "9464"}, {"demo", "--hold", "1s"}, {"status", "--addr", "x"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(args, strings.NewReader(""), &stdout, &stderr); code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitUsage, stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "exo-actors: ") {
				t.Errorf("stderr %q: want one line starting with \"exo-actors: \"", stderr.String())
			}
		})
	}
}

func TestUnknownCommandWithHelpSaysUnknown(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"nosuch", "--help"}, strings.NewReader(""), &stdout, &stderr)
	if code != ExitUsage || stdout.Len() != 0 || stderr.String() != "exo-actors: unknown command \"nosuch\" (see 'exo-actors --help')\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	for _, args := range [][]string{{"--help"}, {"--log-level", "debug", "--help"}, {"version", "--help"}} {
		stdout.Reset()
		if code := Main(args, strings.NewReader(""), &stdout, &stderr); code != ExitOK || !strings.Contains(stdout.String(), "Usage:") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout.String())
		}
	}
}

func TestHelpListsSubcommands(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"--help"}, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, sub := range []string{"runner", "demo", "version", "conformance"} {
		if !strings.Contains(stdout.String(), "  "+sub+" ") {
			t.Errorf("--help lacks %q:\n%s", sub, stdout.String())
		}
	}
}

// runDemoProcess starts `exo-actors demo args...` and returns a line reader
// of its stdout.
func runDemoProcess(t *testing.T, args ...string) (*exec.Cmd, *bufio.Reader, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(exoBinary(t), append([]string{"demo"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // only if the test failed early
	})
	return cmd, bufio.NewReader(out), &stderr
}

// readUntil reads lines until one contains want; it returns everything read.
func readUntil(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	var all strings.Builder
	for {
		line, err := r.ReadString('\n')
		all.WriteString(line)
		if strings.Contains(line, want) {
			return all.String()
		}
		if err != nil {
			t.Fatalf("output ended (%v) before %q:\n%s", err, want, all.String())
		}
	}
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

func TestDemoSIGINTShutsDownGracefully(t *testing.T) {
	demoSignalShutsDownGracefully(t, syscall.SIGINT, "== interrupt: graceful shutdown")
}

// TestDemoSIGHUPShutsDownGracefully: SIGHUP (the demo's terminal closed)
// is a graceful shutdown, as SIGINT is; it was Go's default, a silent
// death.
func TestDemoSIGHUPShutsDownGracefully(t *testing.T) {
	demoSignalShutsDownGracefully(t, syscall.SIGHUP, "== hangup: graceful shutdown")
}

// demoSignalShutsDownGracefully sends sig to a demo once its runners are
// Ready: the demo prints line, shuts down gracefully, and exits 1.
func demoSignalShutsDownGracefully(t *testing.T, sig syscall.Signal, line string) {
	cmd, out, stderr := runDemoProcess(t, "--layer-delay", "0s")
	readUntil(t, out, "every runner Ready")
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(out)
	code := waitExit(t, cmd)
	text := string(rest)
	for _, want := range []string{line, "shutdown report: total", "CLOSING ok", "\nno runner process left running ("} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if code != ExitFailure || !strings.Contains(stderr.String(), "interrupted: shut down gracefully") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestDemoSecondSIGINTForces(t *testing.T) {
	start := time.Now()
	// The runners ignore the Shutdown frame, so the graceful stop would wait
	// out its grace; the second SIGINT cuts it short.
	cmd, out, stderr := runDemoProcess(t, "--layer-delay", "0s", "--runner-fault", "ignore-shutdown:forever")
	readUntil(t, out, "every runner Ready")
	_ = cmd.Process.Signal(syscall.SIGINT)
	readUntil(t, out, "== shutdown")
	_ = cmd.Process.Signal(syscall.SIGINT)
	rest, _ := io.ReadAll(out)
	code := waitExit(t, cmd)
	text := string(rest)
	if !strings.Contains(text, "forcing — SIGKILL to every runner's process group") || !strings.Contains(text, "signal=9 (killed)") ||
		!strings.Contains(text, "shutdown report: total") || !strings.Contains(text, "\nno runner process left running (") {
		t.Errorf("output:\n%s", text)
	}
	if code != ExitInterrupted || !strings.Contains(stderr.String(), "shutdown forced") {
		t.Errorf("exit %d, want %d; stderr %q", code, ExitInterrupted, stderr.String())
	}
	if time.Since(start) > time.Minute {
		t.Errorf("took %s", time.Since(start))
	}
}

// TestSubcommandUsageErrorPointsAtItsHelp: a subcommand's usage error
// (its own check, or cobra's flag parsing) points at that subcommand's
// help, which lists its flags; 'exo-actors --help' lists only the commands
// (a new user's trial, tenth session: `remote run` without --kind said
// "see 'exo-actors --help'").
func TestSubcommandUsageErrorPointsAtItsHelp(t *testing.T) {
	for _, c := range []struct {
		args []string
		see  string
	}{
		{[]string{"remote", "--node", "127.0.0.1:7101", "run"}, "(see 'exo-actors remote run --help')\n"},
		{[]string{"node", "--no-such-flag"}, "(see 'exo-actors node --help')\n"},
		{[]string{"node", "--config", "x.json"}, "(see 'exo-actors node --help')\n"},
		{[]string{"nosuch"}, "(see 'exo-actors --help')\n"},
		{[]string{"remote", "nosuch"}, "exo-actors: unknown command \"nosuch\" for exo-actors remote: its commands are run, shutdown, status, stop (see 'exo-actors remote --help')\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(c.args, strings.NewReader(""), &stdout, &stderr); code != ExitUsage || !strings.HasSuffix(stderr.String(), c.see) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and …%q", c.args, code, stderr.String(), ExitUsage, c.see)
		}
	}
}

// TestRemoteNodeAddressIsAUsageError: a --node that names its host (a
// name, localhost included, is not resolved: the node answers only to the
// exact address it listens on) is a usage error before any dial, exit 2,
// with the address to give instead. Before, it exited 1 from the dial,
// and docs/remote.md did not say that --node wants an IP (trial).
func TestRemoteNodeAddressIsAUsageError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"remote", "--node", "localhost:7391", "status"}, strings.NewReader(""), &stdout, &stderr)
	const want = `exo-actors: node address "localhost:7391": the host must be the IP address the node listens on (its "listening on" line), e.g. 127.0.0.1:7391; a name such as "localhost" is not resolved`
	if code != ExitUsage || !strings.HasPrefix(stderr.String(), want) || !strings.HasSuffix(stderr.String(), "(see 'exo-actors remote status --help')\n") {
		t.Errorf("exit %d, stderr %q; want exit %d and %q…", code, stderr.String(), ExitUsage, want)
	}
}

// TestVersionPrintsProtocolRange: version prints what its help says, the
// version and the runner protocol versions (it printed the version only).
func TestVersionPrintsProtocolRange(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"version"}, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want := "exo-actors " + Version + "\nrunner protocol version 1\n"
	if stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
	stdout.Reset()
	_ = Main([]string{"version", "--help"}, strings.NewReader(""), &stdout, &stderr)
	if !strings.Contains(stdout.String(), "runner protocol versions") {
		t.Errorf("version --help does not say it prints the protocol versions:\n%s", stdout.String())
	}
}

// TestDemoSIGINTAtItsFirstLine: a SIGINT as soon as the demo printed its
// first line (here the endpoints' address, printed before the runners
// start) shuts it down gracefully; before, the demo caught signals only
// once its System and page were up, and such a Ctrl-C killed it outright.
func TestDemoSIGINTAtItsFirstLine(t *testing.T) {
	cmd, out, stderr := runDemoProcess(t, "--layer-delay", "0s", "--http", "127.0.0.1:0")
	readUntil(t, out, "== HTTP endpoints on http://")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(out)
	if code := waitExit(t, cmd); code != ExitFailure || !strings.Contains(string(rest), "== interrupt: graceful shutdown") {
		t.Errorf("exit %d, want %d; stderr %q\n%s", code, ExitFailure, stderr.String(), rest)
	}
}
