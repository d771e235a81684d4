package runtime

import (
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/membership"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestClusterDivertShutdownEnd: which outcomes a member's connection hands
// to the ClusterClient instead of the handle — a Retryable task, not yet
// retried, that its node's shutdown cancelled before it started or cut at
// the drain deadline — without processes (the drain cut needs a node whose
// DRAINING deadline passes, which the multi-process test does not reach).
func TestClusterDivertShutdownEnd(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}}
	b := &memberConn{m: membership.Member{ID: "mb", NodeName: "b"}}
	cc := noteClient(t, 0, a, b)
	cc.follow("gen-1", a.m)
	task := func(id string, retryable bool) *clusterTask {
		h, feed := actors.NewTaskFeed("gen-1", id)
		ct := &clusterTask{t: Task{ID: id, Retryable: retryable}, runnerID: "gen-1", feed: feed, h: h}
		cc.tasks[ct] = struct{}{}
		return ct
	}
	cancelled := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_CANCELLED, Reason: actors.ReasonShutdownBeforeStart, At: time.Now()}
	cut := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_TIMED_OUT, Reason: actors.ReasonShutdownDrainCut, At: time.Now()}
	other := actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_CANCELLED, Reason: "cancelled on request", At: time.Now()}
	for _, c := range []struct {
		name      string
		retryable bool
		on        *memberConn
		out       actors.TaskOutcome
		want      bool
	}{
		{"Retryable, cancelled before it started", true, a, cancelled, true},
		{"Retryable, cut at the drain deadline", true, a, cut, true},
		{"not Retryable, cancelled before it started", false, a, cancelled, false},
		{"Retryable, cancelled on request", true, a, other, false},
		{"Retryable, from another member's connection", true, b, cancelled, false},
	} {
		ct := task(c.name, c.retryable)
		if got := cc.divertShutdownEnd(c.on, ct.feed, c.out); got != c.want {
			t.Errorf("%s: diverted %v, want %v", c.name, got, c.want)
		}
		if ct.held != c.want || ct.moving != c.want {
			t.Errorf("%s: held %v moving %v, want both %v", c.name, ct.held, ct.moving, c.want)
		}
	}
	// Exactly the two diverted tasks wait for their runner's failover.
	cc.mu.Lock()
	held := 0
	for t := range cc.tasks {
		if t.held {
			held++
		}
	}
	cc.mu.Unlock()
	if held != 2 {
		t.Fatalf("%d tasks held, want 2", held)
	}
}
