package streams

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// subscriber is one subscriber's place in the stream: filter, credit and its
// bounded buffer. Guarded by Stream.mu; only the stream touches it.
type subscriber struct {
	id     uint64
	filter Filter
	sub    *localSub  // a local reader (a Subscription), or
	pid    *actor.PID // an actor that receives *Delivery messages

	buf    ring // matched events beyond its credit, oldest first, at most limit
	limit  int
	window int
	credit int // events it may still be handed before it acknowledges (Gaps ride free)

	// A pending Gap sits before the oldest buffered event: the events it
	// counts were dropped from the head of buf, so consecutive drops always
	// coalesce into it. It is handed over before that event.
	hasGap bool
	gap    Gap
	gapAt  time.Time

	joinedAt uint64 // stream seq when it joined: it sees Seq > joinedAt
	leftAt   uint64 // stream seq when it departed
	c        counters

	ackedAt      time.Time // when it was last seen making progress: a Grant or Credit, Next returning events, or joining
	seenConsumed uint64    // sub's consumed count when last looked at
	abandoned    bool      // its Subscription was dropped without Close
}

// noteProgress looks whether a local reader returned events from Next since
// the last look, and if so counts that as progress now: a reader that reads
// slowly, granting credit only every half window, is not stalled.
func (sb *subscriber) noteProgress(now time.Time) {
	if sb.sub == nil {
		return
	}
	if _, c := sb.sub.counts(); c != sb.seenConsumed {
		sb.seenConsumed, sb.ackedAt = c, now
	}
}

// stalled reports whether sb holds events back and has acknowledged nothing
// for the stall bound: Flush no longer waits for it.
func (sb *subscriber) stalled(now time.Time, stall time.Duration) bool {
	return (sb.buf.len() > 0 || sb.hasGap) && now.Sub(sb.ackedAt) >= stall
}

// accept assigns ev its sequence number and fans it out. s.mu is held.
func (s *Stream) accept(ev *Event) {
	st := &s.st
	if ev.At.IsZero() {
		// Before the event is numbered: should the clock fail, nothing
		// changed yet, and the Publish is counted as lost.
		ev.At = s.cfg.Clock.Now()
	}
	st.seq++
	ev.Seq = st.seq
	ev.Stream = s.topic
	for _, sb := range st.subs {
		if !sb.filter.Match(ev) {
			continue
		}
		sb.c.Matched++
		st.total.Matched++
		if sb.sub != nil && sb.credit > 0 && sb.buf.len() == 0 && !sb.hasGap && !st.batching {
			// Fast path: nothing waits before it and credit allows.
			sb.credit--
			sb.sub.deliver(nil, ev, nil, 0, nil)
			sb.c.Delivered++
			st.total.Delivered++
			continue
		}
		s.enqueue(sb, ev)
		switch {
		case sb.credit == 0:
			// It waits for credit.
		case sb.sub != nil && st.batching && sb.buf.len() < min(sb.credit, sb.limit):
			// A batch: hand over at its end, or once the credit's worth
			// (or a full buffer) is buffered, so the buffer never
			// overflows while credit would let the events through.
		case sb.sub != nil:
			s.handOver(sb, sb.credit, nil)
		case sb.buf.len() >= sb.credit:
			// A PID subscriber: a full window is a batch; send it now.
			s.handOver(sb, sb.credit, nil)
		default:
			// A PID subscriber: batch what arrives until pumpPIDs comes
			// round, behind the Publishes already queued.
			s.schedulePump()
		}
	}
}

// enqueue appends ev to sb's buffer under the slow-subscriber policy: when
// the buffer is full the oldest event is dropped, counted, and folded into
// the pending Gap.
func (s *Stream) enqueue(sb *subscriber, ev *Event) {
	if sb.buf.len() >= sb.limit {
		old := sb.buf.pop()
		if !sb.hasGap {
			sb.hasGap = true
			sb.gap = Gap{FromSeq: old.Seq}
		}
		sb.gap.Dropped++
		sb.gap.ToSeq = old.Seq
		sb.gapAt = ev.At
		sb.c.Dropped++
		s.st.total.Dropped++
	}
	sb.buf.push(ev)
}

func (s *Stream) schedulePump() {
	st := &s.st
	if !st.pumpDue && st.self != nil {
		st.pumpDue = true
		st.root.Send(st.self, pumpPIDs)
	}
}

// pumpAll hands every subscriber what its credit allows.
func (s *Stream) pumpAll() {
	for _, sb := range s.st.subs {
		if sb.credit > 0 && sb.buf.len() > 0 {
			s.handOver(sb, sb.credit, nil)
		}
	}
}

// handOver gives sb up to n events of its buffer (n < 0: all of them, credit
// or not), oldest first. A pending Gap goes just before the first of them
// and needs no credit: it always travels with the event after it, so a
// subscriber never sees two Gaps in a row. With end set, sb then gets
// EndOfStream with that reason. It returns how many events it handed over.
func (s *Stream) handOver(sb *subscriber, n int, end error) int {
	if n < 0 || n > sb.buf.len() {
		n = sb.buf.len()
	}
	if n == 0 && end == nil {
		return 0
	}
	var gapEv *Event
	if sb.hasGap && n > 0 { // a pending Gap implies a buffered event after it
		g := sb.gap
		gapEv = &Event{Stream: s.topic, Kind: KindGap, At: sb.gapAt, Gap: &g}
		sb.hasGap = false
		sb.gap = Gap{}
		sb.c.GapEvents++
		s.st.total.GapEvents++
	}
	if sb.sub != nil {
		sb.sub.deliver(gapEv, nil, &sb.buf, n, end)
	} else {
		s.deliverPID(sb, gapEv, n, end)
	}
	sb.credit = max(sb.credit-n, 0)
	sb.c.Delivered += uint64(n)
	s.st.total.Delivered += uint64(n)
	return n
}

// deliverPID sends sb's actor one Delivery with the Gap (if any), the next
// events of its buffer and, with end set, End.
func (s *Stream) deliverPID(sb *subscriber, gapEv *Event, events int, end error) {
	d := &Delivery{SubID: sb.id, Stream: s.topic}
	if k := events + b2i(gapEv != nil); k > 0 {
		d.Events = make([]Event, 0, k)
	}
	if gapEv != nil {
		d.Events = append(d.Events, *gapEv)
	}
	for range events {
		d.Events = append(d.Events, sb.buf.pop())
	}
	if end != nil {
		d.End, d.Reason = true, end.Error()
	}
	if s.st.root != nil {
		s.st.root.Send(sb.pid, d)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stats returns sb's accounting; stall > 0 says whether it is stalled at now.
func (sb *subscriber) stats(live bool, now time.Time, stall time.Duration) SubStats {
	ss := SubStats{
		ID:         sb.id,
		Filter:     sb.filter.clone(),
		JoinedAt:   sb.joinedAt,
		Buffer:     sb.limit,
		Window:     sb.window,
		Credit:     sb.credit,
		Matched:    sb.c.Matched,
		Delivered:  sb.c.Delivered,
		Dropped:    sb.c.Dropped,
		GapEvents:  sb.c.GapEvents,
		Buffered:   uint64(sb.buf.len()),
		GapPending: sb.hasGap,
		Discarded:  sb.c.Discarded,
		Stalled:    stall > 0 && sb.stalled(now, stall),
	}
	if sb.pid != nil {
		ss.PID = sb.pid.String()
	}
	if !live {
		ss.LeftAt = sb.leftAt
	}
	return ss
}
