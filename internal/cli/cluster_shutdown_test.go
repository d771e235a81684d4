package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestClusterShutdownUsageErrors(t *testing.T) {
	base := []string{"cluster", "shutdown", "--cluster", "c", "--cluster-peers", "127.0.0.1:1"}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "shutdown"}, "--cluster is required"},
		{append(base, "--phase-timeout", "0s"), "--phase-timeout 0s: want a positive duration, e.g. --phase-timeout 30s"},
		{append(base, "--phase-timeout", "-1s"), "--phase-timeout -1s: want a positive duration"},
		{append(base, "--phase-timeout", "soon"), `--phase-timeout "soon" is not a duration: want a number with a unit (ns, us, ms, s, m or h), e.g. --phase-timeout 30s, its default`},
		{append(base, "--answer-grace", "0s"), "--answer-grace 0s: want a positive duration"},
		{append(base, "--go-on-after", "-2s"), "--go-on-after -2s: want a positive duration, or leave it out"},
		{append(base, "--phase-timeout", "2s", "--go-on-after", "3s"), "--go-on-after 3s must exceed --phase-timeout + --answer-grace (4s)"},
		{append(base, "--timeout", "0s"), "--timeout 0s: want a positive duration"},
		{append(base, "--tls-ca", "/nonexistent/ca.pem"), "TLS needs all three of --tls-ca, --tls-cert and --tls-key, but --tls-cert and --tls-key are missing; give them"},
		{[]string{"cluster", "shutdown", "--cluster", "c", "--cluster-provider", "zookeeper"}, `unknown cluster provider "zookeeper"`},
		{[]string{"cluster", "shutdown", "--cluster", "c", "extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[2:], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitUsage, stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "exo-actors: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr.String(), tt.want)
			}
		})
	}
	// No member answers: exit 1, nothing shut down.
	var stdout, stderr bytes.Buffer
	dead := closedAddr(t)
	if code := Main([]string{"cluster", "shutdown", "--cluster", "c", "--cluster-peers", dead}, strings.NewReader(""), &stdout, &stderr); code != ExitFailure ||
		!strings.Contains(stderr.String(), "no member of cluster c answered at "+dead) {
		t.Errorf("dead peer: exit %d, stderr %q", code, stderr.String())
	}
}

// boundedWait reaps a node process, killing its group if it has not
// exited within d; it returns the exit code and whether it exited alone.
func boundedWait(n *clusterNode, d time.Duration) (int, bool) {
	done := make(chan int, 1)        // never closed: the waiter sends once
	go func() { done <- n.wait() }() // owner: boundedWait, which receives its one value
	select {
	case code := <-done:
		return code, true
	case <-time.After(d):
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGCONT)
		_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
		return <-done, false
	}
}

// TestClusterShutdownProcesses runs three `exo-actors node --cluster`
// processes with a task in flight on two of them, then `exo-actors cluster
// shutdown --json`, and freezes gpu-b with SIGSTOP as DRAINING begins: the
// report holds every node, gpu-a drained its task and closed, gpu-b is
// timed out in DRAINING, the command exits 1 without waiting for ever; after
// SIGCONT gpu-b goes on alone and exits, and no process is left.
func TestClusterShutdownProcesses(t *testing.T) {
	marker := fmt.Sprintf("cluster-shutdown-%d-%d", os.Getpid(), time.Now().UnixNano())
	dir := t.TempDir()
	configs := map[string]string{
		"gpu-a": `{"kinds": {"slow": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "1ms", "--warmup-delay", "1ms", "--token-delay", "100ms"]}}}`, // 30 tokens: 3s
		"gpu-b": `{"kinds": {"slow": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "1ms", "--warmup-delay", "1ms", "--token-delay", "1s"]}}}`,    // 30 tokens: 30s
		"cpu-c": `{"kinds": {"embed": {"builtin": true}}}`,
	}
	c := startThreeNodes(t, dir, marker, "shutdown-test", configs)
	names, nodes, gateways, peerList, start := c.names, c.nodes, c.gateways, c.peerList, c.start

	// One task in flight on gpu-a (3s) and on gpu-b (30s). remote run
	// submits as soon as it spawned the runner: a task queued before Ready
	// would be cancelled at SIGNALING, so the runners load in about 2ms
	// and the status poll below (100 ms or more a round) sees them running.
	run := exec.Command(exoBinary(t), "remote", "run", "--node", gateways["gpu-a"], "--node", gateways["gpu-b"], "--kind", "slow",
		"--tasks", "2", "--tokens", "30", "--timeout", "60s")
	run.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var runOut bytes.Buffer
	run.Stdout, run.Stderr = &runOut, &runOut
	if err := testutil.StartChild(t, run); err != nil {
		t.Fatal(err)
	}
	runDone := false
	t.Cleanup(func() {
		if !runDone {
			_ = syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
			_ = run.Wait()
		}
	})
	inFlight := time.Now().Add(20 * time.Second)
	for {
		out, _ := exec.Command(exoBinary(t), "remote", "status", "--node", gateways["gpu-a"], "--node", gateways["gpu-b"], "--timeout", "5s").Output()
		if strings.Count(string(out), "open tasks 1") == 2 {
			break
		}
		if time.Now().After(inFlight) {
			t.Fatalf("the two tasks never were in flight: remote status:\n%s\nremote run:\n%s", out, runOut.String())
		}
	}
	cmd := exec.Command(exoBinary(t), "cluster", "shutdown", "--json", "--cluster", "shutdown-test", "--cluster-peers", peerList,
		"--phase-timeout", "4s", "--answer-grace", "500ms", "--go-on-after", "5s")
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	var errLines []string
	frozen := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() { // ends when the command exits
		errLines = append(errLines, sc.Text())
		if !frozen && strings.Contains(sc.Text(), "DRAINING: asking") {
			if err := syscall.Kill(nodes["gpu-b"].cmd.Process.Pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			frozen = true
			t.Logf("gpu-b frozen (SIGSTOP) as DRAINING began, %v after the command started", time.Since(began).Round(time.Millisecond))
		}
	}
	werr := cmd.Wait()
	took := time.Since(began)
	if !frozen {
		_ = syscall.Kill(nodes["gpu-b"].cmd.Process.Pid, syscall.SIGCONT)
		t.Fatalf("never saw DRAINING begin: %v\nstderr:\n%s\nstdout:\n%s", werr, strings.Join(errLines, "\n"), stdout.String())
	}
	thawed := time.Now()
	if err := syscall.Kill(nodes["gpu-b"].cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster shutdown took %v; stderr:\n%s", took.Round(time.Millisecond), strings.Join(errLines, "\n"))
	if ee, ok := werr.(*exec.ExitError); !ok || ee.ExitCode() != ExitFailure ||
		!strings.Contains(strings.Join(errLines, "\n"), "exo-actors: cluster shutdown-test: 1 member did not complete every phase (gpu-b)") {
		t.Errorf("cluster shutdown: %v, want exit 1 naming gpu-b", werr)
	}
	var rep exo.ClusterShutdownReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("cluster shutdown --json: %v\n%s", err, stdout.String())
	}
	t.Logf("report:\n%s", rep)
	byName := map[string]exo.NodeShutdown{}
	for _, n := range rep.Nodes {
		byName[n.Name] = n
	}
	if len(rep.Nodes) != 3 || len(byName) != 3 {
		t.Fatalf("report has %d nodes: %+v", len(rep.Nodes), rep.Nodes)
	}
	for _, name := range []string{"gpu-a", "cpu-c"} {
		n := byName[name]
		if n.Outcome != exo.OutcomeOK || len(n.Missed) != 0 || n.Report.Root == nil || n.Report.Total <= 0 {
			t.Errorf("%s: %+v", name, n)
			continue
		}
		var stages []string
		for _, c := range n.Report.Root.Children {
			stages = append(stages, c.Name)
		}
		if got := strings.Join(stages, ","); got != "runners,resources,streams" {
			t.Errorf("%s subtree: %s", name, got)
		}
	}
	if a := byName["gpu-a"]; a.Report.Root != nil {
		if p := a.Report.Root.Phases[exo.PhaseDraining]; p == nil || p.TasksDrained != 1 {
			t.Errorf("gpu-a DRAINING: %+v, want its task drained", p)
		}
	}
	b := byName["gpu-b"]
	if b.Outcome != exo.OutcomeTimedOut || len(b.Missed) == 0 || b.Missed[0] != exo.PhaseDraining || !b.Answered[exo.PhaseSignaling] ||
		b.Report.Root == nil || b.Report.Root.Phases[exo.PhaseSignaling] == nil {
		t.Errorf("gpu-b: %+v", b)
	}
	// DRAINING waited for gpu-a's task but not for ever for gpu-b.
	if d := rep.PhaseDuration[exo.PhaseDraining]; d > rep.PhaseTimeout+rep.AnswerGrace+time.Second {
		t.Errorf("DRAINING took %v, beyond %v + %v", d, rep.PhaseTimeout, rep.AnswerGrace)
	}

	// gpu-a and cpu-c exit by themselves after CLOSING, 0; gpu-b, thawed,
	// goes on alone (go-on-after), cuts its task short at its own drain
	// deadline and says so: exit 4, as after a signal (before, a
	// shutdown a client asked for exited 0 whatever it cut short).
	for _, name := range names {
		code, alone := boundedWait(nodes[name], 30*time.Second)
		want, line := ExitOK, "node "+name+": shut down gracefully (asked by a client)"
		if name == "gpu-b" {
			want, line = ExitUnclean, "node gpu-b: shut down (asked by a client), not cleanly: DRAINING timed out after"
		}
		if !alone || code != want || !strings.Contains(nodes[name].stdout.String(), line) {
			t.Errorf("%s: exit %d (by itself: %v), want %d and %q; stdout:\n%s", name, code, alone, want, line, nodes[name].stdout.String())
		}
		if name == "gpu-b" {
			t.Logf("gpu-b exited %v after SIGCONT", time.Since(thawed).Round(time.Millisecond))
		}
	}
	_ = run.Wait()
	runDone = true
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// TestClusterShutdownCutTasksExits4: a cluster shutdown whose members all
// answer every phase, one of them with its DRAINING cut at the phase
// timeout (a task still running), prints that member's "not cleanly" line
// (as the member itself and remote shutdown do), names in its headline
// that it answered, and exits 4. Before, it exited 0 while the member
// exited 4, and the headline's "timed out" read as a member that did not
// answer (a new user's trial, tenth session).
func TestClusterShutdownCutTasksExits4(t *testing.T) {
	marker := fmt.Sprintf("cluster-cut-%d-%d", os.Getpid(), time.Now().UnixNano())
	slow := `{"kinds": {"slow": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "1ms", "--warmup-delay", "1ms", "--token-delay", "1s"]}}}`
	c := startThreeNodes(t, t.TempDir(), marker, "cut-test", map[string]string{"gpu-a": slow, "gpu-b": slow, "cpu-c": `{"kinds": {"embed": {"builtin": true}}}`})
	run := exec.Command(exoBinary(t), "remote", "run", "--node", c.gateways["gpu-a"], "--kind", "slow", "--tasks", "1", "--tokens", "30", "--timeout", "60s")
	run.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var runOut bytes.Buffer
	run.Stdout, run.Stderr = &runOut, &runOut
	if err := testutil.StartChild(t, run); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = run.Wait() }()
	inFlight := time.Now().Add(20 * time.Second)
	for {
		// Running, not only open: a task still queued behind the runner's
		// start is cancelled by SIGNALING, leaving DRAINING nothing to
		// cut (the test failed so once under load, its report "1 cut
		// short" at SIGNALING).
		out, _ := exec.Command(exoBinary(t), "remote", "status", "--node", c.gateways["gpu-a"], "--timeout", "5s").Output()
		if strings.Contains(string(out), "open tasks 1") && strings.Contains(string(out), "Running") {
			break
		}
		if time.Now().After(inFlight) {
			t.Fatalf("the task never was in flight: remote status:\n%s\nremote run:\n%s", out, runOut.String())
		}
	}
	// A misspelt --cluster finds no member: exit 1, naming the cluster the
	// peers are in (before: "0 members", exit 0).
	if err := exec.Command(exoBinary(t), "cluster", "status", "--json", "--cluster", "cut-tset", "--cluster-peers", c.peerList).Run(); err == nil {
		t.Error("cluster status --json --cluster cut-tset: exit 0, want 1 as without --json")
	}
	st := exec.Command(exoBinary(t), "cluster", "status", "--cluster", "cut-tset", "--cluster-peers", c.peerList)
	var stOut, stErr bytes.Buffer
	st.Stdout, st.Stderr = &stOut, &stErr
	if err := st.Run(); err == nil || !strings.Contains(stErr.String(), `exo-actors: cluster cut-tset has no members (`) ||
		!strings.Contains(stErr.String(), `in cluster "cut-test": check --cluster)`) {
		t.Errorf("cluster status --cluster cut-tset: %v\nstdout:\n%s\nstderr:\n%s", err, stOut.String(), stErr.String())
	} else if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitFailure {
		t.Errorf("cluster status --cluster cut-tset: %v, want exit %d", err, ExitFailure)
	}
	// cluster shutdown stops on it in the same words (before: "nothing to
	// shut down" alone, a docs-only trial), and shuts nothing down.
	sd := exec.Command(exoBinary(t), "cluster", "shutdown", "--cluster", "cut-tset", "--cluster-peers", c.peerList)
	var sdOut, sdErr bytes.Buffer
	sd.Stdout, sd.Stderr = &sdOut, &sdErr
	if err := sd.Run(); err == nil || !strings.Contains(sdErr.String(), `exo-actors: cluster cut-tset has no members: nothing to shut down (`) ||
		!strings.Contains(sdErr.String(), `in cluster "cut-test": check --cluster)`) {
		t.Errorf("cluster shutdown --cluster cut-tset: %v\nstdout:\n%s\nstderr:\n%s", err, sdOut.String(), sdErr.String())
	}
	// --json: stdout is the report alone (the member's "not cleanly" line
	// goes to stderr then; a review found it after the JSON), and its
	// rendering has the headline.
	cmd := exec.Command(exoBinary(t), "cluster", "shutdown", "--json", "--cluster", "cut-test", "--cluster-peers", c.peerList,
		"--phase-timeout", "1s", "--answer-grace", "5s")
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := testutil.RunChild(cmd)
	var rep exo.ClusterShutdownReport
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil {
		t.Fatalf("cluster shutdown --json: stdout is not one JSON document: %v\n%s", jerr, stdout.String())
	}
	if want := "timed out — answered every phase; its own shutdown DRAINING timed out (1 task cut short): below"; !strings.Contains(rep.String(), want) {
		t.Errorf("report lacks %q:\n%s", want, rep.String())
	}
	// The phase's measured duration, rounded to 10 ms: 1s, or a little
	// more on a loaded machine (1.01s in a helper's run).
	if want := regexp.MustCompile(`node gpu-a: shut down \(asked by a client\), not cleanly: DRAINING timed out after 1(\.[0-9]+)?s \(1 task cut short\)`); !want.MatchString(stderr.String()) {
		t.Errorf("stderr lacks %s:\n%s", want, stderr.String())
	}
	const wantErr = "exo-actors: cluster cut-test: 1 of 3 members shut down, not cleanly (above)"
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitUnclean || !strings.Contains(stderr.String(), wantErr) {
		t.Errorf("cluster shutdown: %v, stderr:\n%s\nwant exit %d and %q", err, stderr.String(), ExitUnclean, wantErr)
	}
	for _, name := range c.names {
		if code, alone := boundedWait(c.nodes[name], 30*time.Second); !alone {
			t.Errorf("%s did not exit by itself (exit %d)", name, code)
		}
	}
}

// TestClusterShutdownRefusingMemberShutsNothingDown: a member started with
// --allow-remote-shutdown=false makes cluster shutdown refuse before any
// member is asked (exit 1, naming it and what to do); every member still
// serves. Before, it refused SIGNALING while the other two went through
// CLOSING and exited (a new user's trial: two of three shut down).
func TestClusterShutdownRefusingMemberShutsNothingDown(t *testing.T) {
	marker := fmt.Sprintf("cluster-refuse-%d-%d", os.Getpid(), time.Now().UnixNano())
	echo := `{"kinds": {"echo": {"builtin": true}}}`
	c := startThreeNodesArgs(t, t.TempDir(), marker, "refuse-test", map[string]string{"gpu-a": echo, "gpu-b": echo, "cpu-c": echo},
		map[string][]string{"gpu-b": {"--allow-remote-shutdown=false"}})
	cmd := exec.Command(exoBinary(t), "cluster", "shutdown", "--cluster", "refuse-test", "--cluster-peers", c.peerList)
	cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := testutil.RunChild(cmd)
	want := "exo-actors: member gpu-b (" + c.gateways["gpu-b"] + ") does not accept remote shutdown (started with --allow-remote-shutdown=false); nothing was shut down: stop it with SIGTERM on its host"
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitFailure || !strings.Contains(stderr.String(), want) {
		t.Errorf("cluster shutdown: %v\nstdout:\n%s\nstderr:\n%s\nwant exit %d and %q", err, stdout.String(), stderr.String(), ExitFailure, want)
	}
	if strings.Contains(stderr.String(), "SIGNALING") {
		t.Errorf("a phase was asked for:\n%s", stderr.String())
	}
	for _, name := range c.names {
		out, err := exec.Command(exoBinary(t), "remote", "status", "--node", c.gateways[name], "--timeout", "5s").CombinedOutput()
		if err != nil || strings.Contains(string(out), "shutting down") {
			t.Errorf("node %s after the refused cluster shutdown: %v\n%s", name, err, out)
		}
	}
	// As the error says: SIGTERM on its host (here for every member).
	for _, name := range c.names {
		n := c.nodes[name]
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		if code, ok := boundedWait(n, 20*time.Second); !ok || code != 0 {
			t.Errorf("node %s after SIGTERM: exit %d (in time: %v), want 0", name, code, ok)
		}
	}
}
