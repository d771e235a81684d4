package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// panicWait bounds a WaitReady that must return at once: well past any
// scheduling delay, well short of the test's ctx.
const panicWait = 10 * time.Second

// panicRunner makes runner id's actor panic as a bug would and waits for
// the RunnerFailed that announces it (after its status Failed): a
// WaitReady subscribed later does not get it.
func panicRunner(t *testing.T, ctx context.Context, sys *exo.System, id string) {
	t.Helper()
	sub, err := sys.Subscribe(exo.TopicRunnerStatus, exo.Filter{RunnerID: id}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if ok, err := sys.PanicRunnerForTest(ctx, id); err != nil || !ok {
		t.Fatalf("panic the runner: %v %v", ok, err)
	}
	ctx, cancel := context.WithTimeout(ctx, panicWait)
	defer cancel()
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for the panicked runner's RunnerFailed: %v", err)
		}
		if _, ok := e.Payload.(exo.RunnerFailed); ok {
			return
		}
	}
}

// TestWaitReadyAfterRunnerActorPanic: WaitReady on a runner whose actor
// panicked (a bug; the runner is retired, not restarted: the default
// actor-panic rule escalates) returns at once an error for which both
// ErrRunnerNotAvailable and ErrRunnerFailed hold, naming the panic. Before,
// a panic made no error-policy decision, and WaitReady, which waits for
// the decision on a failed runner, waited until its ctx ended ("stopped
// waiting for the error policy's decision: context deadline exceeded").
func TestWaitReadyAfterRunnerActorPanic(t *testing.T) {
	ctx := testCtx(t)
	sys := newSystem(t, config()) // the default error policy
	id, err := sys.SpawnRunner(ctx, fastRunner("panicky"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	panicRunner(t, ctx, sys, id)
	for i := range 2 {
		wctx, cancel := context.WithTimeout(ctx, panicWait)
		err := sys.WaitReady(wctx, id)
		cancel()
		if i == 0 {
			t.Logf("WaitReady after the panic: %v", err)
		}
		if !errors.Is(err, exo.ErrRunnerNotAvailable) || !errors.Is(err, exo.ErrRunnerFailed) || errors.Is(err, context.DeadlineExceeded) ||
			!strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "will not come back") {
			t.Errorf("WaitReady #%d after the panic = %v; want at once ErrRunnerNotAvailable and ErrRunnerFailed naming the panic", i+1, err)
		}
	}
}

// TestWaitReadyDuringRunnerActorPanic: a WaitReady waiting for a runner
// that is still loading returns the runner's failure when its actor
// panics: a *RunnerFailure of kind actor_panic. Before, the panic sent no
// RunnerFailed, and WaitReady waited until its ctx ended.
func TestWaitReadyDuringRunnerActorPanic(t *testing.T) {
	ctx := testCtx(t)
	sys := newSystem(t, config())
	id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "loading", Builtin: true, Args: []string{"--layers", "2", "--layer-delay", "1h"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1) // capacity 1: the one result; never closed
	wctx, cancel := context.WithTimeout(ctx, panicWait)
	defer cancel()
	go func() { done <- sys.WaitReady(wctx, id) }()
	panicRunner(t, ctx, sys, id)
	err = <-done
	var rf *exo.RunnerFailure
	if !errors.Is(err, exo.ErrRunnerFailed) || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("WaitReady during the panic = %v; want the runner's failure naming the panic", err)
	}
	if errors.As(err, &rf) && rf.Kind != exo.FailureActorPanic {
		t.Errorf("failure kind %s, want %s", rf.Kind, exo.FailureActorPanic)
	}
}

// TestWaitReadyAfterRunnerActorPanicRestarted: under a host's rule that
// restarts panicked runners, WaitReady after the panic waits for the
// restarted runner, as after any failure the policy retries, and returns
// nil once it is Ready again (generation 2).
func TestWaitReadyAfterRunnerActorPanicRestarted(t *testing.T) {
	ctx := testCtx(t)
	cfg := config()
	cfg.ErrorPolicy.Rules = []exo.Rule{{Name: "retry-panics", Kind: exo.FailureActorPanic, Severity: exo.SeverityHigh, Action: exo.ActionRetry}}
	cfg.ErrorPolicy.Backoff = exo.BackoffConfig{Base: exo.NoDelay}
	sys := newSystem(t, cfg)
	id, err := sys.SpawnRunner(ctx, fastRunner("panicky"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	panicRunner(t, ctx, sys, id)
	if err := sys.WaitReady(ctx, id); err != nil {
		t.Fatalf("WaitReady after a panic the policy retries = %v; want nil once restarted", err)
	}
	infos, err := sys.Runners(ctx)
	if err != nil || len(infos) != 1 || infos[0].Generation != 2 || (infos[0].Status != exo.StatusReady && infos[0].Status != exo.StatusRunning) {
		t.Fatalf("runners %+v %v; want generation 2 Ready", infos, err)
	}
}
