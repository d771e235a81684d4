package actors_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// drain reads a subscription to its end and checks the order: sequence
// numbers strictly increase and every jump is explained by a Gap event just
// before it; the end is an EndOfStream (io.EOF).
type drained struct {
	events []streams.Event
	gaps   uint64
	err    error
}

func drainSub(sub *streams.Subscription, limit time.Duration) drained {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var d drained
	var last, gapTo uint64
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				d.err = fmt.Errorf("subscription ended with %v, want EndOfStream", err)
			}
			return d
		}
		if ev.IsGap() {
			d.gaps += ev.Gap.Dropped
			gapTo = ev.Gap.ToSeq
			continue
		}
		if last != 0 && ev.Seq != last+1 && gapTo < ev.Seq-1 {
			d.err = fmt.Errorf("sequence jumps from %d to %d without a Gap", last, ev.Seq)
			return d
		}
		if ev.Seq <= last {
			d.err = fmt.Errorf("sequence %d after %d", ev.Seq, last)
			return d
		}
		last = ev.Seq
		d.events = append(d.events, ev)
	}
}

func TestSubscriptionSeesRunnerLifeThenEndOfStream(t *testing.T) {
	n := startNode(t)
	status, err := n.Subscribe(actors.TopicRunnerStatus, streams.Filter{}, streams.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tasks, _ := n.Subscribe(actors.TopicTasks, streams.Filter{Kinds: []string{"task_chunk"}}, streams.SubscribeOptions{})
	if _, err := n.Subscribe("nope", streams.Filter{}, streams.SubscribeOptions{}); err == nil || !strings.Contains(err.Error(), "runner-status") {
		t.Errorf("unknown topic: %v", err)
	}
	var got [2]drained
	var wg sync.WaitGroup
	for i, s := range []*streams.Subscription{status, tasks} {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = drainSub(s, 30*time.Second) }()
	}
	id := readyRunner(t, n)
	wait(t, mustSubmit(t, n, id, textTask("t", 7)))
	rep, err := n.Shutdown(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, d := range got {
		if d.err != nil {
			t.Errorf("subscription %d: %v", i, d.err)
		}
	}
	var kinds []string
	for _, ev := range got[0].events {
		if sc, ok := ev.Payload.(*actors.StatusChanged); ok {
			kinds = append(kinds, sc.To.GetKind().String())
		}
	}
	if len(kinds) == 0 || !strings.HasSuffix(kinds[len(kinds)-1], "SHUTDOWN") {
		t.Errorf("status events %v: want the runner's whole life up to Shutdown", kinds)
	}
	if len(got[1].events) != 7 {
		t.Errorf("%d chunk events, want 7", len(got[1].events))
	}
	for topic, st := range n.StreamStats() {
		if err := st.Check(); err != nil {
			t.Errorf("stream %s accounting: %v", topic, err)
		}
	}
	// The report shows the streams stage, after runners and resources.
	names := []string{}
	for _, c := range rep.Root.Children {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "runners,resources,streams" {
		t.Errorf("report stages %v", names)
	}
}

func TestRunnerResourcesRegisteredClosedAndReregistered(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	ctx := ctxT(t)
	id := readyRunner(t, n)
	owned := func() []resources.ResourceInfo {
		snap, err := n.Resources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []resources.ResourceInfo
		for _, r := range snap.Resources {
			if r.Owner == id {
				out = append(out, r)
			}
		}
		return out
	}
	if rs := owned(); len(rs) != 2 || rs[0].Generation != 1 {
		t.Fatalf("after start: %+v", rs)
	}
	// Crash → restart: the new generation registers its own.
	_ = syscall.Kill(pidOf(n.rec.snapshot(), id, 1), syscall.SIGKILL)
	evs := n.rec.waitFor(t, 20*time.Second, "decision", nDecisions(id, 1))
	advanceRestart(t, fc, decisions(evs, id)[0].Record.Delay)
	n.rec.waitFor(t, 20*time.Second, "Ready again", func(evs []actors.Event) bool {
		for _, e := range evs {
			if s, ok := e.(*actors.StatusChanged); ok && s.RunnerID == id && s.Generation == 2 && s.To.GetKind() == ready {
				return true
			}
		}
		return false
	})
	var gens []uint64
	for _, r := range owned() {
		gens = append(gens, r.Generation)
	}
	if len(gens) != 2 || gens[0] != 2 || gens[1] != 2 {
		t.Errorf("after restart: generations %v, want only generation 2's two resources", gens)
	}
	// Stop closes them — the process before its pipes — before it answers.
	res, err := n.StopRunner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rs := owned(); len(rs) != 0 {
		t.Errorf("after stop: %+v", rs)
	}
	if res.Resources == nil || len(res.Resources.Order) < 2 {
		t.Fatalf("stop result lacks the resource close report: %+v", res.Resources)
	}
	order := strings.Join(res.Resources.Order, " ")
	if !strings.Contains(order, "g2/process g2/pipes") && !(strings.Index(order, "g2/process") < strings.Index(order, "g2/pipes")) {
		t.Errorf("close order %q: the process must close before the pipes it depends on", order)
	}
}

func TestShutdownClosesResourcesInReverseDependencyOrder(t *testing.T) {
	n := startNode(t)
	readyRunner(t, n)
	var mu sync.Mutex
	var closed []string
	closer := func(name string) func(context.Context) error {
		return func(context.Context) error {
			mu.Lock()
			closed = append(closed, name)
			mu.Unlock()
			return nil
		}
	}
	// listener ← cache ← api, and a diamond: api also ← metrics ← listener.
	err := n.RegisterResources(ctxT(t),
		resources.Spec{Name: "listener", Kind: "listener", Close: closer("listener")},
		resources.Spec{Name: "cache", Kind: "tmpdir", DependsOn: []string{"listener"}, Close: closer("cache")},
		resources.Spec{Name: "metrics", Kind: "host", DependsOn: []string{"listener"}, Close: closer("metrics")},
		resources.Spec{Name: "api", Kind: "host", DependsOn: []string{"cache", "metrics"}, Close: closer("api")},
	)
	if err != nil {
		t.Fatal(err)
	}
	err = n.RegisterResources(ctxT(t), resources.Spec{Name: "a", DependsOn: []string{"b"}, Close: closer("a")},
		resources.Spec{Name: "b", DependsOn: []string{"a"}, Close: closer("b")})
	if err == nil || !strings.Contains(err.Error(), "a → b → a") && !strings.Contains(err.Error(), "b → a → b") {
		t.Errorf("cycle: %v", err)
	}
	rep, err := n.Shutdown(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, name := range closed {
		pos[name] = i
	}
	if len(closed) != 4 || pos["api"] > pos["cache"] || pos["api"] > pos["metrics"] || pos["cache"] > pos["listener"] || pos["metrics"] > pos["listener"] {
		t.Errorf("close order %v: dependents must close before what they depend on", closed)
	}
	var res *actors.ActorReport
	for _, c := range rep.Root.Children {
		if c.Name == "resources" {
			res = c
		}
	}
	if p := res.Phases[actors.PhaseClosing]; p == nil || p.Outcome != actors.OutcomeOK || len(p.Children) != 4 {
		t.Errorf("resources CLOSING report: %+v\n%s", p, rep)
	}
	snapRunners := rep.Root.Children[0].Phases[actors.PhaseClosing]
	if snapRunners == nil || snapRunners.Outcome != actors.OutcomeOK {
		t.Errorf("runners CLOSING: %+v", snapRunners)
	}
}

// TestShutdownStress: seeded iterations of runners, subscribers, tasks,
// crashes and a Shutdown at a random point. EXO_ACTORS_STRESS=N runs N.
func TestShutdownStress(t *testing.T) {
	iterations := 500
	if s := os.Getenv("EXO_ACTORS_STRESS"); s != "" {
		iterations, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		iterations = 50
	}
	rng := seededRand(t, iterations, "iterations")
	type plan struct {
		runners, tasks, point int
		crash                 bool
		seed                  int64
	}
	plans := make([]plan, iterations)
	for i := range plans {
		plans[i] = plan{runners: 1 + rng.Intn(2), tasks: rng.Intn(4), point: rng.Intn(4), crash: rng.Intn(3) == 0, seed: rng.Int63()}
	}
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // never closed
	var mu sync.Mutex
	var failures []string
	for i, p := range plans {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := stressIteration(p.runners, p.tasks, p.point, p.crash); err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("iteration %d (%+v): %v", i, p, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
	t.Logf("%d iterations in %s", iterations, time.Since(start).Round(time.Millisecond))
}

func stressIteration(runners, tasks, point int, crash bool) error {
	rec := newRecorder()
	logger := quietLogger()
	cfg := quietConfig(rec)
	cfg.Logger = logger
	cfg.ErrorPolicy = errhandler.Config{Backoff: errhandler.BackoffConfig{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}}
	cfg.Shutdown = actors.ShutdownDeadlines{Signaling: time.Second, Draining: 300 * time.Millisecond, Closing: 3 * time.Second}
	n, err := actors.StartNode(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var subs []*streams.Subscription
	for _, topic := range []string{actors.TopicTasks, actors.TopicRunnerStatus} {
		s, _ := n.Subscribe(topic, streams.Filter{}, streams.SubscribeOptions{Buffer: 64, Window: 16})
		subs = append(subs, s)
	}
	results := make([]drained, len(subs))
	var readers sync.WaitGroup
	for i, s := range subs {
		readers.Add(1)
		go func() { defer readers.Done(); results[i] = drainSub(s, 25*time.Second) }()
	}
	var ids []string
	for i := 0; i < runners; i++ {
		id, err := n.SpawnRunner(ctx, builtin("--token-delay", "1ms"))
		if err == nil {
			ids = append(ids, id)
		}
	}
	var handles []*actors.TaskHandle
	if point > 0 {
		for i := 0; i < tasks; i++ {
			h, err := n.Submit(ctx, ids[i%len(ids)], textTask(fmt.Sprintf("t%d", i), 5+i*10))
			if err == nil {
				handles = append(handles, h)
			}
		}
	}
	if point > 1 && len(handles) > 0 {
		_, _ = handles[0].Chunk(ctx, 0)
	}
	if crash {
		if pid := pidOf(rec.snapshot(), ids[0], 1); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if point > 2 {
		_, _ = rec.await(5*time.Second, "an event", func(evs []actors.Event) bool { return len(evs) > 10 })
	}
	rep, err := n.Shutdown(ctx)
	if err != nil {
		return fmt.Errorf("shutdown: %v\n%s", err, rep)
	}
	readers.Wait()
	var errs []error
	for i, d := range results {
		if d.err != nil {
			errs = append(errs, fmt.Errorf("subscriber %d: %w", i, d.err))
		}
	}
	for topic, st := range n.StreamStats() {
		if err := st.Check(); err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", topic, err))
		}
	}
	terminal := map[string]int{}
	for _, e := range rec.snapshot() {
		if s, ok := e.(*actors.TaskStatusChanged); ok && s.Status != exov1.TaskStatus_TASK_STATUS_PENDING && s.Status != exov1.TaskStatus_TASK_STATUS_RUNNING {
			terminal[s.RunnerID+"/"+s.TaskID]++
		}
		if p, ok := e.(*actors.ProcessStarted); ok {
			if processState(p.Pid) != "" && processState(p.Pid) != "Z" {
				errs = append(errs, fmt.Errorf("process %d of %s gen %d still alive", p.Pid, p.RunnerID, p.Generation))
			}
			// Every runner answered SIGNALING after any restart decided
			// before it had started its process: nothing starts later.
			if p.At.After(rep.PhaseStart[actors.PhaseDraining]) {
				errs = append(errs, fmt.Errorf("%s gen %d started a process after SIGNALING", p.RunnerID, p.Generation))
			}
		}
	}
	for _, h := range handles {
		if h.Outcome() == nil || terminal[h.RunnerID+"/"+h.ID] != 1 {
			errs = append(errs, fmt.Errorf("task %s: outcome %v, %d terminal statuses", h.ID, h.Outcome(), terminal[h.RunnerID+"/"+h.ID]))
		}
	}
	return errors.Join(errs...)
}

// TestShutdownReportResourcesSummariseTheirChildren: a resource whose
// Close fails is forced (FORCE_CLEANUP: left in error), and the resources
// stage and the node's CLOSING above it say so: the stage read "timed
// out" above a forced child, and so did the root, against "a parent's
// outcome is the worst of its children's" (a host's trial).
func TestShutdownReportResourcesSummariseTheirChildren(t *testing.T) {
	n := startNode(t)
	err := n.RegisterResources(ctxT(t),
		resources.Spec{Name: "ok", Close: func(context.Context) error { return nil }},
		resources.Spec{Name: "failing", Close: func(context.Context) error { return errors.New("disk on fire") }})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := n.Shutdown(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var res *actors.ActorReport
	for _, c := range rep.Root.Children {
		if c.Name == "resources" {
			res = c
		}
	}
	p := res.Phases[actors.PhaseClosing]
	if p == nil || p.Outcome != actors.OutcomeForced {
		t.Fatalf("resources CLOSING report: %+v\n%s", p, rep)
	}
	if root := rep.Root.Phases[actors.PhaseClosing]; root.Outcome != actors.OutcomeForced {
		t.Errorf("the node's CLOSING is %q above a forced resource, want %q\n%s", root.Outcome, actors.OutcomeForced, rep)
	}
	if len(rep.Forced) != 1 || !strings.HasSuffix(rep.Forced[0], "resources/failing (CLOSING)") {
		t.Errorf("Forced %q: want the failing resource alone, not its parents", rep.Forced)
	}
}
