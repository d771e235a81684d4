package actors_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// helperCancelCrossing is a runner (raw protocol, with the cancel
// capability) whose word about a task crosses the supervisor's Cancel: it
// holds a Task's first frames until the Cancel for it has come, then
// writes them in exo's order (TaskStatus Running, Running, TaskAcknowledged,
// a chunk) and confirms the cancel (TaskStatus Cancelled, Ready). On the
// supervisor's side that is exactly the order of a runner that started the
// task just before the Cancel reached it, whose frames the supervisor reads
// after it handled the Cancel: a race every cancel of a just-sent task can
// meet, made deterministic.
func helperCancelCrossing() int {
	rr := newRawRunner()
	if !rr.handshake("cancel") {
		return 1
	}
	rr.send(loadFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, 0, 1),
		statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED), statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	go rr.heartbeats()
	for {
		var m exov1.SupervisorEnvelope
		if err := rr.read(&m); err != nil {
			return 0
		}
		switch {
		case m.GetCancel() != nil:
			id := m.GetCancel().GetTaskId()
			rr.send(taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_RUNNING), statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING),
				&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskAcknowledged{TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: id}}},
				&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
					TaskId: id, Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok"}}}}},
				taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_CANCELLED), statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
		case m.GetShutdown() != nil:
			rr.send(statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN), statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN))
			return 0
		}
	}
}

// TestCancelCrossingRunningIsNoProtocolError: a Cancel of a task the
// runner has just started crosses the runner's TaskStatus Running and
// TaskAcknowledged on the pipes. Those frames are in exo's order and the
// runner did nothing wrong, so the supervisor must take them quietly: no
// "protocol error from runner" warning, no RunnerInfo.ProtocolErrors (an
// operator alerting on protocol errors would page for every such cancel),
// and the task still ends once, Cancelled, on the runner's confirmation.
func TestCancelCrossingRunningIsNoProtocolError(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "crossing", Command: helperBinary(t), Env: []string{"EXO_ACTORS_HELPER=cancel-crossing"}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	// Submit answers after the Task frame was written; the runner holds its
	// Running until the Cancel comes, so the Cancel is handled first.
	h := mustSubmit(t, n, id, textTask("x", 3))
	if c, err := n.Cancel(ctx, id, "x"); err != nil || c != 1 {
		t.Fatalf("cancel: %d, %v", c, err)
	}
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED || strings.Contains(o.Reason, "did not confirm") {
		t.Errorf("outcome %+v; want Cancelled on the runner's confirmation", o)
	}
	// Subscribers still see exo's order for the task: the frames that
	// crossed the Cancel are events like any others.
	var order []string
	for _, ev := range n.rec.snapshot() {
		switch e := ev.(type) {
		case *actors.TaskStatusChanged:
			if e.TaskID == "x" {
				order = append(order, actors.TaskStatusName(e.Status))
			}
		case *actors.TaskAcknowledged:
			if e.TaskID == "x" {
				order = append(order, "Acknowledged")
			}
		}
	}
	if got, want := strings.Join(order, " "), "Pending Running Acknowledged Cancelled"; got != want {
		t.Errorf("task events %q, want %q", got, want)
	}
	infos, err := n.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.ID == id && in.ProtocolErrors != 0 {
			t.Errorf("runner %s: %d protocol errors after a cancel that crossed the runner's Running; want 0", id, in.ProtocolErrors)
		}
	}
	for _, e := range n.logs.all() {
		if e.Level <= logrus.WarnLevel && strings.Contains(e.Message, "protocol error") {
			t.Errorf("logged %q: %v", e.Message, e.Data["reason"])
		}
	}
}
