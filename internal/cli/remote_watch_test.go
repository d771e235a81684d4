package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteRunReportsAFailingRunner: a kind whose runner never says Hello
// within the handshake timeout is restarted by the node again and again.
// The trial's `remote run` printed only "spawned …" for 30 s and then
// advised more time with --timeout, which cannot help. Now each failure is
// printed as it comes, and the timeout's error names the failing runner,
// its last failure and the config key to raise, instead of more time.
func TestRemoteRunReportsAFailingRunner(t *testing.T) {
	node, stdout, _ := startNodeWithConfig(t, "watch-a", `{"kinds": {"slowhello": {"builtin": true, "args": ["--hello-delay", "1h"]}},
		"timeouts": {"handshake": "1s"}, "restarts": {"max": -1, "backoff_base": "50ms", "backoff_max": "100ms"}}`)
	listen := listenAddr(t, stdout)
	defer func() {
		_ = node.Process.Signal(syscall.SIGTERM)
		_ = waitExit(t, node)
	}()

	out, stderr, code := runRemoteCmd(t, "--node", listen, "--timeout", "6s", "run", "--kind", "slowhello", "--tasks", "1", "--tokens", "1")
	t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr)
	for _, want := range []string{
		"node watch-a  runner failed (1st time): runner slowhello-",
		"never said Hello within 1s",
		"failed again, the same way (2nd time)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	for _, want := range []string{
		"--timeout 6s reached before the run ended (0 of 1 tasks had ended, 1 submitted): runner slowhello-",
		" on watch-a never became Ready: it failed ",
		"(the node restarted it between them); the last: runner slowhello-",
		"never said Hello within 1s",
		"node config: timeouts.handshake",
		"a longer --timeout will not help while it fails",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if strings.Contains(stderr, "allow more time with --timeout") {
		t.Errorf("stderr still advises more time")
	}
	// The kind is the built-in runner (its command is exo-actors itself),
	// alive but slow to say Hello: the text says what a runner does and
	// what to raise, and does not ask whether the command is a runner (it
	// said `never said Hello within 1s: is "…/exo-actors" a runner?`), nor
	// follow "raise … if it only starts slowly" with "more time will not
	// help".
	for _, text := range []string{out, stderr} {
		if !strings.Contains(text, "a runner says Hello as soon as it starts (docs/protocol.md)") ||
			!strings.Contains(text, "if it only starts slowly, raise RunnerTimeouts.Handshake (node config: timeouts.handshake)") {
			t.Errorf("output lacks what a runner does and what to raise: %q", text)
		}
		if strings.Contains(text, "a runner?") || strings.Contains(text, "more time will not help") {
			t.Errorf("output presumes the command is no runner, or contradicts its own advice: %q", text)
		}
	}
	if code != ExitFailure || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 1 and one line", code, stderr)
	}
}

func TestRemoteWatchWords(t *testing.T) {
	for n, want := range map[int]string{1: "1st time", 2: "2nd time", 3: "3rd time", 4: "4th time", 11: "11th time", 12: "12th time", 13: "13th time", 21: "21st time", 112: "112th time"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{1: "once", 2: "twice", 5: "5 times"} {
		if got := times(n); got != want {
			t.Errorf("times(%d) = %q, want %q", n, got, want)
		}
	}
	a := "runner x-1 gen 1: handshake: never said Hello within 1s"
	b := "runner x-1 gen 12: handshake: never said Hello within 1s"
	if withoutGeneration(a) != withoutGeneration(b) || withoutGeneration(a) == withoutGeneration("runner x-1 gen 2: exited: exitcode=1") {
		t.Errorf("withoutGeneration: %q, %q", withoutGeneration(a), withoutGeneration(b))
	}
	// The trial's loading stall: the same failure, measured a little apart.
	c := "runner x-1 gen 1: loading stalled at Connected: no layer progress for 2.02s (limit 2s)"
	d := "runner x-1 gen 2: loading stalled at Connected: no layer progress for 2.002s (limit 2s)"
	if withoutGeneration(c) != withoutGeneration(d) || withoutGeneration("exitcode=1") == withoutGeneration("exitcode=2") {
		t.Errorf("withoutGeneration: %q, %q", withoutGeneration(c), withoutGeneration(d))
	}
}

// TestWithoutGenerationDurations: every duration Go prints, compound ones
// included, becomes one "D", so two failures that differ only in a
// measured duration read as the same failure ("failed again, the same
// way"). Before, `1m30s` matched nowhere (no word boundary between its
// parts), so a failure measured at 1m30s and another at 1m31s were printed
// as two full lines.
func TestWithoutGenerationDurations(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"no layer progress for 1m30s (limit 1m0s)", "no layer progress for D (limit D)"},
		{"stalled for 2.002s", "stalled for D"},
		{"took 255ms.", "took D."},
		{"up 1h0m0s, then", "up D, then"},
		{"a beat every 750µs", "a beat every D"},
		{"12us, 3ns and 1.5h", "D, D and D"},
		{"runner x-1 gen 3: killed after 2m0.5s", "runner x-1: killed after D"},
		// Not durations: left as they are.
		{"exitcode=1", "exitcode=1"},
		{"waited 5min", "waited 5min"},
		{"image v1.2.3s3", "image v1.2.3s3"},
		{"at0x5s", "at0x5s"},
	} {
		if got := withoutGeneration(c.in); got != c.want {
			t.Errorf("withoutGeneration(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, p := range [][2]string{
		{"runner x-1 gen 1: loading stalled: no layer progress for 1m30s", "runner x-1 gen 2: loading stalled: no layer progress for 1m31.5s"},
		{"runner x-1 gen 1: hung for 1h0m0s", "runner x-1 gen 7: hung for 59m59.999s"},
	} {
		if a, b := withoutGeneration(p[0]), withoutGeneration(p[1]); a != b {
			t.Errorf("the same failure reads as two: %q and %q", a, b)
		}
	}
}

// TestRemoteRunNamesARunnerWhoseCommandWentAway: a kind whose command was
// removed after the node started makes a runner that fails at once and
// that the node does not restart. The trial's `remote run` printed no
// failure line (it subscribed to the runner's failures after the spawn,
// when the failure had come already), and its cleanup said "cancel of the
// tasks … failed: … no restart is planned; stopped …: was not running".
// Now the failure is printed as it comes, before the cleanup, which says
// the node had given up on the runner.
func TestRemoteRunNamesARunnerWhoseCommandWentAway(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "runner.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	node, stdout, _ := startNodeWithConfig(t, "gone-a", fmt.Sprintf(`{"kinds": {"gone": {"command": %q}}}`, script))
	listen := listenAddr(t, stdout)
	defer func() {
		_ = node.Process.Signal(syscall.SIGTERM)
		_ = waitExit(t, node)
	}()
	if err := os.Remove(script); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runRemoteCmd(t, "--node", listen, "--timeout", "30s", "run", "--kind", "gone", "--tasks", "1", "--tokens", "1")
	t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr)
	failure := strings.Index(out, "node gone-a   runner failed (1st time): runner gone-")
	cleanup := strings.Index(out, "== the run failed")
	if failure < 0 || cleanup < 0 || failure > cleanup {
		t.Errorf("want the runner's failure line, then the cleanup's header")
	}
	if !strings.Contains(out, "had failed for good: the node gave up on it (") || !strings.Contains(out, "nothing to cancel or stop") {
		t.Errorf("the cleanup does not say the node had given up on the runner")
	}
	if strings.Contains(out, "was not running") || strings.Contains(out, "cancel of the tasks") {
		t.Errorf("the cleanup reports a cancel and a stop of a runner the node had given up on")
	}
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
}

// TestRemoteRunNamesARunnerStuckConnecting: a runner that stays Connecting
// (no timeout of the node bounds it) made run's --timeout error advise a
// longer --timeout only (a new user's trial: --timeout 48s). Now it names
// the runner, its status and for how long, and says what to look at.
func TestRemoteRunNamesARunnerStuckConnecting(t *testing.T) {
	node, stdout, _ := startNodeWithConfig(t, "conn-a", `{"kinds": {"peers": {"builtin": true, "args": ["--connect-delay", "1h"]}}}`)
	listen := listenAddr(t, stdout)
	defer func() {
		_ = node.Process.Signal(syscall.SIGTERM)
		_ = waitExit(t, node)
	}()
	out, stderr, code := runRemoteCmd(t, "--node", listen, "--timeout", "3s", "run", "--kind", "peers", "--tasks", "1", "--tokens", "1")
	t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr)
	for _, want := range []string{
		"no open task had streamed a chunk yet: runner peers-",
		" on conn-a was Connecting for ",
		", never Ready; the node bounds no runner's time in Connecting",
		"look at what its load waits for",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if strings.Contains(stderr, "allow more time") {
		t.Errorf("stderr still advises more time for a runner that stays Connecting")
	}
	if code != ExitFailure {
		t.Errorf("exit %d, want %d", code, ExitFailure)
	}
}

// TestRunnerDiagnosticsUnderTheFailure: the runner's own diagnostics (a
// traceback in its Failed status) follow its failure line, indented and
// bounded; a trial's "sha256 mismatch" reached no output of the CLI.
func TestRunnerDiagnosticsUnderTheFailure(t *testing.T) {
	if got := runnerDiagnostics(&exo.RunnerFailure{}); got != "" {
		t.Errorf("no diagnostics: %q, want nothing", got)
	}
	got := runnerDiagnostics(&exo.RunnerFailure{RunnerDiagnostics: "Traceback (most recent call last):\n  File \"r.py\", line 3\nValueError: sha256 mismatch\n"})
	want := "    the runner's diagnostics:\n    | Traceback (most recent call last):\n    |   File \"r.py\", line 3\n    | ValueError: sha256 mismatch\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	long := strings.Repeat("x", 500) + strings.Repeat("\nline", 30)
	got = runnerDiagnostics(&exo.RunnerFailure{RunnerDiagnostics: long})
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if len(lines) != 1+diagnosticsLines+1 || !strings.HasSuffix(lines[1], "…") || len([]rune(lines[1])) != len("    | ")+diagnosticsLineMax+1 ||
		lines[len(lines)-1] != "    | … 11 more lines" {
		t.Errorf("a long one: %d lines, %q … %q", len(lines), lines[1], lines[len(lines)-1])
	}
}

// TestStopSummarySaysWhatToDo: a single stop that escalated says why and
// what to do, as the node's shutdown report does.
func TestStopSummarySaysWhatToDo(t *testing.T) {
	for endedBy, want := range map[string]string{
		"shutdown frame": "ended by the Shutdown frame",
		"SIGTERM":        "ended by SIGTERM (the runner did not exit on its Shutdown frame within timeouts.stop_grace: make it exit when it reads the frame, or raise timeouts.stop_grace if it needs longer)",
		"SIGKILL":        "ended by SIGKILL (the runner ignored its Shutdown frame and SIGTERM too, for timeouts.stop_grace and timeouts.term_wait: it hangs or blocks SIGTERM; fix the runner, a longer stop_grace cannot help)",
	} {
		if got := stopSummary(&exo.StopResult{EndedBy: endedBy, Steps: []exo.StopStep{{Name: "shutdown frame"}, {Name: endedBy}}}); got != want {
			t.Errorf("%s: %q\nwant %q", endedBy, got, want)
		}
	}
	// A runner that had not said Hello got no Shutdown frame to ignore.
	if got, want := stopSummary(&exo.StopResult{EndedBy: "SIGTERM", Steps: []exo.StopStep{{Name: "SIGTERM"}}}), "ended by SIGTERM (it got no Shutdown frame: it had not finished its handshake)"; got != want {
		t.Errorf("no frame: %q\nwant %q", got, want)
	}
}
