package runtime

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// TestClusterInternalErrorEvent: an illegal member or task transition,
// forced here, is refused and reported as an internal_error event naming
// the member or task and the transition, outside cc.mu: by the poller's
// next round, or by Close for what the poller had not reported. Before,
// it was only counted, and only a test accessor read the count: a task a
// refused transition left resubmitting for ever went unnoticed in
// production. Past maxPendingInternal queued events, one event says how
// many were left out; InternalErrors counts them all.
func TestClusterInternalErrorEvent(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, c: goneClient()}
	cc := noteClient(t, 0, a)
	cc.ctx, cc.cancel = context.WithCancel(context.Background())
	cc.follow("gen-1", a.m)
	var mu sync.Mutex
	var events []ClusterEvent
	cc.cfg.Hook = func(e ClusterEvent) {
		if !cc.mu.TryLock() {
			t.Errorf("%s event emitted with cc.mu held", e.Kind)
		} else {
			cc.mu.Unlock()
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	took := func() []ClusterEvent {
		mu.Lock()
		defer mu.Unlock()
		evs := events
		events = nil
		return evs
	}

	ct := &clusterTask{t: Task{ID: "t1"}, runnerID: "gen-1", state: taskResubmitting}
	cc.mu.Lock()
	moved := cc.taskToLocked(ct, taskHeld)
	cc.mu.Unlock()
	if moved || ct.state != taskResubmitting {
		t.Fatalf("resubmitting → held: moved %v, now %s; want refused", moved, ct.state)
	}
	if evs := took(); len(evs) != 0 {
		t.Fatalf("events %v emitted by the transition itself (under cc.mu); want them from the poller", evs)
	}
	cc.pollOnce() // the membership read fails (no peers): the report comes all the same
	evs := took()
	if len(evs) != 1 {
		t.Fatalf("after a poll: %d events %v, want 1 internal_error", len(evs), evs)
	}
	if e := evs[0]; e.Kind != ClusterInternalError || e.TaskID != "t1" || e.RunnerID != "gen-1" || e.Node != "a" || e.Member != "ma" ||
		!strings.Contains(e.Detail, "resubmitting → held") || !strings.Contains(e.Detail, `task "t1"`) || e.At.IsZero() {
		t.Errorf("event %+v: want internal_error naming task t1 of runner gen-1 on a (ma), resubmitting → held", e)
	}

	// Past the bound: counted, one event for the rest.
	cc.mu.Lock()
	for range maxPendingInternal + 3 {
		cc.taskToLocked(ct, taskHeld)
	}
	cc.mu.Unlock()
	cc.pollOnce()
	evs = took()
	if len(evs) != maxPendingInternal+1 {
		t.Fatalf("%d events after %d refusals, want %d", len(evs), maxPendingInternal+3, maxPendingInternal+1)
	}
	if last := evs[len(evs)-1]; last.Kind != ClusterInternalError || !strings.HasPrefix(last.Detail, "3 more illegal lifecycle transitions") {
		t.Errorf("last event %+v: want one saying 3 more were left out", last)
	}

	// A member's, refused after the poller's last round: Close reports it.
	a.state = memberLost
	cc.mu.Lock()
	moved = cc.memberToLocked(a, memberLive)
	cc.mu.Unlock()
	if moved || a.state != memberLost {
		t.Fatalf("lost → live: moved %v, now %s; want refused", moved, a.state)
	}
	if err := cc.Close(); err != nil {
		t.Fatal(err)
	}
	evs = took()
	if len(evs) != 1 || evs[0].Kind != ClusterInternalError || evs[0].Member != "ma" || evs[0].Node != "a" ||
		!strings.Contains(evs[0].Detail, "lost → live") || !strings.Contains(evs[0].Detail, "member ma of node a") {
		t.Errorf("events at Close %v: want one internal_error naming member ma of node a, lost → live", evs)
	}
	if n, want := cc.InternalErrors(), 1+maxPendingInternal+3+1; n != want {
		t.Errorf("InternalErrors %d, want %d", n, want)
	}
}
