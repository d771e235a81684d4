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

	exo "github.com/exo-actors/exo-actors/runtime"
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

// TestNodeShutdownHint: the line of a shutdown that was not clean names the
// key of each phase that passed its deadline, with its value.
func TestNodeShutdownHint(t *testing.T) {
	root := &exo.ActorReport{Name: "node"}
	root.Phases[exo.PhaseSignaling] = &exo.PhaseReport{Phase: exo.PhaseSignaling, Outcome: exo.OutcomeOK}
	root.Phases[exo.PhaseDraining] = &exo.PhaseReport{Phase: exo.PhaseDraining, Outcome: exo.OutcomeTimedOut, Duration: 30 * time.Second, TasksFailed: 1}
	root.Phases[exo.PhaseClosing] = &exo.PhaseReport{Phase: exo.PhaseClosing, Outcome: exo.OutcomeForced, Duration: 3 * time.Second}
	rep := exo.ShutdownReport{Root: root}
	for _, tc := range []struct {
		set  exo.ShutdownDeadlines
		t    exo.RunnerTimeouts
		want string
	}{
		{exo.ShutdownDeadlines{}, exo.RunnerTimeouts{},
			"raise shutdown.draining in the node config (30s, the default) to let tasks finish; raise shutdown.closing in the node config (15s, the default) to let runners exit by themselves"},
		{exo.ShutdownDeadlines{Draining: 5 * time.Second, Closing: 3 * time.Second}, exo.RunnerTimeouts{StopGrace: time.Second},
			"raise shutdown.draining in the node config (5s) to let tasks finish; raise shutdown.closing in the node config (3s) to let runners exit by themselves"},
	} {
		if got := nodeShutdownHint(rep, tc.set, tc.t); got != tc.want {
			t.Errorf("%+v: %q\nwant %q", tc.set, got, tc.want)
		}
	}
	root.Phases[exo.PhaseDraining].Outcome, root.Phases[exo.PhaseClosing].Outcome = exo.OutcomeOK, exo.OutcomeOK
	if got := nodeShutdownHint(rep, exo.ShutdownDeadlines{}, exo.RunnerTimeouts{}); got != "" {
		t.Errorf("clean: %q", got)
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
			head := readUntil(t, stdout, "listening on ")
			_, rest, _ := strings.Cut(head, "listening on ")
			listen := strings.Fields(rest)[0]
			// A task that would run for minutes.
			run := exec.Command(exoBinary(t), "remote", "--node", listen, "--timeout", "2m", "run", "--kind", "echo", "--tasks", "1", "--tokens", "100000")
			run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			var runOut bytes.Buffer
			run.Stdout, run.Stderr = &runOut, &runOut
			if err := run.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
				_ = run.Wait()
			}()
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
				var err error
				shutOut, err = exec.Command(exoBinary(t), "remote", "--node", listen, "shutdown").CombinedOutput()
				if err != nil {
					t.Fatalf("remote shutdown: %v\n%s", err, shutOut)
				}
			}
			b, _ := io.ReadAll(stdout) // to EOF: the node ended
			rest = string(b)
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
