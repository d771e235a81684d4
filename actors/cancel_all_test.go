package actors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/runner"
)

// blockingHandler is Ready at once and runs every task until it is
// cancelled (here: until the runner shuts down).
type blockingHandler struct{}

func (blockingHandler) Load(ctx context.Context, s *runner.Session) error {
	return readyHandler{}.Load(ctx, s)
}
func (blockingHandler) Run(ctx context.Context, t *runner.Task) error {
	<-ctx.Done()
	return ctx.Err()
}

// TestCancelAllSendsNoQueuedTask: Cancel{all} ends the tasks still queued
// on the supervisor's side at once, without sending them to the runner.
// Against a runner without the cancel capability, ending the running task
// freed its slot, so each queued task was dispatched to the runner just
// before its own cancel came: every queued prompt started on a runner that
// cannot be told to stop, and each ended "runner cannot cancel" instead of
// "before it was sent".
func TestCancelAllSendsNoQueuedTask(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "nocancel", Command: helperBinary(t), Env: []string{"EXO_ACTORS_HELPER=no-cancel-cap"}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	running := mustSubmit(t, n, id, textTask("running", 1))
	n.rec.waitFor(t, 20*time.Second, "the first task acknowledged", func(evs []actors.Event) bool {
		for _, e := range evs {
			if a, ok := e.(*actors.TaskAcknowledged); ok && a.TaskID == "running" {
				return true
			}
		}
		return false
	})
	queued := []*actors.TaskHandle{mustSubmit(t, n, id, textTask("queued-1", 1)), mustSubmit(t, n, id, textTask("queued-2", 1))}
	if c, err := n.Cancel(ctx, id, ""); err != nil || c != 3 {
		t.Fatalf("cancel all: %d, %v; want 3", c, err)
	}
	if o := wait(t, running); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED {
		t.Errorf("running task: %+v", o)
	}
	for _, h := range queued {
		if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED || !strings.Contains(o.Reason, "before it was sent") {
			t.Errorf("queued task %s: %s %q; want Cancelled before it was sent", h.ID, actors.TaskStatusName(o.Status), o.Reason)
		}
	}
	for _, e := range n.logs.all() {
		if e.Level == logrus.DebugLevel && e.Message == "task sent to runner" && e.Data["task_id"] != "running" {
			t.Errorf("queued task %v was sent to the runner by a Cancel{all}", e.Data["task_id"])
		}
	}
}
