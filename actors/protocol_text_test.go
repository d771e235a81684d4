package actors_test

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// helperSkipsRunning is a runner (raw protocol) that says Hello, reports
// Ready and then runs each task without StatusUpdated{Running}: TaskStatus
// Running, TaskAcknowledged, one chunk, Complete, Ready — it shows Ready all
// along, as a new user's runner did. With how == "ghost" it first sends a
// TaskAcknowledged for a task "ghost" it was never sent; with how ==
// "close-stdout" it closes its stdout after Ready and lives on; with how ==
// "skip-loaded" it skips Loaded (Loading → WarmingUp → Ready, both
// refused), as a trial's runner did.
func helperSkipsRunning(how string) int {
	var mu sync.Mutex // one writer at a time: heartbeats come from a goroutine
	w := frame.NewWriter(os.Stdout)
	send := func(envs ...*exov1.RunnerEnvelope) {
		mu.Lock()
		defer mu.Unlock()
		for _, env := range envs {
			if err := w.Write(env); err != nil {
				os.Exit(1)
			}
		}
	}
	status := func(k exov1.RunnerStatusKind) *exov1.RunnerEnvelope {
		return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: &exov1.RunnerStatus{Kind: k}}}}
	}
	taskStatus := func(id string, st exov1.TaskStatus) *exov1.RunnerEnvelope {
		return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: id, Status: st}}}
	}
	ack := func(id string) *exov1.RunnerEnvelope {
		return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskAcknowledged{TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: id}}}
	}
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 1, Pid: int32(os.Getpid())}}})
	r := frame.NewReader(os.Stdin)
	var in exov1.SupervisorEnvelope
	if err := r.Read(&in); err != nil || in.GetHelloAccepted() == nil {
		return 1
	}
	go func() {
		tick := time.NewTicker(10 * time.Millisecond) // the runner's own pace
		for seq := uint64(1); ; seq++ {
			<-tick.C
			send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq}}})
		}
	}()
	loaded := exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED
	if how == "skip-loaded" {
		loaded = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_WARMING_UP // Loading → WarmingUp: illegal
	}
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{
		Status: &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, LayersLoaded: 1, TotalLayers: 1}}}},
		status(loaded), status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	if how == "close-stdout" {
		mu.Lock() // no heartbeat after this: stdout is closed for good
		os.Stdout.Close()
	}
	for {
		if err := r.Read(&in); err != nil {
			return 0
		}
		t := in.GetTask()
		if t == nil {
			continue
		}
		if how == "ghost" {
			send(ack("ghost"))
		}
		send(taskStatus(t.GetId(), exov1.TaskStatus_TASK_STATUS_RUNNING), ack(t.GetId()),
			&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
				TaskId: t.GetId(), Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok0 ", FinishReason: "length"}}}}},
			taskStatus(t.GetId(), exov1.TaskStatus_TASK_STATUS_COMPLETE), status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	}
}

func spawnSkipsRunning(t *testing.T, n *testNode, how string) string {
	t.Helper()
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "skips-running", Command: helperBinary(t),
		Env: []string{"EXO_ACTORS_HELPER=skips-running", "SKIPS_RUNNING_HOW=" + how}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func runnerInfo(t *testing.T, n *testNode, id string) actors.RunnerInfo {
	t.Helper()
	infos, err := n.Runners(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.ID == id {
			return in
		}
	}
	t.Fatalf("no runner %s", id)
	return actors.RunnerInfo{}
}

const ackWhileReady = "acknowledged while the runner reports Ready: no StatusUpdated{Running} before it (docs/protocol.md, Tasks, step 2)"

// TestTaskWithoutRunningStatusWarnsOnce: a runner that never reports
// Running gets its tasks run as usual, but each counts as a protocol error
// and the first is logged, once per process, saying what is missing and
// what it means (the runner shows Ready while it works; the no-progress
// check watches its acknowledged task all the same).
func TestTaskWithoutRunningStatusWarnsOnce(t *testing.T) {
	n := startNode(t)
	id := spawnSkipsRunning(t, n, "")
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	for _, task := range []string{"a", "b", "c"} {
		if o := wait(t, mustSubmit(t, n, id, textTask(task, 1))); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE || o.Chunks != 1 {
			t.Errorf("task %s: %s with %d chunks, want Complete with 1", task, actors.TaskStatusName(o.Status), o.Chunks)
		}
	}
	if got := runnerInfo(t, n, id).ProtocolErrors; got != 3 {
		t.Errorf("ProtocolErrors = %d, want 3 (one per task acknowledged while Ready)", got)
	}
	var warned []string
	for _, e := range n.logs.all() {
		if r, _ := e.Data["reason"].(string); strings.Contains(r, ackWhileReady) {
			warned = append(warned, r+" — "+e.Message)
			if e.Level != logrus.WarnLevel || !strings.Contains(e.Message, "watched by the no-progress check all the same") {
				t.Errorf("log entry %s %q, want a warning that says what it costs", e.Level, e.Message)
			}
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], `task "a"`) {
		t.Errorf("warnings %q, want exactly one, for task a", warned)
	}
}

// TestUnknownTaskFrameNamesTheMessage: a frame for a task the node never
// sent is logged by its protocol message's name, not its Go type.
func TestUnknownTaskFrameNamesTheMessage(t *testing.T) {
	n := startNode(t)
	id := spawnSkipsRunning(t, n, "ghost")
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	wait(t, mustSubmit(t, n, id, textTask("real", 1)))
	n.logs.waitLog(t, 20*time.Second, "the ghost's TaskAcknowledged", func(e *logrus.Entry) bool {
		r, _ := e.Data["reason"].(string)
		return r == `TaskAcknowledged for unknown task "ghost"`
	})
}

// TestStdoutClosedHint: a runner that closes its stdout and lives on fails
// with advice that fits (keep stdout open), not the generic protocol-error
// hint about SDK versions and other writers.
func TestStdoutClosedHint(t *testing.T) {
	n := startNode(t)
	id := spawnSkipsRunning(t, n, "close-stdout")
	evs := n.rec.waitFor(t, 20*time.Second, "failure", failed(id))
	f := failures(evs, id)[0]
	const want = "runner closed its stdout but kept running; a runner must keep stdout open while it runs: it carries every frame to the node"
	if f.Source != actors.SourceStdoutEOF || f.Kind != errhandler.KindProtocolError || !strings.HasSuffix(f.Error(), want) {
		t.Errorf("failure %s/%s: %q, want it to end %q", f.Source, f.Kind, f.Error(), want)
	}
	// The record the error policy keeps says the same.
	evs = n.rec.waitFor(t, 20*time.Second, "the supervision decision", func(evs []actors.Event) bool {
		for _, e := range evs {
			if d, ok := e.(*actors.SupervisionDecision); ok && d.RunnerID == id {
				return true
			}
		}
		return false
	})
	for _, e := range evs {
		if d, ok := e.(*actors.SupervisionDecision); ok && d.RunnerID == id {
			if m := d.Record.Message; strings.Contains(m, "SDK version") || !strings.Contains(m, "keep stdout open") {
				t.Errorf("the record's message: %q", m)
			}
		}
	}
}

// TestCancelUnknownTaskText: the error says when a finished task is
// forgotten, in words that match the ledger.
func TestCancelUnknownTaskText(t *testing.T) {
	n := startNode(t)
	id := readyRunner(t, n)
	_, err := n.Cancel(ctxT(t), id, "no-such-task")
	const want = `has no task "no-such-task"; check the ID (a finished task is forgotten once TaskLimits.DedupMemory newer tasks have finished)`
	if !errors.Is(err, actors.ErrTaskNotFound) || !strings.Contains(err.Error(), want) {
		t.Errorf("Cancel: %v, want ErrTaskNotFound saying %q", err, want)
	}
}

// TestSkippedLoadedNamedInTheStall: a runner that skips Loaded (Loading →
// WarmingUp → Ready) has both reports refused and stays at Loading until
// the loading-stall check fails it. Before, the failure said only "loading
// stalled … raise timeouts.loading_stall", which cannot help; the refusal
// was a log line. The failure names the first refused report and what
// may follow Loading.
func TestSkippedLoadedNamedInTheStall(t *testing.T) {
	n := startNode(t, func(c *actors.NodeConfig) { c.Timeouts.LoadingStall = 500 * time.Millisecond })
	id := spawnSkipsRunning(t, n, "skip-loaded")
	evs := n.rec.waitFor(t, 20*time.Second, "the stall's failure", failed(id))
	f := failures(evs, id)[0]
	for _, want := range []string{"loading stalled at Loading(1/1)",
		"the node refused a status report of it, which may be why it looks stuck: status Loading → WarmingUp is not a legal transition (after Loading a runner reports Loading, Loaded, ShuttingDown or Failed; docs/protocol.md, \"Runner statuses\")"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("failure %q\nwant it to contain %q", f.Message, want)
		}
	}
}
