package builtinrunner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// These tests run the handler in-process under the race detector (the
// process tests run a binary built without it). Faults that exit the process
// or block forever are covered by process_test.go only.

const inProcWait = 10 * time.Second

// inProc is a supervisor for an in-process built-in runner over io.Pipes.
type inProc struct {
	t      *testing.T
	toRun  *io.PipeWriter
	fw     *frame.Writer
	fr     *frame.Reader
	outR   *io.PipeReader
	stderr *syncBuffer
	errc   chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startInProc(t *testing.T, cfg Config) *inProc {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &inProc{t: t, toRun: inW, fw: frame.NewWriter(inW), fr: frame.NewReader(outR), outR: outR,
		stderr: &syncBuffer{}, errc: make(chan error, 1)}
	cfg.Stdin, cfg.Stdout, cfg.Stderr = inR, outW, p.stderr
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b := newRunner(cfg)
	b.exit = func(code int) { panic(fmt.Sprintf("test runner called exit(%d)", code)) }
	ctx, cancel := context.WithCancel(context.Background())
	go func() { p.errc <- b.serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		_ = inW.Close()
		go func() { _, _ = io.Copy(io.Discard, outR) }() // let Serve finish its last writes
		select {
		case <-p.errc:
		case <-time.After(inProcWait):
			t.Errorf("Serve did not return within %v", inProcWait)
		}
		_ = outW.Close()
	})
	return p
}

func (p *inProc) send(env *exov1.SupervisorEnvelope) {
	p.t.Helper()
	if err := p.fw.Write(env); err != nil {
		p.t.Fatal(err)
	}
}

// next reads the next frame other than an unprompted heartbeat.
func (p *inProc) next() (*exov1.RunnerEnvelope, error) {
	for {
		env := &exov1.RunnerEnvelope{}
		if err := p.fr.Read(env); err != nil {
			return nil, err
		}
		if hb := env.GetHeartbeat(); hb == nil || hb.GetPingNonce() != 0 {
			return env, nil
		}
	}
}

func (p *inProc) expect(want ...string) {
	p.t.Helper()
	for i, w := range want {
		env, err := p.next()
		if err != nil {
			p.t.Fatalf("frame %d of %d (want %q): %v", i+1, len(want), w, err)
		}
		if got := describe(env); got != w {
			p.t.Fatalf("frame %d of %d: got %q, want %q", i+1, len(want), got, w)
		}
	}
}

func (p *inProc) accept(interval time.Duration) {
	p.t.Helper()
	env, err := p.next()
	if err != nil || env.GetHello() == nil {
		p.t.Fatalf("want Hello, got %v, %v", env, err)
	}
	p.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloAccepted{HelloAccepted: &exov1.HelloAccepted{
		Version: protocol.MaxVersion, HeartbeatInterval: durationpb.New(interval)}}})
}

func (p *inProc) ready(layers int) {
	p.t.Helper()
	p.accept(time.Hour)
	p.expect("Status Connecting", "Status Connected")
	for k := 0; k <= layers; k++ {
		p.expect(fmt.Sprintf("Status Loading(%d/%d)", k, layers))
	}
	p.expect("Status Loaded", "Status WarmingUp", "Status Ready")
}

func (p *inProc) task(id, kind string, params map[string]string) {
	p.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{Id: id, Kind: kind, Params: params}}})
}

func (p *inProc) shutdown() {
	p.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{}}})
}

func (p *inProc) serveResult() error {
	p.t.Helper()
	select {
	case err := <-p.errc:
		p.errc <- err // for Cleanup
		return err
	case <-time.After(inProcWait):
		p.t.Fatalf("Serve did not return within %v", inProcWait)
	}
	return nil
}

// describe renders a runner frame on one line for exact comparisons.
func describe(env *exov1.RunnerEnvelope) string { return testutil.DescribeFrame(env) }

func started(id string) []string {
	return []string{"Task " + id + " RUNNING", "Status Running", "Ack " + id}
}

func TestInProcTextGeneration(t *testing.T) {
	p := startInProc(t, Config{Layers: 2})
	p.ready(2)
	p.task("t1", KindTextGeneration, map[string]string{ParamMaxTokens: "2"})
	p.expect(append(started("t1"), `Chunk t1 #0 "tok0 "`, `Chunk t1 #1 "tok1 " length`, "Task t1 COMPLETE", "Status Ready")...)
	p.task("t2", KindTextGeneration, map[string]string{ParamMaxTokens: "0"})
	p.expect(append(started("t2"), "Task t2 COMPLETE", "Status Ready")...)
	p.task("t3", "translate", nil)
	p.expect(append(started("t3"), `ErrorChunk t3 #0 unknown task kind "translate"`,
		`Task t3 FAILED: unknown task kind "translate"`, "Status Ready")...)
	p.shutdown()
	p.expect("Status ShuttingDown", "Status Shutdown")
	if err := p.serveResult(); err != nil {
		t.Fatalf("Serve = %v", err)
	}
}

func TestInProcHangProgressCancelled(t *testing.T) {
	p := startInProc(t, Config{Layers: 1, Fault: Fault{Kind: FaultHangProgress}})
	p.ready(1)
	p.task("t1", KindTextGeneration, nil)
	p.expect(started("t1")...)
	p.shutdown()
	p.expect("Status ShuttingDown", "Task t1 CANCELLED: runner shutting down", "Status Shutdown")
	if !strings.Contains(p.stderr.String(), FaultHangProgress.Marker()+"\n") {
		t.Fatalf("stderr %q lacks the marker", p.stderr.String())
	}
}

func TestInProcStallLoading(t *testing.T) {
	p := startInProc(t, Config{Layers: 3, Fault: Fault{Kind: FaultStallLoading, Count: 1}})
	p.accept(time.Millisecond)
	p.expect("Status Connecting", "Status Connected", "Status Loading(0/3)", "Status Loading(1/3)")
	for n := 0; n < 3; { // heartbeats go on, layers frozen at 1
		env := &exov1.RunnerEnvelope{}
		if err := p.fr.Read(env); err != nil {
			t.Fatal(err)
		}
		hb := env.GetHeartbeat()
		if hb == nil || hb.GetLayersLoaded() != 1 {
			t.Fatalf("got %s, want heartbeats with layers_loaded 1", describe(env))
		}
		n++
	}
	p.shutdown()
	p.expect("Status ShuttingDown", "Status Shutdown")
}

func TestInProcGarbage(t *testing.T) {
	p := startInProc(t, Config{Layers: 1})
	p.ready(1)
	p.task("t1", KindTextGeneration, map[string]string{ParamFault: "garbage", ParamMaxTokens: "1"})
	p.expect(started("t1")...)
	_, err := p.next()
	var ferr *frame.Error
	if !errors.As(err, &ferr) {
		t.Fatalf("after the garbage fault: got %v, want a *frame.Error", err)
	}
}

func TestInProcTermination(t *testing.T) {
	p := startInProc(t, Config{Layers: 1})
	p.ready(1)
	p.task("t1", KindNoop, map[string]string{ParamFault: "termination:bye"})
	p.expect(append(started("t1"), "ErrorChunk t1 #0 bye", "Task t1 FAILED: bye", "Status Failed(bye)", "Termination bye")...)
	if err := p.serveResult(); err == nil || !strings.Contains(err.Error(), "bye") {
		t.Fatalf("Serve = %v, want the termination error", err)
	}
}

func TestInProcIgnoreShutdown(t *testing.T) {
	p := startInProc(t, Config{Layers: 1, Fault: Fault{Kind: FaultIgnoreShutdown, Delay: time.Millisecond}})
	p.ready(1)
	p.shutdown()
	p.expect("Status ShuttingDown", "Status Shutdown")
	if !strings.Contains(p.stderr.String(), FaultIgnoreShutdown.Marker()) {
		t.Fatalf("stderr %q lacks the marker", p.stderr.String())
	}
}
