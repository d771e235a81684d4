package actors_test

import (
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// helperLateWord is a runner whose frames cross the node's stop, as a
// runner stopped right after its spawn writes them. LATE_WHEN=hello: it
// says Hello only when the stop's SIGTERM comes (the node stops a runner
// that has not said Hello with SIGTERM; a Hello written just before it
// arrives after), then exits; it opens the FIFO LATE_READY once it
// handles SIGTERM. LATE_WHEN=loading: after the handshake it reports
// Connecting, waits for the Shutdown frame and then writes Connected,
// Loading, Loaded and Ready, as a runner that loaded while the frame was
// on its way, then ShuttingDown and Shutdown.
func helperLateWord() int {
	rr := newRawRunner()
	if os.Getenv("LATE_WHEN") == "hello" {
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		// Ready for the stop: the test opens the FIFO's other end.
		ready, err := os.OpenFile(os.Getenv("LATE_READY"), os.O_WRONLY, 0)
		if err != nil {
			return 1
		}
		ready.Close()
		<-term
		rr.send(helloFrame())
		return 0
	}
	if !rr.handshake() {
		return 1
	}
	go rr.heartbeats()
	rr.send(statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING))
	for {
		var m exov1.SupervisorEnvelope
		if err := rr.read(&m); err != nil {
			return 0
		}
		if m.GetShutdown() != nil {
			rr.send(statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED),
				loadFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, 1, 2), loadFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED, 2, 2),
				statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY),
				statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN), statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN))
			return 0
		}
	}
}

// TestStopDuringStartIsNoProtocolError: a runner stopped before its Hello
// or before it has loaded writes that Hello, or its loading statuses,
// before the stop reaches it. That is late word, not a protocol error: a
// soak's node logged "second Hello after the handshake" and "ShuttingDown →
// Connecting/Connected/Loading" for built-in runners stopped right after
// their spawn, and counted them in RunnerInfo.ProtocolErrors (an operator
// alerting on those would page for every early stop).
func TestStopDuringStartIsNoProtocolError(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	fifo := filepath.Join(t.TempDir(), "ready")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, when := range []string{"hello", "loading"} {
		id, err := n.SpawnRunner(ctx, actors.RunnerSpec{Kind: "late", Command: helperBinary(t),
			Env: []string{"EXO_ACTORS_HELPER=late-word", "LATE_WHEN=" + when, "LATE_READY=" + fifo}})
		if err != nil {
			t.Fatal(err)
		}
		if when == "hello" {
			ready, err := os.Open(fifo) // returns once the runner opened its end
			if err != nil {
				t.Fatal(err)
			}
			ready.Close()
		} else {
			n.rec.waitFor(t, 20*time.Second, "Connecting", hasStatus(id, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING))
		}
		res, err := n.StopRunner(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", when, res.Summary())
	}
	infos, err := n.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.ProtocolErrors != 0 {
			t.Errorf("runner %s: %d protocol errors after a stop during its start; want 0", in.ID, in.ProtocolErrors)
		}
	}
	for _, e := range n.logs.all() {
		if e.Level <= logrus.WarnLevel && strings.Contains(e.Message, "protocol error") {
			t.Errorf("logged %q: %v", e.Message, e.Data["reason"])
		}
	}
}
