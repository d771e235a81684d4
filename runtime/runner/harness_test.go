package runner_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/testutil"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/runner"
)

// waitLimit bounds every wait in these tests; reaching it is a failure, not
// a timing assumption.
const waitLimit = 10 * time.Second

// sup plays the supervisor for one Serve call over in-memory pipes.
type sup struct {
	t      *testing.T
	toRun  *io.PipeWriter // the runner's stdin, supervisor side
	runOut *io.PipeWriter // the runner's stdout, runner side (closed after Serve)
	outR   *io.PipeReader // the runner's stdout, supervisor side
	fw     *frame.Writer
	frames chan *exov1.RunnerEnvelope // from the drain goroutine
	readEr error                      // why the drain goroutine stopped; read after frames is closed
	errc   chan error                 // Serve's result
	served bool
	err    error
	cancel context.CancelFunc
}

// start runs Serve(h) in a goroutine. Cleanup closes the runner's stdin, waits
// for Serve and for the drain goroutine.
func start(t *testing.T, h runner.Handler, opts ...runner.Option) *sup {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	s := &sup{
		t: t, toRun: inW, runOut: outW, outR: outR, fw: frame.NewWriter(inW),
		frames: make(chan *exov1.RunnerEnvelope, 4096),
		errc:   make(chan error, 1),
		cancel: cancel,
	}
	go func() {
		fr := frame.NewReader(outR)
		for {
			env := &exov1.RunnerEnvelope{}
			if err := fr.Read(env); err != nil {
				s.readEr = err
				close(s.frames) // sole sender: this drain goroutine
				return
			}
			s.frames <- env
		}
	}()
	all := append([]runner.Option{runner.WithIO(inR, outW), runner.WithStopGrace(waitLimit)}, opts...)
	go func() { s.errc <- runner.Serve(ctx, h, all...) }()
	t.Cleanup(func() {
		_ = inW.Close()
		s.wait()
		cancel()
		_ = outW.Close()
		for range s.frames { // until the drain goroutine has ended
		}
	})
	return s
}

// wait returns Serve's result, waiting for it.
func (s *sup) wait() error {
	s.t.Helper()
	if !s.served {
		select {
		case s.err = <-s.errc:
			s.served = true
		case <-time.After(waitLimit):
			s.t.Fatalf("Serve did not return within %v", waitLimit)
		}
	}
	return s.err
}

func (s *sup) send(env *exov1.SupervisorEnvelope) {
	s.t.Helper()
	if err := s.fw.Write(env); err != nil {
		s.t.Fatalf("write to runner: %v", err)
	}
}

// next returns the runner's next frame.
func (s *sup) next() *exov1.RunnerEnvelope {
	s.t.Helper()
	select {
	case env, ok := <-s.frames:
		if !ok {
			s.t.Fatalf("runner's stream ended: %v", s.readEr)
		}
		return env
	case <-time.After(waitLimit):
		s.t.Fatalf("no frame from the runner within %v", waitLimit)
	}
	return nil
}

// expect checks the runner's next frames, described by describe.
func (s *sup) expect(want ...string) {
	s.t.Helper()
	for i, w := range want {
		if got := describe(s.next()); got != w {
			s.t.Fatalf("frame %d of %d: got %q, want %q", i+1, len(want), got, w)
		}
	}
}

// expectEnd checks that the runner sends nothing more: Serve returned and its
// stdout was closed.
func (s *sup) expectEnd() {
	s.t.Helper()
	s.wait()
	_ = s.runOut.Close()
	for env := range s.frames {
		s.t.Fatalf("unexpected frame after Serve returned: %s", describe(env))
	}
}

// accept reads Hello and accepts it with the given heartbeat interval.
func (s *sup) accept(interval time.Duration) *exov1.Hello {
	s.t.Helper()
	env := s.next()
	hello := env.GetHello()
	if hello == nil {
		s.t.Fatalf("first frame: got %s, want Hello", describe(env))
	}
	s.send(accepted(hello.GetMaxVersion(), interval))
	return hello
}

// acceptReady accepts Hello (no unprompted heartbeats) and reads the statuses
// of readyLoad up to Ready.
func (s *sup) acceptReady() {
	s.t.Helper()
	s.accept(time.Hour)
	s.expect(readySequence...)
}

func accepted(version uint32, interval time.Duration) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloAccepted{HelloAccepted: &exov1.HelloAccepted{
		Version: version, HeartbeatInterval: durationpb.New(interval)}}}
}

func task(id, kind string) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{Id: id, Kind: kind}}}
}

func cancelTask(id string) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{
		Target: &exov1.Cancel_TaskId{TaskId: id}}}}
}

func cancelAll() *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{
		Target: &exov1.Cancel_All{All: true}}}}
}

func shutdownIn(d time.Duration) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{
		Timeout: durationpb.New(d)}}}
}

func ping(nonce uint64) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Ping{Ping: &exov1.Ping{Nonce: nonce}}}
}

// describe renders a runner frame on one line for exact comparisons.
func describe(env *exov1.RunnerEnvelope) string { return testutil.DescribeFrame(env) }

// readySequence is what readyLoad reports after the handshake.
var readySequence = []string{
	"Status Connecting", "Status Connected",
	"Status Loading(0/2)", "Status Loading(1/2)", "Status Loading(2/2)",
	"Status Loaded", "Status WarmingUp", "Status Ready",
}

// readyLoad reports the way from Idle to Ready over two layers.
func readyLoad(_ context.Context, s *runner.Session) error {
	steps := []func() error{
		func() error { return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING) },
		func() error { return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED) },
		func() error { return s.Loading(0, 2) },
		func() error { return s.Loading(1, 2) },
		func() error { return s.Loading(2, 2) },
		func() error { return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED) },
		func() error { return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_WARMING_UP) },
		func() error { return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// handler is a Handler made of functions; nil ones load to Ready and stream
// "a", "b", "c".
type handler struct {
	load func(ctx context.Context, s *runner.Session) error
	run  func(ctx context.Context, t *runner.Task) error
}

func (h handler) Load(ctx context.Context, s *runner.Session) error {
	if h.load == nil {
		return readyLoad(ctx, s)
	}
	return h.load(ctx, s)
}

func (h handler) Run(ctx context.Context, t *runner.Task) error {
	if h.run == nil {
		return streamABC(ctx, t)
	}
	return h.run(ctx, t)
}

func streamABC(_ context.Context, t *runner.Task) error {
	if err := t.Chunk("a"); err != nil {
		return err
	}
	if err := t.Chunk("b"); err != nil {
		return err
	}
	return t.Finish("length", "c")
}

// blockUntilCancelled is a Run that returns only when its task is cancelled.
func blockUntilCancelled(ctx context.Context, _ *runner.Task) error {
	<-ctx.Done()
	return ctx.Err()
}

func mustIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v: want one wrapping %v", err, target)
	}
}
