package runner_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/runner"
)

// echo is a tiny runner: one layer to load, then it greets a task's payload.
type echo struct{}

func (echo) Load(_ context.Context, s *runner.Session) error {
	if err := s.Loading(1, 1); err != nil {
		return err
	}
	if err := s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED); err != nil {
		return err
	}
	return s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY)
}

func (echo) Run(ctx context.Context, t *runner.Task) error {
	if err := t.Chunk("hello "); err != nil {
		return err
	}
	return t.Finish("stop", string(t.Payload()))
}

// Example plays the supervisor over in-memory pipes: it accepts the
// handshake, sends one task and a Shutdown, and prints what the runner says.
func Example() {
	inR, inW := io.Pipe()   // supervisor → runner
	outR, outW := io.Pipe() // runner → supervisor
	served := make(chan error, 1)
	go func() {
		served <- runner.Serve(context.Background(), echo{}, runner.WithIO(inR, outW))
		_ = outW.Close()
	}()

	fw, fr := frame.NewWriter(inW), frame.NewReader(outR)
	send := func(env *exov1.SupervisorEnvelope) { _ = fw.Write(env) }
	recv := func() *exov1.RunnerEnvelope {
		env := &exov1.RunnerEnvelope{}
		if err := fr.Read(env); err != nil {
			return nil
		}
		return env
	}

	hello := recv().GetHello()
	fmt.Printf("hello: versions [%d, %d]\n", hello.GetMinVersion(), hello.GetMaxVersion())
	send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloAccepted{HelloAccepted: &exov1.HelloAccepted{
		Version: hello.GetMaxVersion(), HeartbeatInterval: durationpb.New(time.Hour)}}})
	for i := 0; i < 3; i++ { // Loading, Loaded, Ready
		fmt.Println(describe(recv()))
	}
	send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{
		Id: "t1", Kind: "echo", Payload: []byte("world")}}})
	for i := 0; i < 7; i++ {
		fmt.Println(describe(recv()))
	}
	send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{}}})
	for env := recv(); env != nil; env = recv() {
		fmt.Println(describe(env))
	}
	fmt.Println("Serve:", <-served)
	_ = inW.Close() // ends the SDK's stdin reader
	// Output:
	// hello: versions [1, 1]
	// Status Loading(1/1)
	// Status Loaded
	// Status Ready
	// Task t1 RUNNING
	// Status Running
	// Ack t1
	// Chunk t1 #0 "hello "
	// Chunk t1 #1 "world" stop
	// Task t1 COMPLETE
	// Status Ready
	// Status ShuttingDown
	// Status Shutdown
	// Serve: <nil>
}
