package streams

import (
	"context"
	"runtime"
	"sync"
)

// Subscription is a local reader of a stream, made by Stream.Subscribe. Next
// returns its events in sequence order (with Gap events where its buffer
// overflowed) and then, forever, an error wrapping ErrEndOfStream. Its
// methods are safe for concurrent use; concurrent Next calls share the
// events between them.
//
// Nothing here is a channel that anyone closes: the stream hands events over
// by calling deliver under the subscription's mutex, and rings a doorbell
// channel of capacity 1 that is never closed.
//
// A Subscription that becomes unreachable without Close (its owner dropped
// it) is abandoned: the stream removes its subscriber as Close would, counts
// what its buffer held as discarded, and lists it as Abandoned in Stats. The
// stream refers only to the localSub inside the handle, never to the handle,
// so the garbage collector can tell (runtime.AddCleanup on the handle).
type Subscription struct {
	r       *localSub
	cleanup runtime.Cleanup // removes the subscriber if the handle is dropped without Close
}

// localSub is what the stream holds of a Subscription: the inbox and the end.
type localSub struct {
	s      *Stream
	id     uint64
	window int
	// after is the stream's last sequence number when the subscriber
	// joined (JoinedAfter); afterKnown false when it is not known (a feed
	// whose far side did not say).
	after      uint64
	afterKnown bool
	bell       chan struct{} // capacity 1, never closed: "the inbox changed"

	mu         sync.Mutex
	inbox      ring  // handed over, not yet returned by Next: at most window events (+ a Gap before each), plus the rest on close
	err        error // set once: why no more events will come
	uncredited int   // events (not Gaps) returned by Next since the last grant
	received   uint64
	consumed   uint64

	// feed is set (and s nil) on a subscription fed from outside a Stream
	// (NewFeed): a remote node's stream seen through a client.
	feed *feedHooks
}

func newLocalSub(s *Stream, window int) *localSub {
	return &localSub{s: s, window: window, bell: make(chan struct{}, 1)}
}

// ID returns the subscriber's ID in its stream (as in SubStats.ID); 0 for a
// subscription that ended before it joined.
func (sub *Subscription) ID() uint64 { return sub.r.id }

// JoinedAfter returns the stream's last sequence number when the
// subscription joined: every event it gets (and every Gap's FromSeq) is
// larger. known is false when it is not known: a subscription that ended
// before it joined, or one fed from a far side that did not say (Feed,
// SetJoinedAfter).
func (sub *Subscription) JoinedAfter() (seq uint64, known bool) { return sub.r.after, sub.r.afterKnown }

// Stream returns the topic of the subscription's stream.
func (sub *Subscription) Stream() string {
	if sub.r.feed != nil {
		return sub.r.feed.topic
	}
	return sub.r.s.topic
}

// Next returns the next event, waiting for one until ctx ends. Every W/2
// events it returns it grants the stream credit for them (Stream.Grant),
// which may hand it the next ones at once. After the
// last event it returns an error that wraps ErrEndOfStream (and io.EOF) and
// says why the stream ended, and does so on every later call. Events already
// handed over are returned before that error, also after Close.
func (sub *Subscription) Next(ctx context.Context) (Event, error) {
	// The handle stays reachable while Next waits: a reader blocked here
	// has not abandoned its subscription.
	defer runtime.KeepAlive(sub)
	return sub.r.next(ctx)
}

func (sub *localSub) next(ctx context.Context) (Event, error) {
	for {
		sub.mu.Lock()
		if sub.inbox.len() > 0 {
			ev := sub.inbox.pop()
			sub.consumed++
			credit := 0
			if sub.err == nil && !ev.IsGap() { // a Gap took no credit
				sub.uncredited++
				if sub.uncredited >= max(sub.window/2, 1) {
					credit, sub.uncredited = sub.uncredited, 0
				}
			}
			more := sub.inbox.len() > 0
			sub.mu.Unlock()
			if more {
				sub.ring() // another Next caller may be waiting
			}
			if credit > 0 {
				sub.grant(credit)
			}
			return ev, nil
		}
		if err := sub.err; err != nil {
			sub.mu.Unlock()
			sub.ring() // let other waiting callers see the end too
			return Event{}, err
		}
		sub.mu.Unlock()
		select {
		case <-sub.bell:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Close leaves the stream: the stream removes this subscriber at once and
// counts what it still buffered for it as discarded. Events already handed
// over stay readable with Next, then Next returns ErrEndOfStream. Close is
// idempotent and safe to call at any time, also concurrently with Next.
func (sub *Subscription) Close() {
	sub.cleanup.Stop()
	if sub.r.feed != nil {
		sub.r.feed.close(sub.r)
		return
	}
	sub.r.s.unsubscribe(sub.r, "ended for this subscriber: the subscription was closed", false)
}

// grant gives credit for n events back: to the stream, or through the
// feed's callback for a fed subscription.
func (sub *localSub) grant(n int) {
	if sub.feed != nil {
		sub.feed.grant(n)
		return
	}
	sub.s.Grant(sub.id, n)
}

// Received returns how many entries (events and Gap events) were handed over
// to this subscription and how many Next has returned.
func (sub *Subscription) Received() (received, consumed uint64) { return sub.r.counts() }

func (sub *localSub) counts() (received, consumed uint64) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.received, sub.consumed
}

// deliver appends, in this order: gap, ev, n events popped from buf, and
// then ends the subscription with end. It never blocks. The stream calls it
// with Stream.mu held.
func (sub *localSub) deliver(gap, ev *Event, buf *ring, n int, end error) {
	sub.push(gap, ev, buf, n, end)
	sub.ring()
}

func (sub *localSub) push(gap, ev *Event, buf *ring, n int, end error) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if gap != nil {
		sub.inbox.push(gap)
		sub.received++
	}
	if ev != nil {
		sub.inbox.push(ev)
		sub.received++
	}
	for range n {
		e := buf.pop()
		sub.inbox.push(&e)
		sub.received++
	}
	if end != nil && sub.err == nil {
		sub.err = end
	}
}

// end ends the subscription: after what its inbox holds, Next returns err.
func (sub *localSub) end(err error) { sub.deliver(nil, nil, nil, 0, err) }

func (sub *localSub) ring() {
	select {
	case sub.bell <- struct{}{}:
	default: // already rung; whoever takes it looks at the inbox
	}
}
