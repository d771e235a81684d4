package runtime_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// apiKind is a built-in runner that is Ready at once and streams a token
// every 20 ms (a task of 100000 tokens runs until cancelled).
const apiKind = `{"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "20ms", "--log-level", "error"]}`

// apiCluster starts one node process per name, all in cluster `cluster`
// with kind "gen", and returns their automanaged peers and the processes.
func apiCluster(t *testing.T, cluster string, names ...string) ([]string, map[string]*nodeProc) {
	t.Helper()
	cfg := writeConfig(t, map[string]string{"gen": apiKind}, `, "tasks": {"in_flight": 2, "queue": 16}`)
	ports := testutil.ReservePorts(t, len(names))
	var peers []string
	for _, p := range ports {
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(p))
	}
	nodes := map[string]*nodeProc{}
	for i, n := range names {
		nodes[n] = startNode(t, n, cfg, "--cluster", cluster, "--cluster-port", strconv.Itoa(ports[i]),
			"--cluster-peers", strings.Join(peers, ","))
	}
	return peers, nodes
}

// dialAPICluster dials cfg and waits until the client follows n members.
func dialAPICluster(t *testing.T, cfg exo.ClusterConfig, n int) (*exo.ClusterClient, *testutil.Recorder[exo.ClusterEvent]) {
	t.Helper()
	rec := testutil.NewRecorder[exo.ClusterEvent]()
	cfg.Hook = rec.Hook
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc, err := exo.DialCluster(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	rec.Wait(t, 30*time.Second, "the client connected to every member", func([]exo.ClusterEvent) bool { return len(cc.Members()) == n })
	return cc, rec
}

// wantCallerEnded checks that err says the caller's ctx ended (wrapping
// want), with outcome in its text, and neither blames the node nor
// matches a placement or lookup sentinel.
func wantCallerEnded(t *testing.T, what string, err, want error, outcome string) {
	t.Helper()
	s := ""
	if err != nil {
		s = err.Error()
	}
	if !errors.Is(err, want) || !strings.Contains(s, "the caller's ctx ended") || !strings.Contains(s, outcome) ||
		strings.Contains(s, "did not answer") || errors.Is(err, exo.ErrNoPlacement) || errors.Is(err, exo.ErrUnknownRunner) || strings.Contains(s, "\n") {
		t.Errorf("%s: error %q; want one line wrapping %v that says the caller's ctx ended and %q, not that the node did not answer", what, s, want, outcome)
	}
}

// TestClusterCallsSayTheCallersCtxEnded: a ClusterClient call whose ctx
// ended says so (errors.Is ctx's error; "the caller's ctx ended", what
// became of the request), never "node X did not answer" nor a placement
// or lookup failure; a call whose ctx ended before it began sends nothing
// (before, a Submit with a cancelled ctx queued the task and a StopRunner
// stopped the runner, while both said the node did not answer). Also the
// sentinels of bad input: Subscribe without Filter.RunnerID wraps
// ErrInvalidRequest (before: ErrUnsupported, "not a gateway request"),
// Submit of a task without ID ErrInvalidTask (before: none); and WaitReady
// of a runner this client stopped ErrRunnerNotAvailable (before:
// ErrNodeLost, "its node was lost").
func TestClusterCallsSayTheCallersCtxEnded(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 5 s)")
	}
	peers, _ := apiCluster(t, "api-test", "api-a")
	cc, _ := dialAPICluster(t, exo.ClusterConfig{Cluster: "api-test", Peers: peers}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done, stop := context.WithCancel(context.Background())
	stop()

	_, err := cc.SpawnRunner(done, exo.RunnerSpec{Kind: "gen"})
	wantCallerEnded(t, "SpawnRunner, ctx cancelled", err, context.Canceled, "no runner was spawned")
	id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cc.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}

	_, err = cc.Submit(done, id, exo.Task{ID: "cx", Kind: "text_generation"})
	wantCallerEnded(t, "Submit, ctx cancelled", err, context.Canceled, "nothing was sent")
	if _, err := cc.Cancel(ctx, id, "cx"); !errors.Is(err, exo.ErrTaskNotFound) {
		t.Errorf("Cancel of the task a cancelled Submit refused: %v; want ErrTaskNotFound (it must not have been sent)", err)
	}
	_, err = cc.StopRunner(done, id)
	wantCallerEnded(t, "StopRunner, ctx cancelled", err, context.Canceled, "nothing was sent")
	_, err = cc.Cancel(done, id, "cx")
	wantCallerEnded(t, "Cancel, ctx cancelled", err, context.Canceled, "nothing was sent")

	// A stop that drains a running task outlasts a short ctx: the outcome
	// is unknown, and the text says so.
	h, err := cc.Submit(ctx, id, exo.Task{ID: "long", Kind: "text_generation", Params: map[string]string{"max_tokens": "100000"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Next(ctx); err != nil { // running
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err = cc.StopRunner(short, id)
	cancelShort()
	wantCallerEnded(t, "StopRunner, ctx ends while the node drains", err, context.DeadlineExceeded, "whether the runner stopped is unknown")

	// Bad input names the documented sentinel.
	_, err = cc.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{})
	if !errors.Is(err, exo.ErrInvalidRequest) || !strings.Contains(err.Error(), "Filter.RunnerID is empty") {
		t.Errorf("Subscribe without Filter.RunnerID: %v; want ErrInvalidRequest naming Filter.RunnerID", err)
	}
	_, err = cc.Submit(ctx, id, exo.Task{Kind: "text_generation"})
	if !errors.Is(err, exo.ErrInvalidTask) || !strings.Contains(err.Error(), "empty ID") {
		t.Errorf("Submit without Task.ID: %v; want ErrInvalidTask naming the empty ID", err)
	}

	if _, err := cc.Cancel(ctx, id, "long"); err != nil && !errors.Is(err, exo.ErrTaskNotFound) {
		t.Fatal(err)
	}
	if _, err := cc.StopRunner(ctx, id); err != nil && !errors.Is(err, exo.ErrRunnerNotAvailable) {
		t.Fatal(err)
	}
	err = cc.WaitReady(ctx, id)
	if !errors.Is(err, exo.ErrRunnerNotAvailable) || errors.Is(err, exo.ErrNodeLost) || !strings.Contains(err.Error(), "spawn a new runner") {
		t.Errorf("WaitReady of a stopped runner: %v; want ErrRunnerNotAvailable (not ErrNodeLost) saying to spawn a new runner", err)
	}
}

// TestDialClusterWrongName: DialCluster with a cluster name the peers do
// not have fails at once, naming the cluster they are in (before: it
// waited the whole ctx, then said `no member of cluster wrong that
// answered is joined (… joined, …)`).
func TestDialClusterWrongName(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 3 s)")
	}
	peers, _ := apiCluster(t, "api-name", "name-a")
	dialAPICluster(t, exo.ClusterConfig{Cluster: "api-name", Peers: peers}, 1) // the peer is joined
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "wrong", Peers: peers})
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster joined cluster wrong")
	}
	t.Log(err)
	for _, want := range []string{"dial cluster wrong", peers[0] + ` is in cluster "api-name"`, "set ClusterConfig.Cluster"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want %q", err, want)
		}
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: with every peer in another cluster it must fail at once, not wait for the ctx", d)
	}
}

// TestDialClusterCtxEndWraps: a dial whose ctx ends wraps the ctx's error.
func TestDialClusterCtxEndWraps(t *testing.T) {
	addr := testutil.DeadAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "c", Peers: []string{addr}})
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster succeeded with nobody there")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q does not wrap context.DeadlineExceeded", err)
	}
}

// TestClusterWaitReadyThroughLoss: after a member's kill -9, WaitReady on
// one of its runners waits for the failover's decision instead of
// returning at once (a host's WaitReady loop spun 3 million times in 2 s
// on "its replacement is being placed, try again shortly"): under RETRY it
// returns nil once the replacement is Ready; under SKIP (not placed again)
// it returns an error wrapping ErrRunnerNotAvailable and ErrNodeLost that
// says to spawn a new runner.
func TestClusterWaitReadyThroughLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 10 s)")
	}
	peers, nodes := apiCluster(t, "api-loss", "loss-a", "loss-b")
	retry, rrec := dialAPICluster(t, exo.ClusterConfig{Cluster: "api-loss", Peers: peers,
		Policy: exo.ErrorPolicy{Backoff: exo.BackoffConfig{Base: 2 * time.Second}}}, 2) // a wide window before the re-placement
	skip, srec := dialAPICluster(t, exo.ClusterConfig{Cluster: "api-loss", Peers: peers,
		Policy: exo.ErrorPolicy{Rules: []exo.Rule{{Name: "no-replace", Kind: exo.FailureNodeLost, Severity: exo.SeverityMedium,
			Action: exo.ActionSkip, Reason: "test: not placed again"}}}}, 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := retry.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	_, victim, _ := retry.Where(id)
	for _, cc := range []*exo.ClusterClient{retry, skip} {
		if err := cc.WaitReady(ctx, id); err != nil { // the SKIP client finds it on its member
			t.Fatal(err)
		}
	}
	nodes[victim].kill()
	lost := func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.Kind == exo.ClusterRunnerLost && e.RunnerID == id {
				return true
			}
		}
		return false
	}
	rrec.Wait(t, 30*time.Second, "runner "+id+" lost (RETRY client)", lost)
	if err := retry.WaitReady(ctx, id); err != nil {
		t.Errorf("WaitReady under RETRY right after the loss: %v; want nil once the replacement is Ready", err)
	}
	nid, node, ok := retry.Where(id)
	if !ok || nid == id || node == victim {
		t.Errorf("runner %s stands for %s on %q, want a replacement on the other node", id, nid, node)
	}
	srec.Wait(t, 30*time.Second, "runner "+id+" lost (SKIP client)", lost)
	err = skip.WaitReady(ctx, id)
	if !errors.Is(err, exo.ErrRunnerNotAvailable) || !errors.Is(err, exo.ErrNodeLost) || !strings.Contains(fmtErr(err), "spawn a new runner") {
		t.Errorf("WaitReady under SKIP: %v; want ErrRunnerNotAvailable and ErrNodeLost, saying to spawn a new runner", err)
	}
	if nid != id {
		if _, err := retry.StopRunner(ctx, nid); err != nil {
			t.Error(err)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
