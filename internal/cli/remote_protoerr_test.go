package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// helperIndexFromOne is the helper "raw-index-from-1": a runner written by
// hand that counts its chunks from 1 (docs/protocol.md: from 0), and is
// otherwise right; it exits 0 on its Shutdown frame or stdin's end.
func helperIndexFromOne() int {
	r, fw := frame.NewReader(os.Stdin), frame.NewWriter(os.Stdout)
	w := &frameLock{w: fw}
	go func() { // the runner's own heartbeat; the process's exit ends it
		tick := time.NewTicker(100 * time.Millisecond) // the runner's own pace
		for seq := uint64(1); ; seq++ {
			<-tick.C
			_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq}}})
		}
	}()
	status := func(st *exov1.RunnerStatus) *exov1.RunnerEnvelope {
		return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: st}}}
	}
	kind := func(k exov1.RunnerStatusKind) *exov1.RunnerEnvelope { return status(&exov1.RunnerStatus{Kind: k}) }
	_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 1, Pid: int32(os.Getpid())}}})
	var in exov1.SupervisorEnvelope
	if err := r.Read(&in); err != nil || in.GetHelloAccepted() == nil {
		return 1
	}
	_ = w.Write(status(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, TotalLayers: 1}))
	_ = w.Write(kind(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED))
	_ = w.Write(kind(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	for {
		var m exov1.SupervisorEnvelope
		if err := r.Read(&m); err != nil || m.GetShutdown() != nil {
			return 0
		}
		t := m.GetTask()
		if t == nil {
			continue
		}
		id := t.GetId()
		_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: id, Status: exov1.TaskStatus_TASK_STATUS_RUNNING}}})
		_ = w.Write(kind(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING))
		_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskAcknowledged{TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: id}}})
		for i := uint64(1); i <= 2; i++ {
			_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: id, Index: i,
				Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: fmt.Sprintf("tok%d ", i-1)}}}}})
		}
		_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: id, Status: exov1.TaskStatus_TASK_STATUS_COMPLETE}}})
		_ = w.Write(kind(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	}
}

// frameLock writes whole frames under one lock: the heartbeat
// goroutine writes too.
type frameLock struct {
	mu sync.Mutex
	w  *frame.Writer
}

func (l *frameLock) Write(env *exov1.RunnerEnvelope) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(env)
}

// TestRemoteRunSaysTheRunnerBrokeTheProtocol: a runner whose tasks pass
// but which broke the protocol (chunk indexes from 1) is named under the
// node's summary line, with how often and where to look. Before, remote
// run, how a runner's author tries a runner, said only "2 tasks passed the
// check" (a new user's trial).
func TestRemoteRunSaysTheRunnerBrokeTheProtocol(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	node, stdout, _ := startNodeWithConfig(t, "perr-a", fmt.Sprintf(`{"kinds": {"raw": {"command": %q, "env": [%q]}}}`, self, helperEnv+"=raw-index-from-1"),
		"--http", "127.0.0.1:0")
	head := readUntil(t, stdout, "HTTP endpoints on http://")
	_, rest, _ := strings.Cut(head, "listening on ")
	listen := strings.Fields(rest)[0]
	_, rest, _ = strings.Cut(head, "HTTP endpoints on http://")
	httpAddr := strings.Fields(rest)[0]
	defer func() {
		_ = node.Process.Signal(syscall.SIGTERM)
		_ = waitExit(t, node)
	}()
	out, stderr, code := runRemoteCmd(t, "--node", listen, "--timeout", "30s", "run", "--kind", "raw", "--tasks", "2", "--tokens", "2")
	t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr)
	if !strings.Contains(out, "node perr-a   runner raw-") || !strings.Contains(out, "broke the runner protocol 2 times: the node's log names each") {
		t.Errorf("want a line naming the runner's 2 protocol errors (one a task) under the node's summary")
	}
	if code != ExitOK {
		t.Errorf("exit %d, want %d (the tasks passed)", code, ExitOK)
	}

	// The operator's view says it too (the runner was stopped by remote run
	// and is listed as removed): /status's protocol_errors and the
	// exo_runner_protocol_errors_total series of the runner.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	getBody := func(path string) []byte {
		t.Helper()
		resp, err := hc.Get("http://" + httpAddr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	var doc struct {
		Runners []struct {
			ID              string  `json:"id"`
			Kind            string  `json:"kind"`
			ProtocolErrors  *uint64 `json:"protocol_errors"`
			LifecycleErrors *uint64 `json:"lifecycle_errors"`
		} `json:"runners"`
	}
	if err := json.Unmarshal(getBody("/status"), &doc); err != nil {
		t.Fatalf("/status: %v", err)
	}
	var runnerID string
	for _, r := range doc.Runners {
		if r.Kind != "raw" {
			continue
		}
		runnerID = r.ID
		if r.ProtocolErrors == nil || *r.ProtocolErrors != 2 || r.LifecycleErrors == nil || *r.LifecycleErrors != 0 {
			t.Errorf("/status runner %s: protocol_errors %v, lifecycle_errors %v; want 2 and 0", r.ID, r.ProtocolErrors, r.LifecycleErrors)
		}
	}
	if runnerID == "" {
		t.Fatalf("/status lists no runner of kind raw: %+v", doc.Runners)
	}
	series := fmt.Sprintf("exo_runner_protocol_errors_total{kind=\"raw\",runner=%q} 2\n", runnerID)
	if body := string(getBody("/metrics")); !strings.Contains(body, series) {
		t.Errorf("/metrics has no %q", series)
	}
	var sout, serr bytes.Buffer
	if code := Main([]string{"status", "--addr", httpAddr}, strings.NewReader(""), &sout, &serr); code != ExitOK ||
		!strings.Contains(sout.String(), "runner "+runnerID+" broke the runner protocol 2 times: the node's log names each") {
		t.Errorf("exo-actors status: exit %d, want a line naming the runner's 2 protocol errors:\n%s%s", code, sout.String(), serr.String())
	}
}
