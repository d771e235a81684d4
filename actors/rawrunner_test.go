package actors_test

import (
	"os"
	"sync"
	"time"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// rawRunner is the runner side of the pipes for helper modes that play the
// protocol frame by frame (no SDK): frames read from stdin, and a writer on
// stdout that the mode and its heartbeat goroutine share.
type rawRunner struct {
	r  *frame.Reader
	mu sync.Mutex // serialises send
	w  *frame.Writer
}

func newRawRunner() *rawRunner {
	return &rawRunner{r: frame.NewReader(os.Stdin), w: frame.NewWriter(os.Stdout)}
}

// send writes envs in one write; a failed write ends the process (exit 1).
func (rr *rawRunner) send(envs ...*exov1.RunnerEnvelope) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for _, env := range envs {
		if err := rr.w.Buffer(env); err != nil {
			os.Exit(1)
		}
	}
	if err := rr.w.Flush(); err != nil {
		os.Exit(1)
	}
}

// read reads the supervisor's next frame.
func (rr *rawRunner) read(m *exov1.SupervisorEnvelope) error { return rr.r.Read(m) }

// handshake says Hello (protocol version 1, caps) and reads HelloAccepted;
// false when something else came.
func (rr *rawRunner) handshake(caps ...string) bool {
	rr.send(helloFrame(caps...))
	var in exov1.SupervisorEnvelope
	return rr.read(&in) == nil && in.GetHelloAccepted() != nil
}

// heartbeats writes a Heartbeat every 10 ms, the runner's own pace, until
// the process ends; run it on a goroutine of its own.
func (rr *rawRunner) heartbeats() {
	tick := time.NewTicker(10 * time.Millisecond)
	for seq := uint64(1); ; seq++ {
		<-tick.C
		rr.send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq}}})
	}
}

// toReady starts the heartbeats and reports Loading(1/1), Loaded and
// Ready: the raw runner is Ready once the supervisor reads them.
func (rr *rawRunner) toReady() {
	go rr.heartbeats()
	rr.send(loadFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, 1, 1), statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED),
		statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
}

func helloFrame(caps ...string) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 1, Pid: int32(os.Getpid()), Capabilities: caps}}}
}

func statusFrame(k exov1.RunnerStatusKind) *exov1.RunnerEnvelope {
	return loadFrame(k, 0, 0)
}

// loadFrame is a status with layer counts.
func loadFrame(k exov1.RunnerStatusKind, loaded, total uint32) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{
		Status: &exov1.RunnerStatus{Kind: k, LayersLoaded: loaded, TotalLayers: total}}}}
}

func taskStatusFrame(id string, st exov1.TaskStatus) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: id, Status: st}}}
}

// readyRaw is a raw runner past its handshake (caps announced) and Ready;
// nil when the supervisor did not accept its Hello.
func readyRaw(caps ...string) *rawRunner {
	rr := newRawRunner()
	if !rr.handshake(caps...) {
		return nil
	}
	rr.toReady()
	return rr
}

// serve hands each frame the supervisor sends to on until on says to exit
// (with its code); a read error (stdin closed) exits with readErr.
func (rr *rawRunner) serve(readErr int, on func(m *exov1.SupervisorEnvelope) (code int, exit bool)) int {
	for {
		var m exov1.SupervisorEnvelope
		if err := rr.read(&m); err != nil {
			return readErr
		}
		if code, exit := on(&m); exit {
			return code
		}
	}
}
