package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestClusterRunnerEndedElsewhere: a runner the ClusterClient placed is
// stopped on its node by someone else (a direct Client here; a second
// ClusterClient, an escalation or the node's retention are the same to the
// client). The client must learn it is gone (within DetectionBound + 2 ×
// Reconcile, see ClusterClient): Where stops naming it, a Submit names the
// end, its map keeps no live entry for it, and when its node is lost
// afterwards it is not placed again (it would be a runner nobody asked
// for). A node that leaves gracefully, though, still has its runners
// lost and handed to the policy (they stop after it left the view).
func TestClusterRunnerEndedElsewhere(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 10 s)")
	}
	kind := `{"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--warmup-delay", "0s", "--log-level", "error"]}`
	cfg := writeConfig(t, map[string]string{"gen": kind}, "")
	ports := testutil.ReservePorts(t, 2)
	peers := []string{"127.0.0.1:" + strconv.Itoa(ports[0]), "127.0.0.1:" + strconv.Itoa(ports[1])}
	nodes := map[string]*nodeProc{}
	start := func(name string) {
		port := ports[0]
		if name == "ge-b" {
			port = ports[1]
		}
		nodes[name] = startNode(t, name, cfg, "--cluster", "ge-test", "--cluster-port", strconv.Itoa(port),
			"--cluster-peers", strings.Join(peers, ","))
	}
	start("ge-a")
	start("ge-b")
	rec := testutil.NewRecorder[exo.ClusterEvent]()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "ge-test", Peers: peers, Hook: rec.Hook})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	rec.Wait(t, 20*time.Second, "the client connected to 2 members", func([]exo.ClusterEvent) bool { return len(cc.Members()) == 2 })

	id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	_, host, ok := cc.Where(id)
	if !ok {
		t.Fatalf("runner %s placed nowhere", id)
	}
	var gateway string
	for _, m := range cc.Members() {
		if m.Node == host {
			gateway = m.Gateway
		}
	}
	// Stopped on its node by another client, not through cc.
	direct, err := dial(ctx, gateway)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := direct.StopRunner(ctx, id); err != nil {
		t.Fatal(err)
	}
	direct.Close()
	stopped := time.Now()
	if _, err := rec.Await(cc.DetectionBound()+10*time.Second, "the client to drop runner "+id, func([]exo.ClusterEvent) bool {
		_, _, ok := cc.Where(id)
		return !ok
	}); err != nil {
		rid, node, _ := cc.Where(id)
		live, all := cc.FollowedRunners()
		t.Errorf("runner %s was stopped on %s %v ago by another client; the cluster client still says it is live as %s on %q (%d live of %d followed): %v",
			id, host, time.Since(stopped).Round(time.Millisecond), rid, node, live, all, err)
	} else {
		for _, e := range rec.Snapshot() {
			if e.RunnerID == id && e.At.After(stopped) {
				t.Logf("%s %v after the stop: %s", e.Kind, e.At.Sub(stopped).Round(time.Millisecond), e.Detail)
			}
		}
	}
	if _, err := cc.Submit(ctx, id, exo.Task{ID: "after-end", Kind: "text_generation"}); !errors.Is(err, exo.ErrRunnerNotAvailable) ||
		!strings.Contains(fmt.Sprint(err), "ended on its node "+host) {
		t.Errorf("Submit to the ended runner: %v, want ErrRunnerNotAvailable naming the node", err)
	}
	if live, all := cc.FollowedRunners(); live != 0 {
		t.Errorf("the client follows %d live runners (%d in all) after its only runner was stopped elsewhere, want 0", live, all)
	}

	// Its node is lost now: a runner that no longer exists must not be
	// placed again on the other member.
	lost := time.Now()
	nodes[host].kill()
	evs := rec.Wait(t, 20*time.Second, host+" declared lost", func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.Kind == exo.ClusterMemberLost && e.Node == host {
				return true
			}
		}
		return false
	})
	for _, e := range evs {
		if e.Kind == exo.ClusterMemberLost && e.Node == host {
			t.Logf("member_lost %v after kill -9: %s", e.At.Sub(lost).Round(time.Millisecond), e.Detail)
			if !strings.HasSuffix(e.Detail, "; 0 runners lost") {
				// Wait for what the failover does with it, to show it.
				evs, _ = rec.Await(10*time.Second, "the failover of "+id, func(evs []exo.ClusterEvent) bool {
					for _, e := range evs {
						if e.RunnerID == id && (e.Kind == exo.ClusterRunnerReplaced || e.Kind == exo.ClusterRunnerLost && e.Decision.Action != exo.ActionRetry) {
							return true
						}
					}
					return false
				})
				for _, e := range evs {
					if e.RunnerID == id && e.At.After(lost) {
						t.Errorf("runner %s, stopped before its node was lost: %s %s %s", id, e.Kind, e.NewRunnerID, e.Detail)
					}
				}
				t.Errorf("member_lost: %q, want no runner lost (its only runner had been stopped)", e.Detail)
			}
		}
	}
	var other string
	for name := range nodes {
		if name != host {
			other = name
		}
	}
	for _, r := range mustRunners(t, cc) {
		if !r.Status.Terminal() {
			t.Errorf("runner %s (%s) runs on %s, placed by nobody", r.ID, r.Status, other)
		}
	}

	// A node that leaves gracefully (SIGTERM: it leaves the view, then
	// stops its runners) still has its runners lost and handed to the
	// policy (RETRY places them again, on a member if one is left): the
	// client must not take the runners it stops for runners ended
	// elsewhere. (With two nodes, whether the other one can take it
	// depends on its own view at that moment: not checked here.)
	back := time.Now()
	start(host)
	rec.Wait(t, 20*time.Second, host+" back", func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.Kind == exo.ClusterMemberJoined && e.Node == host && e.At.After(back) {
				return true
			}
		}
		return false
	})
	id2, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.WaitReady(ctx, id2); err != nil {
		t.Fatal(err)
	}
	_, leaving, _ := cc.Where(id2)
	term := time.Now()
	if err := nodes[leaving].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	evs, err = rec.Await(cc.DetectionBound()+20*time.Second, "what the client does with "+id2, func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.RunnerID == id2 && (e.Kind == exo.ClusterRunnerLost || e.Kind == exo.ClusterRunnerEnded) {
				return true
			}
		}
		return false
	})
	if err != nil {
		for _, e := range evs {
			t.Logf("%s %s %s %s %s %s", e.At.Format("05.000"), e.Kind, e.Node, e.RunnerID, e.NewRunnerID, e.Detail)
		}
		t.Fatalf("SIGTERM of %s at %s: %v", leaving, term.Format("05.000"), err)
	}
	for _, e := range evs {
		if e.RunnerID == id2 || e.Node == leaving && e.At.After(term) {
			t.Logf("%s %v after SIGTERM of %s: %s %s %s", e.Kind, e.At.Sub(term).Round(time.Millisecond), leaving, e.RunnerID, e.NewRunnerID, e.Detail)
			if e.RunnerID == id2 && (e.Kind == exo.ClusterRunnerEnded || e.Kind == exo.ClusterRunnerLost && e.Decision.Action != exo.ActionRetry) {
				t.Errorf("runner %s of a node that left gracefully: %s %v, want it lost and handed to the policy (RETRY)", id2, e.Kind, e.Decision)
			}
		}
	}
	// The member that stays is followed on, and takes the runner: the
	// read where it was still joining and the other had left is no
	// verdict (it was declared lost, its ID never joined again).
	var staying string
	for name := range nodes {
		if name != leaving {
			staying = name
		}
	}
	evs, err = rec.Await(cc.DetectionBound()+20*time.Second, id2+" placed again on "+staying, func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.RunnerID == id2 && e.Kind == exo.ClusterRunnerReplaced {
				return true
			}
		}
		return false
	})
	for _, e := range evs {
		if e.At.After(term) && (e.Kind == exo.ClusterRunnerReplaced || e.Node == staying) {
			t.Logf("%s %v after SIGTERM of %s: %s %s→%s %s", e.Kind, e.At.Sub(term).Round(time.Millisecond), leaving, e.Node, e.RunnerID, e.NewRunnerID, e.Detail)
			if e.Kind == exo.ClusterMemberLost && e.Node == staying {
				t.Errorf("%s, which stayed, was declared lost: %s", staying, e.Detail)
			}
		}
	}
	if err != nil {
		t.Errorf("%v; the client follows %+v", err, cc.Members())
	}
	if err := nodes[leaving].wait(t, 30*time.Second); err != nil {
		t.Errorf("%s: %v after SIGTERM", leaving, err)
	}
	cc.Close()
}
