package runner_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/runner"
)

func TestHandshakeLoadAndShutdown(t *testing.T) {
	t.Setenv(protocol.EnvRunnerID, "runner-7")
	s := start(t, handler{})
	hello := s.accept(time.Hour)
	if hello.GetMinVersion() != protocol.MinVersion || hello.GetMaxVersion() != protocol.MaxVersion ||
		hello.GetRunnerId() != "runner-7" || hello.GetPid() != int32(os.Getpid()) {
		t.Fatalf("Hello = %v; want versions [%d, %d], runner_id runner-7, pid %d",
			hello, protocol.MinVersion, protocol.MaxVersion, os.Getpid())
	}
	if got := strings.Join(hello.GetCapabilities(), ","); got != "cancel,progress" {
		t.Fatalf("capabilities = %q, want cancel,progress", got)
	}
	s.expect(readySequence...)
	s.send(shutdownIn(time.Second))
	s.expect("Status ShuttingDown", "Status Shutdown")
	if err := s.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil after Shutdown", err)
	}
	s.expectEnd()
}

func TestHandshakeRefused(t *testing.T) {
	s := start(t, handler{}, runner.WithVersions(3, 4))
	if h := s.next().GetHello(); h.GetMinVersion() != 3 || h.GetMaxVersion() != 4 {
		t.Fatalf("Hello = %v, want versions [3, 4]", h)
	}
	s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloRefused{HelloRefused: &exov1.HelloRefused{
		Reason: "no common version", SupervisorMinVersion: 1, SupervisorMaxVersion: 2}}})
	err := s.wait()
	mustIs(t, err, runner.ErrRefused)
	var verr *protocol.VersionError
	if !errors.As(err, &verr) || verr.RunnerMin != 3 || verr.RunnerMax != 4 || verr.SupervisorMin != 1 || verr.SupervisorMax != 2 {
		t.Fatalf("error %v: want a *protocol.VersionError with [3, 4] and [1, 2]", err)
	}
	for _, want := range []string{"[3, 4]", "[1, 2]", "no common version"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	s.expectEnd()
}

func TestHandshakeProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer *exov1.SupervisorEnvelope
		want   string
	}{
		{"ping first", ping(1), "got Ping"},
		{"version outside the range", accepted(9, time.Second), "version 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t, handler{})
			s.next()
			s.send(tc.answer)
			err := s.wait()
			mustIs(t, err, runner.ErrProtocol)
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not say %q", err, tc.want)
			}
			s.expectEnd()
		})
	}
}

func TestHandshakeSupervisorGone(t *testing.T) {
	s := start(t, handler{})
	s.next()
	_ = s.toRun.Close()
	if err := s.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil when stdin ends before the answer", err)
	}
}

func TestHandshakeGarbage(t *testing.T) {
	s := start(t, handler{})
	s.next()
	if _, err := s.toRun.Write([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	err := s.wait()
	mustIs(t, err, runner.ErrProtocol)
	mustIs(t, err, frame.ErrBadLength)
}

func TestTaskEventOrder(t *testing.T) {
	s := start(t, handler{})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect(
		"Task t1 RUNNING", "Status Running", "Ack t1",
		`Chunk t1 #0 "a"`, `Chunk t1 #1 "b"`, `Chunk t1 #2 "c" length`,
		"Task t1 COMPLETE", "Status Ready",
	)
	s.send(ping(42))
	s.expect("Heartbeat tokens=3 layers=2 completed=1 nonce=42")
}

func TestTaskFailure(t *testing.T) {
	s := start(t, handler{run: func(_ context.Context, t *runner.Task) error {
		if err := t.Chunk("a"); err != nil {
			return err
		}
		return errors.New("boom")
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect(
		"Task t1 RUNNING", "Status Running", "Ack t1",
		`Chunk t1 #0 "a"`, "ErrorChunk t1 #1 boom", "Task t1 FAILED: boom", "Status Ready",
	)
	s.send(ping(1))
	s.expect("Heartbeat tokens=1 layers=2 completed=0 nonce=1")
}

func TestTaskParams(t *testing.T) {
	got := make(chan string, 1)
	s := start(t, handler{run: func(_ context.Context, t *runner.Task) error {
		got <- t.ID() + " " + t.Kind() + " " + string(t.Payload()) + " " + t.Params()["max_tokens"]
		return nil
	}})
	s.acceptReady()
	s.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{
		Id: "t1", Kind: "gen", Payload: []byte("hi"), Params: map[string]string{"max_tokens": "5"}}}})
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1", "Task t1 COMPLETE", "Status Ready")
	if g := <-got; g != "t1 gen hi 5" {
		t.Fatalf("Run saw %q, want %q", g, "t1 gen hi 5")
	}
}

func TestCancelTask(t *testing.T) {
	s := start(t, handler{run: blockUntilCancelled})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	s.send(cancelTask("t1"))
	s.expect("Task t1 CANCELLED: cancelled by the supervisor", "Status Ready")
}

func TestCancelAll(t *testing.T) {
	s := start(t, handler{run: blockUntilCancelled})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.send(task("t2", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1", "Task t2 RUNNING", "Ack t2")
	s.send(cancelAll())
	ended := []string{describe(s.next()), describe(s.next())}
	sort.Strings(ended)
	want := []string{"Task t1 CANCELLED: cancelled by the supervisor", "Task t2 CANCELLED: cancelled by the supervisor"}
	if strings.Join(ended, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", ended, want)
	}
	s.expect("Status Ready")
}

func TestDuplicateTaskIgnored(t *testing.T) {
	s := start(t, handler{run: blockUntilCancelled})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	s.send(task("t1", "gen"))
	s.send(ping(7)) // a sync point: the duplicate must have produced nothing
	s.expect("Heartbeat tokens=0 layers=2 completed=0 nonce=7")
	s.send(cancelTask("t1"))
	s.expect("Task t1 CANCELLED: cancelled by the supervisor", "Status Ready")
}

func TestTaskBeforeReadyRefused(t *testing.T) {
	release := make(chan struct{})
	s := start(t, handler{load: func(ctx context.Context, sess *runner.Session) error {
		<-release
		return readyLoad(ctx, sess)
	}})
	s.accept(time.Hour)
	s.send(task("t1", "gen"))
	s.expect("Task t1 FAILED: runner is Idle; send tasks when it is Ready")
	close(release) // sole sender: this test
	s.expect(readySequence...)
}

func TestShutdownCancelsRunningTasks(t *testing.T) {
	s := start(t, handler{run: blockUntilCancelled})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	s.send(shutdownIn(0)) // zero: wait as long as the task needs
	s.expect("Status ShuttingDown", "Task t1 CANCELLED: runner shutting down", "Status Shutdown")
	if err := s.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	s.expectEnd()
}

func TestShutdownDuringLoad(t *testing.T) {
	s := start(t, handler{load: func(ctx context.Context, sess *runner.Session) error {
		if err := sess.Loading(0, 4); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	}})
	s.accept(time.Hour)
	s.expect("Status Loading(0/4)")
	s.send(shutdownIn(time.Minute))
	s.expect("Status ShuttingDown", "Status Shutdown")
	if err := s.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
}

func TestShutdownTimeoutAbandonsHandlers(t *testing.T) {
	release := make(chan struct{})
	returned := make(chan struct{})
	s := start(t, handler{run: func(context.Context, *runner.Task) error {
		defer close(returned) // sole sender: this Run
		<-release             // ignores its context
		return nil
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	s.send(shutdownIn(time.Millisecond))
	s.expect("Status ShuttingDown", "Status Shutdown")
	err := s.wait()
	mustIs(t, err, runner.ErrAbandoned)
	if !strings.Contains(err.Error(), "task t1") {
		t.Fatalf("error %q does not name task t1", err)
	}
	close(release) // sole sender: this test
	<-returned
	s.expectEnd() // the late Run writes nothing
}

// TestShutdownExitsBeforeTheTimeout: a handler that ignores its
// cancellation is abandoned before the Shutdown frame's timeout ends (when
// the supervisor sends SIGTERM), not at it: the waited time in the error is
// the timeout less the exit margin. Before, the SDK waited the whole
// timeout and its exit raced the SIGTERM.
func TestShutdownExitsBeforeTheTimeout(t *testing.T) {
	release := make(chan struct{})
	returned := make(chan struct{})
	s := start(t, handler{run: func(context.Context, *runner.Task) error {
		defer close(returned) // sole sender: this Run
		<-release             // ignores its context
		return nil
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	s.send(shutdownIn(time.Second))
	s.expect("Status ShuttingDown", "Status Shutdown")
	err := s.wait()
	mustIs(t, err, runner.ErrAbandoned)
	m := regexp.MustCompile(`still running (\S+) after cancellation`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error %q names no wait", err)
	}
	if waited, perr := time.ParseDuration(m[1]); perr != nil || waited > 800*time.Millisecond {
		t.Errorf("waited %s for the handler after a Shutdown of timeout 1s, want at most 800ms (1s less its fifth): %v", m[1], err)
	}
	close(release) // sole sender: this test
	<-returned
	s.expectEnd() // the late Run writes nothing
}

func TestStdinEOFStops(t *testing.T) {
	s := start(t, handler{run: blockUntilCancelled})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	_ = s.toRun.Close()
	s.expect("Task t1 CANCELLED: supervisor went away")
	if err := s.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil on stdin EOF", err)
	}
	s.expectEnd()
}

func TestContextCancelStops(t *testing.T) {
	s := start(t, handler{run: blockUntilCancelled})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1")
	s.cancel()
	s.expect("Task t1 CANCELLED: runner stopped")
	if err := s.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil when its context ends", err)
	}
	s.expectEnd()
}

func TestInvalidTransitionsRefused(t *testing.T) {
	const (
		connecting = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING
		connected  = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED
		loaded     = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED
		ready      = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY
	)
	type step struct {
		name string
		do   func(*runner.Session) error
		ok   bool
	}
	steps := []step{
		{"Idle → Ready", func(s *runner.Session) error { return s.SetStatus(ready) }, false},
		{"Running is the SDK's", func(s *runner.Session) error {
			return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING)
		}, false},
		{"Failed is the SDK's", func(s *runner.Session) error {
			return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED)
		}, false},
		{"Loading through SetStatus", func(s *runner.Session) error {
			return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING)
		}, false},
		{"Idle → Connecting", func(s *runner.Session) error { return s.SetStatus(connecting) }, true},
		{"Connecting → Loading", func(s *runner.Session) error { return s.Loading(0, 2) }, false},
		{"Connecting → Connected", func(s *runner.Session) error { return s.SetStatus(connected) }, true},
		{"loaded > total", func(s *runner.Session) error { return s.Loading(3, 2) }, false},
		{"total 0", func(s *runner.Session) error { return s.Loading(0, 0) }, false},
		{"Connected → Loading(1/2)", func(s *runner.Session) error { return s.Loading(1, 2) }, true},
		{"layers backwards", func(s *runner.Session) error { return s.Loading(0, 2) }, false},
		{"total changes", func(s *runner.Session) error { return s.Loading(2, 3) }, false},
		{"Loading → Ready", func(s *runner.Session) error { return s.SetStatus(ready) }, false},
		{"Loading(2/2)", func(s *runner.Session) error { return s.Loading(2, 2) }, true},
		{"Loading → Loaded", func(s *runner.Session) error { return s.SetStatus(loaded) }, true},
		{"Loaded → Ready", func(s *runner.Session) error { return s.SetStatus(ready) }, true},
		{"Ready → Connecting", func(s *runner.Session) error { return s.SetStatus(connecting) }, false},
	}
	results := make(chan error, len(steps))
	s := start(t, handler{load: func(_ context.Context, sess *runner.Session) error {
		for _, st := range steps {
			results <- st.do(sess)
		}
		return nil
	}})
	s.accept(time.Hour)
	s.expect("Status Connecting", "Status Connected", "Status Loading(1/2)",
		"Status Loading(2/2)", "Status Loaded", "Status Ready")
	for _, st := range steps {
		err := <-results
		switch {
		case st.ok && err != nil:
			t.Errorf("%s: %v, want success", st.name, err)
		case !st.ok && !errors.Is(err, runner.ErrInvalidTransition):
			t.Errorf("%s: %v, want ErrInvalidTransition", st.name, err)
		}
	}
}

func TestLoadFailure(t *testing.T) {
	s := start(t, handler{load: func(_ context.Context, sess *runner.Session) error {
		if err := sess.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING); err != nil {
			return err
		}
		return errors.New("model file missing")
	}})
	s.accept(time.Hour)
	s.expect("Status Connecting", "Status Failed(model file missing)", "Termination model file missing")
	err := s.wait()
	if err == nil || !strings.Contains(err.Error(), "model file missing") {
		t.Fatalf("Serve = %v, want the Load error", err)
	}
	s.expectEnd()
}

func TestLoadReturnsBeforeReady(t *testing.T) {
	s := start(t, handler{load: func(context.Context, *runner.Session) error { return nil }})
	s.accept(time.Hour)
	want := "runner: Load returned in status Idle; it must report Ready before returning nil"
	s.expect("Status Failed("+want+")", "Termination "+want)
	if err := s.wait(); err == nil {
		t.Fatal("Serve = nil, want an error")
	}
}

func TestFatalRunEndsRunner(t *testing.T) {
	s := start(t, handler{run: func(context.Context, *runner.Task) error {
		return &runner.FatalError{Err: errors.New("device lost")}
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1",
		"ErrorChunk t1 #0 device lost", "Task t1 FAILED: device lost",
		"Status Failed(device lost)", "Termination device lost")
	var fe *runner.FatalError
	if err := s.wait(); !errors.As(err, &fe) {
		t.Fatalf("Serve = %v, want a *FatalError", err)
	}
	s.expectEnd()
}

func TestPanicInRunIsFatal(t *testing.T) {
	s := start(t, handler{run: func(context.Context, *runner.Task) error { panic("oops") }})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1",
		"ErrorChunk t1 #0 Run panicked: oops", "Task t1 FAILED: Run panicked: oops",
		"Status Failed(Run panicked: oops)", "Termination Run panicked: oops")
	if err := s.wait(); err == nil {
		t.Fatal("Serve = nil, want an error")
	}
}

func TestChunkAfterEnd(t *testing.T) {
	errs := make(chan error, 2)
	s := start(t, handler{run: func(_ context.Context, t *runner.Task) error {
		if err := t.Finish("", "x"); err == nil {
			errs <- errors.New("Finish with no reason succeeded")
		} else {
			errs <- nil
		}
		if err := t.Finish("stop", "x"); err != nil {
			return err
		}
		errs <- t.Chunk("late")
		return nil
	}})
	s.acceptReady()
	s.send(task("t1", "gen"))
	s.expect("Task t1 RUNNING", "Status Running", "Ack t1", `Chunk t1 #0 "x" stop`, "Task t1 COMPLETE", "Status Ready")
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	mustIs(t, <-errs, runner.ErrTaskEnded)
}

func TestPeriodicHeartbeats(t *testing.T) {
	s := start(t, handler{})
	s.accept(time.Millisecond)
	var last uint64
	for n := 0; n < 3; {
		env := s.next()
		if hb := env.GetHeartbeat(); hb != nil {
			if hb.GetSeq() <= last {
				t.Fatalf("heartbeat seq %d after %d", hb.GetSeq(), last)
			}
			last = hb.GetSeq()
			n++
		}
	}
}

// hooked is a handler whose BeforeShutdown waits for the test.
type hooked struct {
	handler
	entered chan struct{}
	release chan struct{}
}

func (h hooked) BeforeShutdown(ctx context.Context) {
	close(h.entered) // sole sender: this hook, called once
	select {
	case <-h.release:
	case <-ctx.Done():
	}
}

func TestShutdownHook(t *testing.T) {
	h := hooked{entered: make(chan struct{}), release: make(chan struct{})}
	s := start(t, h)
	s.acceptReady()
	s.send(shutdownIn(time.Second))
	<-h.entered
	s.send(ping(5)) // still answered while the hook holds the shutdown
	s.expect("Heartbeat tokens=0 layers=2 completed=0 nonce=5")
	s.send(task("t1", "gen"))
	s.expect("Task t1 FAILED: runner is shutting down")
	close(h.release) // sole sender: this test
	s.expect("Status ShuttingDown", "Status Shutdown")
	if err := s.wait(); err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
}

func TestWriteFailureStops(t *testing.T) {
	s := start(t, handler{})
	s.acceptReady()
	_ = s.outR.Close() // the supervisor stops reading: every runner write fails
	s.send(ping(1))
	err := s.wait()
	if err == nil || !strings.Contains(err.Error(), "writing a frame") {
		t.Fatalf("Serve = %v, want the write error", err)
	}
}

func TestServeNilHandler(t *testing.T) {
	if err := runner.Serve(context.Background(), nil); err == nil {
		t.Fatal("Serve(nil handler) = nil, want an error")
	}
}

func TestNegotiateRefusesDisjointRanges(t *testing.T) {
	_, err := protocol.Negotiate(3, 4, 1, 2)
	var verr *protocol.VersionError
	if !errors.As(err, &verr) {
		t.Fatalf("Negotiate = %v, want a *protocol.VersionError", err)
	}
	for _, want := range []string{"runner speaks [3, 4]", "supervisor speaks [1, 2]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
