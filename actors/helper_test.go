package actors_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/runner"
)

// helperMain runs this test binary as a helper process (the TestHelperProcess
// pattern): a runner that speaks other versions, or a supervising node.
func helperMain(mode string) int {
	switch mode {
	case "version-mismatch":
		err := runner.Serve(context.Background(), idleHandler{}, runner.WithVersions(7, 9))
		fmt.Fprintln(os.Stderr, "helper runner:", err)
		return 1
	case "supervisor":
		return helperSupervisor()
	case "exit-5-on-shutdown":
		// Stops when asked, but exits 5 (something went wrong on the way out).
		err := runner.Serve(context.Background(), exitOnShutdown{})
		fmt.Fprintln(os.Stderr, "helper runner:", err)
		return 1
	case "garbage-on-shutdown", "termination-on-shutdown":
		return helperComplainOnShutdown(mode == "garbage-on-shutdown")
	case "raw-no-cancel-cap":
		return helperRawNoCancelCap()
	case "index-from-1", "ready-mid-task", "double-ack", "ack-first", "ack-first-hang":
		return helperMisbehave(mode)
	case "wrong-runner-id", "status-first":
		return helperRawHello(mode)
	case "failed-and-hang":
		// Reports Failed once Ready, then neither exits nor sends a
		// TerminationError: it reads stdin until the node kills it.
		return helperFailedAndHang()
	case "no-ack":
		return helperNoAck(false)
	case "close-stdin":
		return helperNoAck(true)
	case "close-stdin-then-die":
		// Deaf from Ready on, then dead by signal: the supervisor's write
		// fails before it sees the exit (issue 15, defect 2).
		go func() {
			time.Sleep(300 * time.Millisecond) // the runner's own pace, not a test wait
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}()
		return helperNoAck(true)
	case "failed-diagnostics":
		return helperFailedDiagnostics()
	case "stdout-held":
		// A grandchild holds the runner's stdout, so after the runner dies
		// the node's stdout reader sees no EOF: the runner actor stays in
		// Exited until the grandchild dies too. It has a process group of
		// its own (the node's sweep of the runner's group must not reach
		// it); its PID goes to stderr for the test to kill it.
		hold := exec.Command("sleep", "120")
		hold.Stdout = os.Stdout
		hold.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := hold.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "helper runner: start grandchild:", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "grandchild pid %d\n", hold.Process.Pid)
		err := runner.Serve(context.Background(), readyHandler{})
		fmt.Fprintln(os.Stderr, "helper runner:", err)
		return 1
	case "late-chunks":
		return helperLateChunks()
	case "cancel-crossing":
		return helperCancelCrossing()
	case "late-word":
		return helperLateWord()
	case "no-cancel-cap":
		// The Go SDK without the cancel capability; every task runs until
		// the runner shuts down.
		err := runner.Serve(context.Background(), blockingHandler{}, runner.WithCapabilities())
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper runner:", err)
			return 1
		}
		return 0
	case "deaf-to-cancel":
		// The Go SDK with the cancel capability and a task that writes
		// one chunk and then never ends: a Cancel is never confirmed.
		err := runner.Serve(context.Background(), deafHandler{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper runner:", err)
			return 1
		}
		return 0
	case "cut-frame-exit":
		return helperCutFrameExit()
	case "loading-then-exit":
		// Reports many Loading steps as fast as it can, then exits: the
		// pipe still holds the last of them when the node reaps it.
		err := runner.Serve(context.Background(), loadThenExit{})
		fmt.Fprintln(os.Stderr, "helper runner:", err)
		return 1
	case "skips-running":
		return helperSkipsRunning(os.Getenv("SKIPS_RUNNING_HOW"))
	case "misencoded-token-utf8", "misencoded-unknown-field", "misencoded-hello":
		return helperMisencoded(mode)
	case "stray-stdout":
		return helperStrayStdout(os.Getenv("STRAY_WHEN"), os.Getenv("STRAY_TEXT"))
	case "bad-loading-huge-texts":
		return helperBadLoadingHugeTexts()
	case "ready-after-shutting-down":
		return helperReadyAfterShuttingDown()
	case "flapping-layers":
		return helperFlappingLayers()
	case "chunks-after-own-end":
		return helperChunksAfterOwnEnd()
	case "first-layer-slow":
		// Loads its first layer forever without a Loading(0/N) report, as a
		// runner written from the docs' examples does: it stays in the
		// status FIRST_LAYER_AT names (Idle or Connected) while it
		// heartbeats.
		err := runner.Serve(context.Background(), firstLayerSlow{at: os.Getenv("FIRST_LAYER_AT")})
		fmt.Fprintln(os.Stderr, "helper runner:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 2
}

// readyHandler loads one layer, then is Ready and serves nothing.
type readyHandler struct{}

func (readyHandler) Load(ctx context.Context, s *runner.Session) error {
	if err := s.Loading(1, 1); err != nil {
		return err
	}
	if err := s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED); err != nil {
		return err
	}
	return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY)
}
func (readyHandler) Run(ctx context.Context, t *runner.Task) error { return nil }

// deafHandler's tasks write one chunk and then ignore their context: the
// runner never confirms a Cancel (its process ends by the node's stop).
type deafHandler struct{}

func (deafHandler) Load(ctx context.Context, s *runner.Session) error {
	return readyHandler{}.Load(ctx, s)
}
func (deafHandler) Run(ctx context.Context, t *runner.Task) error {
	if err := t.Chunk("deaf"); err != nil {
		return err
	}
	<-make(chan struct{}) // never: the runner ends by SIGTERM or SIGKILL
	return nil
}

// loadThenExit reports 5,000 Loading steps and exits 3 without a word
// more: more frames than a pipe holds are queued when the process ends.
type loadThenExit struct{}

func (loadThenExit) Load(ctx context.Context, s *runner.Session) error {
	const layers uint32 = 5000
	for i := range layers {
		if err := s.Loading(i, layers); err != nil {
			return err
		}
	}
	os.Exit(3)
	return nil
}
func (loadThenExit) Run(ctx context.Context, t *runner.Task) error { return nil }

type idleHandler struct{}

func (idleHandler) Load(ctx context.Context, s *runner.Session) error {
	return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY)
}
func (idleHandler) Run(ctx context.Context, t *runner.Task) error { return nil }

// exitOnShutdown is a runner that loads at once, runs nothing and whose
// process exits 5 on the Shutdown frame.
type exitOnShutdown struct{}

func (exitOnShutdown) Run(context.Context, *runner.Task) error { return nil }
func (exitOnShutdown) Load(_ context.Context, s *runner.Session) error {
	if err := s.Loading(1, 1); err != nil {
		return err
	}
	if err := s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED); err != nil {
		return err
	}
	return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY)
}

func (exitOnShutdown) BeforeShutdown(context.Context) {
	fmt.Fprintln(os.Stderr, "helper runner: cannot flush the cache, exiting 5")
	os.Exit(5)
}

// helperSupervisor starts a node with three built-in runners, prints their
// PIDs once all are Ready, and waits to be killed.
func helperSupervisor() int {
	ready := make(chan int, 16) // never closed; the hook sends at most once per runner
	logger := logrus.New()
	logger.SetOutput(os.Stderr)
	n, err := actors.StartNode(actors.NodeConfig{
		Logger:        logger,
		BuiltinBinary: os.Getenv("EXO_ACTORS_BINARY"),
		Hook: func(e actors.Event) {
			if s, ok := e.(*actors.StatusChanged); ok && s.To.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
				ready <- 1
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; i < 3; i++ {
		if _, err := n.SpawnRunner(context.Background(), builtin()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	for i := 0; i < 3; i++ {
		select {
		case <-ready:
		case <-time.After(30 * time.Second):
			fmt.Fprintln(os.Stderr, "runners not ready")
			return 1
		}
	}
	infos, _ := n.Runners(context.Background())
	var pids []string
	for _, in := range infos {
		pids = append(pids, fmt.Sprint(in.Pid))
	}
	fmt.Println("ready", strings.Join(pids, " "))
	select {} // until SIGKILL
}

// helperNoAck speaks the protocol with the frame package alone: it says Hello,
// reports Ready, heartbeats on every frame it reads, and never acknowledges a
// task.
func helperNoAck(closeStdin bool) int {
	r := frame.NewReader(os.Stdin)
	w := frame.NewWriter(os.Stdout)
	send := func(env *exov1.RunnerEnvelope) {
		if err := w.Write(env); err != nil {
			os.Exit(1)
		}
	}
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 1, Pid: int32(os.Getpid())}}})
	var in exov1.SupervisorEnvelope
	if err := r.Read(&in); err != nil || in.GetHelloAccepted() == nil {
		return 1
	}
	if closeStdin {
		// Close our end of stdin before saying Ready, so every frame the
		// supervisor writes after Ready meets a closed pipe.
		os.Stdin.Close()
	}
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{
		Status: &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, TotalLayers: 1}}}})
	for _, k := range []exov1.RunnerStatusKind{exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY} {
		send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: &exov1.RunnerStatus{Kind: k}}}})
	}
	// Heartbeats from a goroutine, so the supervisor sees a live runner.
	if closeStdin {
		// Stdin was closed before Ready: live on, heartbeating, deaf.
		tick := time.NewTicker(10 * time.Millisecond)
		for seq := uint64(1); ; seq++ {
			<-tick.C
			_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq}}})
		}
	}
	// From here on only this goroutine writes; the main loop only reads.
	go func() {
		tick := time.NewTicker(10 * time.Millisecond) // the runner's own pace
		for seq := uint64(1); ; seq++ {
			<-tick.C
			_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq}}})
		}
	}()
	for {
		var m exov1.SupervisorEnvelope
		if err := r.Read(&m); err != nil {
			return 0
		}
		if m.GetShutdown() != nil {
			return 0
		}
	}
}

// helperCutFrameExit is a runner (raw protocol) that becomes Ready, then
// dies in the middle of a frame: it writes a frame length of 100 and 10
// bytes of it, says why on stderr, and exits with code 2.
func helperCutFrameExit() int {
	r := frame.NewReader(os.Stdin)
	w := frame.NewWriter(os.Stdout)
	send := func(envs ...*exov1.RunnerEnvelope) {
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
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 1, Pid: int32(os.Getpid())}}})
	var in exov1.SupervisorEnvelope
	if err := r.Read(&in); err != nil || in.GetHelloAccepted() == nil {
		return 1
	}
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{
		Status: &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, TotalLayers: 1}}}},
		status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED), status(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
	_, _ = os.Stdout.Write(append([]byte{100}, "0123456789"...))
	fmt.Fprintln(os.Stderr, "helper: died mid-frame")
	return 2
}

// ackFrames start task id as the protocol asks: TaskStatus Running,
// StatusUpdated Running, TaskAcknowledged.
func ackFrames(id string) []*exov1.RunnerEnvelope {
	return []*exov1.RunnerEnvelope{taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_RUNNING),
		statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING),
		{Body: &exov1.RunnerEnvelope_TaskAcknowledged{TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: id}}}}
}

// helperComplainOnShutdown is a raw runner that, on its Shutdown frame,
// reports ShuttingDown, then writes bad bytes (garbage) or a
// TerminationError, and exits 0.
func helperComplainOnShutdown(garbage bool) int {
	rr := readyRaw()
	if rr == nil {
		return 1
	}
	return rr.serve(1, func(m *exov1.SupervisorEnvelope) (int, bool) {
		if m.GetShutdown() == nil {
			return 0, false
		}
		rr.send(statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN))
		if garbage {
			// A frame of 5 bytes that is no envelope: a field 1 of 16
			// bytes with 3 there (under the writer's lock: the heartbeats
			// write too).
			rr.mu.Lock()
			_, _ = os.Stdout.Write([]byte{5, 0x0a, 0x10, 'a', 'b', 'c'})
			rr.mu.Unlock()
		} else {
			rr.send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TerminationError{TerminationError: &exov1.TerminationError{Message: "model file went away"}}})
		}
		rr.send(statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN))
		return 0, true
	})
}

// helperRawNoCancelCap is a raw runner that announces no capabilities, runs
// every task for ever, and exits 7 when it reads a Cancel: a stop's drain
// deadline sends one whatever the capabilities (docs/protocol.md,
// "Shutdown"). On its Shutdown frame it exits 0.
func helperRawNoCancelCap() int {
	rr := readyRaw()
	if rr == nil {
		return 1
	}
	return rr.serve(1, func(m *exov1.SupervisorEnvelope) (int, bool) {
		switch {
		case m.GetTask() != nil:
			rr.send(ackFrames(m.GetTask().GetId())...)
		case m.GetCancel() != nil:
			return 7, true
		case m.GetShutdown() != nil:
			return 0, true
		}
		return 0, false
	})
}

// helperMisbehave is a raw runner (capability "progress", heartbeats with
// frozen counters) whose tasks break one rule of docs/protocol.md each, by
// mode: "index-from-1" counts its chunks from 1; "double-ack" acknowledges
// each task twice; "ack-first" sends TaskAcknowledged before TaskStatus
// Running (a new user's Node.js runner), "ack-first-hang" does so and
// then never ends the task; the others then stream 3 chunks and complete.
// "ready-mid-task" reports Ready right after the acknowledgement and then
// works for ever.
func helperMisbehave(mode string) int {
	rr := readyRaw("progress")
	if rr == nil {
		return 1
	}
	return rr.serve(1, func(m *exov1.SupervisorEnvelope) (int, bool) {
		if m.GetShutdown() != nil {
			return 0, true
		}
		t := m.GetTask()
		if t == nil {
			return 0, false
		}
		id := t.GetId()
		if f := ackFrames(id); mode == "ack-first" || mode == "ack-first-hang" {
			rr.send(f[2], f[0], f[1])
			if mode == "ack-first-hang" {
				return 0, false // and never ends the task
			}
		} else {
			rr.send(f...)
		}
		switch mode {
		case "ready-mid-task":
			rr.send(statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
			return 0, false // and never ends the task
		case "double-ack":
			rr.send(ackFrames(id)[2])
		}
		first := uint64(0)
		if mode == "index-from-1" {
			first = 1
		}
		for i := range uint64(3) {
			rr.send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: id, Index: first + i,
				Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: fmt.Sprint("t", i)}}}}})
		}
		rr.send(taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_COMPLETE), statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY))
		return 0, false
	})
}

// helperFailedAndHang is the helper "failed-and-hang".
func helperFailedAndHang() int {
	rr := readyRaw()
	if rr == nil {
		return 1
	}
	rr.send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{
		Status: &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED, ErrorMessage: "device lost"}}}})
	return rr.serve(1, func(*exov1.SupervisorEnvelope) (int, bool) { return 0, false })
}

// helperRawHello is a raw runner whose handshake is off, by mode:
// "wrong-runner-id" says Hello with another runner's ID, then goes Ready
// and reads stdin; "status-first" sends a StatusUpdated before any Hello.
func helperRawHello(mode string) int {
	rr := newRawRunner()
	if mode == "status-first" {
		rr.send(statusFrame(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE))
	}
	hello := helloFrame()
	hello.GetHello().RunnerId = "someone-else"
	rr.send(hello)
	var in exov1.SupervisorEnvelope
	if err := rr.read(&in); err != nil || in.GetHelloAccepted() == nil {
		return 1
	}
	rr.toReady()
	return rr.serve(0, func(m *exov1.SupervisorEnvelope) (int, bool) { return 0, m.GetShutdown() != nil })
}
