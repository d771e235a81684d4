package runtime

import (
	"context"
	"time"

	"github.com/exo-actors/exo-actors/actors/streams"
)

// ErrEndOfStream ends every subscription: Next returns an error wrapping it
// (and io.EOF, so errors.Is(err, io.EOF) holds too) after the last event.
var ErrEndOfStream = streams.ErrEndOfStream

// StreamEvent is one event of a stream.
type StreamEvent struct {
	// Stream is the topic of the stream that carried the event.
	Stream string
	// Seq is the event's sequence number in its stream: 1, 2, 3, ... with no
	// hole in the stream. A subscription with a Filter sees only the numbers
	// of the events it matches, so there the numbers of the events it leaves
	// out are skipped: a hole without a Gap before it is the filter's, and
	// a loss is always a Gap event. Gap events have Seq 0.
	Seq uint64
	// RunnerID and TaskID say what the event is about (either may be
	// empty); Kind is one of the Kind constants. Filters match all three.
	RunnerID, TaskID, Kind string
	// At is when it happened.
	At time.Time
	// Payload is the typed event (a value, e.g. StatusChanged); nil for a
	// Gap event.
	Payload Event
	// Gap is set on Gap events only (Kind KindGap).
	Gap *Gap
}

// Gap says that a slow subscriber lost events: its buffer was full, so the
// oldest events it had not received were dropped. It stands exactly where
// the dropped events were; consecutive drops coalesce into one Gap.
type Gap struct {
	// Dropped is how many events this subscriber lost here: the count to
	// use, also with a Filter.
	Dropped uint64
	// FromSeq and ToSeq are the sequence numbers of the first and the last
	// dropped event. They are the stream's numbers: with a Filter the range
	// also spans events the filter left out, so ToSeq-FromSeq+1 may exceed
	// Dropped.
	FromSeq, ToSeq uint64
}

// Filter selects the events a subscriber receives. A zero field matches
// everything; all set fields must match. Gap events are never filtered.
type Filter struct {
	RunnerID string
	TaskID   string
	// Kinds, when not empty, lists the kinds to receive (Kind constants).
	Kinds []string
}

// SubscribeOptions tunes one subscriber; zero fields take the defaults.
type SubscribeOptions struct {
	// Buffer is how many events the stream keeps for this subscriber beyond
	// its credit before the oldest is dropped (a Gap says so); default
	// Config.StreamBuffer (1024).
	Buffer int
	// Window is the subscriber's credit: how many events it may hold that
	// Next has not returned yet; default 64.
	Window int
}

// Subscription receives a topic's events in order. Its methods are safe for
// concurrent use; concurrent Next calls share the events between them.
type Subscription struct {
	s *streams.Subscription
}

// Next returns the next event, waiting for one until ctx ends. After the
// last event it returns an error wrapping ErrEndOfStream that says why the
// stream ended, and does so on every later call.
func (s *Subscription) Next(ctx context.Context) (StreamEvent, error) {
	e, err := s.s.Next(ctx)
	if err != nil {
		return StreamEvent{}, err
	}
	return fromStreamEvent(e), nil
}

// NextBatch returns every event already handed over to the subscription,
// up to limit (limit <= 0: no limit), appended to buf, waiting for at least
// one until ctx ends; it grants credit as Next does, once for the batch.
// After the last event it returns the error Next returns.
func (s *Subscription) NextBatch(ctx context.Context, buf []StreamEvent, limit int) ([]StreamEvent, error) {
	// Converted as they are taken: no slice of the stream's events between.
	err := s.s.NextBatchFunc(ctx, limit, func(e *streams.Event) {
		buf = append(buf, fromStreamEventAt(e))
	})
	return buf, err
}

// Close leaves the stream. Events already handed over stay readable with
// Next, then Next returns ErrEndOfStream. Close is idempotent.
func (s *Subscription) Close() { s.s.Close() }

// JoinedAfter returns the stream's last sequence number when the
// subscription joined: every event it gets, and every Gap's FromSeq, is
// larger. On a remote node the join is taken in the stream's order, after
// every event the node had published when it took the Subscribe: so once a
// task's handle has ended (its outcome was published before its handle
// ended), a Subscription made after that joins at or after the outcome's
// sequence number, and a reader of an older subscription that has seen
// events or Gaps up to JoinedAfter has seen all there is of that task
// (exo-actors remote run stops reading there when a Gap hid an outcome).
// known is false from a node older than this API and for a subscription
// that ended before it joined. In a System the join is taken at once:
// events still on their way to the stream come after it.
func (s *Subscription) JoinedAfter() (seq uint64, known bool) { return s.s.JoinedAfter() }

// Stream returns the subscription's topic.
func (s *Subscription) Stream() string { return s.s.Stream() }

// Received returns how many entries (events and Gap events) were handed
// over to this subscription and how many Next has returned.
func (s *Subscription) Received() (received, consumed uint64) { return s.s.Received() }

// StreamStats is a stream's accounting. With N unfiltered subscribers
// present throughout, Published × N events were delivered, or dropped inside
// counted Gaps, or are still buffered.
type StreamStats struct {
	Topic string
	// Offered counts publish attempts; Published the accepted events (= the
	// last sequence number); DeadLettered those refused (stream closed);
	// InFlight those not yet taken by the stream.
	Offered, Published, DeadLettered, InFlight uint64
	// Sums over every subscriber that ever joined: Matched passed its
	// filter = Delivered + GapDropped + Buffered + Discarded.
	Matched    uint64
	Delivered  uint64
	GapDropped uint64
	GapEvents  uint64
	Buffered   uint64
	Discarded  uint64
	// Subscribers counts the live subscribers; Joined and Left every one
	// that ever joined or departed.
	Subscribers int
	Joined      uint64
	Left        uint64
	// Abandoned counts, of Left, the Subscriptions dropped without Close
	// (removed when the garbage collector found them).
	Abandoned uint64
	// Restarts counts restarts of the stream's actor.
	Restarts uint64
	// Closed: the stream accepts no more events; Stopped: its actor is
	// stopping or stopped.
	Closed  bool
	Stopped bool
	// PerSubscriber lists the live subscribers; Departed the last 64 that
	// departed, oldest first.
	PerSubscriber []SubscriberStats
	Departed      []SubscriberStats
}

// SubscriberStats is one subscriber's accounting: Matched = Delivered +
// Dropped + Buffered + Discarded.
type SubscriberStats struct {
	ID uint64
	// PID is the subscriber actor's PID; empty for a Subscription.
	PID    string
	Filter Filter
	// JoinedAt and LeftAt are the stream's sequence numbers when it joined
	// and departed: it is offered the events with JoinedAt < Seq <= LeftAt.
	JoinedAt uint64
	LeftAt   uint64
	// Buffer, Window and Credit: its buffer size, credit window and the
	// credit it has left.
	Buffer, Window, Credit int
	Matched                uint64
	Delivered              uint64
	Dropped                uint64
	GapEvents              uint64
	Buffered               uint64
	// GapPending: a Gap waits before the oldest buffered event.
	GapPending bool
	Discarded  uint64
	// Left: it departed by leaving; Ended: by the stream's close.
	Left, Ended bool
	// Abandoned: it departed because its Subscription was garbage-collected
	// without Close; what it buffered is in Discarded.
	Abandoned bool
	// Stalled (live subscribers): events wait for it and it acknowledged
	// nothing for a while (2 s by default); a DRAINING flush does not wait
	// for it.
	Stalled bool
}
