package actors_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// A runner actor that panics (a bug: here the test hook; a host's event
// hook that panics no longer does, hook.go recovers it) while requests wait
// in its mailbox. The
// actor is held inside a handler (the event hook blocks on the blocker
// task's Pending), the panic is queued first, then Submits, a StopRunner,
// a PingRunner and a Cancel behind it; then the handler returns and the
// actor panics. Every caller gets an answer at once, naming the runner and
// the panic: a Submit an error (ErrRunnerNotAvailable) or a handle that ends
// once; no caller waits for its own deadline. Each task has exactly one
// terminal status. Before the fix the queued requests were discarded with
// the stopped actor's mailbox and every caller waited for its deadline.
func TestQueuedRequestsAreAnsweredWhenRunnerActorPanics(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	n := startNode(t, func(c *actors.NodeConfig) {
		record := c.Hook
		c.Hook = func(e actors.Event) {
			record(e)
			if s, ok := e.(*actors.TaskStatusChanged); ok && s.TaskID == "blocker" && s.Status == exov1.TaskStatus_TASK_STATUS_PENDING {
				close(entered) // sole sender: the hook, on the blocker's one Pending event
				<-release
			}
		}
	})
	id := readyRunner(t, n, "--token-delay", "5ms")
	ctx := ctxT(t)
	pid := pidOf(n.rec.snapshot(), id, 1)
	blocker := n.SubmitLaterForTest(id, textTask("blocker", 2000))
	select {
	case <-entered: // the runner actor is inside its handler of the blocker's Submit
	case <-ctx.Done():
		t.Fatal("the blocker task's Pending never reached the hook")
	}
	if ok, err := n.PanicRunnerForTest(ctx, id); err != nil || !ok {
		t.Fatalf("panic hook: %v %v", ok, err)
	}
	if !n.DirectRouteForTest(id) {
		t.Fatal("no direct route to the busy runner: the Submits would not queue in its mailbox")
	}
	// Bounded waits for the answers, so a lost request fails the test (the
	// bound is not a sleep: every answer is expected at once).
	answerCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	const queued = 5
	var submits []func(context.Context) (*actors.TaskHandle, error)
	for i := range queued {
		submits = append(submits, n.SubmitLaterForTest(id, textTask(fmt.Sprintf("queued-%d", i), 5)))
	}
	asks := map[string]func() (any, error){}
	for _, what := range []string{"stop", "ping", "cancel"} {
		asks[what] = n.AskLaterForTest(answerCtx, id, what)
	}
	if _, err := n.Runners(ctx); err != nil { // the supervisor has forwarded the three
		t.Fatal(err)
	}
	close(release) // sole sender: the test; the actor returns from the hook and panics next

	names := func(s string) bool { return strings.Contains(s, id) && strings.Contains(s, "panicked") }
	handles := map[string]*actors.TaskHandle{}
	if h, err := blocker(answerCtx); err != nil {
		t.Errorf("blocker Submit: %v", err)
	} else {
		handles["blocker"] = h
	}
	for i, wait := range submits {
		h, err := wait(answerCtx)
		t.Logf("queued Submit %d: %v %v", i, h, err)
		switch {
		case err == nil:
			handles[h.ID] = h
		case !errors.Is(err, actors.ErrRunnerNotAvailable) || !names(err.Error()):
			t.Errorf("queued Submit %d: %v; want an answer: ErrRunnerNotAvailable naming the runner and the panic, or a handle", i, err)
		}
	}
	for _, what := range []string{"stop", "ping", "cancel"} {
		res, err := asks[what]()
		t.Logf("queued %s: %v %v", what, res, err)
		if err == nil || !names(err.Error()) {
			t.Errorf("queued %s: %v %v; want an error naming the runner and the panic", what, res, err)
		}
	}
	for tid, h := range handles {
		o, err := h.Wait(answerCtx)
		if err != nil || o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, "panicked") {
			t.Errorf("task %s: %+v %v; want Failed naming the panic", tid, o, err)
		}
	}
	terminal := map[string]int{}
	for _, e := range n.rec.snapshot() {
		if s, ok := e.(*actors.TaskStatusChanged); ok && s.Status != exov1.TaskStatus_TASK_STATUS_PENDING && s.Status != exov1.TaskStatus_TASK_STATUS_RUNNING {
			terminal[s.TaskID]++
		}
	}
	for tid := range handles {
		if terminal[tid] != 1 {
			t.Errorf("task %s: %d terminal statuses, want 1", tid, terminal[tid])
		}
	}
	for tid, c := range terminal {
		if handles[tid] == nil {
			t.Errorf("task %s: %d terminal statuses but its Submit returned no handle", tid, c)
		}
	}
	waitGone(t, pid, 10*time.Second)
}

// The window of the direct route: between a runner actor's panic and the
// supervisor's HandleFailure, Submit still posts straight into the actor's
// (suspended) mailbox. The supervisor is held busy (the event hook blocks
// on its decision about another runner, killed for the purpose), runner A
// panics (a test order sent on A's route makes it panic as a bug would),
// and Submits are posted on A's route, still open. Released, the
// supervisor retires A, and each Submit is answered with the panic. Before
// the fix they were discarded with the stopped actor's mailbox.
func TestDirectSubmitsDuringRunnerActorPanicAreAnswered(t *testing.T) {
	var other atomic.Value // runner B's ID, once spawned
	supBusy := make(chan struct{})
	release := make(chan struct{})
	n := startNode(t, func(c *actors.NodeConfig) {
		record := c.Hook
		c.Hook = func(e actors.Event) {
			record(e)
			switch e := e.(type) {
			case *actors.SupervisionDecision:
				if b, _ := other.Load().(string); b != "" && e.RunnerID == b {
					close(supBusy) // sole sender: the hook, on the supervisor's one decision about B
					<-release
				}
			}
		}
	})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) } // sole sender: free, once
	t.Cleanup(free)                                       // before the node's shutdown, even if the test fails early
	a := readyRunner(t, n, "--token-delay", "5ms")
	b := readyRunner(t, n)
	other.Store(b)
	ctx := ctxT(t)
	_ = syscall.Kill(pidOf(n.rec.snapshot(), b, 1), syscall.SIGKILL)
	select {
	case <-supBusy: // the supervisor is inside its decision about B
	case <-ctx.Done():
		t.Fatal("no decision about the killed runner reached the hook")
	}
	boom, err := n.Submit(ctx, a, textTask("boom", 5))
	if err != nil {
		t.Fatalf("the Submit of a task the panic fails: %v", err)
	}
	if !n.PanicRunnerDirectForTest(a) {
		t.Fatal("A's route is closed before its panic")
	}
	// protoactor logs the panic as it suspends A's mailbox and tells the
	// supervisor, which is busy.
	n.logs.waitLog(t, 10*time.Second, "protoactor recovering A's panic", func(e *logrus.Entry) bool {
		return strings.Contains(e.Message, "Recovering") && strings.Contains(fmt.Sprint(e.Data["self"]), a)
	})
	if !n.DirectRouteForTest(a) {
		t.Fatal("A's route is closed already: the window under test did not happen")
	}
	answerCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var waits []func(context.Context) (*actors.TaskHandle, error)
	for i := range 3 {
		waits = append(waits, n.SubmitLaterForTest(a, textTask(fmt.Sprintf("late-%d", i), 5)))
	}
	free()
	for i, wait := range waits {
		h, err := wait(answerCtx)
		t.Logf("Submit %d on the open route after the panic: %v %v", i, h, err)
		if err == nil || !errors.Is(err, actors.ErrRunnerNotAvailable) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), "panicked") {
			t.Errorf("Submit %d on the open route after the panic: %v %v; want ErrRunnerNotAvailable naming the runner and the panic", i, h, err)
		}
	}
	if o, err := boom.Wait(answerCtx); err != nil || o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, "panics as a bug would") {
		t.Errorf("task boom: %+v %v; want Failed naming the panic", o, err)
	}
	if _, err := n.PingRunner(answerCtx, a); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("PingRunner after A was retired: %v; want an error naming the panic", err)
	}
}
