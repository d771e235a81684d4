package gateway

import (
	"context"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// DefaultOutWindow is how many bytes of task events and deliveries a node
// sends one client before it waits for the client's GwAck (Config.OutWindow).
const DefaultOutWindow = 4 << 20

// MaxOutMessage is the size at which the gateway cuts a batch of a task's
// chunks or of a subscription's events into another message. One chunk or
// event larger than it (up to the runner's frame limit) travels alone.
const MaxOutMessage = 256 << 10

// outSlack is the room a session's window leaves in one gRPC message for
// what travels beside the window's messages: replies, pongs, GwSubscribed,
// the envelopes of up to 1000 messages.
const outSlack = 64 << 10

// windowWithin returns the window a session uses: window, but no more than
// lets everything in flight (the window, or a quarter of it plus one
// message of up to MaxOutMessage bytes) and outSlack travel as one gRPC
// message of at most limit bytes, the smaller of the node's and the
// client's transport limits (limit <= 0: the client did not say). protoactor's endpoint writer sends whatever
// has queued as one batch, and one above a side's limit breaks the
// connection: with max_message 64 KiB (a limit of 1.125 MiB) the 4 MiB
// window went out as a 2.4 MB batch.
func windowWithin(window, nodeLimit, clientLimit int) int {
	limit := nodeLimit
	if clientLimit > 0 && clientLimit < limit {
		limit = clientLimit
	}
	return max(min(window, limit-MaxOutMessage-outSlack), MaxOutMessage)
}

// outGate bounds the bytes of task events and deliveries a session has sent
// to its client and the client has not acknowledged yet (GwAck), so that
// neither protoactor's endpoint writer queue (unbounded in memory) nor one
// of its batches (up to 1000 queued messages in one gRPC message, which
// breaks the connection past the client's gRPC limit: docs/traps.md) grows
// with a slow link or a slow client. Each message is stamped with out_end,
// the session's byte count at its end, and sent under the gate's lock, so
// the stamps reach the client in order; the client acknowledges the count
// it has received.
//
// A message may go when nothing is in flight, when it fits in the window,
// or when at most a quarter of the window is in flight (the client
// acknowledges every quarter it receives, so a message larger than the
// rest of the window never waits for an acknowledgement that is not
// coming). So at most the window, or a quarter of it plus one message,
// is in flight (windowWithin keeps that under the transport's limit).
//
// Forwarders (goroutines) wait in send; relays (actors, which must not
// block) use trySend and, refused, are told by a flush note once the
// window opens.
type outGate struct {
	window uint64
	system *actor.ActorSystem

	mu      sync.Mutex
	sent    uint64        // bytes sent (out_end of the last message)
	acked   uint64        // the client's last GwAck
	opened  chan struct{} // closed (then replaced) when acked moves or the gate closes
	waiting []*actor.PID  // relays refused since the window last opened; each at most once, and only while it runs (forget)
	closed  bool
}

func newOutGate(system *actor.ActorSystem, window int) *outGate {
	return &outGate{window: uint64(window), system: system, opened: make(chan struct{})}
}

// admitsLocked reports whether a message of size bytes may go now.
func (g *outGate) admitsLocked(size uint64) bool {
	inFlight := g.sent - g.acked
	return g.closed || inFlight == 0 || inFlight+size <= g.window || inFlight <= g.window/4
}

// stampLocked sets msg's out_end and sends it.
func (g *outGate) stampLocked(to *actor.PID, msg proto.Message) {
	size := uint64(proto.Size(msg)) + 11 // the stamp: a tag and up to ten varint bytes
	g.sent += size
	switch m := msg.(type) {
	case *exov1.GwTaskEvent:
		m.OutEnd = g.sent
	case *exov1.GwDelivery:
		m.OutEnd = g.sent
	}
	g.system.Root.Send(to, msg)
}

// send sends msg to to once the window admits it, or returns ctx's error
// (the session ended) without sending. A forwarder reads the chunks its
// handle holds without waiting, so send is where it learns that its
// session ended: it must not go on sending them to the gone client
// through the closed gate.
func (g *outGate) send(ctx context.Context, to *actor.PID, msg proto.Message) error {
	size := uint64(proto.Size(msg)) + 11
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		g.mu.Lock()
		if g.admitsLocked(size) {
			g.stampLocked(to, msg)
			g.mu.Unlock()
			return nil
		}
		opened := g.opened
		g.mu.Unlock()
		select {
		case <-opened:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// trySend sends msg if the window admits it now; otherwise it notes the
// relay self, which gets a flush note once the window opens, and reports
// false.
func (g *outGate) trySend(self, to *actor.PID, msg proto.Message) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.admitsLocked(uint64(proto.Size(msg)) + 11) {
		g.stampLocked(to, msg)
		return true
	}
	for _, p := range g.waiting {
		if p == self {
			return false
		}
	}
	g.waiting = append(g.waiting, self) // at most one entry per relay of the session
	return false
}

// forget drops relay self from the relays waiting for the window (it
// stopped): otherwise a session whose window stays shut (a client that
// does not acknowledge) keeps one entry per relay ever refused, however
// many subscriptions it opens and closes.
func (g *outGate) forget(self *actor.PID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, p := range g.waiting {
		if p == self {
			g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
			return
		}
	}
}

// ack takes the client's GwAck: through bytes received. A count below the
// last one (reordered) or beyond what was sent (a confused client) changes
// nothing.
func (g *outGate) ack(through uint64) {
	g.mu.Lock()
	if through <= g.acked || through > g.sent {
		g.mu.Unlock()
		return
	}
	g.acked = through
	g.openLocked()
	g.mu.Unlock()
}

// close lets everything go (the session ended: senders give up on their
// own contexts, relays stop).
func (g *outGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.closed = true
		g.openLocked()
	}
}

// openLocked wakes the waiting senders and relays.
func (g *outGate) openLocked() {
	close(g.opened) // sole sender: openLocked, under mu, which replaces it at once
	g.opened = make(chan struct{})
	for _, p := range g.waiting {
		g.system.Root.Send(p, flushMsg)
	}
	g.waiting = g.waiting[:0]
}

// inFlight returns the bytes sent and not acknowledged (tests, stats).
func (g *outGate) inFlight() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent - g.acked
}
