package actors_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// TestChunkIndexesAreCheckedAndCorrected: a runner that counts its chunks
// from 1 has them delivered in order at their places 0, 1, 2, and a
// protocol error said once for the task. Before, the index went unchecked
// and readers got 1, 2, 3 (a Python runner's trial).
func TestChunkIndexesAreCheckedAndCorrected(t *testing.T) {
	n := startNode(t)
	id := spawnHelper(t, n, "misbehave", "index-from-1", true)
	h := mustSubmit(t, n, id, textTask("t1", 3))
	o := wait(t, h)
	chunks := h.Chunks()
	if o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE || len(chunks) != 3 {
		t.Fatalf("outcome %s with %d chunks; want Complete with 3", actors.TaskStatusName(o.Status), len(chunks))
	}
	for i, c := range chunks {
		if c.GetIndex() != uint64(i) || c.GetToken().GetText() != "t"+string(rune('0'+i)) {
			t.Errorf("chunk %d: index %d, text %q; want index %d, text t%d", i, c.GetIndex(), c.GetToken().GetText(), i, i)
		}
	}
	var said int
	for _, e := range n.logs.all() {
		if e.Level == logrus.WarnLevel && strings.Contains(e.Message, "its index corrected") {
			said++
			if r, _ := e.Data["reason"].(string); !strings.Contains(r, `task "t1": chunk index 1 where 0 was due`) {
				t.Errorf("reason %q; want it to name the task, the index sent and the one due", r)
			}
		}
	}
	if said != 1 {
		t.Errorf("the misindexed chunks were said %d times; want once for the task", said)
	}
}

// TestDuplicateAckSaysTwice: a second TaskAcknowledged is named as such,
// not "before TaskStatus Running" (a Python runner's trial).
func TestDuplicateAckSaysTwice(t *testing.T) {
	n := startNode(t)
	id := spawnHelper(t, n, "misbehave", "double-ack", true)
	if o := wait(t, mustSubmit(t, n, id, textTask("t1", 3))); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Fatalf("outcome %s; want Complete", actors.TaskStatusName(o.Status))
	}
	n.logs.waitLog(t, 20*time.Second, "the second acknowledgement named", func(e *logrus.Entry) bool {
		r, _ := e.Data["reason"].(string)
		return e.Level == logrus.WarnLevel && r == `task "t1": TaskAcknowledged twice`
	})
}

// TestAckBeforeRunningIsSaidInTheOutcome: a runner that sends
// TaskAcknowledged before TaskStatus Running breaks the order, so the node
// ignores the acknowledgement and its chunks; its Complete ends the task
// Failed at once (no acknowledgement timeout to wait for: the AckTimeout
// here is an hour), the outcome saying why, and the chunks out of order
// are logged once. Before, the outcome read "runner did not acknowledge
// the task within 5s" after that timeout and a CancelWait, and the alert
// advised raising AckTimeout "if it is only slow" (a new user's Node.js
// and Java runners), while the node's log said one warning per chunk.
func TestAckBeforeRunningIsSaidInTheOutcome(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Tasks.AckTimeout = time.Hour })
	id := spawnHelper(t, n, "misbehave", "ack-first", true)
	o := wait(t, mustSubmit(t, n, id, textTask("t1", 3)))
	want := "the runner's Complete came out of order, so the task cannot count as complete; the runner broke the protocol about this task: TaskAcknowledged before TaskStatus Running " +
		"(and 4 more frames of the task out of order), and the node ignored them (a task's frames come in the order TaskStatus Running, TaskAcknowledged, chunks, its end: docs/protocol.md, Tasks)"
	if o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || o.Reason != want {
		t.Errorf("outcome %s %q;\nwant Failed %q…", actors.TaskStatusName(o.Status), o.Reason, want)
	}
	var chunkLines int
	for _, e := range n.logs.all() {
		if r, _ := e.Data["reason"].(string); strings.Contains(r, "chunk before TaskAcknowledged") {
			chunkLines++
		}
	}
	if chunkLines != 1 {
		t.Errorf("chunks out of order logged %d times; want once for the task", chunkLines)
	}
	if infos, err := n.Runners(ctxT(t)); err != nil || len(infos) != 1 || infos[0].ProtocolErrors != 5 {
		t.Errorf("runners %+v (%v); want one with 5 protocol errors (the acknowledgement, 3 chunks, the Complete)", infos, err)
	}
}

// TestRetriedTaskIsJudgedOnItsOwnFrames: a Retryable task whose first
// attempt's frames came out of order, and whose runner then died, is judged
// on its second attempt's frames only. Before, attempt 2's outcome counted
// attempt 1's frames too ("and 1 more frames of the task out of order"
// for the one frame it got), and its chunks out of order were not logged
// (a review).
func TestRetriedTaskIsJudgedOnItsOwnFrames(t *testing.T) {
	sup := clock.NewFake(time.Unix(1_700_000_000, 0))
	rc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(sup), func(c *actors.NodeConfig) {
		c.RunnerClock = rc
		c.Tasks.AckTimeout = time.Minute
		c.Timeouts.HeartbeatTimeout, c.Timeouts.ProgressTimeout = 24*time.Hour, 24*time.Hour
	})
	id := spawnHelper(t, n, "misbehave", "ack-first-hang", true)
	spec := textTask("t1", 3)
	spec.Retryable = true
	h := mustSubmit(t, n, id, spec)
	protocolErrors := func(want uint64) func([]actors.Event) bool {
		return func([]actors.Event) bool {
			infos, err := n.Runners(ctxT(t))
			return err == nil && len(infos) == 1 && infos[0].ProtocolErrors >= want
		}
	}
	n.rec.waitFor(t, 20*time.Second, "attempt 1's acknowledgement out of order", protocolErrors(1))
	if err := syscall.Kill(pidOf(n.rec.snapshot(), id, 1), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "the decision", nDecisions(id, 1))
	sup.Advance(time.Minute) // past the backoff
	n.rec.waitFor(t, 20*time.Second, "attempt 2's acknowledgement out of order", protocolErrors(2))
	// Past attempt 2's AckTimeout, armed when its task was sent; the runner
	// cannot cancel, so the task ends at once.
	rc.Advance(2 * time.Minute)
	o := wait(t, h)
	if want := "the runner broke the protocol about this task: TaskAcknowledged before TaskStatus Running, and the node ignored it ("; o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, want) {
		t.Errorf("attempt %d: outcome %s %q; want Failed naming only its own frame: %q", o.Attempt, actors.TaskStatusName(o.Status), o.Reason, want)
	}
}

// TestReadyMidTaskIsStillWatched: a runner that reports Ready while its
// acknowledged task runs, and makes no progress, fails by the no-progress
// check, the reason saying it reported Ready. Before, its Ready turned the
// check off and a runner stuck in its task went unnoticed (a Python
// runner's trial).
func TestReadyMidTaskIsStillWatched(t *testing.T) {
	n := startNode(t)
	id := spawnHelper(t, n, "misbehave", "ready-mid-task", true)
	h := mustSubmit(t, n, id, textTask("stuck", 3))
	f := failures(n.rec.waitFor(t, 20*time.Second, "the runner failed", failed(id)), id)[0]
	if f.Kind != errhandler.KindNoProgress || !strings.Contains(f.Message, "while it runs a task (it reports Ready)") {
		t.Errorf("failure %s: %q; want no progress, while it runs a task (it reports Ready)", f.Kind, f.Message)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_FAILED {
		t.Errorf("task %s; want Failed with its runner", actors.TaskStatusName(o.Status))
	}
	n.logs.waitLog(t, 20*time.Second, "the Ready mid-task said", func(e *logrus.Entry) bool {
		r, _ := e.Data["reason"].(string)
		return e.Level == logrus.WarnLevel && strings.Contains(r, `runner reported Ready while task "stuck" runs`)
	})
}

// TestHelloNamingAnotherRunnerIsSaid: a Hello whose runner_id is not the
// runner's is accepted and said (a protocol error), not accepted in
// silence (a raw runner's trial).
func TestHelloNamingAnotherRunnerIsSaid(t *testing.T) {
	n := startNode(t)
	id := spawnHelper(t, n, "rawhello", "wrong-runner-id", true)
	n.logs.waitLog(t, 20*time.Second, "the other runner's ID said", func(e *logrus.Entry) bool {
		r, _ := e.Data["reason"].(string)
		return e.Level == logrus.WarnLevel && e.Data["runner_id"] == id &&
			r == `Hello carries runner_id "someone-else", but this runner is "`+id+`" (its EXO_RUNNER_ID, and HelloAccepted's runner_id)`
	})
}

// TestFirstFrameNotHelloNamesTheMessage: a first frame that is not Hello
// is named by its protocol message, not its Go type (before: "its first
// frame was *exov1.RunnerEnvelope_StatusUpdated").
func TestFirstFrameNotHelloNamesTheMessage(t *testing.T) {
	n := startNode(t)
	id := spawnHelper(t, n, "rawhello", "status-first", false)
	f := failures(n.rec.waitFor(t, 20*time.Second, "the runner failed", failed(id)), id)[0]
	if !strings.Contains(f.Message, "not a runner: its first frame was StatusUpdated, not Hello") {
		t.Errorf("failure %q; want it to name StatusUpdated", f.Message)
	}
}
