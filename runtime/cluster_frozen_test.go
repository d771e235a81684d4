package runtime_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// newOneAtATimeCluster starts fo-a, fo-b and fo-c (automanaged, kind "gen",
// 20 ms a token) whose runners run one task at a time, so that a task
// submitted behind another stays queued; then it places 6 runners (2 a
// node) and returns the cluster and the two runners on victim.
// With etcd set (an endpoint), the nodes and the client use etcd instead.
func newOneAtATimeCluster(t *testing.T, cluster, victim, etcd string) (*failoverCluster, []string) {
	t.Helper()
	kind := fmt.Sprintf(`{"builtin": true, "args": %s}`, failoverRunnerArgs)
	cfg := writeConfig(t, map[string]string{"gen": kind}, `, "tasks": {"in_flight": 1, "queue": 64}`)
	ccfg := exo.ClusterConfig{Cluster: cluster, Provider: "etcd", EtcdEndpoints: []string{etcd}}
	args := func(string) []string {
		return []string{"--cluster", cluster, "--cluster-provider", "etcd", "--etcd-endpoints", etcd}
	}
	if etcd == "" {
		ports := testutil.ReservePorts(t, 3)
		var peers []string
		for _, p := range ports {
			peers = append(peers, "127.0.0.1:"+strconv.Itoa(p))
		}
		port := map[string]int{"fo-a": ports[0], "fo-b": ports[1], "fo-c": ports[2]}
		ccfg = exo.ClusterConfig{Cluster: cluster, Peers: peers}
		args = func(name string) []string {
			return []string{"--cluster", cluster, "--cluster-port", strconv.Itoa(port[name]), "--cluster-peers", strings.Join(peers, ",")}
		}
	}
	f := &failoverCluster{t: t, configs: map[string]string{"fo-a": cfg, "fo-b": cfg, "fo-c": cfg}, clusterArgs: args,
		nodes: map[string]*nodeProc{}, rec: testutil.NewRecorder[exo.ClusterEvent]()}
	for _, n := range []string{"fo-a", "fo-b", "fo-c"} {
		f.start(n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ccfg.Hook = f.rec.Hook
	cc, err := exo.DialCluster(ctx, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	f.cc = cc
	t.Cleanup(func() { cc.Close() })
	f.rec.Wait(t, 20*time.Second, "the client connected to 3 members", func([]exo.ClusterEvent) bool { return len(cc.Members()) == 3 })
	var on []string
	for range 6 {
		id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
		if err != nil {
			t.Fatal(err)
		}
		if err := cc.WaitReady(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, node, _ := cc.Where(id); node == victim {
			on = append(on, id)
		}
	}
	if len(on) != 2 {
		t.Fatalf("%d runners placed on %s, want 2 (least loaded first)", len(on), victim)
	}
	return f, on
}

// submitGen submits a text_generation task of n tokens.
func submitGen(t *testing.T, cc *exo.ClusterClient, runner, id string, n int, retryable bool) *exo.TaskHandle {
	t.Helper()
	h, err := cc.Submit(context.Background(), runner, exo.Task{ID: id, Kind: "text_generation", Retryable: retryable,
		Params: map[string]string{"max_tokens": strconv.Itoa(n)}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// firstChunk waits until the task is running (its first chunk came).
func firstChunk(t *testing.T, h *exo.TaskHandle) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := h.Next(ctx); err != nil {
		t.Fatalf("task %s: no first chunk: %v", h.ID, err)
	}
}

// TestClusterFrozenNodeResumes: a node frozen (SIGSTOP) with tasks running
// and queued is declared lost within the client's DetectionBound; its
// Retryable tasks are resubmitted in their submission order; after SIGCONT
// it rejoins still hosting the old runners, and the client stops them
// without letting them run (or finish) any task it had resubmitted or
// failed, and says "stopped" only when the stop succeeded. Before: the
// loss came 2.6–3.1 s after SIGSTOP against a bound of 2.3 s; queued tasks
// were resubmitted in map order; the reconcile's stop drained the old
// runners (their tasks ran to Complete on the resumed node) and timed out,
// reported as "stopped: … (stop failed: …)".
func TestClusterFrozenNodeResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 20 s)")
	}
	f, on := newOneAtATimeCluster(t, "frozen-test", "fo-c", "")
	cc := f.cc
	order := []string{"A-retry-running"}
	hs := map[string]*exo.TaskHandle{"A-retry-running": submitGen(t, cc, on[0], "A-retry-running", 1000, true)}
	for i := range 5 {
		id := fmt.Sprintf("B%d-retry-queued", i)
		order = append(order, id)
		hs[id] = submitGen(t, cc, on[0], id, 5, true)
	}
	hs["C-plain-running"] = submitGen(t, cc, on[1], "C-plain-running", 1000, false)
	hs["D-plain-queued"] = submitGen(t, cc, on[1], "D-plain-queued", 5, false)
	firstChunk(t, hs["A-retry-running"])
	firstChunk(t, hs["C-plain-running"])
	var gateway string
	for _, m := range cc.Members() {
		if m.Node == "fo-c" {
			gateway = m.Gateway
		}
	}
	frozen := time.Now()
	resume := freeze(t, f.nodes["fo-c"].cmd.Process.Pid)
	evs := f.rec.Wait(t, 30*time.Second, "fo-c's runners placed again and its Retryable tasks resubmitted", func(evs []exo.ClusterEvent) bool {
		replaced, resub := 0, 0
		for _, e := range evs {
			switch {
			case e.Kind == exo.ClusterRunnerReplaced && slices.Contains(on, e.RunnerID):
				replaced++
			case e.Kind == exo.ClusterTaskResubmitted && e.RunnerID == on[0]:
				resub++
			}
		}
		return replaced == 2 && resub == len(order)
	})
	var resubOrder []string
	for _, e := range evs {
		switch {
		case e.Kind == exo.ClusterMemberLost && e.Node == "fo-c":
			took := e.At.Sub(frozen)
			t.Logf("fo-c declared lost %v after SIGSTOP (DetectionBound %v): %s", took.Round(time.Millisecond), cc.DetectionBound(), e.Detail)
			// The bound itself is measured and shown in docs/cluster.md
			// ("Measured after both"), not asserted: a speed assertion
			// flakes on a loaded 2-core CI machine. Only a hang-sized
			// delay fails.
			if hang := 3 * cc.DetectionBound(); took > hang {
				t.Errorf("a frozen member declared lost %v after SIGSTOP, beyond 3 × DetectionBound (%v): the detection hangs", took.Round(time.Millisecond), hang)
			}
		case e.Kind == exo.ClusterTaskResubmitted && e.RunnerID == on[0]:
			resubOrder = append(resubOrder, e.TaskID)
		}
	}
	if !slices.Equal(resubOrder, order) {
		t.Errorf("resubmitted in the order %v, want the submission order %v", resubOrder, order)
	}
	for _, id := range []string{"C-plain-running", "D-plain-queued"} {
		if o := hs[id].Outcome(); o == nil || o.Status != exo.TaskFailed || !strings.Contains(o.Reason, exo.ErrNodeLost.Error()) {
			t.Errorf("task %s: %+v, want Failed with the lost-node reason", id, o)
		}
	}

	// Resume fo-c; watch its task events directly (not through cc) from
	// before it rejoins, so every end of the old runners' tasks is seen.
	resumedAt := time.Now()
	resume()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	direct, err := exo.Dial(ctx, gateway)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	sub, err := direct.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	evs = f.rec.Wait(t, 30*time.Second, "fo-c's old runners reconciled", func(evs []exo.ClusterEvent) bool {
		n := 0
		for _, e := range evs {
			if e.Kind == exo.ClusterRunnerReconciled && e.At.After(resumedAt) {
				n++
			}
		}
		return n == 2
	})
	for _, e := range evs {
		if e.Kind == exo.ClusterRunnerReconciled && e.At.After(resumedAt) {
			t.Logf("reconciled %s %v after SIGCONT: %s", e.RunnerID, e.At.Sub(resumedAt).Round(time.Millisecond), e.Detail)
			if !strings.HasPrefix(e.Detail, "stopped") || strings.Contains(e.Detail, "fail") {
				t.Errorf("runner %s: %q, want it stopped", e.RunnerID, e.Detail)
			}
		}
	}
	// Every task the old runners still held ends there, and none of them
	// ran to its end: the client had resubmitted or failed each.
	ended := map[string]exo.TaskStatusChanged{}
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	for len(ended) < len(hs) {
		ev, err := sub.Next(wctx)
		if err != nil {
			t.Errorf("the resumed fo-c's task events: %v; ends seen: %v", err, ended)
			break
		}
		if ts, ok := ev.Payload.(exo.TaskStatusChanged); ok && ts.Status.Terminal() && slices.Contains(on, ts.RunnerID) {
			ended[ts.TaskID] = ts
			t.Logf("on the resumed fo-c: %s %s %q", ts.TaskID, ts.Status, ts.Reason)
			if ts.Status == exo.TaskComplete {
				t.Errorf("task %s ran to Complete on the resumed fo-c after the client had resubmitted or failed it", ts.TaskID)
			}
		}
	}
	for _, r := range mustDirectRunners(t, direct) {
		if slices.Contains(on, r.ID) && !r.Status.Terminal() {
			t.Errorf("old runner %s still %s on the resumed fo-c", r.ID, r.Status)
		}
	}
}

func mustDirectRunners(t *testing.T, c *exo.Client) []exo.RunnerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := c.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
