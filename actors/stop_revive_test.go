package actors_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// A runner whose StopRunner returned must stay stopped: never Ready again,
// never listed as live (Runners), no new process for it. These tests stop
// runners at the moments the chaos soak's anchor node leaked them
// (docs/reliability.md, "Open lead"): during the restart backoff, while
// frozen, racing a crash, and right after a SIGKILL while the node still
// reads the dead process's last frames.

// assertStaysStopped checks, once StopRunner(id) returned, that the runner
// does not come back: any failure of it has its supervision decision, no
// restart timer is armed, an hour of the supervision clock starts no
// process, Runners lists it as ended, and no event after index from shows
// it Ready or started.
func assertStaysStopped(t *testing.T, n *testNode, fc *clock.Fake, id string, from int) {
	t.Helper()
	// The stop's answer can precede the supervisor's decision on a failure
	// that ended the runner: wait for every failure's decision.
	n.rec.waitFor(t, 20*time.Second, "a decision for every failure of "+id, func(evs []actors.Event) bool {
		return len(decisions(evs, id)) >= len(failures(evs, id))
	})
	if fc.Pending() != 0 {
		t.Errorf("runner %s: %d restart timers armed after its StopRunner returned", id, fc.Pending())
	}
	fc.Advance(time.Hour) // a restart timer, if any, fires now
	infos, err := n.Runners(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, in := range infos {
		if in.ID != id {
			continue
		}
		found = true
		k := in.Status.GetKind()
		if in.Restarting || (k != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN && k != exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED) {
			t.Errorf("runner %s still live after its StopRunner returned: status %s, restarting %v", id, k, in.Restarting)
		}
	}
	if !found {
		t.Errorf("runner %s not listed", id)
	}
	evs := n.rec.snapshot()
	for _, e := range evs[from:] {
		switch e := e.(type) {
		case *actors.ProcessStarted:
			if e.RunnerID == id {
				t.Errorf("runner %s: process generation %d started after its StopRunner returned", id, e.Generation)
			}
		case *actors.StatusChanged:
			if e.RunnerID == id && e.To.GetKind() == ready {
				t.Errorf("runner %s Ready again after its StopRunner returned", id)
			}
		}
	}
}

func TestStopDuringRestartBackoffNeverRevives(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	id, err := n.SpawnRunner(ctxT(t), builtin("--fault", "exit:3"))
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "restart decision", nDecisions(id, 1))
	res, err := n.StopRunner(ctxT(t), id)
	if err != nil || res.EndedBy != "restart cancelled" {
		t.Fatalf("stop during backoff: %+v %v", res, err)
	}
	assertStaysStopped(t, n, fc, id, len(n.rec.snapshot()))
}

func TestStopOfFrozenRunnerNeverRevives(t *testing.T) {
	rng := seededRand(t, 0, "frozen stop")
	for i := range 3 {
		fc := clock.NewFake(time.Unix(1_700_000_000, 0))
		n := startNode(t, restartPolicy(fc))
		id := readyRunner(t, n)
		pid := pidOf(n.rec.snapshot(), id, 1)
		_ = syscall.Kill(pid, syscall.SIGSTOP)
		if rng.Intn(2) == 0 {
			// The hang detector first: the stop finds it failing or waiting.
			n.rec.waitFor(t, 20*time.Second, "hang detected", failed(id))
		}
		res, err := n.StopRunner(ctxT(t), id)
		if err != nil {
			t.Fatalf("round %d: stop of a frozen runner: %v", i, err)
		}
		t.Logf("round %d: ended by %s", i, res.EndedBy)
		assertStaysStopped(t, n, fc, id, len(n.rec.snapshot()))
		waitGone(t, pid, 20*time.Second)
	}
}

func TestStopRacingCrashNeverRevives(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	rng := seededRand(t, 0, "stop racing a crash")
	for i := range 6 {
		id := readyRunner(t, n)
		pid := pidOf(n.rec.snapshot(), id, 1)
		done := make(chan error, 1)
		switch order := rng.Intn(3); order {
		case 0: // kill, then stop at once
			_ = syscall.Kill(pid, syscall.SIGKILL)
			_, err := n.StopRunner(ctxT(t), id)
			done <- err
		case 1: // stop and kill together
			go func() { _, err := n.StopRunner(ctxT(t), id); done <- err }() // waited on below
			_ = syscall.Kill(pid, syscall.SIGKILL)
		default: // kill, the exit seen, then stop
			_ = syscall.Kill(pid, syscall.SIGKILL)
			n.rec.waitFor(t, 20*time.Second, "exit seen", func(evs []actors.Event) bool {
				for _, e := range evs {
					if x, ok := e.(*actors.ProcessExited); ok && x.RunnerID == id {
						return true
					}
				}
				return false
			})
			_, err := n.StopRunner(ctxT(t), id)
			done <- err
		}
		if err := <-done; err != nil {
			t.Fatalf("round %d: StopRunner: %v", i, err)
		}
		assertStaysStopped(t, n, fc, id, len(n.rec.snapshot()))
	}
}

// TestStopRequestedWhileRunnerEndsIsNotRestarted is the regression test for
// the runners the chaos soak's anchor node leaked (86 live, docs/
// reliability.md): a StopRunner that reached a runner whose process had just
// died unasked (Exited, before the exit was classified) was answered with
// the failure ("ended by failure"), and the supervisor then restarted the
// runner as for any crash, so the stopped runner came back and lived on.
// A grandchild holding the runner's stdout keeps the runner actor in Exited
// until the test kills it, so the stop lands there every time.
func TestStopRequestedWhileRunnerEndsIsNotRestarted(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc), func(c *actors.NodeConfig) {
		c.Timeouts.Drain = time.Minute // Exited lasts until the grandchild dies
	})
	ctx := ctxT(t)
	// The runner is killed; the reap is logged at once, and its
	// ProcessExited waits for the stdout reader (no StatusChanged may
	// follow it), which the grandchild holds (exit_event_test.go).
	id, held := spawnHeldAndKill(t, n)
	type answer struct {
		res *actors.StopResult
		err error
	}
	done := make(chan answer, 1)
	go func() { res, err := n.StopRunner(ctx, id); done <- answer{res, err} }() // waited on below
	n.logs.waitLog(t, 20*time.Second, "stop reached the ending runner", func(e *logrus.Entry) bool {
		return e.Data["runner_id"] == id && strings.HasPrefix(e.Message, "stop requested while the runner is ending")
	})
	_ = syscall.Kill(held, syscall.SIGKILL) // the grandchild: stdout ends, the exit is classified
	a := <-done
	if a.err != nil {
		t.Fatalf("StopRunner: %v", a.err)
	}
	if a.res.EndedBy != "failure" || a.res.Failure == nil {
		t.Errorf("stop result %+v, want ended by the failure", a.res)
	}
	assertStaysStopped(t, n, fc, id, len(n.rec.snapshot()))
	waitGone(t, held, 20*time.Second)
}

// TestRestartedRunnerIsNotListedAsFailed: from the moment the supervisor
// restarts a runner, Runners must not list it as Failed and not
// restarting, which reads as "ended for good" (the chaos driver pruned such
// runners from its targets and they lived on untracked): the new
// incarnation is Idle until its process says otherwise.
func TestRestartedRunnerIsNotListedAsFailed(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	id := readyRunner(t, n)
	_ = syscall.Kill(pidOf(n.rec.snapshot(), id, 1), syscall.SIGKILL)
	evs := n.rec.waitFor(t, 20*time.Second, "restart decision", nDecisions(id, 1))
	advanceRestart(t, fc, decisions(evs, id)[0].Record.Delay)
	// The timer sent restartDue to the supervisor during Advance: this
	// listing is answered right after the restart.
	infos, err := n.Runners(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.ID == id && !in.Restarting && in.Status.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED {
			t.Errorf("runner %s listed Failed and not restarting right after its restart (generation %d)", id, in.Generation)
		}
	}
	n.rec.waitFor(t, 20*time.Second, "Ready again", func(evs []actors.Event) bool {
		for _, e := range evs {
			if s, ok := e.(*actors.StatusChanged); ok && s.RunnerID == id && s.Generation == 2 && s.To.GetKind() == ready {
				return true
			}
		}
		return false
	})
}
