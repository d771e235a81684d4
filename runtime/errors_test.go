package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestErrorTexts drives every error the API returns, from bad specs to
// runner failures, and checks each text: one line, no clause said twice,
// no empty parenthesis, and it names the thing it is about.
func TestErrorTexts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := config()
	cfg.Timeouts.HeartbeatTimeout = 500 * time.Millisecond
	cfg.Timeouts.Handshake = 500 * time.Millisecond
	cfg.ErrorPolicy.Rules = []exo.Rule{{Name: "tests-never-restart", Severity: exo.SeverityHigh, Action: exo.ActionEscalate, Reason: "error texts test"}}
	sys, err := exo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Shutdown(context.Background())

	dir := t.TempDir()
	notExec := filepath.Join(dir, "runner.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spawnErr := func(spec exo.RunnerSpec) error {
		_, err := sys.SpawnRunner(ctx, spec)
		return err
	}
	ready, err := sys.SpawnRunner(ctx, fastRunner("ok"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitReady(ctx, ready); err != nil {
		t.Fatal(err)
	}
	stopped, _ := sys.SpawnRunner(ctx, fastRunner("stopped"))
	if _, err := sys.StopRunner(ctx, stopped); err != nil {
		t.Fatal(err)
	}
	submitErr := func(runner string, task exo.Task) error {
		_, err := sys.Submit(ctx, runner, task)
		return err
	}
	cancelErr := func(runner, task string) error {
		_, err := sys.Cancel(ctx, runner, task)
		return err
	}
	subErr := func(topic string, f exo.Filter, o exo.SubscribeOptions) error {
		sub, err := sys.Subscribe(topic, f, o)
		if err == nil {
			sub.Close()
		}
		return err
	}
	waitErr := func(spec exo.RunnerSpec) error {
		id, err := sys.SpawnRunner(ctx, spec)
		if err != nil {
			return err
		}
		return sys.WaitReady(ctx, id)
	}
	// WaitReady's first call may see the failure happen or look after the
	// policy decided (these runners fail within milliseconds): asked
	// again, it always looks after, and the text must pass the same checks.
	waitAgainErr := func(spec exo.RunnerSpec) error {
		id, err := sys.SpawnRunner(ctx, spec)
		if err != nil {
			return err
		}
		_ = sys.WaitReady(ctx, id)
		return sys.WaitReady(ctx, id)
	}
	failedAfterReady := func(spec exo.RunnerSpec) error {
		id, err := sys.SpawnRunner(ctx, spec)
		if err != nil {
			return err
		}
		sub, err := sys.Subscribe(exo.TopicRunnerStatus, exo.Filter{RunnerID: id, Kinds: []string{exo.KindRunnerFailed}}, exo.SubscribeOptions{})
		if err != nil {
			return err
		}
		defer sub.Close()
		ev, err := sub.Next(ctx)
		if err != nil {
			return err
		}
		return ev.Payload.(exo.RunnerFailed).Failure
	}
	noop := exo.Task{ID: "t1", Kind: "noop"}
	cycleA := exo.ResourceSpec{Name: "a", DependsOn: []string{"b"}, Close: func(context.Context) error { return nil }}
	cycleB := exo.ResourceSpec{Name: "b", DependsOn: []string{"a"}, Close: func(context.Context) error { return nil }}
	dup := exo.ResourceSpec{Name: "dup", Close: func(context.Context) error { return nil }}
	if err := sys.RegisterResources(ctx, dup); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name  string
		err   error
		is    error
		names string // what the text must name
	}{
		{"empty spec", spawnErr(exo.RunnerSpec{}), exo.ErrInvalidSpec, `kind ""`},
		{"both builtin and command", spawnErr(exo.RunnerSpec{Kind: "x", Builtin: true, Command: "/bin/true"}), exo.ErrInvalidSpec, `"/bin/true"`},
		{"bad env", spawnErr(exo.RunnerSpec{Kind: "x", Builtin: true, Env: []string{"NOEQUALS"}}), exo.ErrInvalidSpec, `"NOEQUALS"`},
		{"missing command", spawnErr(exo.RunnerSpec{Kind: "x", Command: "/nonexistent/runner"}), exo.ErrInvalidSpec, `"/nonexistent/runner"`},
		{"command not in PATH", spawnErr(exo.RunnerSpec{Kind: "x", Command: "no-such-runner-anywhere"}), exo.ErrInvalidSpec, `"no-such-runner-anywhere"`},
		{"command not executable", spawnErr(exo.RunnerSpec{Kind: "x", Command: notExec}), exo.ErrInvalidSpec, notExec},
		{"command is a directory", spawnErr(exo.RunnerSpec{Kind: "x", Command: dir}), exo.ErrInvalidSpec, dir},
		{"dir does not exist", spawnErr(exo.RunnerSpec{Kind: "x", Command: "sh", Dir: "/no/such/dir"}), exo.ErrInvalidSpec, `working directory "/no/such/dir" (RunnerSpec.Dir) does not exist`},
		{"submit to unknown runner", submitErr("nosuch-000000", noop), exo.ErrUnknownRunner, "nosuch-000000"},
		{"submit without ID", submitErr(ready, exo.Task{Kind: "noop"}), exo.ErrInvalidTask, "empty ID"},
		{"submit without kind", submitErr(ready, exo.Task{ID: "t2"}), exo.ErrInvalidTask, `"t2"`},
		{"submit negative timeout", submitErr(ready, exo.Task{ID: "t3", Kind: "noop", Timeout: -time.Second}), exo.ErrInvalidTask, `"t3"`},
		{"submit to stopped runner", submitErr(stopped, noop), exo.ErrRunnerNotAvailable, stopped},
		{"cancel unknown task", cancelErr(ready, "nosuch"), exo.ErrTaskNotFound, `"nosuch"`},
		{"cancel on unknown runner", cancelErr("nosuch-000000", "t"), exo.ErrUnknownRunner, "nosuch-000000"},
		{"stop unknown runner", func() error { _, err := sys.StopRunner(ctx, "nosuch-000000"); return err }(), exo.ErrUnknownRunner, "nosuch-000000"},
		{"wait for unknown runner", sys.WaitReady(ctx, "nosuch-000000"), exo.ErrUnknownRunner, "nosuch-000000"},
		{"wait for stopped runner", sys.WaitReady(ctx, stopped), exo.ErrRunnerNotAvailable, stopped},
		{"subscribe unknown topic", subErr("nosuch", exo.Filter{}, exo.SubscribeOptions{}), exo.ErrUnknownTopic, `"nosuch"`},
		{"subscribe to a kind of another topic", subErr(exo.TopicRunnerStatus, exo.Filter{Kinds: []string{exo.KindTaskChunk}}, exo.SubscribeOptions{}),
			exo.ErrInvalidRequest, `filter kind "task_chunk" comes on topic "tasks", never on "runner-status"`},
		{"subscribe to no kind at all", subErr(exo.TopicTasks, exo.Filter{Kinds: []string{"chunk"}}, exo.SubscribeOptions{}),
			exo.ErrInvalidRequest, `filter kind "chunk": no event has that kind; topic "tasks" carries task_status, task_acknowledged, task_chunk, task_retried`},
		{"subscribe with a negative buffer", subErr(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: -1}), exo.ErrInvalidRequest, "Buffer -1"},
		{"resource cycle", sys.RegisterResources(ctx, cycleA, cycleB), exo.ErrDependencyCycle, "a → b → a"},
		{"resource missing dependency", sys.RegisterResources(ctx, exo.ResourceSpec{Name: "c", DependsOn: []string{"zz"}, Close: cycleA.Close}), exo.ErrMissingDependency, `"zz"`},
		{"resource duplicate", sys.RegisterResources(ctx, dup), exo.ErrDuplicateResource, `"dup"`},
		{"resource without Close", sys.RegisterResources(ctx, exo.ResourceSpec{Name: "noclose"}), exo.ErrInvalidResource, `"noclose"`},
		{"runner crashes while loading", waitErr(fastRunner("crash", "--fault", "crash-loading:1")), exo.ErrRunnerFailed, "crash-"},
		{"command is not a runner", waitErr(exo.RunnerSpec{Kind: "echo", Command: "/bin/echo", Args: []string{"hello, I am no runner"}}), exo.ErrRunnerFailed, "echo-"},
		{"command never says Hello", waitErr(exo.RunnerSpec{Kind: "sleep", Command: "/bin/sleep", Args: []string{"30"}}), exo.ErrRunnerFailed, `"/bin/sleep"`},
		{"runner crashed while loading, asked again", waitAgainErr(fastRunner("crash", "--fault", "crash-loading:1")), exo.ErrRunnerNotAvailable, "exitcode=1"},
		{"command was not a runner, asked again", waitAgainErr(exo.RunnerSpec{Kind: "echo", Command: "/bin/echo", Args: []string{"hello, I am no runner"}}), exo.ErrRunnerNotAvailable, "RunnerSpec.Command and Args"},
		{"command never said Hello, asked again", waitAgainErr(exo.RunnerSpec{Kind: "sleep", Command: "/bin/sleep", Args: []string{"30"}}), exo.ErrRunnerNotAvailable, `"/bin/sleep"`},
		{"runner hangs", failedAfterReady(fastRunner("hang", "--fault", "hang")), exo.ErrRunnerFailed, "hang-"},
		{"runner writes garbage", failedAfterReady(fastRunner("garbage", "--fault", "garbage")), exo.ErrRunnerFailed, "garbage-"},
		{"runner exits", failedAfterReady(fastRunner("exit", "--fault", "exit:3")), exo.ErrRunnerFailed, "exitcode=3"},
		{"runner killed", failedAfterReady(fastRunner("signal", "--fault", "signal:SEGV")), exo.ErrRunnerFailed, "signal=11"},
		{"runner terminates", failedAfterReady(fastRunner("term", "--fault", "termination:model file missing")), exo.ErrRunnerFailed, "model file missing"},
		// The version mismatch as the runner actor reports it (no runner
		// here speaks another protocol version).
		{"version mismatch", &exo.RunnerFailure{Failure: exo.Failure{Kind: exo.FailureVersionMismatch, Component: "runner",
			Operation: string(exo.SourceHandshake), RunnerID: "llama-4f9c2a", Generation: 1,
			Message: "protocol versions do not overlap: runner speaks [2, 3], supervisor speaks [1, 1]; upgrade the older side",
			Cause:   errors.New("protocol versions do not overlap: runner speaks [2, 3], supervisor speaks [1, 1]; upgrade the older side")},
			Source: exo.SourceHandshake, Exit: &exo.ExitStatus{Code: 1}}, exo.ErrRunnerFailed, "[2, 3]"},
		{"hang killed by the supervisor", &exo.RunnerFailure{Failure: exo.Failure{Kind: exo.FailureHang, Component: "runner",
			Operation: string(exo.SourceHeartbeat), RunnerID: "llama-4f9c2a", Generation: 1, Signal: syscall.SIGKILL, ExitCode: -1,
			Message: "runner hangs: no heartbeat for 5.1s (limit 5s)"}, Source: exo.SourceHeartbeat,
			Exit: &exo.ExitStatus{Code: -1, Signal: syscall.SIGKILL}, Cleaned: []string{"SIGKILL to process group 4242"}}, exo.ErrRunnerFailed, "llama-4f9c2a"},
	}
	if _, err := sys.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cases = append(cases,
		struct {
			name  string
			err   error
			is    error
			names string
		}{"spawn after shutdown", spawnErr(fastRunner("late")), exo.ErrStopped, "shut down"},
		struct {
			name  string
			err   error
			is    error
			names string
		}{"spawn of a bad spec after shutdown", spawnErr(exo.RunnerSpec{Kind: "echo"}), exo.ErrStopped, "shut down"}, // a trial got ErrInvalidSpec
		struct {
			name  string
			err   error
			is    error
			names string
		}{"submit after shutdown", submitErr(ready, noop), exo.ErrStopped, "shut down"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Fatal("no error")
			}
			msg := tc.err.Error()
			t.Logf("%s", msg)
			if tc.is != nil && !errors.Is(tc.err, tc.is) {
				t.Errorf("errors.Is(%v) is false", tc.is)
			}
			for _, p := range textProblems(msg) {
				t.Errorf("%s: %q", p, msg)
			}
			if !strings.Contains(msg, tc.names) {
				t.Errorf("does not name %q: %q", tc.names, msg)
			}
		})
	}
}

var emptyParen = regexp.MustCompile(`\(\s*\)|:\s*\)|\(\s*:`)

// textProblems lists what is wrong with an error text: more than one line,
// an empty parenthesis, a clause said twice.
func textProblems(msg string) []string {
	var out []string
	if strings.ContainsAny(msg, "\n\r") {
		out = append(out, "more than one line")
	}
	if emptyParen.MatchString(msg) {
		out = append(out, "empty parenthesis")
	}
	clauses := regexp.MustCompile(`: |; | \(|\)`).Split(msg, -1)
	for i, a := range clauses {
		a = strings.ToLower(strings.TrimSpace(a))
		if len(strings.Fields(a)) < 2 {
			continue
		}
		for _, b := range clauses[i+1:] {
			b = strings.ToLower(strings.TrimSpace(b))
			if len(strings.Fields(b)) >= 2 && (strings.Contains(a, b) || strings.Contains(b, a)) {
				out = append(out, "clause said twice ("+b+")")
			}
		}
	}
	return out
}

// TestTextProblems: the checker catches what the old texts did.
func TestTextProblems(t *testing.T) {
	for _, msg := range []string{
		"runner cannot take tasks: runner llama-4f9c2a is not running (last error: )",
		"invalid runner spec: kind \"\": want 1-40 lowercase letters\nno Command: set Command",
		"runner x gen 1: handshake: protocol version mismatch: protocol versions do not overlap: runner speaks [2, 3]; upgrade the older side: protocol versions do not overlap: runner speaks [2, 3]; upgrade the older side",
		"runner x gen 1: heartbeat: no heartbeat: signal=9 (killed): runner hangs: no heartbeat for 5.1s (limit 5s)",
	} {
		if len(textProblems(msg)) == 0 {
			t.Errorf("no problem found in %q", msg)
		}
	}
}
