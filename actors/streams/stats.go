package streams

import (
	"errors"
	"fmt"
)

// Stats is a consistent snapshot of a stream's accounting. Check verifies
// its invariant; see the package documentation for the definitions.
type Stats struct {
	Topic string
	// Offered counts publish attempts: Publish calls that were not refused
	// as invalid, plus Publish messages sent to the PID directly.
	Offered uint64
	// Published counts accepted events = the last sequence number.
	Published uint64
	// DeadLettered counts attempts that were refused: the stream was closed
	// or stopped (or not spawned yet), or the event had the reserved kind;
	// and Publishes lost because the actor failed (panicked) while it took
	// them.
	DeadLettered uint64
	// InFlight counts Publish messages in the actor's mailbox, not yet taken.
	InFlight uint64

	// Sums over every subscriber that ever joined (departed ones included).
	Matched   uint64 // events that passed a subscriber's filter
	Delivered uint64 // events handed over
	// GapDropped counts events dropped from full buffers; each of them is
	// inside a Gap event (handed over, pending, or discarded on leave).
	GapDropped uint64
	GapEvents  uint64 // Gap events handed over
	Buffered   uint64 // events waiting in live subscribers' buffers
	Discarded  uint64 // events buffered for subscribers when they left

	Subscribers int    // live subscribers
	Joined      uint64 // subscribers that ever joined
	Left        uint64 // subscribers that departed (left, or ended by the close)
	Abandoned   uint64 // of Left: Subscriptions dropped without Close, removed when collected
	Restarts    uint64 // restarts of the stream actor
	Closed      bool   // Close was handled or the actor is stopping
	Stopped     bool   // the actor is stopping or stopped (Done is closed once it stopped)

	// PerSubscriber lists the live subscribers, in subscription order.
	PerSubscriber []SubStats
	// Departed lists the last 64 departed subscribers, oldest first.
	Departed []SubStats

	// departedSum is the sum over every departed subscriber, for Check.
	departedSum counters
}

// SubStats is one subscriber's accounting. Its invariant:
// Matched = Delivered + Dropped + Buffered + Discarded.
type SubStats struct {
	ID     uint64
	PID    string // the subscriber actor's PID; empty for a Subscription
	Filter Filter
	// JoinedAt is the stream's sequence number when the subscriber joined:
	// it is offered exactly the events with JoinedAt < Seq <= LeftAt (or
	// <= Published while it is live).
	JoinedAt uint64
	LeftAt   uint64 // for departed subscribers
	Buffer   int    // its buffer size
	Window   int    // its credit window
	Credit   int    // credit it has left

	Matched    uint64
	Delivered  uint64
	Dropped    uint64
	GapEvents  uint64
	Buffered   uint64
	GapPending bool // a Gap waits before the oldest buffered event
	Discarded  uint64

	Left  bool // departed by leaving (Unsubscribe, Close, its actor stopped, abandoned)
	Ended bool // departed by the stream's close: got everything, then EndOfStream
	// Abandoned: departed because its Subscription was garbage-collected
	// without Close; what it buffered is in Discarded.
	Abandoned bool
	// Stalled (live subscribers): events wait for it and it acknowledged
	// nothing for Config.Stall; Flush does not wait for it.
	Stalled bool
}

// Stats returns a snapshot of the stream's accounting. It is safe to call
// from any goroutine, before, while and after the actor runs.
func (s *Stream) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statsLocked()
}

func (s *Stream) statsLocked() Stats {
	st := &s.st
	// Read the handle's counters after st (under s.mu): every message the
	// actor took was counted in sent before it was sent, so sent >= received.
	sent, refused := s.sent.Load(), s.refused.Load()
	out := Stats{
		Topic:        s.topic,
		Offered:      sent + refused + st.raw,
		Published:    st.seq,
		DeadLettered: refused + st.late + st.invalid + st.lost + st.failed,
		InFlight:     sent - st.received - st.lost,
		Matched:      st.total.Matched,
		Delivered:    st.total.Delivered,
		GapDropped:   st.total.Dropped,
		GapEvents:    st.total.GapEvents,
		Discarded:    st.total.Discarded,
		Subscribers:  len(st.subs),
		Joined:       st.joined,
		Left:         st.left,
		Abandoned:    st.abandoned,
		Restarts:     st.restarts,
		Closed:       st.closing,
		Stopped:      st.stopped,
		Departed:     append([]SubStats(nil), st.departed...),
		departedSum:  st.gone,
	}
	if len(st.subs) > 0 {
		out.PerSubscriber = make([]SubStats, 0, len(st.subs))
	}
	now := s.cfg.Clock.Now()
	for _, sb := range st.subs {
		sb.noteProgress(now)
		out.PerSubscriber = append(out.PerSubscriber, sb.stats(true, now, s.cfg.Stall))
		out.Buffered += uint64(sb.buf.len())
	}
	return out
}

// Check verifies the stream's invariant and returns every violation, or nil.
//
// For each subscriber (live, and departed as far as still listed):
//
//	Matched = Delivered + Dropped + Buffered + Discarded
//	Matched <= (LeftAt or Published) - JoinedAt, with equality when its filter is empty
//	GapEvents <= Dropped, and a departed one buffers nothing
//
// For the stream (sums over every subscriber ever, departed ones included):
//
//	Matched = Delivered + GapDropped + Buffered + Discarded
//	each sum = the sum over live subscribers + the sum over departed ones
//	Offered = Published + DeadLettered + InFlight
//	once stopped: InFlight = 0, no subscriber left, nothing buffered
//
// With N unfiltered subscribers present from the first event to the last,
// Matched = Published × N: every published event is delivered to each of
// them, or dropped inside a counted Gap, or still buffered.
func (st Stats) Check() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("stream %q: "+format, append([]any{st.Topic}, args...)...))
	}
	var live counters
	var buffered uint64
	check := func(ss *SubStats, live bool) {
		if sum := ss.Delivered + ss.Dropped + ss.Buffered + ss.Discarded; ss.Matched != sum {
			bad("subscriber %d: matched %d != delivered %d + dropped %d + buffered %d + discarded %d (= %d)",
				ss.ID, ss.Matched, ss.Delivered, ss.Dropped, ss.Buffered, ss.Discarded, sum)
		}
		end := st.Published
		if !live {
			end = ss.LeftAt
		}
		if end < ss.JoinedAt {
			bad("subscriber %d: joined at seq %d, after its end %d", ss.ID, ss.JoinedAt, end)
		} else if span := end - ss.JoinedAt; ss.Matched > span || (ss.Filter.IsZero() && ss.Matched != span) {
			bad("subscriber %d (filter %+v): matched %d of the %d events published while it was subscribed (seq %d..%d]",
				ss.ID, ss.Filter, ss.Matched, span, ss.JoinedAt, end)
		}
		if ss.GapEvents > ss.Dropped {
			bad("subscriber %d: %d Gap events for %d dropped events", ss.ID, ss.GapEvents, ss.Dropped)
		}
		if !live && (ss.Buffered != 0 || ss.GapPending) {
			bad("subscriber %d departed with %d events buffered (gap pending: %v)", ss.ID, ss.Buffered, ss.GapPending)
		}
	}
	for i := range st.PerSubscriber {
		ss := &st.PerSubscriber[i]
		check(ss, true)
		live.add(&counters{Matched: ss.Matched, Delivered: ss.Delivered, Dropped: ss.Dropped, GapEvents: ss.GapEvents, Discarded: ss.Discarded})
		buffered += ss.Buffered
	}
	for i := range st.Departed {
		check(&st.Departed[i], false)
	}
	if sum := st.Delivered + st.GapDropped + st.Buffered + st.Discarded; st.Matched != sum {
		bad("matched %d != delivered %d + gap-dropped %d + buffered %d + discarded %d (= %d)",
			st.Matched, st.Delivered, st.GapDropped, st.Buffered, st.Discarded, sum)
	}
	live.add(&st.departedSum)
	all := counters{Matched: st.Matched, Delivered: st.Delivered, Dropped: st.GapDropped, GapEvents: st.GapEvents, Discarded: st.Discarded}
	if live != all || buffered != st.Buffered {
		bad("per-subscriber sums %+v (buffered %d) differ from the stream's totals %+v (buffered %d)", live, buffered, all, st.Buffered)
	}
	if sum := st.Published + st.DeadLettered + st.InFlight; st.Offered != sum {
		bad("offered %d != published %d + dead-lettered %d + in flight %d (= %d)",
			st.Offered, st.Published, st.DeadLettered, st.InFlight, sum)
	}
	if st.Stopped && (st.InFlight != 0 || st.Subscribers != 0 || st.Buffered != 0) {
		bad("stopped with %d publishes in flight, %d subscribers, %d events buffered", st.InFlight, st.Subscribers, st.Buffered)
	}
	return errors.Join(errs...)
}
