package runtime

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// shutNote is the error a member's connection ends with on its node's
// shutdown note (GW_CODE_SHUTTING_DOWN): the node shut down gracefully.
func shutNote(mc *memberConn) error {
	return &nodeShutDown{node: mc.m.NodeName, addr: "127.0.0.1:1", text: "node " + mc.m.NodeName + " shut down: its shutdown stopped every runner it ran"}
}

// faultNote is the note of a node that shut itself down over a node-wide
// fault (detail NODE_FAULT): on no one's request.
func faultNote(mc *memberConn) error {
	return &nodeShutDown{node: mc.m.NodeName, addr: "127.0.0.1:1", fault: true,
		text: "node " + mc.m.NodeName + " shut down: its shutdown stopped every runner it ran (it shut itself down: node-wide fault: out of file descriptors)"}
}

// forcedNote is the note of a node whose shutdown was forced (detail
// SHUTDOWN_FORCED: a second SIGTERM).
func forcedNote(mc *memberConn) error {
	return &nodeShutDown{node: mc.m.NodeName, addr: "127.0.0.1:1", forced: true,
		text: "node " + mc.m.NodeName + " shut down: its shutdown stopped every runner it ran (its shutdown was forced: every runner's process group got SIGKILL)"}
}

// heartbeatLost is the error a member's connection ends with when its
// node stops answering (a kill -9, a partition).
func heartbeatLost(mc *memberConn) error {
	return fmt.Errorf("%w: node %s (127.0.0.1:1) lost: no answer to the heartbeat for 1.5s", ErrNodeLost, mc.m.NodeName)
}

// plannedCase runs one leave of member a, which hosts runner gen-1 (no
// other member: the runner is not placed again, and its runner_lost
// event says why it was lost): the hook, called on member_leaving, may
// end the connection; after, ends it when the hook did not. It returns the
// runner_lost event and how many failures the client's error handler
// recorded.
func plannedCase(t *testing.T, onLeaving, after func(cc *ClusterClient, a *memberConn)) (ClusterEvent, int) {
	t.Helper()
	cc, a := leavingClient(t)
	cc.follow("gen-1", a.m)
	var mu sync.Mutex
	var lost []ClusterEvent
	cc.cfg.Hook = func(e ClusterEvent) {
		if e.Kind == ClusterMemberLeaving && onLeaving != nil {
			onLeaving(cc, a)
		}
		if e.Kind == ClusterRunnerLost {
			mu.Lock()
			lost = append(lost, e)
			mu.Unlock()
		}
	}
	cc.applyView(map[string]membership.Member{}) // a left the view; asked, it is shutting down
	cc.wg.Wait()
	if after != nil {
		after(cc, a)
		cc.applyView(map[string]membership.Member{})
		cc.wg.Wait()
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lost) != 1 || a.state != memberLost {
		t.Fatalf("member %s, runner_lost events %+v: want lost, one", a.state, lost)
	}
	return lost[0], int(cc.eh.Stats().Total)
}

// TestClusterPlannedLeaveNeedsTheShutdownNote: a leave is planned (the
// runners placed again at once, no failure recorded, "left … gracefully")
// when the member's connection ended on its node's shutdown note, whether
// it closed after the drain, as the drain began (leaving-cut: an idle node
// drains at once), or before the client saw the member leave the view;
// not when the connection was lost, even while the member drained (a kill
// -9 cut its drain). Before, the member's state alone decided: a drain cut
// by kill -9 was "left gracefully", no failure counted; a leave whose
// connection closed on its note as its drain began was "declared dead",
// its backoff counted.
func TestClusterPlannedLeaveNeedsTheShutdownNote(t *testing.T) {
	for _, c := range []struct {
		name             string
		onLeaving, after func(cc *ClusterClient, a *memberConn)
		planned          bool
	}{
		{"closed on its note after its drain", nil, func(cc *ClusterClient, a *memberConn) { cc.suspect(a, shutNote(a)) }, true},
		{"closed on its note as its drain began", func(cc *ClusterClient, a *memberConn) { cc.suspect(a, shutNote(a)) }, nil, true},
		{"lost during its drain (kill -9)", nil, func(cc *ClusterClient, a *memberConn) { cc.suspect(a, heartbeatLost(a)) }, false},
		{"lost as its drain began", func(cc *ClusterClient, a *memberConn) { cc.suspect(a, heartbeatLost(a)) }, nil, false},
		// A node that shut itself down over a node-wide fault left on no
		// one's request: its runners' loss counts (backoff, intensity), or
		// a runner that takes its node down would hop from node to node
		// without bound (a review).
		{"closed on a fault's note after its drain", nil, func(cc *ClusterClient, a *memberConn) { cc.suspect(a, faultNote(a)) }, false},
		// A forced shutdown was asked for (a second SIGTERM): planned, no
		// failure, but not "gracefully": before, the events said "left
		// cluster trial gracefully" after one (a docs-only trial).
		{"closed on a forced shutdown's note", nil, func(cc *ClusterClient, a *memberConn) { cc.suspect(a, forcedNote(a)) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, failures := plannedCase(t, c.onLeaving, c.after)
			forced := strings.Contains(c.name, "forced")
			if forced {
				if strings.Contains(e.Detail, "gracefully") || !strings.Contains(e.Detail, "left cluster  (its shutdown was forced)") ||
					!strings.Contains(e.Detail, "its connection closed after its node's shutdown was forced") || failures != 0 {
					t.Errorf("runner_lost %q, %d failures recorded: want a planned leave (none recorded) saying the shutdown was forced, never gracefully", e.Detail, failures)
				}
				return
			}
			graceful := strings.Contains(e.Detail, "left cluster  gracefully")
			if graceful != c.planned || (failures == 0) != c.planned {
				t.Errorf("runner_lost %q, %d failures recorded: want planned %v (left gracefully, none recorded) ", e.Detail, failures, c.planned)
			}
			if !c.planned && !strings.Contains(e.Detail, "was lost (not closed by its node's shutdown)") && !strings.Contains(e.Detail, "closed as its node shut itself down over a node-wide fault (no planned leave)") {
				t.Errorf("runner_lost %q: want it to say the connection was lost", e.Detail)
			}
		})
	}
}

// TestClusterShutDownBeforeSeenLeavingIsPlanned: a node whose connection
// ended on its shutdown note before this client saw it leave the view
// (suspect, then gone from the view) left gracefully too.
func TestClusterShutDownBeforeSeenLeavingIsPlanned(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     func(*memberConn) error
		planned bool
	}{{"its shutdown note", shutNote, true}, {"lost", heartbeatLost, false}} {
		t.Run(c.name, func(t *testing.T) {
			a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}, c: goneClient()}
			cc := noteClient(t, 0, a)
			cc.ctx = t.Context()
			cc.dead, cc.joining = map[string]bool{}, map[string]bool{}
			cc.follow("gen-1", a.m)
			var mu sync.Mutex
			var lost []ClusterEvent
			cc.cfg.Hook = func(e ClusterEvent) {
				if e.Kind == ClusterRunnerLost {
					mu.Lock()
					lost = append(lost, e)
					mu.Unlock()
				}
			}
			cc.suspect(a, c.err(a))
			cc.applyView(map[string]membership.Member{})
			cc.wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(lost) != 1 {
				t.Fatalf("runner_lost events %+v, want one", lost)
			}
			graceful := strings.Contains(lost[0].Detail, "gracefully")
			if failures := cc.eh.Stats().Total; graceful != c.planned || (failures == 0) != c.planned {
				t.Errorf("runner_lost %q, %d failures recorded: want planned %v", lost[0].Detail, failures, c.planned)
			}
		})
	}
}
