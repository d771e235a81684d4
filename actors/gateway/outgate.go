package gateway

import (
	"context"
	"errors"
	"fmt"
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
	limit := transportLimit(nodeLimit, clientLimit)
	return max(min(window, limit-MaxOutMessage-outSlack), MaxOutMessage)
}

// transportLimit returns the smaller of the node's and the client's
// transport limits (clientLimit <= 0: the client did not say).
func transportLimit(nodeLimit, clientLimit int) int {
	if clientLimit > 0 && clientLimit < nodeLimit {
		return clientLimit
	}
	return nodeLimit
}

// outBounds are the sizes a session's messages to its client must keep: a
// chunk or event larger than maxOut cannot travel. Sent anyway, the gRPC
// batch above limit breaks the connection (every task and subscription of
// the client would end as node lost), so the node fails that task or
// subscription alone, naming the size and the limit.
type outBounds struct {
	limit  int // the smaller of the two transports' limits
	maxOut int // the largest message: limit less what may be queued beside it
	// reply is the largest answer to a call (a runner list, the status
	// document, a shutdown report): answers do not pass the window, so
	// one may leave in the same gRPC batch as the most the window lets be
	// in flight (the window, or a quarter of it and the largest message
	// there can be) and outSlack. At least outSlack: maxOut keeps that
	// much room for an answer.
	reply int
}

// boundsFor returns the bounds of a session whose window is window (0: a
// client without a window) with a node whose runners' frames are at most
// frameMax bytes: a message waiting for room goes once at most a quarter
// of the window is in flight, and outSlack travels beside it, and room for
// an answer of outSlack at least.
//
// The answer's bound is what is left beside the worst the window allows:
// with the defaults (a 9 MiB transport, a 4 MiB window, 4 MiB frames) a
// quarter of the window and one 4 MiB chunk, so about 3.9 MiB. Before, it
// was the transport less the window alone, and a 4 MiB chunk sent past a
// quarter of the window, beside a 4.9 MiB status document, broke the
// connection (a review).
func boundsFor(window, nodeLimit, clientLimit, frameMax int) outBounds {
	limit := transportLimit(nodeLimit, clientLimit)
	maxOut := limit - 2*outSlack - window/4
	largest := min(maxOut, max(MaxOutMessage, frameMax+outSlack)) // a chunk or event carries its frame and an envelope
	inFlight := max(window, window/4+largest)
	return outBounds{limit: limit, maxOut: maxOut, reply: max(limit-outSlack-inFlight, outSlack)}
}

// tooLarge says why what, of size bytes, cannot go to the client of node.
func (b outBounds) tooLarge(what string, size int, node string) string {
	return fmt.Sprintf("%s is %d bytes, more than the %d bytes node %s may send this client in one message: "+
		"their transport limit is %d bytes (the smaller side's 2 × max_message + 1 MiB), less room for what travels with it; "+
		"raise max_message on the node and on the client, or make the runner's chunks smaller", what, size, b.maxOut, node, b.limit)
}

// outGate bounds the bytes of task events, deliveries and blast items a
// session has sent to its client and the client has not acknowledged yet
// (GwAck), so that neither protoactor's endpoint writer queue (unbounded
// in memory) nor one of its batches (up to 1000 queued messages in one
// gRPC message, which breaks the connection past the client's gRPC limit:
// docs/traps.md) grows with a slow link or a slow client. Each message is
// stamped with out_end, the session's byte count at its end, and sent
// under the gate's lock, so the stamps reach the client in order; the
// client acknowledges the count it has received.
//
// A message may go when nothing is in flight, when it fits in the window,
// or when at most a quarter of the window is in flight (the client
// acknowledges every quarter it receives, so a message larger than the
// rest of the window never waits for an acknowledgement that is not
// coming). So at most the window, or a quarter of it plus one message,
// is in flight (windowWithin keeps that under the transport's limit).
//
// Senders the window refuses wait in one queue, served in arrival order:
// a sender that comes while others wait goes behind them even if its
// message would fit, and each sender (a task's forwarder, a
// subscription's relay, a blast) holds at most one place, since it hands
// over one message and waits for it to go. So a flooding task lets every
// sender that waited before its next message go first: a waiting message
// goes after at most one message of each sender queued ahead of it. The
// gate itself sends a queued message once the window admits it (on a
// GwAck): a forwarder (goroutine) waits in send for that; a relay (an
// actor, which must not block) hands its message over with trySend and
// is told by a gateSent note once it went.
type outGate struct {
	window uint64
	system *actor.ActorSystem

	mu     sync.Mutex
	sent   uint64       // bytes sent (out_end of the last message)
	acked  uint64       // the client's last GwAck
	queue  []*outWaiter // senders refused, in arrival order; one entry per sender at most
	closed bool
}

// outWaiter is a message waiting in the gate's queue: a forwarder's
// (went rung once it went) or a relay's (relay told with a gateSent note).
type outWaiter struct {
	to    *actor.PID
	msg   proto.Message
	size  uint64
	relay *actor.PID
	went  chan error // capacity 1: nil once the gate sent msg, errGateClosed if it never will
}

// gateSent tells a relay that the gate sent the message it handed over.
type gateSent struct{}

var gateSentMsg = &gateSent{}

var errGateClosed = errors.New("the session ended")

func newOutGate(system *actor.ActorSystem, window int) *outGate {
	return &outGate{window: uint64(window), system: system}
}

// outSize is what a message counts in the window: its size and the stamp
// (a tag and up to ten varint bytes).
func outSize(msg proto.Message) uint64 { return uint64(proto.Size(msg)) + 11 }

// admitsLocked reports whether a message of size bytes may go now.
func (g *outGate) admitsLocked(size uint64) bool {
	inFlight := g.sent - g.acked
	return g.closed || inFlight == 0 || inFlight+size <= g.window || inFlight <= g.window/4
}

// goesNowLocked reports whether a newcomer's message of size bytes may go
// now: nobody waits before it, and the window admits it.
func (g *outGate) goesNowLocked(size uint64) bool {
	return g.closed || (len(g.queue) == 0 && g.admitsLocked(size))
}

// stampLocked sets msg's out_end and sends it.
func (g *outGate) stampLocked(to *actor.PID, msg proto.Message, size uint64) {
	g.sent += size
	switch m := msg.(type) {
	case *exov1.GwTaskEvent:
		m.OutEnd = g.sent
	case *exov1.GwDelivery:
		m.OutEnd = g.sent
	case *exov1.GwBlastItem:
		m.OutEnd = g.sent
	}
	g.system.Root.Send(to, msg)
}

// send sends msg to to in its turn, once the window admits it, or returns
// ctx's error (the session ended) without sending. A forwarder reads the
// chunks its handle holds without waiting, so send is where it learns that
// its session ended: it must not go on sending them to the gone client
// through the closed gate.
func (g *outGate) send(ctx context.Context, to *actor.PID, msg proto.Message) error {
	return g.sendFor(ctx, to, msg, 0)
}

// sendFor is send for msg and the extra bytes of messages its caller sends
// right after it, outside the gate (a blast's group of items): the window
// admits, and msg's out_end counts, all of them at once, so they cost the
// gate one admission instead of one each.
func (g *outGate) sendFor(ctx context.Context, to *actor.PID, msg proto.Message, extra uint64) error {
	size := outSize(msg) + extra
	g.mu.Lock()
	if err := ctx.Err(); err != nil {
		g.mu.Unlock()
		return err
	}
	if g.goesNowLocked(size) {
		g.stampLocked(to, msg, size)
		g.mu.Unlock()
		return nil
	}
	w := &outWaiter{to: to, msg: msg, size: size, went: make(chan error, 1)}
	g.queue = append(g.queue, w)
	g.mu.Unlock()
	select {
	case err := <-w.went:
		return err
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.dropLocked(func(q *outWaiter) bool { return q == w }) {
			return ctx.Err()
		}
		return <-w.went // it went (or the gate closed) meanwhile
	}
}

// trySend sends msg if it may go now and reports true; otherwise the gate
// keeps msg, sends it in its turn and then tells the relay self with a
// gateSent note, and trySend reports false: the relay must hand over
// nothing more until that note (one place in the queue per relay).
func (g *outGate) trySend(self, to *actor.PID, msg proto.Message) bool {
	size := outSize(msg)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.goesNowLocked(size) {
		g.stampLocked(to, msg, size)
		return true
	}
	g.queue = append(g.queue, &outWaiter{to: to, msg: msg, size: size, relay: self})
	return false
}

// dropLocked removes the first queued entry that match selects and
// reports whether there was one.
func (g *outGate) dropLocked(match func(*outWaiter) bool) bool {
	for i, q := range g.queue {
		if match(q) {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return true
		}
	}
	return false
}

// forget drops relay self's message from the queue (the relay stopped):
// otherwise a session whose window stays shut (a client that does not
// acknowledge) keeps one entry per relay ever refused, however many
// subscriptions it opens and closes.
func (g *outGate) forget(self *actor.PID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.dropLocked(func(q *outWaiter) bool { return q.relay != nil && q.relay.Equal(self) })
}

// ack takes the client's GwAck: through bytes received. A count below the
// last one (reordered) or beyond what was sent (a confused client) changes
// nothing.
func (g *outGate) ack(through uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if through <= g.acked || through > g.sent {
		return
	}
	g.acked = through
	g.serveLocked()
}

// serveLocked sends the queued messages, in order, while the window
// admits the first.
func (g *outGate) serveLocked() {
	n := 0
	for _, w := range g.queue {
		if !g.admitsLocked(w.size) {
			break
		}
		g.stampLocked(w.to, w.msg, w.size)
		if w.relay != nil {
			g.system.Root.Send(w.relay, gateSentMsg)
		} else {
			w.went <- nil // capacity 1, rung once
		}
		n++
	}
	if n > 0 {
		clear(g.queue[:n])
		g.queue = append(g.queue[:0], g.queue[n:]...)
	}
}

// close lets everything go from now on (the session ended: senders give up
// on their own contexts, relays stop) and drops the queued messages: the
// client is gone, and a waiting forwarder's send returns an error.
func (g *outGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	for _, w := range g.queue {
		if w.relay == nil {
			w.went <- errGateClosed // capacity 1, rung once
		}
	}
	clear(g.queue)
	g.queue = nil
}

// force sends msg now, past the window and ahead of the queue (a
// forwarder's last word when the gateway closes: a task's Skip and
// outcome, a few small messages per open task), unless the session
// ended.
func (g *outGate) force(to *actor.PID, msg proto.Message) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		g.stampLocked(to, msg, outSize(msg))
	}
}

// inFlight returns the bytes sent and not acknowledged (tests, stats).
func (g *outGate) inFlight() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent - g.acked
}
