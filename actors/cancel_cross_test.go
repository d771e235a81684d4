package actors_test

import (
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/frame"
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
	r := frame.NewReader(os.Stdin)
	w := frame.NewWriter(os.Stdout)
	var mu sync.Mutex
	send := func(envs ...*exov1.RunnerEnvelope) {
		mu.Lock()
		defer mu.Unlock()
		for _, env := range envs {
			if err := w.Buffer(env); err != nil {
				os.Exit(1)
			}
		}
		if err := w.Flush(); err != nil {
			os.Exit(1)
		}
	}
	status := func(k exov1.RunnerStatusKind) *exov1.RunnerEnvelope {
		return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: &exov1.RunnerStatus{Kind: k}}}}
	}
	taskStatus := func(id string, st exov1.TaskStatus) *exov1.RunnerEnvelope {
		return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: id, Status: st}}}
	}
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 1, Pid: int32(os.Getpid()), Capabilities: []string{"cancel"}}}})
	var in exov1.SupervisorEnvelope
	if err := r.Read(&in); err != nil || in.GetHelloAccepted() == nil {
		return 1
	}
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{
		Status: &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, TotalLayers: 1}}}},
		status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED), status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	go func() {
		tick := time.NewTicker(10 * time.Millisecond) // the runner's own pace
		for seq := uint64(1); ; seq++ {
			<-tick.C
			send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq}}})
		}
	}()
	for {
		var m exov1.SupervisorEnvelope
		if err := r.Read(&m); err != nil {
			return 0
		}
		switch {
		case m.GetCancel() != nil:
			id := m.GetCancel().GetTaskId()
			send(taskStatus(id, exov1.TaskStatus_TASK_STATUS_RUNNING), status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING),
				&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskAcknowledged{TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: id}}},
				&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
					TaskId: id, Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok"}}}}},
				taskStatus(id, exov1.TaskStatus_TASK_STATUS_CANCELLED), status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
		case m.GetShutdown() != nil:
			send(status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN), status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN))
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
