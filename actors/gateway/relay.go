package gateway

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// grant carries a client's credit to its relay.
type grant struct{ n int }

// relayState is where a relay is: subscribing (Subscribe sent to the
// stream), then relaying, then ended (End relayed or the stream gone).
type relayState int

const (
	relaySubscribing relayState = iota
	relayRelaying
	relayEnded
)

// relay is one remote subscription: a subscriber actor of the node's
// stream that turns each streams.Delivery into one GwDelivery to the
// client, and the client's GwCredit into Stream.Grant. The stream watches
// it: when the relay stops (unsubscribe, session end), the stream drops
// the subscriber and counts what it buffered as discarded.
type relay struct {
	g      *Gateway
	stream *streams.Stream
	to     *actor.PID
	req    *exov1.GwSubscribe
	state  relayState
	id     uint64
	early  []*streams.Delivery // deliveries that came before Subscribed (a closed stream's End)
	// out collects the events of the deliveries that arrived since the last
	// flush, packed; a flush note to itself, queued behind them, sends them
	// as one GwDelivery. At most the credit granted: bounded by the window.
	// Past MaxOutMessage bytes the packed events move to pending, each
	// buffer one GwDelivery; a session whose window is full (gate) keeps
	// them there until its gate sends a flush note.
	out      Packer
	pending  [][]byte
	flushDue bool
	// gate is the session's window (nil: a client that does not
	// acknowledge); ending says End (with endReason) goes out after the
	// pending deliveries, and the relay stops once it went.
	gate      *outGate
	ending    bool
	endReason string
	// queued: the gate holds a delivery of this relay for its turn; the
	// relay hands over nothing more until the gate's gateSent note (one
	// place in the gate's queue), and stops then if that was End
	// (stopQueued).
	queued, stopQueued bool
	// bounds: the largest message the session sends its client; a larger
	// event ends the subscription (outBounds).
	bounds outBounds
}

// deliveryOverhead is what a GwDelivery adds around its packed events at
// most: call_id, topic, the packed field's tag and length, flags, out_end.
const deliveryOverhead = 128

// flushNote is the relay's note to itself to send what it collected.
type flushNote struct{}

var flushMsg = &flushNote{}

// Receive implements actor.Actor.
func (r *relay) Receive(ctx actor.Context) {
	callID := r.req.GetCallId()
	switch m := ctx.Message().(type) {
	case *actor.Started:
		pid := r.stream.PID()
		if pid == nil {
			r.endNow(ctx, fmt.Sprintf("stream %q is not running", r.stream.Topic()))
			return
		}
		ctx.Request(pid, &streams.Subscribe{PID: ctx.Self(), Buffer: int(r.req.GetBuffer()), Window: int(r.req.GetWindow()),
			Filter: streams.Filter{RunnerID: r.req.GetRunnerId(), TaskID: r.req.GetTaskId(), Kinds: r.req.GetKinds()}})
	case *actor.DeadLetterResponse:
		r.endNow(ctx, fmt.Sprintf("stream %q stopped", r.stream.Topic()))
	case *streams.Subscribed:
		if r.state != relaySubscribing {
			return
		}
		if m.Err != nil {
			r.state = relayEnded
			ctx.Send(r.to, errMsg(callID, fmt.Errorf("%w: %v", ErrInvalidArgument, m.Err)))
			ctx.Stop(ctx.Self())
			return
		}
		r.state, r.id = relayRelaying, m.ID
		reply := &exov1.GwSubscribed{CallId: callID, SubId: m.ID, Window: int32(m.Window), Buffer: int32(m.Buffer)}
		if !m.Ended {
			reply.After = proto.Uint64(m.After) // a stream closed before the join has no place to start
		}
		ctx.Send(r.to, reply)
		for _, d := range r.early {
			r.relay(ctx, d)
		}
		r.early = nil
	case *streams.Delivery:
		if r.state == relaySubscribing {
			r.early = append(r.early, m)
			return
		}
		r.relay(ctx, m)
	case *flushNote:
		r.flushDue = false
		r.flush(ctx)
	case *gateSent:
		r.queued = false
		if r.stopQueued {
			ctx.Stop(ctx.Self())
			return
		}
		r.flush(ctx)
	case *grant:
		if r.state == relayRelaying {
			r.stream.Grant(r.id, m.n)
		}
	case *actor.Stopped:
		if r.gate != nil {
			r.gate.forget(ctx.Self())
		}
	}
}

// flush sends the collected events, each pending buffer as one
// GwDelivery, then End once ending, as far as the session's window lets
// it; a delivery the window refuses waits in the gate's queue, and the
// rest goes after the gate's gateSent note.
func (r *relay) flush(ctx actor.Context) {
	if r.out.Len() > 0 {
		r.pending = append(r.pending, r.out.Take())
	}
	for !r.queued && (len(r.pending) > 0 || r.ending) {
		d := &exov1.GwDelivery{CallId: r.req.GetCallId(), Topic: r.stream.Topic()}
		if len(r.pending) > 0 {
			d.Packed = r.pending[0]
			r.pending[0] = nil
			r.pending = r.pending[1:]
		}
		last := r.ending && len(r.pending) == 0
		if last {
			d.End, d.Reason = true, r.endReason
			r.ending = false
		} else if r.ending {
			d.Closing = true // the hand-over may exceed the credit: the client counts the buffer
		}
		if r.gate == nil {
			ctx.Send(r.to, d)
		} else if !r.gate.trySend(ctx.Self(), r.to, d) {
			r.queued, r.stopQueued = true, last
			return
		}
		if last {
			ctx.Stop(ctx.Self())
			return
		}
	}
}

func (r *relay) endNow(ctx actor.Context, why string) {
	callID := r.req.GetCallId()
	if r.state == relaySubscribing {
		ctx.Send(r.to, &exov1.GwSubscribed{CallId: callID, Window: r.req.GetWindow(), Buffer: r.req.GetBuffer()})
	}
	r.state = relayEnded
	ctx.Send(r.to, &exov1.GwDelivery{CallId: callID, Topic: r.stream.Topic(), End: true, Reason: why})
	ctx.Stop(ctx.Self())
}

func (r *relay) relay(ctx actor.Context, d *streams.Delivery) {
	if r.state == relayEnded {
		return
	}
	// A piece holds more than cut bytes only when it is one event: a
	// large event starts a piece of its own rather than join one that
	// holds events already.
	cut := min(MaxOutMessage, r.bounds.maxOut-deliveryOverhead)
	for i := range d.Events {
		ev := d.Events[i : i+1]
		if piece := r.out.AddCut(ev, cut); piece != nil {
			r.pending = append(r.pending, piece)
		}
		if r.out.Len() == 1 && r.out.Bytes()+deliveryOverhead > r.bounds.maxOut {
			// One event the client cannot receive: sent, it would break
			// the connection and every task and subscription of the
			// client. This subscription ends after the events before it.
			size := r.out.Bytes()
			r.out.Take()
			why := r.bounds.tooLarge(fmt.Sprintf("event %d (%s)", ev[0].Seq, ev[0].Kind), size, r.g.cfg.Name) +
				"; the subscription ends here"
			r.state, r.ending, r.endReason = relayEnded, true, why
			r.flush(ctx)
			return
		}
		if r.out.Bytes() >= cut {
			r.pending = append(r.pending, r.out.Take())
		}
	}
	if d.End {
		r.state, r.ending, r.endReason = relayEnded, true, d.Reason
		r.flush(ctx)
		return
	}
	if !r.flushDue {
		r.flushDue = true
		ctx.Send(ctx.Self(), flushMsg)
	}
}
