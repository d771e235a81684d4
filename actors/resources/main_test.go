package resources_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is one actor system with one resource manager, torn down (and checked
// for stray close goroutines) when the test ends.
type env struct {
	t       *testing.T
	system  *actor.ActorSystem
	manager *resources.Manager
	rc      *resources.Client

	mu       sync.Mutex
	failures []errhandler.Failure
	late     chan lateFinish // OnFinishedLate, buffered; never closed
	failed   atomic.Value    // the manager's own failure, if any (a bug)
}

type lateFinish struct {
	l   resources.Lingering
	err error
}

// logBuffer collects the manager's log; the test prints it if it fails.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// guardian is the test's stand-in for the node root: the manager must never
// fail, so any failure is recorded and fails the test.
type guardian struct{ e *env }

func (g guardian) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, _ interface{}) {
	g.e.failed.Store(fmt.Sprintf("%s failed: %v", child.Id, reason))
	sup.ResumeChildren(child)
}

// newEnv starts a manager on clk (nil: the real clock); tweak, if given,
// changes its Config.
func newEnv(t *testing.T, clk clock.Clock, tweak ...func(*resources.Config)) *env {
	t.Helper()
	e := &env{t: t, late: make(chan lateFinish, 16)}
	logs := &logBuffer{}
	logger := logrus.New()
	logger.SetOutput(logs)
	logger.SetLevel(logrus.DebugLevel)
	e.system = actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	cfg := resources.Config{
		Clock:  clk,
		Logger: logger,
		OnFailure: func(f errhandler.Failure) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.failures = append(e.failures, f)
		},
		OnFinishedLate: func(l resources.Lingering, err error) { e.late <- lateFinish{l, err} },
	}
	for _, f := range tweak {
		f(&cfg)
	}
	e.manager = resources.NewManager(cfg)
	rc, err := e.manager.Spawn(e.system.Root.Copy().WithGuardian(guardian{e}), "resources")
	if err != nil {
		t.Fatal(err)
	}
	e.rc = rc
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.manager.Wait(ctx); err != nil {
			t.Errorf("close goroutines left: %v", err)
		}
		if err := e.system.Root.StopFuture(e.rc.PID()).Wait(); err != nil {
			t.Errorf("stop manager: %v", err)
		}
		e.system.Shutdown()
		if f := e.failed.Load(); f != nil {
			t.Errorf("manager actor failed: %v", f)
		}
		if t.Failed() {
			t.Logf("manager log:\n%s", logs.String())
		}
	})
	return e
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *env) register(specs ...resources.Spec) {
	e.t.Helper()
	if err := e.rc.Register(e.ctx(), specs...); err != nil {
		e.t.Fatalf("register: %v", err)
	}
}

func (e *env) snapshot() resources.Snapshot {
	e.t.Helper()
	s, err := e.rc.Snapshot(e.ctx())
	if err != nil {
		e.t.Fatalf("snapshot: %v", err)
	}
	return s
}

func (e *env) reportedFailures() []errhandler.Failure {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.failures)
}

// closeAsync runs a cleanup on a goroutine the test owns and hands back its
// result; the test receives from the channel before it ends.
func (e *env) closeAsync(owner string) <-chan closeResult {
	ch := make(chan closeResult, 1)
	ctx := e.ctx()
	go func() {
		var r closeResult
		if owner == "" {
			r.report, r.err = e.rc.CloseAll(ctx)
		} else {
			r.report, r.err = e.rc.CloseOwner(ctx, owner)
		}
		ch <- r
	}()
	return ch
}

type closeResult struct {
	report resources.CloseReport
	err    error
}

// probe records the order in which close functions start and end, and how
// many run at once.
type probe struct {
	mu         sync.Mutex
	events     []string // "start x", "end x"
	running    int
	maxRunning int
	started    chan string // every start, buffered; never closed
}

func newProbe() *probe { return &probe{started: make(chan string, 64)} }

// close returns a Close function named name that runs work in between its
// start and end events (work may be nil).
func (p *probe) close(name string, work func(ctx context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		p.mu.Lock()
		p.events = append(p.events, "start "+name)
		p.running++
		p.maxRunning = max(p.maxRunning, p.running)
		p.mu.Unlock()
		p.started <- name
		defer func() { // also when work panics
			p.mu.Lock()
			p.events = append(p.events, "end "+name)
			p.running--
			p.mu.Unlock()
		}()
		if work != nil {
			return work(ctx)
		}
		return nil
	}
}

func (p *probe) log() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

func (p *probe) max() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxRunning
}

// checkOrder fails the test unless, for every resource and each of its
// dependencies, the resource's close ended before the dependency's started.
func checkOrder(t *testing.T, events []string, deps map[string][]string) {
	t.Helper()
	at := func(ev string) int {
		i := slices.Index(events, ev)
		if i < 0 {
			t.Fatalf("no %q in %v", ev, events)
		}
		return i
	}
	for name, ds := range deps {
		for _, d := range ds {
			if at("end "+name) > at("start "+d) {
				t.Errorf("%s started closing before its dependent %s ended: %s", d, name, strings.Join(events, ", "))
			}
		}
	}
}

// blocker is a close workload that blocks until the test releases it,
// ignoring its context (a stuck close).
type blocker struct {
	release chan struct{} // sole sender: the test, via open
}

func newBlocker() *blocker { return &blocker{release: make(chan struct{})} }

func (b *blocker) wait(context.Context) error {
	<-b.release
	return nil
}

func (b *blocker) open() {
	close(b.release) // sole sender: the test, once
}

func nop(context.Context) error { return nil }

var t0 = time.Date(2025, 9, 9, 12, 0, 0, 0, time.UTC)
