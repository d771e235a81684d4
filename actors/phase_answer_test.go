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
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// recoveringHook runs its armed function once, on the failing actor's own
// goroutine, when protoactor logs that it recovers the panic of the actor
// whose PID names the armed runner ID. At our pin EscalateFailure logs
// "[ACTOR] Recovering" first and only then suspends the actor's mailbox and
// sends the failure to the parent (actor_context.go), so the function runs
// after everything the actor did before its panic and before its parent
// hears of the failure.
type recoveringHook struct {
	arm  atomic.Pointer[recoveringArm]
	once sync.Once
}

type recoveringArm struct {
	id string
	fn func()
}

func (h *recoveringHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h *recoveringHook) Fire(e *logrus.Entry) error {
	a := h.arm.Load()
	if a == nil || !strings.Contains(e.Message, "Recovering") || !strings.Contains(fmt.Sprint(e.Data["self"]), a.id) {
		return nil
	}
	h.once.Do(a.fn)
	return nil
}

// TestFailedRunnerPhaseAnsweredBySupervisor: a runner that fails during a
// shutdown phase does not answer the phase itself; only the supervisor
// answers for it, in HandleFailure, after ending its tasks, so the phase
// ends only once the runner's tasks have their terminal status on the
// node's tasks stream, and the streams close after it.
//
// The order is forced, not hoped for: when protoactor recovers the runner's
// panic (the failure hand-off), and before it tells the supervisor, the
// hook makes a request the supervisor answers itself (Runners). Its mailbox
// is FIFO, so a phase answer the runner sent before its panic is taken
// first. Before 9af1d05 (finishFailure answered the phase) this ended the
// supervisor's DRAINING with the runner's own report, TasksFailed 0, while
// task t was still live; the Failed status came after the phase had ended.
// The existing TestRunnerFailingInDrainingEndsItsTaskOnTheStream passed on
// that code 50 times in 50, since the failure usually wins the race.
func TestFailedRunnerPhaseAnsweredBySupervisor(t *testing.T) {
	hook := &recoveringHook{}
	n := startNode(t, noChunks, func(c *actors.NodeConfig) { c.Logger.AddHook(hook) }) // DRAINING's deadline (30 s) is far
	ctx := ctxT(t)
	id := readyRunner(t, n, "--token-delay", "1ms")
	pid := pidOf(n.rec.snapshot(), id, 1)
	sub, err := n.Subscribe(actors.TopicTasks, streams.Filter{Kinds: []string{actors.KindTaskStatus}}, streams.SubscribeOptions{Buffer: 64})
	if err != nil {
		t.Fatal(err)
	}
	h := mustSubmit(t, n, id, textTask("t", 1_000_000))
	if _, err := h.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	forced := make(chan error, 1) // never closed: the hook runs once
	hook.arm.Store(&recoveringArm{id: id, fn: func() {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := n.Runners(rctx)
		forced <- err
	}})

	if _, err := n.ShutdownPhase(ctx, actors.PhaseSignaling, 0, 0); err != nil {
		t.Fatal(err)
	}
	type result struct {
		rep actors.ShutdownReport
		err error
	}
	drained := make(chan result, 1) // never closed: one result
	go func() {
		rep, err := n.ShutdownPhase(context.Background(), actors.PhaseDraining, 0, 0)
		drained <- result{rep, err}
	}()
	n.logs.waitLog(t, 20*time.Second, "the runner draining", func(e *logrus.Entry) bool {
		return e.Message == "runner lifecycle" && e.Data["runner_id"] == id && e.Data["to"] == "Draining"
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-forced:
		if err != nil {
			t.Fatalf("the supervisor's answer while the runner's failure waited: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("protoactor never recovered the runner's failure (no Recovering log)")
	}
	var r result
	select {
	case r = <-drained:
	case <-ctx.Done():
		t.Fatal("DRAINING did not end")
	}
	if r.err != nil {
		t.Fatalf("DRAINING: %v", r.err)
	}

	// What DRAINING's stream flush handed over is readable now, without
	// waiting: the task's Failed status must be in it.
	before := taskStatusesNow(t, sub, "t")
	if n := len(before); n == 0 || before[n-1] != exov1.TaskStatus_TASK_STATUS_FAILED {
		t.Errorf("task t's statuses on the tasks stream when DRAINING ended: %v; want Failed last (published before the phase ended)", statusNames(before))
	}
	var runnerRep *actors.PhaseReport
	if p := r.rep.Root.Phases[actors.PhaseDraining]; p != nil {
		for _, st := range p.Children {
			for _, ch := range st.Children {
				if st.Actor == "runners" && ch.Actor == id {
					runnerRep = ch
				}
			}
		}
	}
	if runnerRep == nil || runnerRep.Outcome != actors.OutcomeFailed || runnerRep.TasksFailed != 1 {
		t.Errorf("runner %s's DRAINING report %+v; want failed with its task, as the supervisor answers for it\n%s", id, runnerRep, r.rep)
	}

	final, err := n.ShutdownPhase(ctx, actors.PhaseClosing, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, "signal=9") {
		t.Fatalf("task ended %s (%s), want Failed by the runner's death", actors.TaskStatusName(o.Status), o.Reason)
	}
	var after []exov1.TaskStatus
	for {
		ev, err := sub.Next(ctx)
		if errors.Is(err, streams.ErrEndOfStream) {
			break
		}
		if err != nil {
			t.Fatalf("tasks stream: %v", err)
		}
		if s, ok := ev.Payload.(*actors.TaskStatusChanged); ok && s.TaskID == "t" {
			after = append(after, s.Status)
		}
	}
	if len(after) != 0 {
		t.Errorf("task t's statuses on the tasks stream after DRAINING ended: %v; want none\n%s", statusNames(after), final)
	}
}

// taskStatusesNow returns the statuses of task id among the events sub was
// handed so far, without waiting for more.
func taskStatusesNow(t *testing.T, sub *streams.Subscription, id string) []exov1.TaskStatus {
	t.Helper()
	now, cancel := context.WithCancel(context.Background())
	cancel()
	var out []exov1.TaskStatus
	for {
		ev, err := sub.Next(now)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("tasks stream: %v", err)
			}
			return out
		}
		if s, ok := ev.Payload.(*actors.TaskStatusChanged); ok && s.TaskID == id {
			out = append(out, s.Status)
		}
	}
}

func statusNames(sts []exov1.TaskStatus) []string {
	out := make([]string, len(sts))
	for i, s := range sts {
		out[i] = actors.TaskStatusName(s)
	}
	return out
}
