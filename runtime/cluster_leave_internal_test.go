package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/membership"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestClusterDivertShutdownEnd: which outcomes a member's connection hands
// to the ClusterClient instead of the handle — a Retryable task, not yet
// retried, that its node's shutdown cancelled before it started or cut at
// the drain deadline — without processes (the drain cut needs a node whose
// DRAINING deadline passes, which the multi-process test does not reach).
func TestClusterDivertShutdownEnd(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}}
	b := &memberConn{m: membership.Member{ID: "mb", NodeName: "b"}}
	cc := noteClient(t, 0, a, b)
	cc.follow("gen-1", a.m)
	task := func(id string, retryable bool) *clusterTask {
		h, feed := actors.NewTaskFeed("gen-1", id)
		ct := &clusterTask{t: Task{ID: id, Retryable: retryable}, runnerID: "gen-1", feed: feed, h: h}
		cc.tasks[ct] = struct{}{}
		return ct
	}
	cancelled := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_CANCELLED, Reason: actors.ReasonShutdownBeforeStart, At: time.Now()}
	cut := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_TIMED_OUT, Reason: actors.ReasonShutdownDrainCut, At: time.Now()}
	other := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_CANCELLED, Reason: "cancelled on request", At: time.Now()}
	forced := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_FAILED, Reason: actors.ReasonShutdownForced, At: time.Now()}
	crashed := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_FAILED, Reason: "runner failed: runner died: signal=9 (killed)", At: time.Now()}
	for _, c := range []struct {
		name      string
		retryable bool
		on        *memberConn
		out       actors.TaskOutcome
		want      bool
	}{
		{"Retryable, cancelled before it started", true, a, cancelled, true},
		{"Retryable, cut at the drain deadline", true, a, cut, true},
		{"not Retryable, cancelled before it started", false, a, cancelled, false},
		{"Retryable, cancelled on request", true, a, other, false},
		{"Retryable, from another member's connection", true, b, cancelled, false},
		// A forced shutdown (a second SIGTERM) killed its runner: the
		// node cut it, as the drain deadline does. Before, it ended
		// Failed, not resubmitted, while a kill -9 of the node
		// resubmitted it (a docs-only trial).
		{"Retryable, killed by a forced shutdown", true, a, forced, true},
		{"not Retryable, killed by a forced shutdown", false, a, forced, false},
		{"Retryable, its runner failed", true, a, crashed, false},
	} {
		ct := task(c.name, c.retryable)
		if got := cc.divertShutdownEnd(c.on, ct.feed, c.out); got != c.want {
			t.Errorf("%s: diverted %v, want %v", c.name, got, c.want)
		}
		if (ct.state == taskHeld) != c.want {
			t.Errorf("%s: task %s, want held %v", c.name, ct.state, c.want)
		}
	}
	// Exactly the three diverted tasks wait for their runner's failover.
	cc.mu.Lock()
	held := 0
	for t := range cc.tasks {
		if t.state == taskHeld {
			held++
		}
	}
	cc.mu.Unlock()
	if held != 3 {
		t.Fatalf("%d tasks held, want 3", held)
	}
}

// TestClusterWaitReadyThroughLeave: WaitReady on a runner whose member
// drains (a graceful leave) waits, bounded by its ctx, for the failover
// that places it again once the member's connection closes, instead of
// returning the "leaving … try again shortly" error at once (host-guide's
// loop spun on it). An error of the member's own WaitReady while it
// leaves (its CLOSING stops the runner) is not final either.
func TestClusterWaitReadyThroughLeave(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, state: memberDraining}
	cc := noteClient(t, 0, a)
	cc.cfg.Poll = 20 * time.Millisecond
	r := cc.follow("gen-1", a.m)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := cc.WaitReady(ctx, "gen-1")
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNodeLost) {
		t.Fatalf("WaitReady on a draining member's runner: %v; want it to wait until its ctx ended (wrapping context.DeadlineExceeded and ErrNodeLost)", err)
	}
	stopped := fmt.Errorf("%w: runner gen-1 stopped", ErrRunnerNotAvailable)
	for _, st := range []memberState{memberLeaving, memberDraining} {
		a.state = st
		if !cc.waitReadyPending(r, stopped) {
			t.Errorf("member state %d: the runner's stop while its member leaves is final; want pending", st)
		}
	}
	a.state = memberLive
	if cc.waitReadyPending(r, stopped) {
		t.Error("live member: the runner's stop is pending; want final")
	}
}

// TestClusterLeaveCheckAsksAgain: a member that left the view with its
// connection up and did not answer the first question in time (a loaded
// node that drains) is asked again, and drains when it answers that it is
// shutting down, instead of being declared lost on one timeout (its
// running Retryable tasks then ran twice).
func TestClusterLeaveCheckAsksAgain(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, state: memberLeaving}
	cc := noteClient(t, 0, a)
	cc.ctx = t.Context()
	asked := 0
	cc.askShuttingHook = func(ctx context.Context, mc *memberConn) (bool, error) {
		asked++
		if asked == 1 {
			<-ctx.Done() // the first answer comes too late
			return false, ctx.Err()
		}
		return true, nil
	}
	cc.wg.Add(1)
	cc.checkLeaving(a)
	cc.mu.Lock()
	st := a.state
	cc.mu.Unlock()
	if st != memberDraining {
		t.Fatalf("after a late first answer and a second 'shutting down': member state %d (asked %d times), want draining (%d)", st, asked, memberDraining)
	}
}

// TestClusterHeldTaskEndsWithRunner: a Retryable task its node's shutdown
// cancelled before it started is held for its runner's failover; when the
// runner is seen ended on its node instead (twice Shutdown: noteRunners
// moves it to runnerEnded, no failover comes), the task ends with the
// outcome it was diverted from. Before, it never got an outcome until
// Close.
func TestClusterHeldTaskEndsWithRunner(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}}
	cc := noteClient(t, 0, a)
	cc.follow("gen-1", a.m)
	h, feed := actors.NewTaskFeed("gen-1", "Q")
	cc.tasks[&clusterTask{t: Task{ID: "Q", Retryable: true}, runnerID: "gen-1", feed: feed, h: h}] = struct{}{}
	cancelled := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_CANCELLED, Reason: actors.ReasonShutdownBeforeStart, At: time.Now()}
	if !cc.divertShutdownEnd(a, feed, cancelled) {
		t.Fatal("the Retryable task cancelled before it started was not held")
	}
	lists := map[string][]RunnerInfo{"ma": {{ID: "gen-1", Status: StatusShutdown}}}
	cc.noteRunners(cc.seq, lists)
	cc.noteRunners(cc.seq, lists)
	if r := cc.runners["gen-1"]; r == nil || r.state != runnerEnded {
		t.Fatalf("runner after two Shutdown sightings: %+v, want ended", r)
	}
	o := h.Outcome()
	if o == nil || o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED || o.Reason != actors.ReasonShutdownBeforeStart {
		t.Fatalf("held task after its runner ended: outcome %+v, want its node's (cancelled, %q)", o, actors.ReasonShutdownBeforeStart)
	}
}

// TestShutdownAsLeaving: a member's refusal because its node is shutting
// down, before the client learnt the member leaves, says what a leaving
// member's does: ErrNodeLost, "try again shortly", pending (WaitReady
// waits through it), and still ErrShuttingDown. Before, a rolling
// restart's Submits in that window (100–300 ms, automanaged) got "node is
// shutting down and accepts no new work", which matched neither ErrNodeLost
// nor the docs' "try again". Other errors pass as they are.
func TestShutdownAsLeaving(t *testing.T) {
	refused := fmt.Errorf("node n1: %w", ErrShuttingDown)
	err := shutdownAsLeaving(refused, "llama-1", "n1")
	var pending pendingError
	if !errors.Is(err, ErrNodeLost) || !errors.Is(err, ErrShuttingDown) || !errors.As(err, &pending) {
		t.Errorf("%v: want ErrNodeLost, ErrShuttingDown and pending", err)
	}
	want := "node lost: runner llama-1: its node n1 is shutting down: it leaves the cluster, finishes its running tasks (up to its shutdown.draining, 30s by default), then the runner is placed again (unless the whole cluster shuts down); until then use another runner, or retry in a moment: once this client has heard the node leave (within about 300 ms), WaitReady waits for the replacement (node n1: node is shutting down and accepts no new work)"
	if err.Error() != want {
		t.Errorf("text %q\nwant %q", err.Error(), want)
	}
	for _, other := range []error{ErrQueueFull, fmt.Errorf("x: %w", ErrRunnerNotAvailable), &nodeShutDown{node: "n", addr: "a", text: "shut down"}} {
		if got := shutdownAsLeaving(other, "r", "n"); got != other {
			t.Errorf("%v became %v", other, got)
		}
	}
}

// TestLostAsPending: a Submit whose member's connection ended as it was
// made says what ErrNodeLost means on a ClusterClient (try again shortly;
// WaitReady waits), and is pending. Before, it returned the member's
// "node lost: node n1 (…) lost: its endpoint terminated (connection lost)"
// with no advice (a docs-only trial, right after a kill -9). Errors that
// say what to do already, or are final, pass as they are.
func TestLostAsPending(t *testing.T) {
	lost := fmt.Errorf("%w: node n1 (127.0.0.1:29301) lost: its endpoint terminated (connection lost)", ErrNodeLost)
	err := lostAsPending(lost, "gen-1", "n1")
	var pending pendingError
	if !errors.Is(err, ErrNodeLost) || errors.Is(err, ErrRunnerNotAvailable) || !errors.As(err, &pending) {
		t.Errorf("%v: want ErrNodeLost, pending, not ErrRunnerNotAvailable", err)
	}
	want := "runner gen-1: node lost: node n1 (127.0.0.1:29301) lost: its endpoint terminated (connection lost); the cluster decides whether node n1 is gone and places the runner again: try again shortly with the same Task.ID (the node deduplicates; WaitReady waits for the runner's replacement)"
	if err.Error() != want {
		t.Errorf("text %q\nwant %q", err.Error(), want)
	}
	note := &nodeShutDown{node: "n1", addr: "127.0.0.1:29301", text: "node n1 shut down: its shutdown stopped every runner it ran"}
	if err := lostAsPending(note, "gen-1", "n1"); !errors.As(err, &pending) || !errors.Is(err, ErrShuttingDown) || !strings.Contains(err.Error(), "try again shortly") {
		t.Errorf("a node's shutdown note: %v; want pending, still ErrShuttingDown, saying to try again shortly", err)
	}
	leaving := leavingErr("gen-1", "n1")
	for _, other := range []error{ErrQueueFull, fmt.Errorf("x: %w (%w)", ErrNodeLost, ErrRunnerNotAvailable), leaving} {
		if got := lostAsPending(other, "r", "n"); got != other {
			t.Errorf("%v became %v", other, got)
		}
	}
}
