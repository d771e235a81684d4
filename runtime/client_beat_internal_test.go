package runtime

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestLateBeatDoesNotJudge: a heartbeat tick that comes long after the one
// before (the client did not run: a starved machine) pings without
// counting the node lost, so the pong already waiting behind the tick
// counts. Before, the tick measured the client's own stall and declared a
// live node lost ("no answer to the heartbeat for 1.738s", a runtime test
// under load on 2 cores).
func TestLateBeatDoesNotJudge(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(time.Millisecond))
	defer sys.Shutdown()
	pings := make(chan uint64, 8) // never closed
	gw := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if p, ok := ctx.Message().(*exov1.GwPing); ok {
			pings <- p.GetSeq()
		}
	}))
	defer func() { _ = sys.Root.StopFuture(gw).Wait() }()
	stalled := time.Now().Add(-2 * time.Second) // nothing heard, and no tick, for 2 s
	c := &Client{addr: "test", node: "test", root: sys.Root, gw: gw, ended: make(chan struct{}), lastHeard: stalled,
		opts:    dialOptions{heartbeat: 250 * time.Millisecond, lostAfter: 1500 * time.Millisecond},
		pending: map[uint64]chan proto.Message{}, tasks: map[uint64]*actors.TaskFeed{}, taskIDs: map[uint64]string{},
		subs: map[uint64]*remoteSub{}, subsGone: make(chan struct{})}
	a := &clientActor{c: c}
	a.beats.Late(stalled, c.opts.heartbeat) // the tick before the stall
	c.self = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a }))
	defer func() { _ = sys.Root.StopFuture(c.self).Wait() }()
	sys.Root.Send(c.self, beat)            // late: pings, does not judge
	sys.Root.Send(c.self, &exov1.GwPong{}) // the node's answer, read after the stall
	sys.Root.Send(c.self, beat)            // on time, and the node was heard
	for i := 0; i < 2; i++ {
		select {
		case <-pings:
		case <-c.ended:
			t.Fatalf("the client counted the node lost after its own stall: %v", c.Err())
		case <-time.After(10 * time.Second):
			t.Fatal("no ping") // a bound on a hang
		}
	}
	if err := c.Err(); err != nil {
		t.Fatalf("client: %v, want connected", err)
	}
}
