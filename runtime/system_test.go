package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

func newSystem(t *testing.T, cfg exo.Config) *exo.System {
	t.Helper()
	sys, err := exo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := sys.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return sys
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestWaitReadyReturnsTheFailure: a runner that dies while loading makes
// WaitReady return its *RunnerFailure, whether WaitReady sees it fail or
// looks after the policy decided (the runner fails within milliseconds, so
// the first call may take either way; the calls after it always look
// after). Before, the look after said a text only, and errors.As found
// nothing: the first call failed when the test was not run before the
// runner failed.
func TestWaitReadyReturnsTheFailure(t *testing.T) {
	ctx := testCtx(t)
	cfg := config()
	cfg.ErrorPolicy.Rules = []exo.Rule{{Name: "no-restart", Severity: exo.SeverityHigh, Action: exo.ActionEscalate}}
	sys := newSystem(t, cfg)
	id, err := sys.SpawnRunner(ctx, fastRunner("crash", "--fault", "crash-loading:1"))
	if err != nil {
		t.Fatal(err)
	}
	checkFailure := func(which string, err error) {
		t.Helper()
		var rf *exo.RunnerFailure
		if !errors.Is(err, exo.ErrRunnerFailed) || !errors.As(err, &rf) {
			t.Fatalf("WaitReady %s = %v, want a *RunnerFailure", which, err)
		}
		if rf.RunnerID != id || rf.Kind != exo.FailureExitNonZero || rf.Exit == nil || rf.Exit.Code != 1 || rf.Exit.Lifetime <= 0 {
			t.Errorf("WaitReady %s: failure %+v", which, rf)
		}
		if d := rf.Diagnostics(); !strings.Contains(d, "uptime: ") || !strings.Contains(d, "(process start to exit)") {
			t.Errorf("WaitReady %s: diagnostics:\n%s", which, d)
		}
	}
	checkFailure("#1", sys.WaitReady(ctx, id))
	// Asked again, right after: the runner will not come back (the policy
	// escalates), and WaitReady says so with ErrRunnerNotAvailable, the
	// documented "give up" (host-guide.md), once the policy has decided.
	// Before, it returned ErrRunnerFailed alone, every time, so a host
	// following the documented "call WaitReady again" spun for good.
	for i := range 3 {
		err := sys.WaitReady(ctx, id)
		if !errors.Is(err, exo.ErrRunnerNotAvailable) || !errors.Is(err, exo.ErrRunnerFailed) ||
			!strings.Contains(err.Error(), "will not come back") || !strings.Contains(err.Error(), "ESCALATE") {
			t.Errorf("WaitReady #%d after the failure = %v; want ErrRunnerNotAvailable and ErrRunnerFailed, naming the decision", i+2, err)
		}
		checkFailure(fmt.Sprintf("#%d", i+2), err)
	}
}

// TestWaitReadyHonoursContext: a runner that never says Hello keeps
// WaitReady waiting until ctx ends; the error names the runner's status.
func TestWaitReadyHonoursContext(t *testing.T) {
	ctx := testCtx(t)
	cfg := config()
	cfg.Timeouts.Handshake = time.Minute
	sys := newSystem(t, cfg)
	id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "sleep", Command: "/bin/sleep", Args: []string{"60"}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = sys.WaitReady(wctx, id)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "Idle") {
		t.Errorf("WaitReady = %v", err)
	}
}

// TestHookSeesValuesInExoOrder: the hook gets events as values, and a
// task's events come in exo's order: Pending, Running, the runner's
// Running status, TaskAcknowledged, chunks, Complete.
func TestHookSeesValuesInExoOrder(t *testing.T) {
	ctx := testCtx(t)
	var mu sync.Mutex
	var seen []string
	cfg := config()
	cfg.Hook = func(ev exo.Event) {
		var s string
		switch e := ev.(type) {
		case exo.TaskStatusChanged:
			s = "task " + e.Status.String()
		case exo.TaskAcknowledged:
			s = "ack " + e.TaskID
		case exo.TaskChunk:
			s = "chunk " + e.Chunk.Text
		case exo.StatusChanged:
			if e.To == exo.StatusRunning || e.To == exo.StatusReady {
				s = "runner " + e.To.String()
			}
		}
		if s != "" {
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
		}
	}
	sys := newSystem(t, cfg)
	id, _ := sys.SpawnRunner(ctx, fastRunner("llama"))
	if err := sys.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	h, err := sys.Submit(ctx, id, exo.Task{ID: "t1", Kind: "text_generation", Params: map[string]string{"max_tokens": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := h.Wait(ctx); err != nil || out.Status != exo.TaskComplete {
		t.Fatalf("outcome %+v %v", out, err)
	}
	// The hook ran for the terminal status before the handle ended; the
	// runner's Ready that follows may come later and is not compared.
	mu.Lock()
	got := strings.Join(seen, ", ")
	mu.Unlock()
	got, _, _ = strings.Cut(got+", ", "task Complete, ")
	got += "task Complete"
	want := "runner Ready, task Pending, task Running, runner Running, ack t1, chunk tok0 , chunk tok1 , task Complete"
	if got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
}

// systemStreaming starts a System of cfg (the test shuts it down) with one
// runner of spec streaming a task of 1,000,000 tokens, its first chunk
// already out.
func systemStreaming(t *testing.T, cfg exo.Config, spec exo.RunnerSpec) (*exo.System, string) {
	t.Helper()
	ctx := testCtx(t)
	sys, err := exo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	id, err := sys.SpawnRunner(ctx, spec)
	if err == nil {
		err = sys.WaitReady(ctx, id)
	}
	if err != nil {
		t.Fatal(err)
	}
	h, err := sys.Submit(ctx, id, exo.Task{ID: "long", Kind: "text_generation", Params: map[string]string{"max_tokens": "1000000"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	return sys, id
}

// TestShutdownReportSummarises: a runner forced in CLOSING makes its
// parents' CLOSING forced too, but only the runner is listed as forced;
// streams with nothing to flush are ok even when DRAINING ran late.
func TestShutdownReportSummarises(t *testing.T) {
	ctx := testCtx(t)
	cfg := config()
	cfg.Shutdown = exo.ShutdownDeadlines{Signaling: time.Second, Draining: 300 * time.Millisecond, Closing: 5 * time.Second}
	sys, id := systemStreaming(t, cfg, fastRunner("stubborn", "--fault", "ignore-shutdown:forever"))
	rep, _ := sys.Shutdown(ctx)
	outcome := func(path ...string) exo.Outcome {
		r := rep.Root
		for _, p := range path[:len(path)-1] {
			var next *exo.ActorReport
			for _, c := range r.Children {
				if c.Name == p {
					next = c
				}
			}
			if next == nil {
				t.Fatalf("no %q in the report:\n%s", p, rep)
			}
			r = next
		}
		ph := map[string]exo.Phase{"DRAINING": exo.PhaseDraining, "CLOSING": exo.PhaseClosing}[path[len(path)-1]]
		return r.Phases[ph].Outcome
	}
	for _, c := range []struct {
		path []string
		want exo.Outcome
	}{
		{[]string{"runners", id, "DRAINING"}, exo.OutcomeTimedOut},
		{[]string{"runners", "DRAINING"}, exo.OutcomeTimedOut},
		{[]string{"DRAINING"}, exo.OutcomeTimedOut},
		{[]string{"streams", "tasks", "DRAINING"}, exo.OutcomeOK},
		{[]string{"streams", "DRAINING"}, exo.OutcomeOK},
		{[]string{"runners", id, "CLOSING"}, exo.OutcomeForced},
		{[]string{"runners", "CLOSING"}, exo.OutcomeForced},
		{[]string{"CLOSING"}, exo.OutcomeForced},
	} {
		if got := outcome(c.path...); got != c.want {
			t.Errorf("%s: %s, want %s\n%s", strings.Join(c.path, "/"), got, c.want, rep)
		}
	}
	if len(rep.Forced) != 1 || !strings.Contains(rep.Forced[0], id) {
		t.Errorf("forced %v, want only the runner", rep.Forced)
	}
	if rep.Clean() {
		t.Errorf("Clean() = true for a shutdown that timed out and forced a runner:\n%s", rep)
	}
}

// TestShutdownReportClean: a shutdown whose DRAINING deadline cut a task
// short returns no error, and its report says it was not clean; an idle
// System's is. A host trial's main, written from host-guide.md, exited 0
// after "DRAINING timed out 5s (1 cut short)": it checked only the error
// and Forced.
func TestShutdownReportClean(t *testing.T) {
	ctx := testCtx(t)
	cfg := config()
	cfg.Shutdown = exo.ShutdownDeadlines{Draining: 100 * time.Millisecond}
	sys, _ := systemStreaming(t, cfg, fastRunner("long"))
	rep, err := sys.Shutdown(ctx)
	if err != nil || rep.Clean() || rep.Root.Phases[exo.PhaseDraining].TasksFailed != 1 {
		t.Errorf("Shutdown with a task cut short: err %v, Clean %v; want nil, false and 1 task cut short\n%s", err, rep.Clean(), rep)
	}
	idle := newSystem(t, config())
	if rep, err := idle.Shutdown(ctx); err != nil || !rep.Clean() {
		t.Errorf("idle Shutdown: err %v, Clean %v; want nil, true\n%s", err, rep.Clean(), rep)
	}
}

// TestWaitReadyAfterShutdownIsErrStopped: WaitReady on a stopped System
// answers ErrStopped, whose text says to start a new one. Before, it said
// "runner X is Shutdown; spawn a new runner" (ErrRunnerNotAvailable),
// which a stopped System cannot do (a new user's trial).
func TestWaitReadyAfterShutdownIsErrStopped(t *testing.T) {
	sys := newSystem(t, config())
	ctx := testCtx(t)
	id, err := sys.SpawnRunner(ctx, fastRunner("llama"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitReady(ctx, id); !errors.Is(err, exo.ErrStopped) || !strings.Contains(err.Error(), "start a new one") {
		t.Errorf("WaitReady after Shutdown: %v; want ErrStopped saying what to do", err)
	}
}
