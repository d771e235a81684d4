package runtime_test

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestClusterGracefulLeaveDrains: a node that leaves gracefully (SIGTERM)
// drains: the client follows the tasks still running there to their real
// outcome (Complete, attempt 1: not resubmitted while they run, so never
// run twice); a Retryable task the node cancels because it shuts down
// before the task started is resubmitted elsewhere (it never ran); a
// non-Retryable one keeps that outcome. Before, the member's leaving the
// view was taken for its loss: the running Retryable task ran twice (on
// the leaving node and as attempt 2), the running plain one ended Failed
// "node lost" while the node completed it, and the queued Retryable one
// ended Cancelled, never resubmitted.
func TestClusterGracefulLeaveDrains(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 15 s)")
	}
	gracefulLeaveScenario(t, "")
}

// TestClusterGracefulLeaveDrainsEtcd is the same with etcd, where the
// leaving member's key goes as soon as its lease is revoked: the client
// can see it leave the view before the node's shutdown has begun, so the
// node says it is shutting down from before it leaves (Server.Leaving).
func TestClusterGracefulLeaveDrainsEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test with etcd (about 15 s)")
	}
	gracefulLeaveScenario(t, startTestEtcd(t, etcdTestBinary(t)))
}

func gracefulLeaveScenario(t *testing.T, etcd string) {
	f, on := newOneAtATimeCluster(t, "leave-test", "fo-c", etcd)
	cc := f.cc
	a := submitGen(t, cc, on[0], "A-retry-running", 100, true)
	b := submitGen(t, cc, on[0], "B-retry-queued", 5, true)
	c := submitGen(t, cc, on[1], "C-plain-running", 100, false)
	d := submitGen(t, cc, on[1], "D-plain-queued", 5, false)
	firstChunk(t, a)
	firstChunk(t, c)
	signalled := time.Now()
	if err := f.nodes["fo-c"].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	want := []struct {
		h       *exo.TaskHandle
		status  exo.TaskStatus
		attempt int
		reason  string
	}{
		{a, exo.TaskComplete, 1, ""},
		{b, exo.TaskComplete, 2, ""},
		{c, exo.TaskComplete, 1, ""},
		{d, exo.TaskCancelled, 1, "node shutting down before the task started"},
	}
	for _, w := range want {
		o, err := w.h.Wait(ctx)
		if err != nil {
			t.Fatalf("task %s: %v", w.h.ID, err)
		}
		t.Logf("task %s: %s attempt %d %q, %v after SIGTERM", w.h.ID, o.Status, o.Attempt, o.Reason, o.At.Sub(signalled).Round(time.Millisecond))
		if o.Status != w.status || o.Attempt != w.attempt || o.Reason != w.reason {
			t.Errorf("task %s: %s attempt %d %q, want %s attempt %d %q", w.h.ID, o.Status, o.Attempt, o.Reason, w.status, w.attempt, w.reason)
		}
	}
	if err := f.nodes["fo-c"].wait(t, 30*time.Second); err != nil {
		t.Errorf("fo-c: %v after SIGTERM", err)
	}
	f.rec.Wait(t, 30*time.Second, "fo-c declared gone", func(evs []exo.ClusterEvent) bool {
		for _, e := range evs {
			if e.Kind == exo.ClusterMemberLost && e.Node == "fo-c" {
				return true
			}
		}
		return false
	})
	replaced := 0
	for _, e := range f.rec.Snapshot() {
		// A graceful leave is no failure of its runners: they are placed
		// again at once, no backoff counted, and the loss says the node
		// left (it said "declared dead", and each leave of a rolling
		// restart grew the runners' backoff: a trial).
		if e.Kind == exo.ClusterRunnerReplaced && e.At.After(signalled) {
			replaced++
			if e.Detail != "at once: its node left gracefully (a planned leave counts no backoff)" {
				t.Errorf("runner %s replaced after a graceful leave: Detail %q, want at once, no backoff", e.RunnerID, e.Detail)
			}
		}
		if e.Kind == exo.ClusterRunnerLost && e.Node == "fo-c" && !strings.Contains(e.Detail, "left cluster leave-test gracefully") {
			t.Errorf("runner %s lost with its leaving node: Detail %q, want it to say the node left gracefully", e.RunnerID, e.Detail)
		}
		if e.At.After(signalled) {
			t.Logf("%v %s %s %s→%s %s %s", e.At.Sub(signalled).Round(time.Millisecond), e.Kind, e.Node, e.RunnerID, e.NewRunnerID, e.TaskID, e.Detail)
		}
		if e.Kind == exo.ClusterTaskResubmitted && e.TaskID != "B-retry-queued" {
			t.Errorf("task %s resubmitted: only the one the leaving node never started may be", e.TaskID)
		}
		if e.Kind == exo.ClusterTaskResubmitted && !strings.HasPrefix(e.Detail, "to runner "+e.NewRunnerID+" on node "+e.Node+": ") {
			t.Errorf("task_resubmitted's Detail %q: want where it went and why (it was empty)", e.Detail)
		}
	}
	if replaced == 0 {
		t.Error("no runner replaced after fo-c left")
	}
}
