package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/testutil"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestLossRightAfterTheWelcomeIsNotSwallowed: a loss of the node's
// endpoint that comes right behind the welcome (queued after it in the
// client actor's mailbox) either makes the dial say hello again, or ends
// the connected client as lost; never is it counted as a loss while
// dialing and forgotten while the client reads as connected (a review:
// 175 of 200 runs were, before the state changed under the lock that
// counts losses). The node's address refuses, so a hello said again fails
// the dial with ErrNodeLost.
func TestLossRightAfterTheWelcomeIsNotSwallowed(t *testing.T) {
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(time.Millisecond))
	defer sys.Shutdown()
	dead := testutil.DeadAddr(t)
	retried, lost := 0, 0
	for range 200 {
		var c *Client
		hellos := 0
		sent := make(chan struct{}, 1) // the welcome and the loss are queued; never closed
		gw := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			if h, ok := ctx.Message().(*exov1.GwHello); ok {
				hellos++
				ctx.Send(c.self, &exov1.GwWelcome{CallId: h.GetCallId(), NodeName: "n"})
				if hellos == 1 {
					ctx.Send(c.self, &nodeGone{why: "its endpoint terminated (connection lost)", addrGone: true})
					sent <- struct{}{}
				}
			}
		}))
		c = &Client{addr: dead, node: "n", root: sys.Root, gw: gw, state: clientDialing, ended: make(chan struct{}), lastHeard: time.Now(),
			opts:    dialOptions{heartbeat: time.Second, lostAfter: 2 * time.Second, callTimeout: time.Minute},
			pending: map[uint64]chan proto.Message{}, tasks: map[uint64]*actors.TaskFeed{}, taskIDs: map[uint64]string{},
			subs: map[uint64]*remoteSub{}, subsGone: make(chan struct{}), blasted: map[uint64]int{}}
		c.self = sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &clientActor{c: c} }))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := c.hello(ctx)
		cancel()
		// A poison is a user message: the nodeGone queued before it is
		// handled first.
		<-sent
		_ = sys.Root.PoisonFuture(c.self).Wait()
		switch {
		case err != nil && errors.Is(err, ErrNodeLost):
			retried++ // said hello again: the probe found nothing there
		case err == nil && errors.Is(c.Err(), ErrNodeLost):
			lost++ // connected first: the loss ended the client
		default:
			t.Fatalf("hello: %v; client: %v (%d losses while dialing): a loss right after the welcome was swallowed", err, c.Err(), c.dialLosses)
		}
		_ = sys.Root.StopFuture(gw).Wait()
	}
	t.Logf("a loss right after the welcome: the dial said hello again %d times, the connected client ended lost %d times", retried, lost)
}
