package runtime

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// goneClient is a member connection already closed: declareLost may end
// it as lost and Close it, without an actor system.
func goneClient() *Client {
	c := &Client{ended: make(chan struct{})}
	c.closeOnce.Do(func() {}) // nothing to release
	return c
}

// TestClusterLeavingBeforeLost: a member that left the view gracefully and
// whose connection then closed is reported member_leaving before
// member_lost, even when its connection closes, and a poll reads the view,
// while the client announces the leave. Before, member_leaving was emitted
// after the member had been moved to draining and the lock released, so
// the connection's end (draining → suspect) and the next poll (declareLost)
// could report member_lost first: a host's hook saw the member lost, then
// leaving. Deterministic: the hook itself closes the connection and runs
// the poll at the moment member_leaving is being reported.
func TestClusterLeavingBeforeLost(t *testing.T) {
	cc, a := leavingClient(t)
	var mu sync.Mutex
	var events []ClusterEvent
	cc.cfg.Hook = func(e ClusterEvent) {
		if e.Kind == ClusterMemberLeaving {
			cc.suspect(a, shutNote(a))                   // its connection closes (it exited after its drain)
			cc.applyView(map[string]membership.Member{}) // and a poll reads the view without it
		}
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	cc.applyView(map[string]membership.Member{}) // a left the view with its connection up: asked, it is shutting down
	cc.wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, string(e.Kind))
	}
	if got := strings.Join(kinds, ","); got != "member_leaving,member_lost" {
		t.Fatalf("events %s, want member_leaving,member_lost", got)
	}
	if d := events[1].Detail; !strings.Contains(d, "shutting down") {
		t.Errorf("member_lost detail %q: want it to say the member left shutting down", d)
	}
	if a.state != memberLost || cc.badTransitions != 0 {
		t.Errorf("member %s with %d bad transitions, want lost and none", a.state, cc.badTransitions)
	}
}

// TestClusterMemberTransitions: the member lifecycle's table, pair by
// pair (a transition it does not list is counted and not applied), and
// what a lost connection (suspect) does from each state: the former
// connLost flag beside leaving is the state leaving-cut, and a drained
// member is no longer a suspect one with a duration beside it.
func TestClusterMemberTransitions(t *testing.T) {
	legal := map[[2]memberState]bool{
		{memberLive, memberSuspect}:       true,
		{memberLive, memberLeaving}:       true,
		{memberSuspect, memberLost}:       true,
		{memberLeaving, memberLeavingCut}: true,
		{memberLeaving, memberDraining}:   true,
		{memberLeaving, memberLost}:       true,
		{memberLeavingCut, memberLost}:    true,
		{memberDraining, memberDrained}:   true,
		{memberDrained, memberLost}:       true,
	}
	for from := range numMemberStates {
		for to := range numMemberStates {
			cc := noteClient(t, 0)
			mc := &memberConn{state: from}
			moved := cc.memberToLocked(mc, to)
			want := legal[[2]memberState{from, to}]
			if moved != want || moved && mc.state != to || !moved && mc.state != from {
				t.Errorf("%s → %s: moved %v (now %s), want moved %v", from, to, moved, mc.state, want)
			}
			if bad := cc.badTransitions; moved && bad != 0 || !moved && bad != 1 {
				t.Errorf("%s → %s: %d bad transitions counted", from, to, bad)
			}
		}
	}
	onLoss := map[memberState]memberState{
		memberLive:       memberSuspect,
		memberSuspect:    memberSuspect,
		memberLost:       memberLost,
		memberLeaving:    memberLeavingCut,
		memberLeavingCut: memberLeavingCut,
		memberDraining:   memberDrained,
		memberDrained:    memberDrained,
	}
	for from, want := range onLoss {
		mc := &memberConn{state: from}
		cc := noteClient(t, 0, mc)
		cc.suspect(mc, errors.New("lost"))
		if mc.state != want || cc.badTransitions != 0 {
			t.Errorf("connection lost while %s: now %s (%d bad transitions), want %s", from, mc.state, cc.badTransitions, want)
		}
	}
	if !memberDraining.leaving() || !memberLeavingCut.leaving() || memberDrained.leaving() || memberLive.leaving() {
		t.Error("leaving() must hold for leaving, leaving-cut and draining only")
	}
}

// TestClusterDrainedThenLost: the ordinary graceful leave, step by step:
// left the view (leaving), answered shutting down (member_leaving,
// draining), its connection closed (drained), the next read declares it
// lost, saying how long it drained.
func TestClusterDrainedThenLost(t *testing.T) {
	cc, a := leavingClient(t)
	var mu sync.Mutex
	var events []ClusterEvent
	cc.cfg.Hook = func(e ClusterEvent) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	cc.applyView(map[string]membership.Member{})
	cc.wg.Wait()
	if a.state != memberDraining {
		t.Fatalf("after its answer: %s, want draining", a.state)
	}
	cc.suspect(a, shutNote(a))
	if a.state != memberDrained {
		t.Fatalf("after its connection closed: %s, want drained", a.state)
	}
	cc.applyView(map[string]membership.Member{})
	cc.wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Kind != ClusterMemberLeaving || events[1].Kind != ClusterMemberLost ||
		!strings.Contains(events[1].Detail, "drained for") {
		t.Fatalf("events %+v, want member_leaving then member_lost saying how long it drained", events)
	}
	if a.state != memberLost || cc.badTransitions != 0 || !cc.dead["ma"] {
		t.Errorf("member %s, %d bad transitions, dead %v: want lost, none, remembered dead", a.state, cc.badTransitions, cc.dead["ma"])
	}
}

// leavingClient is a client of one member, a, whose connection is gone and
// which answers that it is shutting down: a member on a graceful leave.
func leavingClient(t *testing.T) (*ClusterClient, *memberConn) {
	t.Helper()
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, c: goneClient()}
	cc := noteClient(t, 0, a)
	cc.ctx = t.Context()
	cc.dead, cc.joining = map[string]bool{}, map[string]bool{}
	cc.askShuttingHook = func(context.Context, *memberConn) (bool, error) { return true, nil }
	return cc, a
}
