package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestChaosUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"chaos", "--duration", "0s"},
		{"chaos", "--duration", "-5s"},
		{"chaos", "--duration", "3h"},
		{"chaos", "--duration", "soon"},
		{"chaos", "--seed", "-1"},
		{"chaos", "--seed", "x"},
		{"chaos", "--nodes", "0"},
		{"chaos", "--nodes", "9"},
		{"chaos", "--rate", "0"},
		{"chaos", "--rate", "51"},
		{"chaos", "--rate", "NaN"},
		{"chaos", "--runners", "0"},
		{"chaos", "--runners", "7"},
		{"chaos", "--max-heap-mib", "0"},
		{"chaos", "--explode"},
		{"chaos", "extra"},
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
			if stdout.Len() != 0 {
				t.Errorf("stdout %q: want nothing", stdout.String())
			}
		})
	}
}

// TestChaosScheduleReplays: the schedule is a function of the seed alone,
// and its first 600 steps (100 s at the default rate) hold every kind.
func TestChaosScheduleReplays(t *testing.T) {
	a, b := chaosSchedule(42, 500), chaosSchedule(42, 500)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two schedules")
	}
	if reflect.DeepEqual(a, chaosSchedule(43, 500)) {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
	for _, seed := range []int64{1, 42, 1234567} {
		seen := map[string]bool{}
		for _, st := range chaosSchedule(seed, 600) {
			seen[st.kind] = true
		}
		for _, w := range chaosWeights {
			if !seen[w.kind] {
				t.Errorf("seed %d: no %s step in the first 600 steps", seed, w.kind)
			}
		}
	}
}

// TestCutProxy: the proxy forwards, a cut drops bytes both ways without
// closing, a heal resets the cut connections and forwards new ones.
func TestCutProxy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() { // the echo server; ends when ln closes
		defer close(done) // sole sender: this goroutine
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { // one echo connection; ends when either side closes
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	p, err := newCutProxy(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	echo := func(c net.Conn, msg string) error {
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if string(buf) != msg {
			return fmt.Errorf("echo %q, want %q", buf, msg)
		}
		return nil
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := echo(c, "before"); err != nil {
		t.Fatalf("open proxy: %v", err)
	}
	p.Cut()
	var ne net.Error
	if err := echo(c, "during"); err == nil || !(errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("cut proxy: %v, want a read timeout (bytes dropped, connection up)", err)
	}
	p.Heal()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection of the cut still works after the heal: want it reset")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := echo(c2, "after"); err != nil {
		t.Fatalf("healed proxy: %v", err)
	}
	p.Close()
	ln.Close()
	<-done
}

// TestChaosRunJSON runs a short chaos run as a separate process and checks
// that its JSON has exactly the documented fields, that it held every
// invariant and that none of its processes is left.
func TestChaosRunJSON(t *testing.T) {
	if testing.Short() {
		t.Skip("a chaos run of 4s plus its shutdown; skipped with -short")
	}
	marker := fmt.Sprintf("chaos-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command(exoBinary(t), "chaos", "--duration", "4s", "--seed", "11", "--nodes", "2", "--json")
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // only if the run left one: the test fails below
		}
	})
	code := waitExit(t, cmd)
	var s map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	want := []string{"seed", "steps", "faults", "tasks", "events", "violations", "panics", "orphan_processes",
		"leaked_goroutines", "lost_events", "duplicate_events", "tasks_without_terminal_status", "max_heap_mib", "ok"}
	var got []string
	for k := range s {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields %v, want exactly %v", got, want)
	}
	if code != ExitOK || s["ok"] != true || s["seed"] != 11.0 {
		t.Errorf("exit %d, summary %s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.HasPrefix(stderr.String(), "chaos: seed 11 ") {
		t.Errorf("stderr does not start with the seed: %q", firstLine(stderr.String()))
	}
	// Every fault is logged as it is injected, not only the node-level
	// ones (2 FAULT lines for 48 faults in the trial's run).
	faults := 0
	if m, ok := s["faults"].(map[string]any); ok {
		for _, n := range m {
			f, _ := n.(float64)
			faults += int(f)
		}
	}
	if got := strings.Count(stderr.String(), "  FAULT "); faults == 0 || got != faults {
		t.Errorf("%d FAULT lines on stderr for %d faults in the summary\nstderr:\n%s", got, faults, stderr.String())
	}
	if left := testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker); len(left) > 0 {
		t.Errorf("processes left running: %v", left)
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestChaosTextLogOnStderr: without --json too, the log (the seed, every
// fault, progress) goes to stderr and stdout gets only the summary, as
// docs/reliability.md says (it all went to stdout, stderr empty).
func TestChaosTextLogOnStderr(t *testing.T) {
	if testing.Short() {
		t.Skip("a chaos run of 2s plus its shutdown; skipped with -short")
	}
	marker := fmt.Sprintf("chaos-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command(exoBinary(t), "chaos", "--duration", "2s", "--seed", "5", "--nodes", "1")
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, pid := range testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL) // only if the run left one: the test fails below
		}
	})
	code := waitExit(t, cmd)
	out, log := stdout.String(), stderr.String()
	if code != ExitOK || !strings.HasPrefix(out, "\n== chaos summary (seed 5, ") || !strings.HasSuffix(out, "ok: true\n") {
		t.Fatalf("exit %d; stdout, want only the summary:\n%s\nstderr:\n%s", code, out, log)
	}
	if !strings.HasPrefix(log, "chaos: seed 5 ") {
		t.Errorf("stderr does not start with the seed: %q", firstLine(log))
	}
	var faults int
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "faults   "); ok {
			_, _ = fmt.Sscanf(rest, "%d:", &faults)
		}
	}
	if got := strings.Count(log, "  FAULT "); faults == 0 || got != faults {
		t.Errorf("%d FAULT lines on stderr for %d faults in the summary\nstdout:\n%s\nstderr:\n%s", got, faults, out, log)
	}
}
