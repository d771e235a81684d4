package actors_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// TestRunnerFailingInDrainingEndsItsTaskOnTheStream: a runner whose process
// dies while the node's shutdown drains it (its task still streaming) ends
// its task Failed with the death as the reason, the report says so, and the
// task's terminal status is on the node's tasks stream before the stream's
// end. Since 9af1d05 the supervisor answers the phase for the failed runner
// once it has ended the task; before, the failing runner answered the phase
// itself, and exo-actors chaos once saw the phase end and the streams close
// before the Failed status was published ("no terminal status on node
// node-73's tasks stream"). That order is a race this test does not force:
// it passed 50 of 50 rounds on the code before 9af1d05 too. It holds the
// promise, whichever way the race goes; TestFailedRunnerPhaseAnsweredBySupervisor
// forces the order (it fails on the code before 9af1d05, 10 of 10).
func TestRunnerFailingInDrainingEndsItsTaskOnTheStream(t *testing.T) {
	for i := range 5 {
		runnerFailingInDraining(t, i)
	}
}

func runnerFailingInDraining(t *testing.T, round int) {
	n := startNode(t, noChunks) // DRAINING's deadline (30 s) is far: the drain ends on the kill
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
	type result struct {
		rep actors.ShutdownReport
		err error
	}
	done := make(chan result, 1) // never closed: one result
	go func() {
		rep, err := n.Shutdown(context.Background())
		done <- result{rep, err}
	}()
	n.logs.waitLog(t, 20*time.Second, "the runner draining", func(e *logrus.Entry) bool {
		return e.Message == "runner lifecycle" && e.Data["runner_id"] == id && e.Data["to"] == "Draining"
	})
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("round %d: Shutdown: %v", round, r.err)
	}
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, "signal=9") {
		t.Fatalf("round %d: task ended %s (%s), want Failed by the runner's death", round, actors.TaskStatusName(o.Status), o.Reason)
	}
	if p := r.rep.Root.Phases[actors.PhaseDraining]; p == nil || p.Outcome != actors.OutcomeFailed || p.TasksFailed != 1 {
		t.Errorf("round %d: node's DRAINING %+v, want failed with the runner's task\n%s", round, p, r.rep)
	}
	var last *actors.TaskStatusChanged
	for {
		ev, err := sub.Next(ctx)
		if errors.Is(err, streams.ErrEndOfStream) {
			break
		}
		if err != nil {
			t.Fatalf("round %d: tasks stream: %v", round, err)
		}
		if s, ok := ev.Payload.(*actors.TaskStatusChanged); ok && s.TaskID == "t" {
			last = s
		}
	}
	if last == nil || last.Status != exov1.TaskStatus_TASK_STATUS_FAILED {
		t.Fatalf("round %d: last status of task t on the tasks stream before its end: %+v, want Failed (%s)\n%s",
			round, last, o.Reason, r.rep)
	}
}

// TestStopSaysANonZeroExitAfterTheShutdownFrame: a runner that stops on its
// Shutdown frame but exits 5 is stopped, not failed, and says so: its
// StopResult's Ended and a warning in the log name the exit. Before,
// "stopped: ended by shutdown frame" read like a clean exit (a Node.js
// runner's trial, whose exit code 5 was only in a debug-level log line).
func TestStopSaysANonZeroExitAfterTheShutdownFrame(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	id := spawnHelper(t, n, "exit5", "exit-5-on-shutdown", true)
	res, err := n.StopRunner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.EndedBy != "shutdown frame" || res.Ended() != "shutdown frame (exitcode=5)" || res.Failure != nil {
		t.Errorf("stop: EndedBy %q, Ended %q, failure %v; want ended by the shutdown frame, exitcode=5 named, no failure", res.EndedBy, res.Ended(), res.Failure)
	}
	n.logs.waitLog(t, 20*time.Second, "the stop logged at warn with the exit", func(e *logrus.Entry) bool {
		return e.Level == logrus.WarnLevel && e.Data["runner_id"] == id && e.Data["exit"] == "exitcode=5" &&
			e.Message == "runner stopped, but its process did not exit 0 after the Shutdown frame"
	})
}

// TestStopSaysWhatTheRunnerReportedWrong: bad output after the Shutdown
// frame, or a TerminationError during the stop, is in the StopResult
// (Complaint, at the end of Summary) and logged at warn. Before, both were
// dropped in silence, and the bad output's stop was blamed on stop_grace
// (a Python runner's trial).
func TestStopSaysWhatTheRunnerReportedWrong(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	for _, tc := range []struct{ mode, want string }{
		{"garbage-on-shutdown", "during its stop the runner wrote bad output ("},
		{"termination-on-shutdown", "during its stop the runner sent TerminationError: model file went away"},
	} {
		id := spawnHelper(t, n, "complain", tc.mode, true)
		res, err := n.StopRunner(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(res.Summary(), tc.want) || res.Failure != nil {
			t.Errorf("%s: summary %q, failure %v; want it to say %q, no failure", tc.mode, res.Summary(), res.Failure, tc.want)
		}
		n.logs.waitLog(t, 20*time.Second, tc.mode+": the complaint logged at warn", func(e *logrus.Entry) bool {
			return e.Level == logrus.WarnLevel && e.Data["runner_id"] == id && e.Message == "runner reported something wrong during its stop"
		})
	}
}

// TestDrainDeadlineCancelsWhateverTheCapabilities: a stop's drain deadline
// sends Cancel for each task it cuts to a runner that did not announce
// `cancel` too, as docs/protocol.md says (the helper exits 7 on a Cancel,
// 0 on the Shutdown frame). Before, such a runner was told nothing (a
// Python runner's trial).
func TestDrainDeadlineCancelsWhateverTheCapabilities(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Timeouts.StopDrain = 50 * time.Millisecond })
	ctx := ctxT(t)
	id := spawnHelper(t, n, "nocancel", "raw-no-cancel-cap", true)
	h := mustSubmit(t, n, id, textTask("long", 1))
	n.rec.waitFor(t, 20*time.Second, "the task acknowledged", func(evs []actors.Event) bool {
		for _, e := range evs {
			if a, ok := e.(*actors.TaskAcknowledged); ok && a.TaskID == "long" {
				return true
			}
		}
		return false
	})
	res, err := n.StopRunner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Exit == nil || res.Exit.Code != 7 {
		t.Errorf("stop: %s (exit %v); want the runner to have read a Cancel (exit 7) before its Shutdown frame", res.Summary(), res.Exit)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_TIMED_OUT {
		t.Errorf("task outcome %s %q; want TimedOut by the drain deadline", actors.TaskStatusName(o.Status), o.Reason)
	}
}

// TestFailedReportWaitsOneExitGrace: a runner that reports Failed and
// neither exits nor sends TerminationError is killed one exit grace after
// its report, as docs/protocol.md says. Before, the grace ended in a
// failure that armed a second one, and the SIGKILL came after two (a
// Python runner's trial). The runner's timers run on a stepped clock:
// one ExitGrace of it must bring the exit.
func TestFailedReportWaitsOneExitGrace(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, func(c *actors.NodeConfig) {
		c.RunnerClock = fc
		c.Health.Disabled = true // its checks would be timers of the stepped clock too
		c.Timeouts = actors.RunnerTimeouts{Handshake: time.Hour, HeartbeatInterval: 20 * time.Millisecond,
			HeartbeatTimeout: time.Hour, ProgressTimeout: time.Hour, LoadingStall: time.Hour,
			ExitGrace: 500 * time.Millisecond, StopGrace: 2 * time.Second, TermWait: time.Second}
	})
	id := spawnHelper(t, n, "failedhang", "failed-and-hang", false)
	n.logs.waitLog(t, 20*time.Second, "the Failed report taken as a symptom", func(e *logrus.Entry) bool {
		return e.Data["runner_id"] == id && e.Message == "runner looks like it is ending: waiting for its exit"
	})
	// The exit grace's timer is armed right after that line, the only
	// timer of the stepped clock then (suspect cancels the runner's
	// others; no task, no health monitor).
	if err := fc.WaitForTimers(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	fc.Advance(500 * time.Millisecond)
	n.rec.waitFor(t, 20*time.Second, "the process killed after one exit grace", func(evs []actors.Event) bool {
		for _, e := range evs {
			if x, ok := e.(*actors.ProcessExited); ok && x.RunnerID == id {
				return true
			}
		}
		return false
	})
}
