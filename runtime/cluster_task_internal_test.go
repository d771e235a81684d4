package runtime

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/testutil"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestClusterTaskTransitions: the task placement table, pair by pair (a
// transition it does not list is counted and not applied), and which
// states may be held by a node's shutdown (submitting and followed only:
// the former "moving" flag refused the rest) and pruned (followed with an
// outcome, ended).
func TestClusterTaskTransitions(t *testing.T) {
	legal := map[[2]taskState]bool{
		{taskSubmitting, taskFollowed}:   true,
		{taskSubmitting, taskHeld}:       true,
		{taskSubmitting, taskEnded}:      true,
		{taskFollowed, taskHeld}:         true,
		{taskFollowed, taskMoving}:       true,
		{taskHeld, taskMoving}:           true,
		{taskHeld, taskEnded}:            true,
		{taskMoving, taskResubmitting}:   true,
		{taskMoving, taskEnded}:          true,
		{taskResubmitting, taskFollowed}: true,
		{taskResubmitting, taskEnded}:    true,
	}
	for from := range numTaskStates {
		for to := range numTaskStates {
			cc := noteClient(t, 0)
			ct := &clusterTask{state: from}
			moved := cc.taskToLocked(ct, to)
			want := legal[[2]taskState{from, to}]
			if moved != want || moved && ct.state != to || !moved && ct.state != from {
				t.Errorf("%s → %s: moved %v (now %s), want moved %v", from, to, moved, ct.state, want)
			}
			if bad := cc.badTransitions; moved && bad != 0 || !moved && bad != 1 {
				t.Errorf("%s → %s: %d bad transitions counted", from, to, bad)
			}
		}
	}

	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}}
	cc := noteClient(t, 0, a)
	cc.follow("gen-1", a.m)
	cancelled := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_CANCELLED, Reason: actors.ReasonShutdownBeforeStart, At: time.Now()}
	for st := range numTaskStates {
		h, feed := actors.NewTaskFeed("gen-1", st.String())
		ct := &clusterTask{t: Task{ID: st.String(), Retryable: true}, runnerID: "gen-1", feed: feed, h: h, state: st}
		cc.tasks[ct] = struct{}{}
		held := cc.divertShutdownEnd(a, feed, cancelled)
		if want := st == taskSubmitting || st == taskFollowed; held != want {
			t.Errorf("a %s task: held %v by its node's shutdown, want %v", st, held, want)
		}
		if ct.prunable() {
			t.Errorf("a %s task without an outcome is prunable", ct.state)
		}
		feed.Fail("done", time.Now())
		if want := ct.state == taskFollowed || ct.state == taskEnded; ct.prunable() != want {
			t.Errorf("a %s task with an outcome: prunable %v, want %v", ct.state, ct.prunable(), want)
		}
	}
	if cc.badTransitions != 0 {
		t.Errorf("%d bad transitions", cc.badTransitions)
	}
}

// TestClusterLostMemberTakesTasks: which tasks the loss of their member
// hands to the failover (moving), by state: an open followed one and a
// held one; not one whose call is in flight (its caller decides), one
// already owned by a failover, nor an ended one. The runner's StopRunner
// was under way, so the failover ends what it got Failed at once, without
// a placement.
func TestClusterLostMemberTakesTasks(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, c: goneClient(), state: memberSuspect}
	cc := noteClient(t, 0, a)
	cc.ctx = t.Context()
	cc.dead = map[string]bool{}
	r := cc.follow("gen-1", a.m)
	r.stopAsked = true
	type row struct {
		ct      *clusterTask
		outcome bool // an outcome came before the loss
		taken   bool
	}
	var rows []row
	add := func(st taskState, outcome, taken bool) {
		h, feed := actors.NewTaskFeed("gen-1", st.String())
		ct := &clusterTask{t: Task{ID: st.String(), Retryable: true}, runnerID: "gen-1", feed: feed, h: h, state: st}
		if outcome {
			feed.Finish(actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_COMPLETE, At: time.Now()})
		}
		cc.tasks[ct] = struct{}{}
		rows = append(rows, row{ct, outcome, taken})
	}
	add(taskFollowed, false, true)
	add(taskFollowed, true, false)
	add(taskSubmitting, false, false)
	add(taskHeld, false, true)
	add(taskMoving, false, false)
	add(taskResubmitting, false, false)
	add(taskEnded, true, false)
	before := make([]taskState, len(rows))
	for i, rw := range rows {
		before[i] = rw.ct.state
	}
	cc.declareLost(a, "test", true)
	cc.wg.Wait()
	for i, rw := range rows {
		o := rw.ct.h.Outcome()
		switch {
		case rw.taken && (rw.ct.state != taskEnded || o == nil || !strings.Contains(o.Reason, "being stopped")):
			t.Errorf("%s task: now %s, outcome %+v; want taken over and ended Failed (its runner was being stopped)", before[i], rw.ct.state, o)
		case !rw.taken && rw.ct.state != before[i]:
			t.Errorf("%s task (outcome before: %v): now %s, want left alone", before[i], rw.outcome, rw.ct.state)
		}
	}
	if cc.badTransitions != 0 {
		t.Errorf("%d bad transitions", cc.badTransitions)
	}
}

// TestClusterRetryableLostTwiceSaysSo: a Retryable task at attempt 2 whose
// member is lost ends Failed saying it was resubmitted once already; a
// plain task's reason says nothing of it. Before, both read the same, as if
// the Retryable one had not been Retryable (a rolling restart's trial: a
// task moved off the first node and lost with the second).
func TestClusterRetryableLostTwiceSaysSo(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, c: goneClient(), state: memberSuspect}
	cc := noteClient(t, 0, a)
	eh, err := errhandler.New(toErrorPolicy(ErrorPolicy{Rules: []Rule{{Name: "lost-stays-lost", Kind: FailureNodeLost,
		Severity: SeverityHigh, Action: ActionEscalate}}}))
	if err != nil {
		t.Fatal(err)
	}
	cc.eh, cc.ctx, cc.dead = eh, t.Context(), map[string]bool{}
	cc.follow("gen-1", a.m)
	task := func(id string, retryable, retried bool) *clusterTask {
		h, feed := actors.NewTaskFeed("gen-1", id)
		if retried {
			feed.Retry("its first node left")
		}
		ct := &clusterTask{t: Task{ID: id, Retryable: retryable}, runnerID: "gen-1", feed: feed, h: h}
		cc.tasks[ct] = struct{}{}
		return ct
	}
	twice, plain := task("twice", true, true), task("plain", false, false)
	cc.declareLost(a, "test", false)
	cc.wg.Wait()
	const said = "not resubmitted again: a Retryable task is resubmitted once, and this was its attempt 2"
	if o := twice.h.Outcome(); o == nil || o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, said) {
		t.Errorf("Retryable task at attempt 2: outcome %+v; want Failed, saying %q", o, said)
	}
	if o := plain.h.Outcome(); o == nil || o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || strings.Contains(o.Reason, "resubmitted") {
		t.Errorf("plain task: outcome %+v; want Failed, its reason not about resubmission", o)
	}
}

// TestClusterLostWithoutView: a member whose connection has been lost for
// longer than the bound is declared lost when no peer answers a read of
// the membership (every node killed, or the only peer the client was
// given), and its open task ends; within the bound it is not. Before, it
// stayed "not decided yet", its tasks open, for as long as no peer
// answered (11 minutes in a user's trial).
func TestClusterLostWithoutView(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, c: goneClient(), state: memberSuspect, since: time.Now()}
	cc := noteClient(t, time.Hour, a)
	eh, err := errhandler.New(toErrorPolicy(ErrorPolicy{Rules: []Rule{{Name: "lost-stays-lost", Kind: FailureNodeLost,
		Severity: SeverityHigh, Action: ActionEscalate}}}))
	if err != nil {
		t.Fatal(err)
	}
	cc.eh, cc.ctx, cc.dead, cc.http = eh, t.Context(), map[string]bool{}, newReadClient()
	cc.mcfg = membership.Config{Cluster: "c", Provider: membership.ProviderAutomanaged, Peers: []string{testutil.DeadAddr(t)}, GoAPI: true}
	cc.follow("gen-1", a.m)
	h, feed := actors.NewTaskFeed("gen-1", "t1")
	ct := &clusterTask{t: Task{ID: "t1"}, runnerID: "gen-1", feed: feed, h: h}
	cc.tasks[ct] = struct{}{}

	cc.pollOnce() // within the bound (an hour): not lost yet
	cc.wg.Wait()
	if o := h.Outcome(); o != nil || a.state != memberSuspect {
		t.Fatalf("within the bound: member %s, task outcome %+v; want suspect, open", a.state, o)
	}
	cc.mu.Lock()
	cc.bound = time.Millisecond
	a.since = time.Now().Add(-2 * time.Second)
	cc.mu.Unlock()
	cc.pollOnce()
	cc.wg.Wait()
	o := h.Outcome()
	if a.state != memberLost || o == nil || o.Status != exov1.TaskStatus_TASK_STATUS_FAILED ||
		!strings.Contains(o.Reason, "its connection was lost 2") || // 2s, or 2.001s
		!strings.Contains(o.Reason, "s ago and the membership cannot be read (every peer down, or this client cut off from the cluster): no member of cluster c answered at") {
		t.Fatalf("past the bound with no peer answering: member %s, task outcome %+v; want lost, the task Failed saying why", a.state, o)
	}
	if cc.dead["ma"] {
		t.Error("a member lost without a view is marked dead for good; it should be joined again if it answers")
	}
	t.Logf("reason: %s", o.Reason)
}

// TestClusterMemberLostCountsRunners: member_lost counts its runners in
// English: "1 runner lost" (it said "1 runners lost": a docs-only trial).
func TestClusterMemberLostCountsRunners(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, c: goneClient(), state: memberSuspect}
	cc := noteClient(t, 0, a)
	cc.ctx, cc.dead = t.Context(), map[string]bool{}
	cc.follow("gen-1", a.m)
	var mu sync.Mutex
	var lost []string
	cc.cfg.Hook = func(e ClusterEvent) {
		if e.Kind == ClusterMemberLost {
			mu.Lock()
			lost = append(lost, e.Detail)
			mu.Unlock()
		}
	}
	cc.declareLost(a, "test", false)
	cc.wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(lost) != 1 || !strings.HasSuffix(lost[0], "; 1 runner lost") {
		t.Errorf("member_lost details %q, want one ending %q", lost, "; 1 runner lost")
	}
}

// TestClusterPlaceWithNoMember: a placement when the client has no member
// at all (every node lost) says the cluster has none now and to try
// again, not that no member registers the kind (ErrUnknownKind, "its
// members' kinds: ", "use one of those": a re-trial, after a kill -9 of
// every node); a closed client with leased runners does not say they run
// on.
func TestClusterPlaceWithNoMember(t *testing.T) {
	cc := noteClient(t, 0)
	cc.ctx = t.Context()
	_, err := cc.place(t.Context(), "gen", "")
	if !errors.Is(err, ErrNoPlacement) || errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), "cluster  has no member now (every node lost, or none joined yet): try again once nodes are up") {
		t.Errorf("place with no member: %v; want ErrNoPlacement, not ErrUnknownKind, saying the cluster has none now", err)
	}
	cc.leased = true
	if err := cc.closedErr(); !errors.Is(err, ErrClientClosed) || strings.Contains(err.Error(), "run on") || !strings.Contains(err.Error(), "their nodes stop them") {
		t.Errorf("closed, leased: %v; want it to say the nodes stop the leased runners", err)
	}
}
