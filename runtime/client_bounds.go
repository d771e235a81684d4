package runtime

import (
	"fmt"
	"sync/atomic"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Bounds on what a node sends a client (docs/remote.md, "Bounds on what a
// node sends"). A client decodes a delivery only when it holds no more
// than the subscription allowed: the credit it granted, and at the end
// the subscriber's buffer in the node's stream. A node that sends more
// breaks the credit protocol; the subscription ends saying so, as it does
// for an undecodable delivery, before anything of it is decoded.

// maxNodeBuffer bounds the buffer a client takes from the node's
// GwSubscribed when the subscriber left SubscribeOptions.Buffer at 0
// (the node's default): 64 times streams.DefaultBuffer. A subscriber that
// wants more asks for it in SubscribeOptions.Buffer.
const maxNodeBuffer = 64 * streams.DefaultBuffer

// remoteSub is one subscription of a client: its feed and what the node
// may still send it.
type remoteSub struct {
	feed   *streams.Feed
	window int
	// buffer is the subscriber's buffer in the node's stream: what it
	// asked for, else what the node's GwSubscribed said (at most
	// maxNodeBuffer; streams.DefaultBuffer from a node that does not say),
	// else 0 until the GwSubscribed came. Set before the sub is in
	// Client.subs, or by the client actor.
	buffer int
	asked  bool // buffer is the subscriber's own
	// granted is the credit the client gave the node: the window, plus
	// every GwCredit sent (added before it is sent). Added to by the
	// reader's goroutine, read by the client actor.
	granted atomic.Int64
	// received counts the events (Gaps not counted) delivered. The client
	// actor's alone.
	received int64
}

func newRemoteSub(window, buffer int) *remoteSub {
	rs := &remoteSub{window: window}
	if buffer > 0 {
		rs.buffer, rs.asked = buffer, true
	}
	rs.granted.Store(int64(window))
	return rs
}

// subscribed takes the node's buffer from its answer, unless the
// subscriber chose its own.
func (rs *remoteSub) subscribed(m *exov1.GwSubscribed) {
	if rs.asked {
		return
	}
	switch b := int(m.GetBuffer()); {
	case b <= 0:
		rs.buffer = streams.DefaultBuffer // a node that does not say: the default
	default:
		rs.buffer = min(b, maxNodeBuffer)
	}
}

// room returns how many events (Gaps not counted) a delivery may carry:
// the credit not yet used, plus, in the delivery that ends the stream,
// the buffer (the stream hands a closing subscriber everything it holds,
// credit or not).
func (rs *remoteSub) room(end bool) int64 {
	r := rs.granted.Load() - rs.received
	if end {
		r += int64(rs.buffer)
	}
	return max(r, 0)
}

// deliveryError says a delivery of n entries (what) broke the
// subscription's bounds.
func (rs *remoteSub) deliveryError(node, topic, what string, n int, end bool) error {
	why := fmt.Sprintf("window %d, credit granted %d, events received %d", rs.window, rs.granted.Load(), rs.received)
	if end {
		why += fmt.Sprintf(", buffer %d in the delivery that ends the stream", rs.buffer)
	}
	return fmt.Errorf("%w: %w: stream %q of node %s: a delivery of %d %s, where this client allowed at most %d events (%s): the node broke the subscription's credit; nothing of the delivery was used",
		streams.ErrEndOfStream, ErrBadDelivery, topic, node, n, what, rs.room(end), why)
}

// checkRecords checks a delivery's size before it is decoded: n entries
// (events and Gaps; a Gap always comes before an event, so at most two
// entries per event allowed).
func (rs *remoteSub) checkRecords(node string, m *exov1.GwDelivery) error {
	n := len(m.GetEvents())
	if p := m.GetPacked(); len(p) > 0 {
		k, err := gateway.CountPacked(p)
		if err != nil {
			return fmt.Errorf("%w: %w: stream %q of node %s: undecodable delivery: %v", streams.ErrEndOfStream, ErrBadDelivery, m.GetTopic(), node, err)
		}
		n += k
	}
	if int64(n) > 2*rs.room(m.GetEnd() || m.GetClosing()) {
		return rs.deliveryError(node, m.GetTopic(), "entries (events and Gaps)", n, m.GetEnd() || m.GetClosing())
	}
	return nil
}

// take checks the decoded events of a delivery against the credit and
// counts them as received.
func (rs *remoteSub) take(node string, m *exov1.GwDelivery, evs []streams.Event) error {
	n := 0
	for i := range evs {
		if !evs[i].IsGap() {
			n++
		}
	}
	if int64(n) > rs.room(m.GetEnd() || m.GetClosing()) {
		return rs.deliveryError(node, m.GetTopic(), "events", n, m.GetEnd() || m.GetClosing())
	}
	rs.received += int64(n)
	return nil
}

// checkChunks checks a GwTaskEvent's batch of chunks before it is
// decoded: a node sends at most gateway.MaxChunkBatch at once.
func checkChunks(node, taskID string, m *exov1.GwTaskEvent) error {
	n := 0
	switch b := m.GetBody().(type) {
	case *exov1.GwTaskEvent_Chunks:
		n = len(b.Chunks.GetChunks())
	case *exov1.GwTaskEvent_PackedChunks:
		k, err := gateway.CountPacked(b.PackedChunks)
		if err != nil {
			return fmt.Errorf("node %s sent chunks this client cannot read: %v", node, err)
		}
		n = k
	}
	if n > gateway.MaxChunkBatch {
		return fmt.Errorf("node %s sent task %q a batch of %d chunks, more than the %d a node sends at once; nothing of it was decoded", node, taskID, n, gateway.MaxChunkBatch)
	}
	return nil
}
