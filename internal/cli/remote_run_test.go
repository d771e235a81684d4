package cli

import (
	"bytes"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	exo "github.com/exo-actors/exo-actors/runtime"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestRemoteRunCheck: what `remote run` counts as a failure, and what its
// line says it checked. A runner that stops early with finish_reason
// "stop" is legal (the trial printed "FAILED task-0000 on trial: Complete "
// with no reason for it).
func TestRemoteRunCheck(t *testing.T) {
	gen := remoteRun{tokens: 8, taskKind: "text_generation", cancelAfter: 2}
	noop := remoteRun{tokens: 8, taskKind: "noop"}
	for _, tc := range []struct {
		name   string
		r      remoteRun
		o      exo.TaskOutcome
		last   exo.Chunk
		cancel bool
		ok     bool
		text   string
	}{
		{"all asked", gen, exo.TaskOutcome{Status: exo.TaskComplete, Chunks: 8}, exo.Chunk{FinishReason: "length"}, false, true, ""},
		{"early stop", gen, exo.TaskOutcome{Status: exo.TaskComplete, Chunks: 2}, exo.Chunk{FinishReason: "stop"}, false, true,
			"complete: 2 tokens, finish_reason stop (--tokens 8 is a maximum: an early stop is legal)"},
		{"short without stop", gen, exo.TaskOutcome{Status: exo.TaskComplete, Chunks: 2}, exo.Chunk{FinishReason: "length"}, false, false,
			`complete with 2 tokens, want 8 (--tokens), or fewer only with finish_reason "stop"; the last chunk's finish_reason is length`},
		{"too many", gen, exo.TaskOutcome{Status: exo.TaskComplete, Chunks: 9}, exo.Chunk{}, false, false,
			"complete with 9 tokens, more than max_tokens 8 (--tokens)"},
		{"failed without reason", gen, exo.TaskOutcome{Status: exo.TaskFailed, Chunks: 1}, exo.Chunk{}, false, false,
			"Failed (no reason given) after 1 chunk, want Complete"},
		{"failed with an error chunk", gen, exo.TaskOutcome{Status: exo.TaskFailed, Reason: "runner died", Chunks: 1}, exo.Chunk{Error: "runner died"}, false, false,
			"Failed (runner died) after 0 tokens and an error chunk, want Complete"},
		{"failed", gen, exo.TaskOutcome{Status: exo.TaskFailed, Reason: "runner failed: GPU lost"}, exo.Chunk{}, false, false,
			"Failed (runner failed: GPU lost) after 0 chunks, want Complete"},
		{"noop complete", noop, exo.TaskOutcome{Status: exo.TaskComplete}, exo.Chunk{}, false, true, ""},
		{"cancelled", gen, exo.TaskOutcome{Status: exo.TaskCancelled, Chunks: 3}, exo.Chunk{}, true, true, ""},
		{"complete before the cancel", gen, exo.TaskOutcome{Status: exo.TaskComplete, Chunks: 8}, exo.Chunk{FinishReason: "length"}, true, true,
			"complete before the cancel reached it: 8 chunks, finish_reason length"},
		{"cancel ignored", gen, exo.TaskOutcome{Status: exo.TaskFailed, Reason: "x"}, exo.Chunk{}, true, false,
			"cancelled after 2 chunks, want Cancelled; got Failed (x)"},
	} {
		ok, text := checkTask(tc.r, tc.o, tc.last, tc.cancel)
		if ok != tc.ok || text != tc.text {
			t.Errorf("%s: %v %q\nwant %v %q", tc.name, ok, text, tc.ok, tc.text)
		}
	}
}

func TestRemoteRunFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--param", "novalue"}, `--param "novalue": want KEY=VALUE, e.g. --param temperature=0.7`},
		{[]string{"--param", "max_tokens=3"}, "--param max_tokens: set it with --tokens"},
		{[]string{"--cancel-after", "-1"}, "--cancel-after -1: want a number of chunks"},
		{[]string{"--task-kind", ""}, `--task-kind "": want a task kind the runner knows`},
		// The flag that is wrong is named (before: "--tasks and --tokens
		// must be at least 1" for either).
		{[]string{"--tasks", "-1"}, "--tasks -1: want at least 1 task"},
		{[]string{"--tokens", "0"}, "--tokens 0: want at least 1 token per task"},
	} {
		code, stderr := runCLI(t, append([]string{"remote", "--node", "127.0.0.1:1", "run", "--kind", "echo"}, tc.args...)...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestRemoteRunTaskFlags: --task-kind, --param, --payload, --show-tokens
// and --cancel-after against a node running the built-in runner.
func TestRemoteRunTaskFlags(t *testing.T) {
	cmd, out, _ := startNodeProcess(t, "flags-a")
	listen := listenAddr(t, out)
	run := func(args ...string) (string, error) {
		c := exec.Command(exoBinary(t), append([]string{"remote", "--node", listen, "--timeout", "60s", "run", "--kind", "echo", "--log-level", "warn"}, args...)...)
		b, err := testutil.CombinedOutputChild(c)
		return string(b), err
	}
	s, err := run("--tasks", "1", "--tokens", "3", "--show-tokens", "--param", "token_bytes=6", "--payload", "hello")
	if err != nil || !strings.Contains(s, `task-0000 on flags-a: Complete, 3 chunks: "tok0 .tok1 .tok2 ."`) {
		t.Errorf("--show-tokens --param: %v\n%s", err, s)
	}
	s, err = run("--tasks", "1", "--task-kind", "noop")
	if err != nil || !strings.Contains(s, "1 task passed the check") {
		t.Errorf("--task-kind noop: %v\n%s", err, s)
	}
	s, err = run("--tasks", "2", "--tokens", "100000", "--cancel-after", "2")
	if err != nil || !strings.Contains(s, "2 tasks passed the check") {
		t.Errorf("--cancel-after: %v\n%s", err, s)
	}
	s, err = run("--tasks", "1", "--task-kind", "nosuchkind")
	if err == nil || !strings.Contains(s, `FAILED task-0000 on flags-a: Failed (`) || !strings.Contains(s, "want Complete") {
		t.Errorf("an unknown task kind: %v\n%s", err, s)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
}

// TestRemoteRunFailureSummary: tasks and streams are counted apart. The
// trial printed "2 of 1 tasks or streams failed" for one failed task and
// its node's stream.
func TestRemoteRunFailureSummary(t *testing.T) {
	for _, tc := range []struct {
		tf, t, sf, s int
		want         string
	}{
		{1, 1, 1, 1, "1 of 1 tasks and 1 of 1 nodes' tasks streams failed"},
		{3, 30, 0, 3, "3 of 30 tasks failed"},
		{0, 30, 1, 3, "1 of 3 nodes' tasks streams failed"},
		{10, 30, 1, 3, "10 of 30 tasks and 1 of 3 nodes' tasks streams failed"},
	} {
		if got := failureSummary(tc.tf, tc.t, tc.sf, tc.s); got != tc.want {
			t.Errorf("%v: %q, want %q", tc, got, tc.want)
		}
	}
}

// TestRemoteRunKeepRunnersSaysKept: a run that ends normally with
// --keep-runners names the runner it kept and how to stop it (it said
// nothing; only an early end printed "kept ID (--keep-runners)").
func TestRemoteRunKeepRunnersSaysKept(t *testing.T) {
	node, addr := startListeningNode(t, "keep-a")
	stdout, stderr, code := runRemoteCmd(t, "--node", addr, "--timeout", "60s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1", "--keep-runners")
	_, rest, ok := strings.Cut(stdout, "node keep-a   spawned ")
	if code != ExitOK || !ok {
		t.Fatalf("run: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	id := strings.Fields(rest)[0]
	want := "node keep-a   kept " + id + " (--keep-runners): stop it with exo-actors remote stop --node " + addr + " " + id + "\n"
	if !strings.HasSuffix(stdout, want) {
		t.Errorf("stdout %q: want it to end with %q", stdout, want)
	}
	if stdout, stderr, code := runRemoteCmd(t, "stop", "--node", addr, "--timeout", "60s", id); code != ExitOK || !strings.Contains(stdout, "stopped "+id) {
		t.Errorf("the stop the line gives: exit %d, %q %q", code, stdout, stderr)
	}
	_ = node.Process.Signal(syscall.SIGTERM)
	_ = node.Wait()
}

// TestRemoteStatusColumnsAlign: the nodes' lines keep their columns
// whatever each node's kinds (a long list pushed the rest of its own line
// out of line: each line was padded alone); one short line is as the
// docs show it.
func TestRemoteStatusColumnsAlign(t *testing.T) {
	rows := []remoteNodeStatus{
		{st: exo.NodeStatus{Name: "node-a", Kinds: []string{"echo"}, Sessions: 1, Uptime: time.Second}, addr: "127.0.0.1:7101"},
		{st: exo.NodeStatus{Name: "node-b", Kinds: []string{"echo", "llama", "mistral", "slowload"}, Runners: 12, Sessions: 1, Uptime: time.Second},
			addr: "127.0.0.1:7102"},
	}
	var b bytes.Buffer
	printRemoteStatus(&b, rows[:1])
	if want := "node-a   127.0.0.1:7101   kinds echo           runners 0 (0 live)  sessions 1  subscriptions 0  open tasks 0  up 1s\n"; b.String() != want {
		t.Errorf("one node:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	printRemoteStatus(&b, rows)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	for _, col := range []string{"runners ", "sessions ", "subscriptions ", "up "} {
		if a, c := strings.Index(lines[0], col), strings.Index(lines[1], col); a != c {
			t.Errorf("column %q at %d and %d:\n%s", col, a, c, b.String())
		}
	}

	// Many kinds: the column is cut at whole names, with "…+N" for the
	// rest and the whole list on a line of its own; the columns stay
	// aligned (fmt pads by runes, and "…" is one).
	many := []string{"echo", "llama-3-1-8b-instruct", "mistral-7b", "qwen2.5-14b", "slowload"}
	rows = append(rows, remoteNodeStatus{st: exo.NodeStatus{Name: "node-c", Kinds: many, Uptime: time.Second}, addr: "127.0.0.1:7103"})
	b.Reset()
	printRemoteStatus(&b, rows)
	lines = strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4 (3 nodes, node-c's kinds):\n%s", len(lines), b.String())
	}
	if !strings.Contains(lines[2], "kinds echo,llama-3-1-8b-instruct,…+3 ") {
		t.Errorf("node-c's kinds column not cut at whole names:\n%s", lines[2])
	}
	if want := "node-c     kinds " + strings.Join(many, ","); lines[3] != want {
		t.Errorf("full kinds line:\n%q\nwant\n%q", lines[3], want)
	}
	for _, col := range []string{"runners ", "sessions ", "up "} {
		for i := 1; i < 3; i++ {
			if a, c := utf8.RuneCountInString(lines[0][:strings.Index(lines[0], col)]), utf8.RuneCountInString(lines[i][:strings.Index(lines[i], col)]); a != c {
				t.Errorf("column %q at %d and %d:\n%s", col, a, c, b.String())
			}
		}
	}
}

func TestKindsColumn(t *testing.T) {
	for _, tc := range []struct {
		kinds []string
		want  string
		cut   bool
	}{
		{nil, "", false},
		{[]string{"echo"}, "echo", false},
		{[]string{"a2345678901234567890123456789012"}, "a2345678901234567890123456789012", false}, // exactly 32
		// A first name too long on its own is cut short (before: "…+6",
		// naming none, a new user's trial).
		{[]string{"a23456789012345678901234567890123"}, "a234567890123456789012345678901…", true},
		{[]string{"deepseek-r1-distill-llama-70b-fp8-dyn", "echo", "llama-3-1-8b", "m1", "m2", "m3"}, "deepseek-r1-distill-llama-7…,…+5", true},
		{[]string{"a2345678901234567890", "b234567890", "c"}, "a2345678901234567890,…+2", true},
		{[]string{"k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12"}, "k1,k2,k3,k4,k5,k6,k7,k8,k9,…+3", true},
	} {
		got, cut := kindsColumn(tc.kinds)
		if got != tc.want || cut != tc.cut {
			t.Errorf("kindsColumn(%q) = %q, %v; want %q, %v", tc.kinds, got, cut, tc.want, tc.cut)
		}
		if n := utf8.RuneCountInString(got); n > kindsColumnWidth {
			t.Errorf("kindsColumn(%q) = %q: %d runes, over %d", tc.kinds, got, n, kindsColumnWidth)
		}
	}
}

func TestRemoteStatusNamesUnconfirmedSpawns(t *testing.T) {
	var b bytes.Buffer
	printRemoteStatus(&b, []remoteNodeStatus{{st: exo.NodeStatus{Name: "node-a", Kinds: []string{"echo"}, SpawnsUnconfirmed: 2, Uptime: time.Second}, addr: "127.0.0.1:7101"}})
	for _, want := range []string{"node-a     unconfirmed spawns 2 since the node started: ", `"may be known to nobody"`, "exo-actors remote stop --node 127.0.0.1:7101 RUNNER_ID"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	printRemoteStatus(&b, []remoteNodeStatus{{st: exo.NodeStatus{Name: "node-a", Kinds: []string{"echo"}, Uptime: time.Second}, addr: "127.0.0.1:7101"}})
	if strings.Contains(b.String(), "unconfirmed") {
		t.Errorf("a node with none names unconfirmed spawns:\n%s", b.String())
	}
}
