package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/membership"
)

// noteClient is a ClusterClient with members but no connections: enough
// for noteRunners, resolve and Where.
func noteClient(t *testing.T, bound time.Duration, members ...*memberConn) *ClusterClient {
	t.Helper()
	eh, err := errhandler.New(toErrorPolicy(ErrorPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	cc := &ClusterClient{eh: eh, bound: bound, ctx: context.Background(), members: map[string]*memberConn{},
		runners: map[string]*clusterRunner{}, tasks: map[*clusterTask]struct{}{}}
	for _, mc := range members {
		cc.members[mc.m.ID] = mc
	}
	return cc
}

func (cc *ClusterClient) follow(id string, m membership.Member) *clusterRunner {
	r := &clusterRunner{id: id, kind: "gen", slot: id}
	cc.mu.Lock()
	cc.liveOnLocked(r, m)
	cc.runners[id] = r
	cc.mu.Unlock()
	return r
}

// TestClusterNoteRunners: the rule that drops a runner that ended on its
// member by other means, without processes.
func TestClusterNoteRunners(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}}
	b := &memberConn{m: membership.Member{ID: "mb", NodeName: "b"}, state: memberSuspect}
	var events []ClusterEvent

	cc := noteClient(t, 0, a, b) // bound 0: a second sighting confirms at once
	cc.cfg.Hook = func(e ClusterEvent) { events = append(events, e) }
	stopped := cc.follow("gen-1", a.m)
	forgotten := cc.follow("gen-2", a.m)
	running := cc.follow("gen-3", a.m)
	onSuspect := cc.follow("gen-4", b.m)
	backoff := cc.follow("gen-6", a.m) // Failed, waiting to restart: not ended
	asked := cc.seq
	late := cc.follow("gen-5", a.m) // placed after the list was asked for
	lists := map[string][]RunnerInfo{
		"ma": {{ID: "gen-1", Status: StatusShutdown}, {ID: "gen-3", Status: StatusReady}, {ID: "gen-6", Status: StatusFailed, Restarting: true}},
		"mb": {{ID: "gen-4", Status: StatusFailed}},
	}
	cc.noteRunners(asked, lists)
	for _, r := range []*clusterRunner{stopped, forgotten, running, onSuspect, late} {
		if r.state != runnerLive {
			t.Errorf("%s: state %d after one list, want live (seen ended once is not enough)", r.id, r.state)
		}
	}
	if stopped.endedAt.IsZero() || forgotten.endedAt.IsZero() || !running.endedAt.IsZero() || !late.endedAt.IsZero() {
		t.Errorf("first sighting: gen-1 %v gen-2 %v gen-3 %v gen-5 %v, want only gen-1 and gen-2 seen ended",
			stopped.endedAt, forgotten.endedAt, running.endedAt, late.endedAt)
	}
	cc.noteRunners(asked, lists)
	if stopped.state != runnerEnded || forgotten.state != runnerEnded {
		t.Errorf("second sighting: gen-1 %d gen-2 %d, want ended", stopped.state, forgotten.state)
	}
	if running.state != runnerLive || late.state != runnerLive {
		t.Errorf("gen-3 (listed Ready) %d, gen-5 (placed after the list) %d: want live", running.state, late.state)
	}
	if backoff.state != runnerLive || !backoff.endedAt.IsZero() {
		t.Errorf("gen-6 (Failed, restarting): state %d endedAt %v, want live, not seen ended (its node restarts it)", backoff.state, backoff.endedAt)
	}
	if onSuspect.state != runnerLive {
		t.Errorf("gen-4 on a suspect member: state %d, want live (the cluster has not decided about its member)", onSuspect.state)
	}
	if len(events) != 2 || events[0].Kind != ClusterRunnerEnded || !strings.Contains(events[0].Detail+events[1].Detail, "no longer lists it") {
		t.Errorf("events %+v: want two runner_ended", events)
	}
	if _, _, ok := cc.Where("gen-1"); ok {
		t.Error("Where names an ended runner")
	}
	if _, _, err := cc.resolve(context.Background(), "gen-1"); !errors.Is(err, ErrRunnerNotAvailable) ||
		!strings.Contains(err.Error(), "runner gen-1 ended on its node a (its node lists it Shutdown") {
		t.Errorf("resolve of an ended runner: %v", err)
	}

	// Listed live again before the confirmation: followed on.
	cc2 := noteClient(t, time.Hour, a)
	r := cc2.follow("gen-1", a.m)
	cc2.noteRunners(cc2.seq, map[string][]RunnerInfo{"ma": {}})
	cc2.noteRunners(cc2.seq, map[string][]RunnerInfo{"ma": {}})
	if r.state != runnerLive || r.endedAt.IsZero() {
		t.Errorf("within the bound: state %d endedAt %v, want live, seen ended", r.state, r.endedAt)
	}
	cc2.noteRunners(cc2.seq, map[string][]RunnerInfo{"ma": {{ID: "gen-1", Status: StatusRunning}}})
	if r.state != runnerLive || !r.endedAt.IsZero() {
		t.Errorf("listed Running again: state %d endedAt %v, want live, not seen ended", r.state, r.endedAt)
	}

	// The map stays bounded however many runners end elsewhere.
	cc3 := noteClient(t, 0, a)
	for i := range maxRetired + 100 {
		cc3.follow(fmt.Sprintf("gen-%06d", i), a.m)
		if i%1000 == 999 || i == maxRetired+99 {
			cc3.noteRunners(cc3.seq, map[string][]RunnerInfo{"ma": {}})
			cc3.noteRunners(cc3.seq, map[string][]RunnerInfo{"ma": {}})
		}
	}
	if n := len(cc3.runners); n > maxRetired {
		t.Errorf("%d runners ended elsewhere: the map holds %d, want at most maxRetired (%d)", maxRetired+100, n, maxRetired)
	}
}

// TestClusterViewOfNoVerdict: a read where no answering automanaged peer
// is joined (the only other member left while this one was still joining)
// is no verdict, not an empty cluster.
func TestClusterViewOfNoVerdict(t *testing.T) {
	joining := membership.Status{Cluster: "c", Provider: membership.ProviderAutomanaged, Members: []membership.Member{}, Peers: []membership.PeerView{
		{Peer: "127.0.0.1:1", View: &membership.View{Cluster: "c", State: membership.Joining}},
		{Peer: "127.0.0.1:2", Error: "connection refused"},
	}}
	if v, err := viewOf(joining); err == nil || !strings.Contains(err.Error(), `no peer that answered is a joined member of cluster "c" yet (127.0.0.1:1 is joining)`) {
		t.Errorf("only a joining peer answered: view %v, error %v; want no verdict", v, err)
	}
	a := membership.Member{ID: "ma", NodeName: "a", Gateway: "127.0.0.1:7101"}
	noGateway := membership.Member{ID: "mx", NodeName: "x"}
	joined := membership.Status{Cluster: "c", Provider: membership.ProviderAutomanaged, Members: []membership.Member{a, noGateway}, Peers: []membership.PeerView{
		{Peer: "127.0.0.1:1", View: &membership.View{Cluster: "c", State: membership.Joined, Self: "ma", Members: []membership.Member{a, noGateway}}},
		{Peer: "127.0.0.1:2", View: &membership.View{Cluster: "c", State: membership.Joining}},
	}}
	if v, err := viewOf(joined); err != nil || len(v) != 1 || v["ma"].NodeName != "a" {
		t.Errorf("a joined peer answered: view %v, error %v; want member a only (x has no gateway)", v, err)
	}
	etcd := membership.Status{Cluster: "c", Provider: membership.ProviderEtcd, Members: []membership.Member{}}
	if v, err := viewOf(etcd); err != nil || len(v) != 0 {
		t.Errorf("etcd, no member: view %v, error %v; want an empty view (etcd's listing is the verdict)", v, err)
	}
}

// TestClusterNoteRunnersLeavesOwnStopAlone: a runner this client is
// stopping (StopRunner under way) is not "ended by other means" when its
// member lists it Shutdown before the stop returns: the runner reports
// Shutdown itself when it takes the Shutdown frame, and the node answers
// the stop only after the process is reaped and its resources are closed
// (up to their CloseTimeout, 5 s by default). The stop decides; the lists
// must not emit runner_ended for it nor forget it for the policy twice.
func TestClusterNoteRunnersLeavesOwnStopAlone(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}}
	var events []ClusterEvent
	cc := noteClient(t, 0, a) // bound 0: a second sighting would confirm at once
	cc.cfg.Hook = func(e ClusterEvent) { events = append(events, e) }
	r := cc.follow("gen-1", a.m)
	cc.mu.Lock()
	r.stopAsked = true // what ClusterClient.StopRunner sets before its call
	cc.mu.Unlock()
	lists := map[string][]RunnerInfo{"ma": {{ID: "gen-1", Status: StatusShutdown}}}
	cc.noteRunners(cc.seq, lists)
	cc.noteRunners(cc.seq, lists)
	if r.state != runnerLive || len(events) != 0 {
		t.Fatalf("a runner this client is stopping: state %d, events %+v; want live, no runner_ended (its StopRunner decides)", r.state, events)
	}
}
