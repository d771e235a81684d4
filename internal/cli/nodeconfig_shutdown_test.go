package cli

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exo "github.com/exo-actors/exo-actors/runtime"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestParseNodeConfigShutdown: the "shutdown" section sets the node's
// shutdown phase deadlines (exo.Config.Shutdown); a key left out stays zero,
// the default.
func TestParseNodeConfigShutdown(t *testing.T) {
	c, err := parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}},
		"shutdown": {"signaling": "1s", "draining": "2m", "closing": "20s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (exo.ShutdownDeadlines{Signaling: time.Second, Draining: 2 * time.Minute, Closing: 20 * time.Second}); c.shutdown != want {
		t.Fatalf("shutdown %+v, want %+v", c.shutdown, want)
	}
	c, err = parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}}, "shutdown": {"draining": "5s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (exo.ShutdownDeadlines{Draining: 5 * time.Second}); c.shutdown != want {
		t.Fatalf("a key left out must stay zero (the default): %+v", c.shutdown)
	}
}

// TestNodeShutdownHint: the line of a shutdown that was not clean names
// the key of each phase that reached the deadline it ran with, with its
// value; a phase cut short before its deadline names none (a longer one
// could not help). Before, a CLOSING forced after 3s by a runner's own
// stop escalation (it ignored the Shutdown frame) said "raise
// shutdown.closing (15s, the default)", as did a cluster's stepped
// shutdown and a resource that failed to close.
func TestNodeShutdownHint(t *testing.T) {
	const (
		drainHint = "raise shutdown.draining in the node config (30s, the default) to let tasks finish"
		sigterm   = "runner busy-ee2e17 did not exit on its Shutdown frame: its stop sent SIGTERM after timeouts.stop_grace (3s, the default); make the runner exit when it reads the frame, or raise timeouts.stop_grace if it needs longer"
	)
	type phase struct {
		outcome exo.Outcome
		took    time.Duration
	}
	for _, tc := range []struct {
		name        string
		draining    phase
		closing     phase
		runnerNote  string // the runner's CLOSING note (forced when set)
		resource    bool   // a resource failed to close in CLOSING
		deadline    [3]time.Duration
		coordinated bool
		set         exo.ShutdownDeadlines
		t           exo.RunnerTimeouts
		want        string
	}{
		{name: "drain cut at its deadline, a runner that ignored its Shutdown frame",
			draining: phase{exo.OutcomeTimedOut, 30 * time.Second}, closing: phase{exo.OutcomeForced, 3012 * time.Millisecond},
			runnerNote: "ended by SIGTERM", deadline: [3]time.Duration{2 * time.Second, 30 * time.Second, 15 * time.Second},
			want: drainHint + "; " + sigterm},
		{name: "a report without deadlines: the node's own",
			draining: phase{exo.OutcomeTimedOut, 30 * time.Second}, closing: phase{exo.OutcomeForced, 3012 * time.Millisecond},
			runnerNote: "ended by SIGTERM", want: drainHint + "; " + sigterm},
		{name: "SIGKILL by its escalation, timeouts set",
			closing: phase{exo.OutcomeForced, 3010 * time.Millisecond}, runnerNote: "ended by SIGKILL",
			deadline: [3]time.Duration{2 * time.Second, 30 * time.Second, 15 * time.Second},
			t:        exo.RunnerTimeouts{StopGrace: 2 * time.Second, TermWait: time.Second},
			// It ignored SIGTERM too (the trial's `--fault hang` runner): a
			// longer stop_grace cannot help it. Before, the hint ended
			// "…; make the runner exit when it reads the frame, or raise
			// timeouts.stop_grace if it needs longer".
			want: "runner busy-ee2e17 ignored its Shutdown frame for timeouts.stop_grace (2s) and SIGTERM too for timeouts.term_wait (1s), so its stop sent SIGKILL; a runner that ignores SIGTERM hangs or blocks it: fix the runner (a longer timeouts.stop_grace cannot help)"},
		{name: "SIGKILL by its escalation, default timeouts",
			closing: phase{exo.OutcomeForced, 5 * time.Second}, runnerNote: "ended by SIGKILL",
			deadline: [3]time.Duration{2 * time.Second, 30 * time.Second, 15 * time.Second},
			want:     "runner busy-ee2e17 ignored its Shutdown frame for timeouts.stop_grace (3s, the default) and SIGTERM too for timeouts.term_wait (2s, the default), so its stop sent SIGKILL; a runner that ignores SIGTERM hangs or blocks it: fix the runner (a longer timeouts.stop_grace cannot help)"},
		{name: "SIGKILL of a runner in its handshake (no Shutdown frame to ignore)",
			closing: phase{exo.OutcomeForced, 2010 * time.Millisecond}, runnerNote: "ended by SIGKILL" + actors.StopNoteNoFrame,
			deadline: [3]time.Duration{2 * time.Second, 30 * time.Second, 15 * time.Second},
			// Before, it said the runner "ignored its Shutdown frame", which
			// it never got (a review).
			want: "runner busy-ee2e17 had not finished its handshake, so its stop began at SIGTERM, which it ignored for timeouts.term_wait (2s, the default), and sent SIGKILL; a runner must exit on SIGTERM before its Hello too"},
		{name: "both deadlines reached, keys set",
			draining: phase{exo.OutcomeTimedOut, 5 * time.Second}, closing: phase{exo.OutcomeForced, 3200 * time.Millisecond},
			runnerNote: "closing deadline passed: SIGKILL to the process group", deadline: [3]time.Duration{2 * time.Second, 5 * time.Second, 3 * time.Second},
			set: exo.ShutdownDeadlines{Draining: 5 * time.Second, Closing: 3 * time.Second}, t: exo.RunnerTimeouts{StopGrace: time.Second},
			want: "raise shutdown.draining in the node config (5s) to let tasks finish; raise shutdown.closing in the node config (3s) to let runners exit by themselves"},
		{name: "reached within the slack (another clock reading)",
			draining: phase{exo.OutcomeTimedOut, 995 * time.Millisecond}, deadline: [3]time.Duration{2 * time.Second, time.Second, 15 * time.Second},
			set: exo.ShutdownDeadlines{Draining: time.Second}, want: "raise shutdown.draining in the node config (1s) to let tasks finish"},
		{name: "a cluster's stepped shutdown",
			draining: phase{exo.OutcomeTimedOut, 4010 * time.Millisecond}, deadline: [3]time.Duration{4 * time.Second, 4 * time.Second, 4 * time.Second}, coordinated: true,
			want: "the cluster's shutdown gave each phase 4s: give it longer with cluster shutdown --phase-timeout"},
		{name: "a resource that failed to close",
			closing: phase{exo.OutcomeForced, 120 * time.Millisecond}, resource: true, deadline: [3]time.Duration{2 * time.Second, 30 * time.Second, 15 * time.Second}},
		{name: "clean", deadline: [3]time.Duration{2 * time.Second, 30 * time.Second, 15 * time.Second}},
	} {
		root := &exo.ActorReport{Name: "node"}
		runners := &exo.ActorReport{Name: "runners"}
		busy := &exo.ActorReport{Name: "busy-ee2e17"}
		resources := &exo.ActorReport{Name: "resources"}
		root.Children = []*exo.ActorReport{runners, resources}
		runners.Children = []*exo.ActorReport{busy}
		rep := exo.ShutdownReport{Root: root, PhaseDeadline: tc.deadline}
		for ph, p := range []phase{{exo.OutcomeOK, time.Millisecond}, tc.draining, tc.closing} {
			if p.outcome == "" {
				p = phase{exo.OutcomeOK, time.Millisecond}
			}
			root.Phases[ph] = &exo.PhaseReport{Phase: exo.Phase(ph), Outcome: p.outcome, Duration: p.took}
			rep.PhaseDuration[ph] = p.took
			rep.PhaseCoordinated[ph] = tc.coordinated
			busy.Phases[ph] = &exo.PhaseReport{Actor: busy.Name, Phase: exo.Phase(ph), Outcome: exo.OutcomeOK}
			resources.Phases[ph] = &exo.PhaseReport{Actor: resources.Name, Phase: exo.Phase(ph), Outcome: exo.OutcomeOK}
		}
		if tc.runnerNote != "" {
			busy.Phases[exo.PhaseClosing].Outcome, busy.Phases[exo.PhaseClosing].Note = exo.OutcomeForced, tc.runnerNote
		}
		if tc.resource {
			db := &exo.ActorReport{Name: "db"}
			db.Phases[exo.PhaseClosing] = &exo.PhaseReport{Actor: "db", Phase: exo.PhaseClosing, Outcome: exo.OutcomeForced, Note: "close failed: boom (FORCE_CLEANUP: left in Error)"}
			resources.Children = append(resources.Children, db)
			resources.Phases[exo.PhaseClosing].Outcome = exo.OutcomeForced // the worst of its children's
		}
		got := shutdownHint(rep, tc.set, tc.t, true)
		if got != tc.want {
			t.Errorf("%s: %q\nwant %q", tc.name, got, tc.want)
		}
		if tc.runnerNote == "ended by SIGKILL" && strings.Contains(got, "raise timeouts.stop_grace") {
			t.Errorf("%s: a runner that ignored SIGTERM too is told to raise stop_grace: %q", tc.name, got)
		}
	}
}

// TestNodeShutdownDrainingFromConfig: the node's shutdown.draining bounds
// DRAINING, for a SIGTERM and for a client's `remote shutdown`. The trial's
// node had no key for it: SIGTERM with a 50 s task waited the fixed 30 s and
// exited 4 saying only "DRAINING timed out after 30s".
func TestNodeShutdownDrainingFromConfig(t *testing.T) {
	for _, how := range []string{"SIGTERM", "remote shutdown"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			node, stdout, running := startNodeLogged(t, "drain-"+strings.Fields(how)[0],
				`{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "5ms"]}},
				  "shutdown": {"draining": "1s"}}`, "to=Running")
			listen := listenAddr(t, stdout)
			// A task that would run for minutes.
			var runOut bytes.Buffer
			startRemote(t, &runOut, "--node", listen, "--timeout", "2m", "run", "--kind", "echo", "--tasks", "1", "--tokens", "100000")
			select { // the node's log says the runner runs the task
			case <-running:
			case <-time.After(time.Minute):
				t.Fatalf("no task ran within a minute; remote run:\n%s", runOut.String())
			}
			start := time.Now()
			var shutOut []byte
			if how == "SIGTERM" {
				_ = node.Process.Signal(syscall.SIGTERM)
			} else {
				// The client says, as the node does, that the shutdown was
				// not clean and what to raise, and exits 4 (before: the
				// report tree alone, exit 0).
				shut := exec.Command(exoBinary(t), "remote", "--node", listen, "shutdown")
				var shutErr bytes.Buffer
				shut.Stderr = &shutErr
				shutOut, _ = shut.Output()
				line := regexp.MustCompile(`(?m)^node drain-remote: shut down \(asked by a client\), not cleanly: DRAINING timed out after 1(\.\d+)?s \(1 task cut short\); raise shutdown.draining in the node config \(1s\) to let tasks finish$`)
				if code := shut.ProcessState.ExitCode(); code != ExitUnclean || !line.Match(shutOut) ||
					shutErr.String() != "exo-actors: the node shut down, not cleanly (above)\n" {
					t.Fatalf("remote shutdown: exit %d, want %d, a line matching %s; stdout:\n%s\nstderr:\n%s", code, ExitUnclean, line, shutOut, shutErr.String())
				}
			}
			b, _ := io.ReadAll(stdout) // to EOF: the node ended
			rest := string(b)
			code := waitExit(t, node)
			took := time.Since(start)
			// Either way the node cut the task short: exit 4, naming the key
			// to raise; a client's shutdown says it asked.
			by := ""
			if how != "SIGTERM" {
				by = " (asked by a client)"
				if !strings.Contains(string(shutOut), "DRAINING timed out 1") {
					t.Fatalf("remote shutdown printed:\n%s", shutOut)
				}
			}
			// The duration is the node root's, rounded to 10 ms: at least
			// the deadline, a little more on a loaded machine ("1.02s" in a
			// full-suite run).
			want := regexp.MustCompile(`node drain-` + strings.Fields(how)[0] + `: shut down` + regexp.QuoteMeta(by) + `, not cleanly: DRAINING timed out after 1(\.\d+)?s \(1 task cut short\); `)
			hint := "raise shutdown.draining in the node config (1s) to let tasks finish"
			if code != ExitUnclean || !want.MatchString(rest) || !strings.Contains(rest, hint) {
				t.Fatalf("exit %d, want %d, a line matching %s and %q in:\n%s", code, ExitUnclean, want, hint, rest)
			}
			if took > 25*time.Second {
				t.Errorf("the shutdown took %s: DRAINING did not take its 1s from the config", took)
			}
		})
	}
}

// startNodeLogged starts `exo-actors node` with config at log level info:
// its stdout readable line by line, and a channel closed once a line of its
// log (stderr) holds logLine. A goroutine reads the log to its end (so the
// node never blocks on a full pipe); Wait for the node only after its
// stdout ended (the cleanup waits for the goroutine).
func startNodeLogged(t *testing.T, name, config, logLine string) (*exec.Cmd, *bufio.Reader, <-chan struct{}) {
	t.Helper()
	cmd := nodeCommand(t, name, config, "info") // node_http_test.go
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := startNodeCommand(t, cmd)
	seen := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone) // sole sender: this reader, once, at the log's end
		sc := bufio.NewScanner(logs)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			if !found && strings.Contains(sc.Text(), logLine) {
				found = true
				close(seen) // sole sender: this reader, once, at the first matching line
			}
		}
		_, _ = io.Copy(io.Discard, logs) // a line over the bound: keep the pipe flowing
	}()
	t.Cleanup(func() { // runs before startNodeCommand's: kill here too, or the log never ends
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // only if the test failed early
		<-readerDone
	})
	return cmd, out, seen
}

// TestConfigKey: one function names every setting a check names by its Go
// name as the node config does (before, shutdownKey did it for the
// shutdown check and configKey for the health one, each knowing part).
func TestConfigKey(t *testing.T) {
	for name, want := range map[string]string{
		"Shutdown.Closing":           "shutdown.closing",
		"Shutdown.Draining":          "shutdown.draining",
		"Timeouts.StopGrace":         "timeouts.stop_grace",
		"Timeouts.HeartbeatInterval": "timeouts.heartbeat_interval",
		"Health.HeartbeatGrace":      "health.heartbeat_grace",
		"Health.NoSuchField":         "Health.NoSuchField",
		"Other":                      "Other",
	} {
		if got := configKey(name); got != want {
			t.Errorf("configKey(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestNodeShutdownHintForARunnerThatIgnoresShutdown: a runner that ignores
// its Shutdown frame is SIGTERMed by its own stop after
// timeouts.stop_grace, long before the CLOSING deadline: the node exits 4
// naming the runner and timeouts.stop_grace, not shutdown.closing, which
// could not help (it said "raise shutdown.closing in the node config (15s,
// the default)").
func TestNodeShutdownHintForARunnerThatIgnoresShutdown(t *testing.T) {
	node, stdout, stderr := startNodeWithConfig(t, "deaf-a", `{"kinds": {"deaf": {"builtin": true,
		"args": ["--layers", "1", "--layer-delay", "0s", "--fault", "ignore-shutdown:forever"]}},
		"timeouts": {"stop_grace": "300ms"}}`) // node_http_test.go
	listen := listenAddr(t, stdout)
	run := exec.Command(exoBinary(t), "remote", "--node", listen, "--timeout", "1m", "run", "--kind", "deaf", "--tasks", "1", "--keep-runners")
	if out, err := testutil.CombinedOutputChild(run); err != nil {
		t.Fatalf("remote run: %v\n%s", err, out)
	}
	_ = node.Process.Signal(syscall.SIGTERM)
	b, _ := io.ReadAll(stdout) // to EOF: the node ended
	code := waitExit(t, node)
	end := string(b)
	want := regexp.MustCompile(`node deaf-a: shut down, not cleanly: CLOSING forced after [0-9.]+m?s; forced: node/runners/(deaf-[0-9a-f]+) \(CLOSING\); runner (deaf-[0-9a-f]+) did not exit on its Shutdown frame: its stop sent SIGTERM after timeouts.stop_grace \(300ms\); make the runner exit when it reads the frame, or raise timeouts.stop_grace if it needs longer\n`)
	m := want.FindStringSubmatch(end)
	if code != ExitUnclean || m == nil || m[1] != m[2] {
		t.Fatalf("exit %d, want %d and a line matching %s in:\n%s\nstderr:\n%s", code, ExitUnclean, want, end, stderr.String())
	}
	if strings.Contains(end, "shutdown.closing") {
		t.Errorf("the hint names shutdown.closing, which could not help:\n%s", end)
	}
}
