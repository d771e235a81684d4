package gateway_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestCloseRefusesASubmitItRacedWith: a GwSubmit whose Node.Submit
// returned while Close began gets no forwarder (SHUTTING_DOWN): Close may
// be waiting for the forwarders already. Before, submit started one
// (fwd.Add) concurrently with Close's fwd.Wait: a data race (reviewer's
// loop of 800 Closes under -race) and a possible "WaitGroup is reused
// before previous Wait has returned" panic; with the hook holding the
// submit until Close has begun, the client got GwSubmitted. The task
// counts once: not as a refused submit too.
func TestCloseRefusesASubmitItRacedWith(t *testing.T) {
	held, release := make(chan struct{}), make(chan struct{})
	var fired bool
	defer gateway.SetSubmittedHookForTest(func() {
		if fired {
			return
		}
		fired = true // the actor runs one message at a time
		close(held)  // sole sender: the hook runs once, on the gateway's actor
		<-release
	})()
	f := newFixture(t)
	f.hello(t)
	runner := f.spawnEcho(t)
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: runner, TaskId: "raced", Kind: "text_generation",
		Params: map[string]string{"max_tokens": "3"}})
	<-held
	closed := make(chan struct{})
	go func() {
		defer close(closed) // sole sender: this goroutine, which the test waits for
		f.gw.Close()
	}()
	<-f.gw.ClosingForTest()
	close(release) // sole sender: the test goroutine
	wantError(t, f.next(t), 3, actors.ErrShuttingDown, "closes its gateway")
	<-closed
	// The node took the task: it counts once, as a cancelled task, not
	// also as a refused submit (it counted twice before).
	if got := rejected(t, f, "shutting_down"); got != 0 {
		t.Errorf("exo_tasks_rejected_total{reason=shutting_down} %v, want 0: the node took this task", got)
	}
}

// TestCloseWhileSubmittingStress: gateways on one live node, each closed
// while its client's GwSubmits arrive (the reviewer's loop, shorter): no
// race, no panic, every Close returns.
func TestCloseWhileSubmittingStress(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	runner := f.spawnEcho(t)
	f.gw.Close()
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	cfg := gateway.Config{Name: "unit", Node: f.node, Logger: logger, MaxMessage: 1024,
		Kinds: map[string]gateway.Kind{"echo": {Spec: actors.RunnerSpec{Kind: "echo", Builtin: true}}}}
	root := f.node.System().Root
	for round := range 50 {
		gw, err := gateway.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		welcome := make(chan struct{}, 1)
		probe := root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case *sendVia:
				ctx.Request(gw.PID(), m.msg)
			case *exov1.GwWelcome:
				welcome <- struct{}{}
			}
		}))
		root.Send(probe, &sendVia{&exov1.GwHello{CallId: 1, ClientName: "stress"}})
		select {
		case <-welcome:
		case <-time.After(wait):
			t.Fatalf("round %d: no welcome", round)
		}
		for i := range 40 {
			root.Send(probe, &sendVia{&exov1.GwSubmit{CallId: uint64(10 + i), RunnerId: runner,
				TaskId: fmt.Sprintf("r%d-%d", round, i), Kind: "text_generation", Params: map[string]string{"max_tokens": "3"}}})
		}
		gw.Close()
		_ = root.StopFuture(probe).Wait()
	}
}

// spawnEcho spawns a runner of kind echo (call 2) and returns its ID.
func (f *fixture) spawnEcho(t *testing.T) string {
	t.Helper()
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "echo"})
	sp, ok := f.next(t).(*exov1.GwRunnerSpawned)
	if !ok {
		t.Fatalf("spawn: got %T", sp)
	}
	return sp.GetRunnerId()
}
