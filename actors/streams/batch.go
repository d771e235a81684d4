package streams

import (
	"context"
	"runtime"
)

// PublishBatch is Publish for several events in one mailbox message: the
// producer's hand-off costs one message however many events queued up, and
// the stream hands each local subscriber the batch's events in one delivery.
// Each event still gets its own sequence number, in slice order. Done, when
// not nil, is called once the stream has taken the batch (every event
// accepted and fanned out, or counted as a dead letter): the producer's
// credit for the next batch, so what a fast producer has in flight toward
// the stream stays bounded. Prefer Stream.PublishBatch.
type PublishBatch struct {
	Events    []Event
	Done      func()
	viaHandle bool
}

// PublishBatch sends evs to the stream as one message; see the PublishBatch
// message. The stream owns evs from now on. done (may be nil) is called
// exactly once: after the stream took the batch, or at once when it is
// refused (closed, not spawned, or an event of the reserved kind, which
// refuses the whole batch with ErrReservedKind, uncounted, as Publish does).
// A batch still in the mailbox when the actor is stopped (not closed) is
// lost as Publish messages are, and done is not called: the producer must
// not wait for it beyond its own end (the runner's stdout reader waits for
// credit only until its process's output is closed).
func (s *Stream) PublishBatch(evs []Event, done func()) error {
	release := func() {
		if done != nil {
			done()
		}
	}
	for i := range evs {
		if evs[i].Kind == KindGap || evs[i].Gap != nil {
			release()
			return ErrReservedKind
		}
	}
	if len(evs) == 0 {
		release()
		return nil
	}
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		s.refused.Add(uint64(len(evs)))
		release()
		return ErrStreamClosed
	}
	if s.pid == nil {
		s.refused.Add(uint64(len(evs)))
		release()
		return ErrNotSpawned
	}
	s.sent.Add(uint64(len(evs)))
	s.root.Send(s.pid, &PublishBatch{Events: evs, Done: done, viaHandle: true})
	return nil
}

// onPublishBatch takes a batch: every event as onPublish would take it, and
// local subscribers get what their credit allows once, at the end, instead
// of once per event. s.mu is held.
func (s *Stream) onPublishBatch(m *PublishBatch) {
	st := &s.st
	st.batching = true
	for i := range m.Events {
		s.onPublish(&Publish{Event: m.Events[i], viaHandle: m.viaHandle})
	}
	st.batching = false
	for _, sb := range st.subs {
		if sb.sub != nil && sb.credit > 0 && sb.buf.len() > 0 {
			s.handOver(sb, sb.credit, nil)
		}
	}
	s.checkFlushesLocked()
}

// NextBatch returns every event already handed over to the subscription, up
// to limit (limit <= 0: no limit), appended to buf, waiting for at least one
// until ctx ends. It grants credit as Next does, once for the whole batch.
// After the last event it returns the error Next returns. A Gap event is
// returned in its place among the others.
func (sub *Subscription) NextBatch(ctx context.Context, buf []Event, limit int) ([]Event, error) {
	// The handle stays reachable while NextBatch waits (see Next).
	defer runtime.KeepAlive(sub)
	return sub.r.nextBatch(ctx, buf, limit)
}

// NextBatchFunc is NextBatch handing each event to f instead of appending
// it to a slice: for a reader that converts the events anyway (runtime's
// Subscription), it saves a slice and a copy of every event. f is called
// with the subscription's lock held: it must not call the subscription.
func (sub *Subscription) NextBatchFunc(ctx context.Context, limit int, f func(*Event)) error {
	defer runtime.KeepAlive(sub)
	_, err := sub.r.take(ctx, limit, nil, f)
	return err
}

func (sub *localSub) nextBatch(ctx context.Context, buf []Event, limit int) ([]Event, error) {
	return sub.take(ctx, limit, buf, nil)
}

// take is nextBatch and NextBatchFunc: each event goes to f when f is set,
// else it is appended to buf.
func (sub *localSub) take(ctx context.Context, limit int, buf []Event, f func(*Event)) ([]Event, error) {
	for {
		sub.mu.Lock()
		if n := sub.inbox.len(); n > 0 {
			if limit > 0 && n > limit {
				n = limit
			}
			credit := 0
			for range n {
				ev := sub.inbox.peek()
				sub.consumed++
				if sub.err == nil && !ev.IsGap() {
					sub.uncredited++
				}
				if f != nil {
					f(ev)
				} else {
					buf = append(buf, *ev)
				}
				sub.inbox.drop()
			}
			if sub.err == nil && sub.uncredited >= max(sub.window/2, 1) {
				credit, sub.uncredited = sub.uncredited, 0
			}
			more := sub.inbox.len() > 0
			sub.mu.Unlock()
			if more {
				sub.ring()
			}
			if credit > 0 {
				sub.grant(credit)
			}
			return buf, nil
		}
		if err := sub.err; err != nil {
			sub.mu.Unlock()
			sub.ring()
			return buf, err
		}
		sub.mu.Unlock()
		select {
		case <-sub.bell:
		case <-ctx.Done():
			return buf, ctx.Err()
		}
	}
}
