package actors_test

// Regression tests of issue 15 ("Core semantics that hold under every
// race"): one per defect of the runner actor, the supervisor and shutdown,
// each named after what it guards.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Defect 1: a retryable task replayed its first attempt's output into the
// same handle (chunk indices 0..3, 0..19). Now the handle holds exactly one
// attempt's output, and the retry is an explicit event.
func TestRetryableTaskDoesNotReplayIntoSameHandle(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	id := readyRunner(t, n, "--token-delay", "20ms")
	ctx := ctxT(t)
	spec := textTask("r1", 20)
	spec.Retryable = true
	h := mustSubmit(t, n, id, spec)
	var firstAttempt int
	for i := 0; i < 4; i++ { // read the first attempt's chunks 0..3
		if _, err := h.Next(ctx); err != nil {
			t.Fatal(err)
		}
		firstAttempt++
	}
	pid := pidOf(n.rec.snapshot(), id, 1)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	d := decisions(n.rec.waitFor(t, 20*time.Second, "decision", nDecisions(id, 1)), id)[0]
	advanceRestart(t, fc, d.Record.Delay)

	// Next says the task was retried, once, then gives attempt 2 from 0.
	_, err := h.Next(ctx)
	var re *actors.RetryError
	if !errors.Is(err, actors.ErrTaskRetried) || !errors.As(err, &re) || re.Attempt != 2 || re.Discarded < firstAttempt {
		t.Fatalf("Next after the crash: %v, want a RetryError for attempt 2 discarding ≥ %d chunks", err, firstAttempt)
	}
	var got []uint64
	for {
		c, err := h.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.GetIndex())
	}
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE || o.Attempt != 2 || o.Chunks != 20 {
		t.Fatalf("outcome %+v, want Complete, attempt 2, 20 chunks", o)
	}
	if len(got) != 20 || got[0] != 0 || got[19] != 19 {
		t.Fatalf("chunks read after the retry: %v, want 0..19", got)
	}
	all := h.Chunks()
	if len(all) != 20 || all[0].GetIndex() != 0 || all[19].GetIndex() != 19 {
		t.Fatalf("h.Chunks(): %d chunks, want attempt 2's 0..19", len(all))
	}
	if c, err := h.Chunk(ctx, 4); err != nil || c.GetIndex() != 4 {
		t.Fatalf("Chunk(4) = %v, %v: want attempt 2's chunk 4", c, err)
	}
	// The event stream says it too: TaskRetried before attempt 2's chunks.
	var retried bool
	for _, e := range n.rec.snapshot() {
		switch e := e.(type) {
		case *actors.TaskRetried:
			if e.TaskID == "r1" && e.Attempt == 2 {
				retried = true
			}
		case *actors.TaskChunk:
			if e.TaskID == "r1" && e.Attempt == 2 && !retried {
				t.Fatal("a chunk of attempt 2 came before TaskRetried")
			}
		}
	}
	if !retried {
		t.Fatal("no TaskRetried event")
	}
}

// Defect 2: a crash that raced a write retired the runner for good
// (write_closed_pipe → SKIP). A broken pipe is a symptom; the exit decides.
func TestBrokenPipeBeforeExitIsClassifiedByTheExit(t *testing.T) {
	n := startNode(t)
	spec := actors.RunnerSpec{Kind: "helper", Command: helperBinary(t), Env: []string{"EXO_ACTORS_HELPER=close-stdin-then-die"}}
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	if _, err := n.Submit(ctx, id, textTask("t", 5)); err != nil { // meets the closed pipe
		t.Fatal(err)
	}
	f := failures(n.rec.waitFor(t, 20*time.Second, "failure", failed(id)), id)[0]
	if f.Kind != errhandler.KindSignal || f.Source != actors.SourceExit {
		t.Fatalf("failure %s from %s (%s), want signal from process_exit: the exit decides, not the broken pipe", f.Kind, f.Source, f.Message)
	}
}

// Defect 3: a StopRunner that overlapped a node Shutdown never answered (the
// node's DRAINING replaced the runner's own drain).
func TestStopRunnerOverlappingShutdownAnswers(t *testing.T) {
	for i := 0; i < 5; i++ {
		n := startNode(t, func(c *actors.NodeConfig) {
			c.Shutdown = actors.ShutdownDeadlines{Draining: 300 * time.Millisecond, Closing: 5 * time.Second}
			c.Timeouts.StopDrain = 10 * time.Second
		})
		id := readyRunner(t, n, "--token-delay", "5ms")
		ctx := ctxT(t)
		h := mustSubmit(t, n, id, textTask("long", 2000))
		if _, err := h.Chunk(ctx, 0); err != nil {
			t.Fatal(err)
		}
		type stopped struct {
			res *actors.StopResult
			err error
		}
		got := make(chan stopped, 1) // buffered: the goroutine never blocks
		go func() {
			res, err := n.StopRunner(ctx, id)
			got <- stopped{res, err}
		}()
		// The stop is draining (a 10 s StopDrain); the node shuts down over it.
		n.logs.waitLog(t, 10*time.Second, "the stop's drain", func(e *logrus.Entry) bool {
			return e.Message == "runner lifecycle" && e.Data["to"] == "Draining" && e.Data["runner_id"] == id
		})
		if _, err := n.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		s := <-got
		if s.err != nil || s.res == nil {
			t.Fatalf("iteration %d: StopRunner during Shutdown: %v, %v", i, s.res, s.err)
		}
		if o := wait(t, h); o.Status == exov1.TaskStatus_TASK_STATUS_COMPLETE {
			t.Fatalf("a 2000-token task completed within the drain: %+v", o)
		}
	}
}

// Defect 5a: a runner actor stopped after a panic that is not a
// *RunnerFailure left its tasks without a terminal status.
func TestEveryTaskEndsWhenRunnerActorPanics(t *testing.T) {
	n := startNode(t)
	id := readyRunner(t, n, "--token-delay", "5ms")
	ctx := ctxT(t)
	running := mustSubmit(t, n, id, textTask("running", 2000))
	queued := mustSubmit(t, n, id, textTask("queued", 5))
	if _, err := running.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	pid := pidOf(n.rec.snapshot(), id, 1)
	if ok, err := n.PanicRunnerForTest(ctx, id); err != nil || !ok {
		t.Fatalf("panic hook: %v %v", ok, err)
	}
	for _, h := range []*actors.TaskHandle{running, queued} {
		o := wait(t, h)
		if o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, "panicked") {
			t.Errorf("task %s: %+v, want Failed naming the panic", h.ID, o)
		}
	}
	waitGone(t, pid, 10*time.Second)
}

// Defect 5b: a Shutdown whose phases go unanswered stops the tree with
// StopFuture under the live runner; every task still ends exactly once.
// (Until the tenth session a Shutdown with a 200 ms context reached this
// path; its context now fits the phases, TestShutdownFitsItsContext.)
func TestEveryTaskEndsWhenShutdownContextIsCancelled(t *testing.T) {
	rec := newRecorder()
	cfg := quietConfig(rec)
	cfg.Shutdown = actors.ShutdownDeadlines{Draining: 30 * time.Second}
	n, err := actors.StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{Node: n, rec: rec}
	id := readyRunner(t, tn, "--token-delay", "5ms")
	ctx := ctxT(t)
	var hs []*actors.TaskHandle
	for _, tid := range []string{"a", "b", "c"} {
		hs = append(hs, mustSubmit(t, tn, id, textTask(tid, 2000)))
	}
	if _, err := hs[0].Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	n.AbandonPhasesForTest()
	if _, err := n.Shutdown(context.Background()); err == nil {
		t.Fatal("Shutdown whose phases went unanswered returned no error")
	}
	terminal := map[string]int{}
	for _, e := range rec.snapshot() {
		if s, ok := e.(*actors.TaskStatusChanged); ok && s.Status != exov1.TaskStatus_TASK_STATUS_PENDING && s.Status != exov1.TaskStatus_TASK_STATUS_RUNNING {
			terminal[s.TaskID]++
		}
	}
	for _, h := range hs {
		if h.Outcome() == nil || terminal[h.ID] != 1 {
			t.Errorf("task %s: outcome %v, %d terminal statuses", h.ID, h.Outcome(), terminal[h.ID])
		}
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
}

// Defect 7: after the runner actor is gone nothing of its process remains:
// no goroutine, no file descriptor, no process. Stopping the tree under
// running runners (a Shutdown whose phases went unanswered) is the hard case.
func TestNothingOfTheProcessRemainsAfterTheActorStops(t *testing.T) {
	before := openPipes(t)
	rec := newRecorder()
	cfg := quietConfig(rec)
	cfg.Shutdown = actors.ShutdownDeadlines{Draining: 30 * time.Second}
	n, err := actors.StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{Node: n, rec: rec}
	id := readyRunner(t, tn, "--token-delay", "5ms")
	h := mustSubmit(t, tn, id, textTask("t", 2000))
	if _, err := h.Chunk(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	n.AbandonPhasesForTest()
	_, _ = n.Shutdown(context.Background()) // the tree is stopped under a live runner
	if left := newPipes(t, before); len(left) > 0 {
		t.Errorf("pipe descriptors left open after the node's shutdown: %v", left)
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
}

// openPipes returns this process's open file descriptors that are pipe
// ends (readlink "pipe:[inode]"), as fd → target.
func openPipes(t *testing.T) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(target, "pipe:") {
			out[e.Name()] = target
		}
	}
	return out
}

// newPipes lists the pipe descriptors open now that were not open before.
func newPipes(t *testing.T, before map[string]string) []string {
	t.Helper()
	var out []string
	for fd, target := range openPipes(t) {
		if before[fd] != target {
			out = append(out, fd+"→"+target)
		}
	}
	return out
}

// Defect 11: FORCE_CLEANUP is an action the supervisor carries out, as its
// own recorded step before the follow-up: kill, close the runner's
// resources, reset those in error, then RETRY.
func TestForceCleanupIsCarriedOutBeforeRetry(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, builtin("--fault", "hang"))
	if err != nil {
		t.Fatal(err)
	}
	// A host resource owned by the runner, reported broken while the runner
	// hangs: FORCE_CLEANUP resets it (a retry uses it again).
	var mu sync.Mutex
	var resets int
	if err := n.RegisterResources(ctx, resources.Spec{Name: "kv-cache", Kind: "cache", Owner: id,
		Close: func(context.Context) error { return nil },
		Reset: func(context.Context) error { mu.Lock(); resets++; mu.Unlock(); return nil }}); err != nil {
		t.Fatal(err)
	}
	if err := n.ResourcesForTest().ReportError(ctx, "kv-cache", errors.New("cache corrupt")); err != nil {
		t.Fatal(err)
	}
	hangDecision := func(evs []actors.Event) *actors.SupervisionDecision {
		for _, d := range decisions(evs, id) {
			if d.Record.Kind == errhandler.KindHang {
				return d
			}
		}
		return nil
	}
	d := hangDecision(n.rec.waitFor(t, 20*time.Second, "the hang's decision", func(evs []actors.Event) bool { return hangDecision(evs) != nil }))
	if d.Record.Decision.Action != errhandler.ForceCleanup || d.Record.Decision.Then != errhandler.Retry {
		t.Fatalf("decision %s, want FORCE_CLEANUP then RETRY", d.Record.Decision)
	}
	steps := strings.Join(d.Cleanup, " | ")
	if len(d.Cleanup) != 3 || !strings.HasPrefix(d.Cleanup[0], "kill:") || !strings.HasPrefix(d.Cleanup[1], "close resources of generation 1: 2 closed") ||
		!strings.HasPrefix(d.Cleanup[2], "reset resources in error:") || !strings.Contains(d.Cleanup[2], "kv-cache") {
		t.Fatalf("cleanup steps: %s", steps)
	}
	if strings.Join(d.Record.Cleanup, " | ") != steps {
		t.Errorf("record's cleanup %v differs from the event's %v", d.Record.Cleanup, d.Cleanup)
	}
	var recorded bool
	for _, r := range n.Policy().Records() {
		if r.ID == d.Record.ID && len(r.Cleanup) == 3 {
			recorded = true
		}
	}
	if !recorded {
		t.Error("the error handler's record has no cleanup steps")
	}
	var logged bool
	for _, e := range n.logs.all() {
		if e.Message == "force cleanup done: carrying out the follow-up" && e.Data["runner_id"] == id {
			logged = true
		}
	}
	if !logged {
		t.Error("no log line for the cleanup step")
	}
	advanceRestart(t, fc, d.Record.Delay) // the follow-up: RETRY
	n.rec.waitFor(t, 20*time.Second, "second process", func(evs []actors.Event) bool { return pidOf(evs, id, 2) > 0 })
}

// Defect 12: ack_timeout and task_timeout had rules no code produced. Each
// is now an error record (SKIP: only the task fails) and a decision event.
func TestTaskTimeoutsAreErrorRecords(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Tasks.AckTimeout = 200 * time.Millisecond })
	ctx := ctxT(t)
	noAck, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "helper", Command: helperBinary(t), Env: []string{"EXO_ACTORS_HELPER=no-ack"}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(noAck, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	wait(t, mustSubmit(t, n, noAck, textTask("never-acked", 5)))
	slow := readyRunner(t, n, "--token-delay", "20ms")
	spec := textTask("too-slow", 200)
	spec.Timeout = 100 * time.Millisecond
	wait(t, mustSubmit(t, n, slow, spec))
	kinds := map[errhandler.Kind]errhandler.Action{}
	for _, r := range n.Policy().Records() {
		kinds[r.Kind] = r.Decision.Action
	}
	for _, k := range []errhandler.Kind{errhandler.KindAckTimeout, errhandler.KindTaskTimeout} {
		if a, ok := kinds[k]; !ok || a != errhandler.Skip {
			t.Errorf("%s: record %v (action %s), want a SKIP record", k, ok, a)
		}
	}
}

// TestCoreSemanticsStress mixes crashes, writes, StopRunner, Cancel and
// Shutdown at seeded random points (each point is a count of events, not a
// sleep): every task ends exactly once, every StopRunner and Shutdown call
// returns, and no goroutine (goleak in TestMain), file descriptor or process
// is left. EXO_ACTORS_STRESS=N runs N iterations; EXO_ACTORS_SEED repeats one.
func TestCoreSemanticsStress(t *testing.T) {
	iterations := 500
	if s := os.Getenv("EXO_ACTORS_STRESS"); s != "" {
		fmt.Sscan(s, &iterations)
	}
	if testing.Short() {
		iterations = 50
	}
	before := openPipes(t)
	rng := seededRand(t, iterations, "iterations")
	seeds := make([]int64, iterations)
	for i := range seeds {
		seeds[i] = rng.Int63()
	}
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4) // never closed
	var mu sync.Mutex
	var failures []string
	for i, seed := range seeds {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := coreIteration(seed); err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("iteration %d (seed %d): %v", i, seed, err))
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
	if left := newPipes(t, before); len(left) > 0 {
		t.Errorf("pipe descriptors left open after %d iterations: %v", iterations, left)
	}
	t.Logf("%d iterations in %s", iterations, time.Since(start).Round(time.Millisecond))
}

func coreIteration(seed int64) error {
	rng := rand.New(rand.NewSource(seed))
	rec := newRecorder()
	cfg := quietConfig(rec)
	cfg.Tasks = actors.TaskLimits{CancelWait: 300 * time.Millisecond}
	cfg.ErrorPolicy = errhandler.Config{Backoff: errhandler.BackoffConfig{Base: 5 * time.Millisecond, Max: 20 * time.Millisecond}}
	cfg.Shutdown = actors.ShutdownDeadlines{Signaling: time.Second, Draining: time.Duration(rng.Intn(300)) * time.Millisecond, Closing: 3 * time.Second}
	n, err := actors.StartNode(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for i := 0; i < 2; i++ {
		if id, err := n.SpawnRunner(ctx, builtin("--token-delay", "1ms")); err == nil {
			ids = append(ids, id)
		}
	}
	var handles []*actors.TaskHandle
	submit := func(k int) {
		spec := textTask(fmt.Sprintf("t%d", k), 5+rng.Intn(60))
		spec.Retryable = rng.Intn(2) == 0
		if h, err := n.Submit(ctx, ids[rng.Intn(len(ids))], spec); err == nil {
			handles = append(handles, h)
		}
	}
	for k := 0; k < 3; k++ {
		submit(k)
	}
	var calls sync.WaitGroup
	var callErrs []error
	var callMu sync.Mutex
	call := func(what string, f func(context.Context) error) {
		calls.Add(1)
		go func() {
			defer calls.Done()
			cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer ccancel()
			if err := f(cctx); err != nil && errors.Is(err, context.DeadlineExceeded) {
				callMu.Lock()
				callErrs = append(callErrs, fmt.Errorf("%s never returned: %w", what, err))
				callMu.Unlock()
			}
		}()
	}
	seen := 0
	for op := 0; op < 2+rng.Intn(4); op++ {
		// A random point in the event sequence, not a sleep.
		seen += 1 + rng.Intn(15)
		want := seen
		_, _ = rec.await(3*time.Second, "events", func(evs []actors.Event) bool { return len(evs) >= want })
		id := ids[rng.Intn(len(ids))]
		switch rng.Intn(6) {
		case 0: // crash while tasks are being written to it
			if pid := latestPid(rec.snapshot(), id); pid > 0 {
				submit(100 + op)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				submit(200 + op)
			}
		case 1:
			call("StopRunner", func(c context.Context) error { _, err := n.StopRunner(c, id); return err })
		case 2:
			if len(handles) > 0 {
				h := handles[rng.Intn(len(handles))]
				call("Cancel", func(c context.Context) error { _, err := n.Cancel(c, h.RunnerID, h.ID); return err })
			}
		case 3:
			call("Cancel all", func(c context.Context) error { _, err := n.Cancel(c, id, ""); return err })
		case 4:
			submit(300 + op)
		case 5:
			call("Shutdown (concurrent)", func(c context.Context) error { _, err := n.Shutdown(c); return err })
		}
	}
	rep, err := n.Shutdown(ctx)
	if err != nil {
		return fmt.Errorf("shutdown: %v\n%s", err, rep)
	}
	calls.Wait()
	errs := callErrs
	terminal := map[string]int{}
	for _, e := range rec.snapshot() {
		if s, ok := e.(*actors.TaskStatusChanged); ok && s.Status != exov1.TaskStatus_TASK_STATUS_PENDING && s.Status != exov1.TaskStatus_TASK_STATUS_RUNNING {
			terminal[s.RunnerID+"/"+s.TaskID]++
		}
		if p, ok := e.(*actors.ProcessStarted); ok && processState(p.Pid) != "" && processState(p.Pid) != "Z" {
			errs = append(errs, fmt.Errorf("process %d of %s gen %d still alive", p.Pid, p.RunnerID, p.Generation))
		}
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	for _, h := range handles {
		if _, err := h.Wait(wctx); err != nil {
			errs = append(errs, fmt.Errorf("task %s/%s: Wait never returned: %v", h.RunnerID, h.ID, err))
			continue
		}
		if terminal[h.RunnerID+"/"+h.ID] != 1 {
			errs = append(errs, fmt.Errorf("task %s/%s: %d terminal statuses, want exactly 1 (outcome %+v)", h.RunnerID, h.ID, terminal[h.RunnerID+"/"+h.ID], h.Outcome()))
		}
	}
	infos, err := n.Runners(ctx)
	if err == nil {
		for _, in := range infos {
			if in.LifecycleErrors != 0 {
				errs = append(errs, fmt.Errorf("runner %s: %d illegal lifecycle transitions", in.ID, in.LifecycleErrors))
			}
		}
	}
	return errors.Join(errs...)
}

// latestPid is the PID of a runner's newest process.
func latestPid(evs []actors.Event, id string) int {
	pid := 0
	for _, e := range evs {
		if p, ok := e.(*actors.ProcessStarted); ok && p.RunnerID == id {
			pid = p.Pid
		}
	}
	return pid
}
