package gateway_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// watchingClient is a client's session actor in a test: it watches the
// gateway from its start, sends what sendVia gives it with itself as
// sender, and hands answers to replies and the gateway's Terminated to
// terminated.
type watchingClient struct {
	pid        *actor.PID
	replies    chan proto.Message     // capacity 16, never closed
	terminated chan *actor.Terminated // capacity 4, never closed
}

func spawnWatchingClient(f *fixture) *watchingClient {
	c := &watchingClient{replies: make(chan proto.Message, 16), terminated: make(chan *actor.Terminated, 4)}
	c.pid = f.node.System().Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(f.gw.PID())
		case *actor.Terminated:
			c.terminated <- m
		case *sendVia:
			ctx.Request(f.gw.PID(), m.msg)
		case proto.Message:
			c.replies <- m
		}
	}))
	return c
}

// call sends msg and returns the next answer.
func (c *watchingClient) call(t *testing.T, f *fixture, msg proto.Message) proto.Message {
	t.Helper()
	f.node.System().Root.Send(c.pid, &sendVia{msg})
	select {
	case m := <-c.replies:
		return m
	case <-time.After(wait):
		t.Fatal("no answer from the gateway")
		return nil
	}
}

// TestEndedSessionDropsItsClientsWatch: a client's session actor watches
// the gateway (to learn of its end) and a client that dies never
// unwatches; protoactor keeps an actor's watchers until it stops. Before,
// a gateway kept the watch of every client it ever had and at its stop
// sent each a Terminated: to a dead client process that is a connection
// attempt, so a node that had served 400 short sessions made 689 of them
// at shutdown and took 2.3 s instead of 0.13 s (an SRE's trial). Now a
// session's end drops its client's watch: the stopped client here gets no
// Terminated (a dead letter) when the gateway stops after it.
func TestEndedSessionDropsItsClientsWatch(t *testing.T) {
	f := newFixture(t)
	sys := f.node.System()
	c := spawnWatchingClient(f)
	client := c.pid
	if m, ok := c.call(t, f, &exov1.GwHello{CallId: 1, ClientName: "watcher"}).(*exov1.GwWelcome); !ok {
		t.Fatalf("hello: got %T", m)
	}
	if m, ok := c.call(t, f, &exov1.GwBye{CallId: 2}).(*exov1.GwByeAck); !ok {
		t.Fatalf("bye: got %T", m)
	}
	// The client's process "dies": its actor stops without unwatching.
	if err := sys.Root.StopFuture(client).Wait(); err != nil {
		t.Fatal(err)
	}
	var terminated atomic.Int32
	sub := sys.EventStream.Subscribe(func(ev any) {
		if d, ok := ev.(*actor.DeadLetterEvent); ok && d.PID.Equal(client) {
			if _, ok := d.Message.(*actor.Terminated); ok {
				terminated.Add(1)
			}
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	f.gw.Close() // the event stream publishes synchronously: a dead letter is counted before Close returns
	if n := terminated.Load(); n != 0 {
		t.Errorf("the gateway's stop sent %d Terminated to a client whose session had ended; want 0 (it still held the client's watch)", n)
	}
}

// TestHelloAgainKeepsTheClientsWatch: a client that says hello again (the
// same actor, a new session) still learns of the gateway's end, and so
// does a client whose session is open when the gateway stops.
func TestHelloAgainKeepsTheClientsWatch(t *testing.T) {
	f := newFixture(t)
	sys := f.node.System()
	again, open := spawnWatchingClient(f), spawnWatchingClient(f)
	for i, c := range []*watchingClient{again, again, open} {
		if m, ok := c.call(t, f, &exov1.GwHello{CallId: uint64(i + 1), ClientName: "watcher"}).(*exov1.GwWelcome); !ok {
			t.Fatalf("hello %d: got %T", i+1, m)
		}
	}
	f.gw.Close()
	for _, c := range []*watchingClient{again, open} {
		select {
		case m := <-c.terminated:
			if !m.Who.Equal(f.gw.PID()) {
				t.Errorf("Terminated of %v, want the gateway's", m.Who)
			}
		case <-time.After(wait):
			t.Fatalf("client %v: no Terminated of the gateway within %v of its stop", c.pid, wait)
		}
	}
	for _, c := range []*watchingClient{again, open} {
		_ = sys.Root.StopFuture(c.pid).Wait()
	}
}

// TestHelloAgainIsNeitherGoodbyeNorLoss: a session replaced by its own
// client's hello again (a Client says hello again when no welcome came
// in time) counts in neither SessionsBye nor SessionsLost: the client goes
// on. Before, each retried hello counted a goodbye. The client's real
// goodbye then counts once.
func TestHelloAgainIsNeitherGoodbyeNorLoss(t *testing.T) {
	f := newFixture(t)
	c := spawnWatchingClient(f)
	for i := range 3 {
		c.hello(t, f, uint64(i+1), "again")
	}
	if st := f.gw.Stats(); st.Sessions != 1 || st.SessionsBye != 0 || st.SessionsLost != 0 {
		t.Errorf("after three hellos of one client: %+v; want 1 session, none ended", st)
	}
	if m, ok := c.call(t, f, &exov1.GwBye{CallId: 4}).(*exov1.GwByeAck); !ok {
		t.Fatalf("bye: got %T", m)
	}
	if st := f.gw.Stats(); st.Sessions != 0 || st.SessionsBye != 1 || st.SessionsLost != 0 {
		t.Errorf("after its goodbye: %+v; want no session, 1 goodbye", st)
	}
	_ = f.node.System().Root.StopFuture(c.pid).Wait()
}

// TestLossNewsBeforeTheClientSpokeKeepsItsSession: news of a client's
// loss (its endpoint terminated, its actor's Terminated) that comes before
// the client said anything since its hello may be older than the session:
// a client started on the address of one that died finds the node's
// writer for that address still failing its connect to the dead one, and
// that writer's end came after the new client's hello and ended its live
// session. Such a session holds nothing and is kept (its SessionTimeout
// decides); once the client spoke, the same news ends it at once.
func TestLossNewsBeforeTheClientSpokeKeepsItsSession(t *testing.T) {
	f := newFixture(t)
	quiet, barrier := quietAndBarrier(t, f)
	addr := quiet.pid.Address
	f.gw.EndpointGoneForTest(addr)
	sendTerminated(f, quiet.pid, actor.TerminatedReason_AddressTerminated)
	// The barrier's hello is handled after both (another client: its own
	// requests would not make the quiet one heard).
	barrier.hello(t, f, 1, "barrier")
	if st := f.gw.Stats(); st.Sessions != 2 || st.SessionsLost != 0 {
		t.Fatalf("after loss news older than anything the client said: %+v; want both sessions, none lost", st)
	}
	if _, ok := quiet.call(t, f, &exov1.GwPing{Seq: 1}).(*exov1.GwPong); !ok {
		t.Fatal("the kept session's ping got no pong")
	}
	if _, ok := barrier.call(t, f, &exov1.GwPing{Seq: 1}).(*exov1.GwPong); !ok {
		t.Fatal("the barrier's ping got no pong")
	}
	f.gw.EndpointGoneForTest(addr) // both spoke: both end
	if _, ok := quiet.call(t, f, &exov1.GwPing{Seq: 2}).(*exov1.GwError); !ok {
		t.Fatal("a ping after the news, once the client had spoken: want a NO_SESSION error")
	}
	if st := f.gw.Stats(); st.Sessions != 0 || st.SessionsLost != 2 {
		t.Errorf("after the news once both clients spoke: %+v; want no session, 2 lost", st)
	}
}

// TestHelloAfterExpiryWatchesAgain: a client whose session expired (a
// live one whose welcome was lost, say) and which says hello again still
// learns of the gateway's end: the expiry dropped its watch, the new hello
// gives it back (a review of the eleventh session found it lost).
func TestHelloAfterExpiryWatchesAgain(t *testing.T) {
	f := newFixtureTimeout(t, 300*time.Millisecond)
	c := spawnWatchingClient(f)
	defer func() { _ = f.node.System().Root.StopFuture(c.pid).Wait() }()
	c.hello(t, f, 1, "late")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := f.gw.WaitIdle(ctx); err != nil { // the session expires: it says nothing
		t.Fatal(err)
	}
	c.hello(t, f, 2, "late") // after the expiry
	f.gw.Close()
	select {
	case m := <-c.terminated:
		if !m.Who.Equal(f.gw.PID()) {
			t.Errorf("Terminated of %v, want the gateway's", m.Who)
		}
	case <-time.After(wait):
		t.Fatal("no Terminated of the gateway at its stop: the hello after the expiry did not watch again")
	}
}

// TestStoppedNewsOfAQuietClientIsBelieved: only AddressTerminated may be
// older than a session; a Terminated saying the client's actor stopped
// (or was not found) comes from the client's own endpoint and ends even a
// session whose client has not spoken since its hello.
func TestStoppedNewsOfAQuietClientIsBelieved(t *testing.T) {
	f := newFixture(t)
	quiet, barrier := quietAndBarrier(t, f)
	sendTerminated(f, quiet.pid, actor.TerminatedReason_Stopped)
	barrier.hello(t, f, 1, "barrier")
	if st := f.gw.Stats(); st.Sessions != 1 || st.SessionsLost != 1 {
		t.Errorf("after a Stopped Terminated of a quiet client: %+v; want its session ended as lost, the barrier's open", st)
	}
}

// quietAndBarrier spawns two watching clients (stopped at the test's end):
// quiet, which has said hello and nothing since, and barrier, whose calls
// are handled after anything sent to the gateway before them.
func quietAndBarrier(t *testing.T, f *fixture) (quiet, barrier *watchingClient) {
	t.Helper()
	quiet, barrier = spawnWatchingClient(f), spawnWatchingClient(f)
	t.Cleanup(func() {
		for _, c := range []*watchingClient{quiet, barrier} {
			_ = f.node.System().Root.StopFuture(c.pid).Wait()
		}
	})
	quiet.hello(t, f, 1, "quiet")
	return quiet, barrier
}

// hello says hello as name and fails the test without a welcome.
func (c *watchingClient) hello(t *testing.T, f *fixture, callID uint64, name string) {
	t.Helper()
	if m, ok := c.call(t, f, &exov1.GwHello{CallId: callID, ClientName: name}).(*exov1.GwWelcome); !ok {
		t.Fatalf("hello of %s (call %d): got %T, want a welcome", name, callID, m)
	}
}

// sendTerminated hands the gateway's actor a Terminated of who, as
// protoactor does: a system message, handled before user messages queued.
func sendTerminated(f *fixture, who *actor.PID, why actor.TerminatedReason) {
	gw, _ := f.node.System().ProcessRegistry.GetLocal(f.gw.PID().Id)
	gw.SendSystemMessage(f.gw.PID(), &actor.Terminated{Who: who, Why: why})
}

// TestRefusedHelloDropsItsClientsWatch: a hello refused at MaxSessions
// (the client then closes, or its process exits) leaves no watch behind.
// Before, every refused client stayed among the gateway's watchers, and
// the gateway's stop sent each a Terminated (an audit: 50 of 50).
func TestRefusedHelloDropsItsClientsWatch(t *testing.T) {
	f := newFixtureWith(t, func(c *gateway.Config) { c.MaxSessions = 1 })
	sys := f.node.System()
	holder := spawnWatchingClient(f)
	defer func() { _ = sys.Root.StopFuture(holder.pid).Wait() }()
	holder.hello(t, f, 1, "holder")
	const n = 20
	var refused []*actor.PID
	for i := range n {
		c := spawnWatchingClient(f)
		m := c.call(t, f, &exov1.GwHello{CallId: uint64(i + 2), ClientName: "refused"})
		if e, ok := m.(*exov1.GwError); !ok || e.GetCode() != exov1.GwCode_GW_CODE_LIMIT {
			t.Fatalf("hello %d: got %v, want a LIMIT error", i, m)
		}
		_ = sys.Root.StopFuture(c.pid).Wait() // the refused client goes away without unwatching
		refused = append(refused, c.pid)
	}
	var terminated atomic.Int32
	sub := sys.EventStream.Subscribe(func(ev any) {
		if d, ok := ev.(*actor.DeadLetterEvent); ok {
			if _, ok := d.Message.(*actor.Terminated); ok {
				for _, p := range refused {
					if d.PID.Equal(p) {
						terminated.Add(1)
					}
				}
			}
		}
	})
	defer sys.EventStream.Unsubscribe(sub)
	f.gw.Close() // dead letters are published synchronously: counted before Close returns
	if k := terminated.Load(); k != 0 {
		t.Errorf("the gateway's stop sent a Terminated to %d of %d refused, departed clients; want 0", k, n)
	}
}
