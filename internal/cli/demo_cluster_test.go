package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestClusterDemoUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--nodes", "0"},
		{"demo", "--nodes", "17"},
		{"demo", "--nodes", "3", "--chaos", "explode"},
		{"demo", "--nodes", "3", "--tasks", "0"},
		{"demo", "--nodes", "3", "--duration", "-1s"},
		{"demo", "--nodes", "3", "--duration", "0s"},
		{"demo", "--nodes", "3", "--runners", "0"},
		{"demo", "--nodes", "3", "--runners", "9"},
		{"demo", "--nodes", "3", "--http", "127.0.0.1:0"},
		{"demo", "--nodes", "3", "--ui", "0.0.0.0:8080"},
		{"demo", "--nodes", "3", "--ui-actions"},
		{"demo", "--nodes", "3", "--live", "sometimes"},
		{"demo", "--nodes", "3", "--seed", "x"},
		{"demo", "--chaos", "all"},
		{"demo", "--json"},
		{"demo", "--nodes", "1", "--tasks", "5"},
	} {
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

// The one-node scenario's flags: the error names the flag that is wrong.
func TestDemoScenarioFlagErrors(t *testing.T) {
	for _, c := range []struct{ flag, value string }{
		{"--tokens", "0"}, {"--layers", "-1"}, {"--token-delay", "-5ms"}, {"--layer-delay", "-1s"},
	} {
		t.Run(c.flag, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main([]string{"demo", c.flag, c.value}, strings.NewReader(""), &stdout, &stderr); code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitUsage, stderr.String())
			}
			if want := "exo-actors: " + c.flag + " " + c.value + ": want "; !strings.HasPrefix(stderr.String(), want) {
				t.Errorf("stderr %q: want it to start with %q", stderr.String(), want)
			}
		})
	}
}

func TestChaosPlanKinds(t *testing.T) {
	for in, want := range map[string]int{"none": 0, "all": len(chaosKinds), "crash": 1, "node-kill": 1} {
		got, err := chaosPlanKinds(in)
		if err != nil || len(got) != want {
			t.Errorf("%s: %v, %v; want %d kinds", in, got, err, want)
		}
	}
	if _, err := chaosPlanKinds("All"); err == nil {
		t.Error("All: want an error")
	}
}

// TestClusterDemoUnderChaos runs the multi-node demo with every fault kind
// as a separate process and checks its JSON summary, its exit code and
// that none of its processes (nodes, runners) is left.
func TestClusterDemoUnderChaos(t *testing.T) {
	marker := fmt.Sprintf("cluster-demo-%d-%d", os.Getpid(), time.Now().UnixNano())
	start := time.Now()
	cmd := exec.Command(exoBinary(t), "demo", "--nodes", "3", "--chaos", "all", "--seed", "7", "--json",
		"--tasks", "24", "--duration", "4s")
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // only if the demo left one: the test fails below
		}
	})
	code := waitExit(t, cmd)
	elapsed := time.Since(start)
	if code != ExitOK {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	var s map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout.String())
	}
	for _, k := range []string{"tasks_submitted", "tasks_completed", "tasks_failed", "tasks_retried", "tasks_lost",
		"events_published", "events_delivered", "events_dropped_counted", "events_lost", "restarts", "escalations",
		"alerts", "faults_injected", "orphan_processes", "shutdown_ms", "invariants_ok", "seed"} {
		if _, ok := s[k]; !ok {
			t.Errorf("summary lacks %q: %s", k, stdout.String())
		}
	}
	if s["invariants_ok"] != true || s["tasks_lost"] != 0.0 || s["events_lost"] != 0.0 || s["orphan_processes"] != 0.0 || s["seed"] != 7.0 {
		t.Errorf("summary: %s", stdout.String())
	}
	if got := s["tasks_completed"].(float64) + s["tasks_failed"].(float64); got != s["tasks_submitted"].(float64) || got < 24 {
		t.Errorf("completed + failed = %v, submitted %v: %s", got, s["tasks_submitted"], stdout.String())
	}
	faults, _ := s["faults_injected"].(map[string]any)
	for _, k := range chaosKinds {
		if faults[k] == nil {
			t.Errorf("no %s fault injected: %s", k, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "FAULT node-kill") || !strings.Contains(stderr.String(), "back as node-4") {
		t.Errorf("stderr lacks the node kill and its return:\n%s", stderr.String())
	}
	if left := testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker); len(left) > 0 {
		t.Errorf("processes left running: %v", left)
	}
	if elapsed > 50*time.Second {
		t.Errorf("took %s", elapsed)
	}
}

// TestClusterDemoSIGINT: the first SIGINT says that it cuts the run short,
// as the one-process demo's does (a trial saw the phased shutdown start with
// no word of why); the nodes still shut down, the summary is printed, exit
// 1, and no process of the demo is left.
func TestClusterDemoSIGINT(t *testing.T) {
	marker := fmt.Sprintf("cluster-demo-int-%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command(exoBinary(t), "demo", "--nodes", "2", "--runners", "1", "--tasks", "100", "--duration", "60s", "--live", "off")
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
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
		for _, pid := range testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // only if the demo left one: the test fails below
		}
	})
	r := bufio.NewReader(out)
	readUntil(t, r, "node node-2 up on")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	code := waitExit(t, cmd)
	text := string(rest)
	i := strings.Index(text, "== interrupt: the run is cut short; graceful shutdown of every node, then the summary (exit 1)\n")
	if i < 0 || i > strings.Index(text, "== graceful shutdown of every node") || !strings.Contains(text, "invariants ok: false") {
		t.Errorf("output:\n%s", text)
	}
	// A submit the interrupt cut short is not a runner's refusal.
	if strings.Contains(text, "rejected by every runner") || !strings.Contains(text, "  rejected 0\n") {
		t.Errorf("the interrupt counted as a rejection:\n%s", text)
	}
	if code != ExitFailure || !strings.Contains(stderr.String(), "interrupted (SIGINT, SIGTERM or SIGHUP)") {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitFailure, stderr.String())
	}
	if left := testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker); len(left) > 0 {
		t.Errorf("processes left running: %v", left)
	}
}
