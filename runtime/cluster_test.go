package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// failoverKinds are the node configs of the failover tests: every node runs
// "gen", two of them "embed" too. Tasks take 20 tokens × 20 ms; 8 run at
// once on a runner.
var failoverKinds = map[string][]string{"fo-a": {"embed", "gen"}, "fo-b": {"gen"}, "fo-c": {"embed", "gen"}}

const failoverRunnerArgs = `["--layers", "1", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "20ms", "--log-level", "error"]`

func writeFailoverConfigs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, kinds := range failoverKinds {
		ks := map[string]string{}
		for _, k := range kinds {
			ks[k] = fmt.Sprintf(`{"builtin": true, "args": %s}`, failoverRunnerArgs)
		}
		out[name] = writeConfig(t, ks, `, "tasks": {"in_flight": 8, "queue": 256}`)
	}
	return out
}

// failoverCluster is the cluster of a failover test: node processes and a
// ClusterClient in the test process whose events a recorder keeps.
type failoverCluster struct {
	t           *testing.T
	configs     map[string]string
	clusterArgs func(name string) []string
	nodes       map[string]*nodeProc
	rec         *testutil.Recorder[exo.ClusterEvent]
	cc          *exo.ClusterClient
}

func (f *failoverCluster) start(name string) {
	f.nodes[name] = startNode(f.t, name, f.configs[name], f.clusterArgs(name)...)
}

func newFailoverCluster(t *testing.T, cfg exo.ClusterConfig, clusterArgs func(string) []string) *failoverCluster {
	f := &failoverCluster{t: t, configs: writeFailoverConfigs(t), clusterArgs: clusterArgs,
		nodes: map[string]*nodeProc{}, rec: testutil.NewRecorder[exo.ClusterEvent]()}
	start := time.Now()
	for _, n := range []string{"fo-a", "fo-b", "fo-c"} {
		f.start(n)
	}
	cfg.Hook = f.rec.Hook
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cc, err := exo.DialCluster(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.cc = cc
	t.Cleanup(func() {
		cc.Close()
		// After Close: the transitions Close made are checked too.
		if n := cc.InternalErrors(); n != 0 {
			var bad []string
			for _, e := range f.rec.Snapshot() {
				if e.Kind == exo.ClusterInternalError {
					bad = append(bad, e.Detail)
				}
			}
			t.Errorf("the cluster client met %d illegal member or task lifecycle transitions (cluster_member.go, cluster_task.go): %s", n, strings.Join(bad, "; "))
		}
	})
	f.rec.Wait(t, 20*time.Second, "the client connected to 3 members", func([]exo.ClusterEvent) bool {
		return len(cc.Members()) == 3
	})
	t.Logf("3 nodes joined and the client connected to all, %v after start", time.Since(start).Round(time.Millisecond))
	return f
}

// failoverScenario places runners by kind, submits 300 tasks (every other
// one Retryable), kill -9s fo-b once 50 completed, and checks: every task
// ends exactly once; fo-b's Retryable tasks complete on another member as
// attempt 2 after one RetryError; its other tasks fail with the lost-node
// reason; the loss is declared within the client's bound; fo-b comes back,
// rejoins, and takes the next runner (least loaded).
func failoverScenario(t *testing.T, f *failoverCluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cc := f.cc
	kindOf := map[string]string{}
	var runners []string
	for _, k := range []string{"gen", "gen", "gen", "gen", "gen", "gen", "embed", "embed"} {
		id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		kindOf[id] = k
		runners = append(runners, id)
	}
	perNode := map[string]int{}
	for _, id := range runners {
		_, node, ok := cc.Where(id)
		if !ok {
			t.Fatalf("runner %s placed nowhere", id)
		}
		if !strings.Contains(","+strings.Join(failoverKinds[node], ",")+",", ","+kindOf[id]+",") {
			t.Errorf("runner %s of kind %s placed on %s, which has kinds %v", id, kindOf[id], node, failoverKinds[node])
		}
		perNode[node]++
	}
	t.Logf("placement of 6 gen + 2 embed runners: %v", perNode)
	if perNode["fo-a"] != 3 || perNode["fo-b"] != 2 || perNode["fo-c"] != 3 {
		t.Errorf("placement %v: want least loaded first (fo-a 3, fo-b 2, fo-c 3)", perNode)
	}
	// Misuse gets one line naming what to do.
	for _, c := range []struct {
		err  error
		want error
		text string
	}{
		{func() error { _, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "whisper"}); return err }(), exo.ErrNoPlacement, `registers kind "whisper" (its members' kinds: embed, gen): use one of those, or start nodes whose config registers it (kinds.whisper)`},
		// A kind no member has is a mistake, as on a Client: ErrUnknownKind
		// too (a user's trial: only ErrNoPlacement, which a full cluster
		// wraps as well).
		{func() error { _, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "whisper"}); return err }(), exo.ErrUnknownKind, `no member of cluster fo-test registers kind "whisper"`},
		{func() error {
			_, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen", Command: "/bin/sh"})
			return err
		}(), exo.ErrInvalidSpec, "by kind only"},
		{func() error {
			_, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen", Command: "/bin/sh"})
			return err
		}(), exo.ErrInvalidRequest, "by kind only"},
		{func() error { _, err := cc.Submit(ctx, "gen-000000", exo.Task{ID: "x", Kind: "noop"}); return err }(), exo.ErrUnknownRunner, `hosts runner "gen-000000" (asked 3)`},
		{func() error { _, err := cc.Subscribe("tasks", exo.Filter{}, exo.SubscribeOptions{}); return err }(), exo.ErrInvalidRequest, "Filter.RunnerID is empty"},
	} {
		if !errors.Is(c.err, c.want) || !strings.Contains(fmt.Sprint(c.err), c.text) {
			t.Errorf("error %v: want %v containing %q", c.err, c.want, c.text)
		}
	}

	// The ID resolves from a second client too (a restarted client),
	// given one member's address only: it learns the others' from that
	// member's view (automanaged).
	seed := fPeers(f)
	if len(seed) > 1 {
		seed = seed[:1]
	}
	cc2, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "fo-test", Provider: fProvider(f), Peers: seed, EtcdEndpoints: fEtcd(f)})
	if err != nil {
		t.Fatal(err)
	}
	if all := fPeers(f); len(all) > 1 {
		got := cc2.ReadPeersForTest()
		slices.Sort(got)
		slices.Sort(all)
		if !slices.Equal(got, all) {
			t.Errorf("a client given %v reads %v; want every member's address %v, learned from the view", seed, got, all)
		}
	}
	h, err := cc2.Submit(ctx, runners[0], exo.Task{ID: "via-second-client", Kind: "text_generation", Params: map[string]string{"max_tokens": "2"}})
	if err != nil {
		t.Fatalf("a second client cannot reach runner %s by its ID: %v", runners[0], err)
	}
	if o, err := h.Wait(ctx); err != nil || o.Status != exo.TaskComplete {
		t.Fatalf("task via a second client: %+v %v", o, err)
	}
	cc2.Close()

	// A second client whose policy says SKIP for node_lost: its Retryable
	// tasks on fo-b end Failed instead of moving (the error handler decides
	// re-placement as it decides restarts).
	skipRec := testutil.NewRecorder[exo.ClusterEvent]()
	skipper, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "fo-test", Provider: fProvider(f), Peers: fPeers(f), EtcdEndpoints: fEtcd(f),
		Hook: skipRec.Hook, Policy: exo.ErrorPolicy{Rules: []exo.Rule{{Name: "no-replace", Kind: exo.FailureNodeLost,
			Severity: exo.SeverityMedium, Action: exo.ActionSkip, Reason: "this host re-runs lost work itself"}}}})
	if err != nil {
		t.Fatal(err)
	}
	defer skipper.Close()
	var onB string
	for _, id := range runners {
		if _, node, _ := cc.Where(id); node == "fo-b" {
			onB = id
		}
	}
	// The SKIP client's tasks must still run when fo-b is killed, which is
	// after the 300 submissions below: those took more than the 4 s of a
	// 200-token task on a loaded machine (the tasks ended Complete). So
	// they never end on their own (100000 tokens × 20 ms).
	var skipped []*exo.TaskHandle
	for i := range 2 {
		h, err := skipper.Submit(ctx, onB, exo.Task{ID: fmt.Sprintf("skip-%d", i), Kind: "text_generation", Retryable: true,
			Params: map[string]string{"max_tokens": "100000"}})
		if err != nil {
			t.Fatal(err)
		}
		skipped = append(skipped, h)
	}

	const n = 300
	type sub struct {
		h       *exo.TaskHandle
		node    string
		retry   bool
		out     exo.TaskOutcome
		retries int
	}
	subs := make([]*sub, n)
	var completed atomic.Int64
	fifty := make(chan struct{})
	var fiftyOnce sync.Once
	var wg sync.WaitGroup
	for i := range n {
		id := runners[i%len(runners)]
		_, node, _ := cc.Where(id)
		s := &sub{node: node, retry: i%2 == 0}
		// The last 16 take 200 tokens (4 s), not 20 (0.4 s): the kill right
		// after the submissions finds some of fo-b's in flight even when a
		// loaded machine made the submissions slow (290 of 300 were done
		// at the kill, 3 of fo-b's in flight, in one run at load 4).
		tokens := "20"
		if i >= n-16 {
			tokens = "200"
		}
		h, err := cc.Submit(ctx, id, exo.Task{ID: fmt.Sprintf("t%03d", i), Kind: "text_generation",
			Params: map[string]string{"max_tokens": tokens}, Retryable: s.retry})
		if err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
		s.h = h
		subs[i] = s
		wg.Add(1)
		go func() { // owner: the test, which waits
			defer wg.Done()
			for {
				_, err := s.h.Next(ctx)
				if errors.Is(err, exo.ErrTaskRetried) {
					s.retries++
					continue
				}
				if err != nil {
					break
				}
			}
			o, err := s.h.Wait(ctx)
			if err != nil {
				return
			}
			s.out = o
			if o.Status == exo.TaskComplete && completed.Add(1) == 50 {
				fiftyOnce.Do(func() { close(fifty) }) // sole sender: the first goroutine to count the 50th Complete
			}
		}()
	}
	select {
	case <-fifty:
	case <-ctx.Done():
		t.Fatal("50 tasks did not complete")
	}
	killed := time.Now()
	f.nodes["fo-b"].kill()
	_ = f.nodes["fo-b"].wait(t, 10*time.Second)
	t.Logf("kill -9 of fo-b after %d of %d tasks completed", completed.Load(), n)
	wg.Wait()

	evs := f.rec.Wait(t, 30*time.Second, "fo-b declared lost", func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.Kind == exo.ClusterMemberLost && e.Node == "fo-b" {
				return true
			}
		}
		return false
	})
	var lostAt, firstResub time.Time
	for _, e := range evs {
		if e.Kind == exo.ClusterMemberLost && e.Node == "fo-b" && lostAt.IsZero() {
			lostAt = e.At
			t.Logf("member_lost fo-b: %s", e.Detail)
		}
		if e.Kind == exo.ClusterTaskResubmitted && firstResub.IsZero() {
			firstResub = e.At
		}
		if e.Kind == exo.ClusterRunnerReplaced {
			t.Logf("runner %s replaced by %s on %s %s", e.RunnerID, e.NewRunnerID, e.Node, e.Detail)
		}
	}
	detect := lostAt.Sub(killed)
	t.Logf("fo-b declared lost %v after kill -9 (bound %v); first task resubmitted %v after the kill",
		detect.Round(time.Millisecond), cc.DetectionBound(), firstResub.Sub(killed).Round(time.Millisecond))
	if detect > cc.DetectionBound() {
		t.Errorf("detection took %v, beyond the bound %v", detect, cc.DetectionBound())
	}

	counts := map[string]int{}
	for i, s := range subs {
		o := s.out
		if !o.Status.Terminal() {
			t.Errorf("task %d (on %s): no terminal status: %+v", i, s.node, o)
			continue
		}
		if s.retries > 1 {
			t.Errorf("task %d: %d retries, want at most 1", i, s.retries)
		}
		switch {
		case s.node != "fo-b":
			if o.Status != exo.TaskComplete || o.Attempt != 1 {
				t.Errorf("task %d on surviving %s: %v attempt %d %q", i, s.node, o.Status, o.Attempt, o.Reason)
			}
			counts["survivor complete"]++
		case o.Status == exo.TaskComplete && o.Attempt == 1:
			counts["fo-b complete before the kill"]++
		case s.retry:
			if o.Status != exo.TaskComplete || o.Attempt != 2 || s.retries != 1 {
				t.Errorf("retryable task %d of fo-b: %v attempt %d, %d retries, %q", i, o.Status, o.Attempt, s.retries, o.Reason)
			}
			counts["fo-b retryable completed elsewhere"]++
		default:
			if o.Status != exo.TaskFailed || !strings.Contains(o.Reason, exo.ErrNodeLost.Error()) {
				t.Errorf("task %d of fo-b: %v %q, want Failed with the lost-node reason", i, o.Status, o.Reason)
			}
			counts["fo-b failed, node lost"]++
		}
	}
	t.Logf("300 tasks, each with one terminal status: %v", counts)
	if counts["fo-b retryable completed elsewhere"] == 0 || counts["fo-b failed, node lost"] == 0 {
		t.Errorf("the kill hit no in-flight task of fo-b: %v", counts)
	}

	for _, h := range skipped {
		o, err := h.Wait(ctx)
		if err != nil || o.Status != exo.TaskFailed || !strings.Contains(o.Reason, exo.ErrNodeLost.Error()) ||
			!strings.Contains(o.Reason, "not placed again (policy: MEDIUM SKIP (rule no-replace))") {
			t.Errorf("task %s of the SKIP client: %+v %v, want Failed, node lost, not placed again", h.ID, o, err)
		}
	}
	for _, e := range skipRec.Snapshot() {
		if e.Kind == exo.ClusterRunnerReplaced {
			t.Errorf("the SKIP client placed %s again", e.RunnerID)
		}
	}
	t.Logf("the SKIP client's 2 Retryable tasks on fo-b ended Failed, not placed again")

	// fo-b comes back (a new process, a new member ID) and rejoins; it is
	// the least loaded member, so the next gen runner goes there.
	back := time.Now()
	f.start("fo-b")
	var joined time.Time
	f.rec.Wait(t, 30*time.Second, "fo-b rejoined", func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.Kind == exo.ClusterMemberJoined && e.Node == "fo-b" && e.At.After(back) {
				joined = e.At
				return true
			}
		}
		return false
	})
	t.Logf("fo-b back in the client's view %v after it was restarted", joined.Sub(back).Round(time.Millisecond))
	id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	if _, node, _ := cc.Where(id); node != "fo-b" {
		t.Errorf("new gen runner placed on %s, want the returned (empty) fo-b", node)
	}
	if err := cc.WaitReady(ctx, id); err != nil { // resolved to fo-b's gateway, watched through its typed events
		t.Fatalf("WaitReady of %s on the rejoined fo-b: %v", id, err)
	}
	h, err = cc.Submit(ctx, id, exo.Task{ID: "after-rejoin", Kind: "text_generation", Params: map[string]string{"max_tokens": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := h.Wait(ctx); err != nil || o.Status != exo.TaskComplete {
		t.Fatalf("task on the rejoined fo-b: %+v %v", o, err)
	}
}

func fProvider(f *failoverCluster) string { return f.clusterArgsValue("--cluster-provider") }
func fEtcd(f *failoverCluster) []string {
	if v := f.clusterArgsValue("--etcd-endpoints"); v != "" {
		return []string{v}
	}
	return nil
}
func fPeers(f *failoverCluster) []string {
	if v := f.clusterArgsValue("--cluster-peers"); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

func (f *failoverCluster) clusterArgsValue(flag string) string {
	args := f.clusterArgs("fo-a")
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// stopNodes SIGTERMs every live node and waits for it.
func (f *failoverCluster) stopNodes() {
	for _, n := range f.nodes {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
	}
	for name, n := range f.nodes {
		if err := n.wait(f.t, 30*time.Second); err != nil {
			f.t.Errorf("%s: %v after SIGTERM", name, err)
		}
	}
}

// automanagedArgs reserves the cluster ports of fo-a, fo-b and fo-c and
// returns the peers (every member's cluster port) and the flags that start
// each as a member of the automanaged cluster named cluster.
func automanagedArgs(t *testing.T, cluster string) (peers []string, args func(name string) []string) {
	t.Helper()
	ports := testutil.ReservePorts(t, 3)
	for _, p := range ports {
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(p))
	}
	port := map[string]int{"fo-a": ports[0], "fo-b": ports[1], "fo-c": ports[2]}
	return peers, func(name string) []string {
		return []string{"--cluster", cluster, "--cluster-provider", "automanaged", "--cluster-port", strconv.Itoa(port[name]),
			"--cluster-peers", strings.Join(peers, ",")}
	}
}

// TestClusterFailoverAutomanaged is the failover scenario on the default
// provider, then a node frozen past the detection bound: its runners are
// placed again, and when it resumes and rejoins under a new member ID the
// copies it still hosts are stopped, not duplicated.
func TestClusterFailoverAutomanaged(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process failover test (about 20 s)")
	}
	start := time.Now()
	peers, args := automanagedArgs(t, "fo-test")
	f := newFailoverCluster(t, exo.ClusterConfig{Cluster: "fo-test", Peers: peers}, args)
	failoverScenario(t, f)
	reconcileScenario(t, f, false)
	f.cc.Close()
	f.stopNodes()
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// reconcileScenario freezes fo-c (SIGSTOP) until the client declared it
// lost and placed its runners again, then resumes it: fo-c finds it was
// evicted and rejoins under a new member ID, still hosting its old
// runners; the client stops each of them (their replacements win). With
// leased runners fo-c stops them itself, as it finds its client's session
// silent on resuming, most often before the client's reconcile sees them:
// either way none stays live and each has one live replacement.
func reconcileScenario(t *testing.T, f *failoverCluster, leased bool) {
	cc := f.cc
	var onC []string
	for _, r := range mustRunners(t, cc) {
		if _, node, ok := cc.Where(r.ID); ok && node == "fo-c" && !r.Status.Terminal() {
			onC = append(onC, r.ID)
		}
	}
	if len(onC) == 0 {
		t.Fatal("no runner on fo-c to reconcile")
	}
	pid := f.nodes["fo-c"].cmd.Process.Pid
	frozen := time.Now()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	f.rec.Wait(t, 30*time.Second, "fo-c's runners placed again", func(evs []exo.ClusterEvent) bool {
		n := 0
		for _, e := range evs { // fo-c's own runners only: another member's loss may be replaced meanwhile
			if e.Kind == exo.ClusterRunnerReplaced && e.At.After(frozen) && slices.Contains(onC, e.RunnerID) {
				n++
			}
		}
		return n == len(onC)
	})
	for _, e := range f.rec.Snapshot() {
		if e.Kind == exo.ClusterMemberLost && e.Node == "fo-c" {
			t.Logf("fo-c (member %s) declared lost %v after SIGSTOP: %s", e.Member, e.At.Sub(frozen).Round(time.Millisecond), e.Detail)
		}
	}
	t.Logf("fo-c frozen: its %d runners placed again %v after SIGSTOP", len(onC), time.Since(frozen).Round(time.Millisecond))
	resumed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var evs []exo.ClusterEvent
	var err error
	if leased {
		evs = f.rec.Wait(t, 30*time.Second, "fo-c back in the client's view", func(evs []exo.ClusterEvent) bool {
			for _, e := range evs {
				if e.Kind == exo.ClusterMemberJoined && e.Node == "fo-c" && e.At.After(resumed) {
					return true
				}
			}
			return false
		})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := dialMember(ctx, t, f.cc, "fo-c")
		waitLive(ctx, t, c, "fo-c's old leased runners stopped", func(live map[string]bool) bool {
			for _, id := range onC {
				if live[id] {
					return false
				}
			}
			return true
		})
		c.Close()
		t.Logf("fo-c's old leased runners ended %v after SIGCONT", time.Since(resumed).Round(time.Millisecond))
		evs = f.rec.Snapshot()
	} else {
		evs, err = f.rec.Await(30*time.Second, "fo-c's old runners reconciled", func(evs []exo.ClusterEvent) bool {
			n := 0
			for _, e := range evs {
				if e.Kind == exo.ClusterRunnerReconciled && e.At.After(resumed) {
					n++
				}
			}
			return n == len(onC)
		})
	}
	if err != nil {
		for _, e := range evs {
			if e.At.After(frozen) {
				t.Logf("%s %s %s %s→%s %s", e.At.Format("05.000"), e.Kind, e.Node, e.RunnerID, e.NewRunnerID, e.Detail)
			}
		}
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind == exo.ClusterRunnerReconciled && e.At.After(resumed) {
			t.Logf("reconciled %s on %s (member %s) %v after SIGCONT: %s", e.RunnerID, e.Node, e.Member, e.At.Sub(resumed).Round(time.Millisecond), e.Detail)
			if !strings.HasPrefix(e.Detail, "stopped") || strings.Contains(e.Detail, "stop failed") {
				t.Errorf("runner %s: %s, want it stopped", e.RunnerID, e.Detail)
			}
		}
	}
	seen := map[string]int{}
	for _, r := range mustRunners(t, cc) {
		if !r.Status.Terminal() {
			seen[r.ID]++
		}
	}
	for _, id := range onC {
		if seen[id] != 0 {
			t.Errorf("runner %s still live on the returned fo-c", id)
		}
		if nid, node, ok := cc.Where(id); !ok || seen[nid] != 1 || node == "" {
			t.Errorf("runner %s: stands for %s on %q (live copies %d), want exactly one live replacement", id, nid, node, seen[nid])
		}
	}
}

// dialMember dials the gateway of the member named node that cc follows.
func dialMember(ctx context.Context, t *testing.T, cc *exo.ClusterClient, node string) *exo.Client {
	t.Helper()
	for _, m := range cc.Members() {
		if m.Node == node {
			c, err := dial(ctx, m.Gateway)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	t.Fatalf("the client follows no member %s: %+v", node, cc.Members())
	return nil
}

func mustRunners(t *testing.T, cc *exo.ClusterClient) []exo.RunnerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := cc.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestClusterFailoverEtcd is the failover scenario against a real etcd
// started by the test.
func TestClusterFailoverEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process failover test with etcd (about 20 s)")
	}
	start := time.Now()
	endpoint := startTestEtcd(t, etcdTestBinary(t))
	args := func(string) []string {
		return []string{"--cluster", "fo-test", "--cluster-provider", "etcd", "--etcd-endpoints", endpoint}
	}
	f := newFailoverCluster(t, exo.ClusterConfig{Cluster: "fo-test", Provider: "etcd", EtcdEndpoints: []string{endpoint}}, args)
	failoverScenario(t, f)
	f.cc.Close()
	f.stopNodes()
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// etcdTestBinary is testutil.EtcdBinary.
func etcdTestBinary(t *testing.T) string { return testutil.EtcdBinary(t) }

// startTestEtcd is testutil.StartEtcd: a single-node etcd, killed and
// reaped at the end of the test, once it answers.
func startTestEtcd(t *testing.T, bin string) string { return testutil.StartEtcd(t, bin) }
