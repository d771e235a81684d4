package runtime_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// waitingCtx reports the first time its Done is asked for: WaitReady has
// looked at the runner and waits for its events (Subscription.Next asks
// for Done only when it has nothing to return).
type waitingCtx struct {
	context.Context
	once    sync.Once
	waiting chan struct{} // sole sender: the first Done, once
}

func (c *waitingCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) }) // sole sender: the first Done, once
	return c.Context.Done()
}

// TestWaitReadyEndsWithItsContext: WaitReady returns soon after its ctx
// ends, with an error wrapping ctx.Err(), even when the runner supervisor
// cannot answer the status it names in the error (here it is held inside
// the event hook, by its decision on another runner's crash);
// RequestTimeout (10 minutes here) does not bound it.
func TestWaitReadyEndsWithItsContext(t *testing.T) {
	ctx := testCtx(t)
	var held atomic.Value // the runner ID whose SupervisionDecision holds the supervisor
	held.Store("")
	entered := make(chan struct{}, 1) // never closed
	release := make(chan struct{})    // sole sender: the test's cleanup, once
	cfg := config()
	cfg.RequestTimeout = 10 * time.Minute
	cfg.Timeouts.Handshake = time.Minute
	cfg.Hook = func(e exo.Event) {
		if d, ok := e.(exo.SupervisionDecision); ok && d.RunnerID == held.Load() {
			entered <- struct{}{}
			<-release
		}
	}
	sys := newSystem(t, cfg)
	var wg sync.WaitGroup
	t.Cleanup(func() { close(release); wg.Wait() }) // sole sender: this cleanup; runs before the shutdown
	a, err := sys.SpawnRunner(ctx, fastRunner("a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitReady(ctx, a); err != nil {
		t.Fatal(err)
	}
	b, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "sleep", Command: "/bin/sleep", Args: []string{"60"}}) // never Ready
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wctx := &waitingCtx{Context: cctx, waiting: make(chan struct{})}
	res := make(chan error, 1) // never closed: one result
	wg.Add(1)
	go func() { defer wg.Done(); res <- sys.WaitReady(wctx, b) }()
	<-wctx.waiting
	held.Store(a)
	infos, err := sys.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.ID == a {
			_ = syscall.Kill(in.Pid, syscall.SIGKILL) // a crash: the supervisor decides, on its goroutine
		}
	}
	<-entered // the supervisor is in the hook: it answers nothing until released
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("WaitReady = %v, want an error wrapping context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("WaitReady still waiting 30s after its ctx ended (the supervisor busy)")
	}
}
