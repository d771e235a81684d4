package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// panicHolds are the runners whose panic runPanicNode holds: the runner
// actor stops in the event hook at its status Failed, before it hands the
// panic to its supervisor, so the runner is Failed and the error policy
// has not decided yet, until the client says "release".
type panicHolds struct {
	mu sync.Mutex
	m  map[string]*panicHold
}

type panicHold struct {
	held    chan struct{} // capacity 1: the hook holds the runner; never closed
	release chan struct{} // closed by release
	once    sync.Once
}

func (h *panicHold) free() {
	h.once.Do(func() { close(h.release) }) // sole sender: free, once
}

func (p *panicHolds) arm(id string) *panicHold {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := &panicHold{held: make(chan struct{}, 1), release: make(chan struct{})}
	p.m[id] = h
	return h
}

func (p *panicHolds) get(id string) *panicHold {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[id]
}

// hook holds the runner at its status Failed if a hold is armed for it.
func (p *panicHolds) hook(e exo.Event) {
	sc, ok := e.(exo.StatusChanged)
	if !ok || sc.To != exo.StatusFailed {
		return
	}
	if h := p.get(sc.RunnerID); h != nil {
		h.held <- struct{}{}
		<-h.release
	}
}

// runPanicNode is the helper process "panic-node": a System (built-in
// runner EXO_BUILTIN) served on 127.0.0.1 with kinds "echo" (Ready at
// once) and "loading" (never done loading), whose Client.InjectFault takes
// "panic" (the runner's actor panics as a bug would), "panic-held" (the
// same, held at its status Failed before the error policy decides;
// answered once held) and "release" (the hold ends).
func runPanicNode() int {
	exoBin = os.Getenv("EXO_BUILTIN")
	holds := &panicHolds{m: map[string]*panicHold{}}
	logger := quietLogger()
	logger.SetLevel(logrus.FatalLevel) // the panics' error lines are expected
	cfg := config()
	cfg.Hook, cfg.Logger = holds.hook, logger
	sys, err := exo.New(cfg)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	inject := func(ctx context.Context, id string, _ uint64, kind string) (string, error) {
		switch kind {
		case "release":
			if h := holds.get(id); h != nil {
				h.free()
			}
			return "released", nil
		case "panic", "panic-held":
		default:
			return "", fmt.Errorf("fault %q: this node injects panic, panic-held and release", kind)
		}
		var h *panicHold
		if kind == "panic-held" {
			h = holds.arm(id)
		}
		if ok, err := sys.PanicRunnerForTest(ctx, id); err != nil || !ok {
			return "", fmt.Errorf("panic runner %s: %v %v", id, ok, err)
		}
		if h == nil {
			return "panicked", nil
		}
		select {
		case <-h.held:
			return "held", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	srv, err := sys.Serve(exo.ServeConfig{Name: "panicky", Listen: "127.0.0.1:0", InjectFault: inject, Logger: logger,
		Kinds: map[string]exo.RemoteKind{
			"echo":    {Spec: fastRunner("echo")},
			"loading": {Spec: exo.RunnerSpec{Kind: "loading", Builtin: true, Args: []string{"--layers", "2", "--layer-delay", "1h"}}},
		}})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("listening", srv.Addr())
	select {} // until killed
}

// dialPanicNode starts a runPanicNode process and dials it.
func dialPanicNode(t *testing.T) (*exo.Client, context.Context) {
	t.Helper()
	h := startHelper(t, "panic-node", "EXO_BUILTIN="+exoBinary(t))
	l := h.line(t, 30*time.Second)
	addr, ok := strings.CutPrefix(l, "listening ")
	if !ok {
		t.Fatalf("panic node: %q", l)
	}
	ctx := remoteCtx(t, time.Minute)
	c, err := exo.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, ctx
}

// readyRemote spawns a runner of kind on the node and waits until it is
// Ready.
func readyRemote(t *testing.T, ctx context.Context, c *exo.Client, kind string) string {
	t.Helper()
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// wantWillNotComeBack checks WaitReady's error for a runner whose actor
// panicked and that the error policy does not restart.
func wantWillNotComeBack(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, exo.ErrRunnerNotAvailable) || !errors.Is(err, exo.ErrRunnerFailed) || errors.Is(err, context.DeadlineExceeded) ||
		!strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "will not come back") {
		t.Errorf("%s = %v; want ErrRunnerNotAvailable and ErrRunnerFailed naming the panic", what, err)
	}
	// The failure itself, as a WaitReady that saw it happen returns: the
	// node sends it in the runner's info (GwRunnerInfo.last_failure).
	// Before, a look after the decision had its text only.
	var rf *exo.RunnerFailure
	if !errors.As(err, &rf) || rf.Kind != exo.FailureActorPanic {
		t.Errorf("%s = %v; want errors.As to find the *RunnerFailure of the panic", what, err)
	}
}

// TestRemoteWaitReadyWaitsForTheDecision: Client.WaitReady has
// System.WaitReady's semantics. On a runner that failed (its actor
// panicked on the node) it waits for the node's error policy's decision,
// and for one that will not come back returns an error for which both
// ErrRunnerNotAvailable and ErrRunnerFailed hold, at once once decided.
// Before, it returned ErrRunnerFailed alone, "the error policy's decision
// is not known yet", when it looked before the decision (held here: the
// runner actor stops in the node's event hook at its status Failed, before
// its supervisor sees the panic) — and, before panics were decided, after
// a panic for good.
func TestRemoteWaitReadyWaitsForTheDecision(t *testing.T) {
	c, ctx := dialPanicNode(t)

	// Asked while the decision is held: it waits for the decision.
	held := readyRemote(t, ctx, c, "echo")
	if res, err := c.InjectFault(ctx, held, 1, "panic-held"); err != nil || res != "held" {
		t.Fatalf("panic-held: %q %v", res, err)
	}
	done := make(chan error, 1) // capacity 1: the one result; never closed
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	go func() { done <- c.WaitReady(wctx, held) }()
	select {
	case err := <-done:
		t.Fatalf("WaitReady returned before the error policy decided: %v", err)
	case <-time.After(time.Second): // it returns only once released: a negative check
	}
	if _, err := c.InjectFault(ctx, held, 1, "release"); err != nil {
		t.Fatal(err)
	}
	wantWillNotComeBack(t, "WaitReady asked before the decision", <-done)

	// Asked after the decision (and after the RunnerFailed, which a
	// WaitReady subscribed before it went out would return): at once,
	// every time.
	after := readyRemote(t, ctx, c, "echo")
	sub, err := c.Subscribe(exo.TopicErrors, exo.Filter{RunnerID: after, Kinds: []string{exo.KindSupervisionDecision}}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	failed, err := c.Subscribe(exo.TopicRunnerStatus, exo.Filter{RunnerID: after, Kinds: []string{exo.KindRunnerFailed}}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer failed.Close()
	if _, err := c.InjectFault(ctx, after, 1, "panic"); err != nil {
		t.Fatal(err)
	}
	if _, err := failed.Next(ctx); err != nil {
		t.Fatalf("no RunnerFailed for the panicked runner: %v", err)
	}
	if _, err := sub.Next(ctx); err != nil {
		t.Fatalf("no decision about the panicked runner: %v", err)
	}
	for i := range 2 {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := c.WaitReady(wctx, after)
		cancel()
		wantWillNotComeBack(t, fmt.Sprintf("WaitReady #%d after the decision", i+1), err)
	}

	// Waiting when the panic comes: the runner's failure.
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "loading"})
	if err != nil {
		t.Fatal(err)
	}
	status, err := c.Subscribe(exo.TopicRunnerStatus, exo.Filter{RunnerID: id}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer status.Close()
	go func() { done <- c.WaitReady(wctx, id) }()
	for loading := false; !loading; { // the runner is loading: WaitReady waits on
		e, err := status.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		sc, ok := e.Payload.(exo.StatusChanged)
		loading = ok && sc.To == exo.StatusLoading
	}
	if _, err := c.InjectFault(ctx, id, 1, "panic"); err != nil {
		t.Fatal(err)
	}
	err = <-done
	var rf *exo.RunnerFailure
	if !errors.Is(err, exo.ErrRunnerFailed) || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("WaitReady during the panic = %v; want the runner's failure naming the panic", err)
	}
	if errors.As(err, &rf) && rf.Kind != exo.FailureActorPanic {
		t.Errorf("failure kind %s, want %s", rf.Kind, exo.FailureActorPanic)
	}
}
