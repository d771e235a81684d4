package streams

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Defaults of Config and SubscribeOptions.
const (
	// DefaultBuffer is how many events a subscriber's buffer in the stream
	// holds before the oldest is dropped.
	DefaultBuffer = 1024
	// DefaultWindow is how many entries (events and Gap events) a subscriber
	// may hold that it has not yet acknowledged with credit.
	DefaultWindow = 64
	// keepDeparted is how many departed subscribers Stats still lists.
	keepDeparted = 64
)

// Config configures a Stream. Zero fields take the documented defaults.
type Config struct {
	// Buffer is the default size of each subscriber's buffer inside the
	// stream: events matched but beyond the subscriber's credit. When it is
	// full the oldest is dropped and a Gap event takes its place. Default
	// DefaultBuffer.
	Buffer int
	// Window is the default credit of a subscriber: how many entries it may
	// hold, delivered but not yet acknowledged. Default DefaultWindow.
	Window int
	// Clock stamps events published with a zero At. Default clock.Real().
	Clock clock.Clock
}

func (c Config) withDefaults() Config {
	if c.Buffer <= 0 {
		c.Buffer = DefaultBuffer
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	return c
}

// SubscribeOptions tunes one subscriber; zero fields take the stream's
// Config values.
type SubscribeOptions struct {
	Buffer int
	Window int
}

// Stream is one topic's event stream: the state that outlives any incarnation
// of its actor (sequence counter, subscribers, their buffers, counters) and
// the handle producers and subscribers use. Create it with New, spawn its
// actor once with Spawn (or Props), then Publish and Subscribe from any
// goroutine. See the package documentation for the model.
type Stream struct {
	topic string
	cfg   Config

	// gate decides who may still put a message in the actor's mailbox: the
	// handle's Publish, Close and Flush hold it shared while they check
	// closed and send; the actor holds it exclusively while it sets closed.
	// So once closed is set, no Publish from this handle enters the mailbox.
	// Lock order: mu before gate.
	gate    sync.RWMutex
	closed  bool               // written under gate and mu; read under either
	pid     *actor.PID         // under gate
	root    *actor.RootContext // under gate
	sent    atomic.Uint64      // Publish messages this handle put in the mailbox
	refused atomic.Uint64      // Publish calls refused at once (closed, not spawned)

	// mu guards st. The actor holds it while it handles a message;
	// Subscribe, Grant, Subscription.Close and Stats take it from other
	// goroutines. Under it the stream calls Subscription.deliver, which
	// takes the subscription's own mutex and nothing else.
	mu sync.Mutex
	st state

	doneOnce sync.Once
	done     chan struct{} // sole sender: markDone (the stream actor's Stopped handler, or Close of a never-spawned stream), once
}

// state is everything the stream knows; guarded by Stream.mu.
type state struct {
	seq    uint64             // last sequence number assigned = events published
	root   *actor.RootContext // set by the actor when it starts; sends deliveries and replies
	self   *actor.PID         // the actor's PID, set when it starts
	nextID uint64
	subs   []*subscriber // in subscription order: fan-out order
	byID   map[uint64]*subscriber
	byPID  map[string]*subscriber

	received uint64 // Publish messages from this handle taken from the mailbox
	raw      uint64 // Publish messages sent to the PID directly
	late     uint64 // Publish messages taken after Close: dead letters
	invalid  uint64 // raw Publish messages of the reserved kind: dead letters
	lost     uint64 // Publish messages from this handle still queued when the actor stopped: dead letters

	total    counters // over every subscriber ever
	gone     counters // over departed subscribers
	departed []SubStats
	joined   uint64
	left     uint64
	restarts uint64

	closing bool // Close handled (or the actor stopping): no Publish accepted
	stopped bool // the actor is stopping or stopped: everything was handed over, nothing more happens
	pumpDue bool // a pumpPIDs message is in the mailbox
	flushes []pendingFlush

	// batching: a PublishBatch is being taken; local subscribers get their
	// events at its end (onPublishBatch), not one delivery per event.
	batching bool
}

// counters are one subscriber's accounting, or a sum of them. For each
// subscriber: Matched = Delivered + Dropped + Buffered + Discarded.
type counters struct {
	Matched   uint64 // events that passed its filter while it was subscribed
	Delivered uint64 // events handed over (to the Subscription or the PID's mailbox)
	Dropped   uint64 // events dropped from its full buffer (each inside a Gap)
	GapEvents uint64 // Gap events handed over
	Discarded uint64 // events still buffered when it left
}

func (c *counters) add(o *counters) {
	c.Matched += o.Matched
	c.Delivered += o.Delivered
	c.Dropped += o.Dropped
	c.GapEvents += o.GapEvents
	c.Discarded += o.Discarded
}

type pendingFlush struct {
	upTo   uint64
	sender *actor.PID     // a requester (Respond), or nil
	reply  chan<- Flushed // the Flush helper's, capacity 1, or nil
}

// New makes the stream of a topic. Its actor does not run yet: spawn it once,
// with Spawn or by spawning Props.
func New(topic string, cfg Config) *Stream {
	return &Stream{
		topic: topic,
		cfg:   cfg.withDefaults(),
		st: state{
			byID:  map[uint64]*subscriber{},
			byPID: map[string]*subscriber{},
		},
		done: make(chan struct{}),
	}
}

// Topic returns the stream's topic.
func (s *Stream) Topic() string { return s.topic }

// PID returns the stream actor's PID, or nil before it was spawned.
func (s *Stream) PID() *actor.PID {
	s.gate.RLock()
	defer s.gate.RUnlock()
	return s.pid
}

// Done is closed once the stream actor has stopped (or a never-spawned
// stream was closed): every subscriber has had EndOfStream, and every
// Publish since is refused and counted as a dead letter.
func (s *Stream) Done() <-chan struct{} { return s.done }

func (s *Stream) markDone() {
	s.doneOnce.Do(func() {
		close(s.done) // sole sender: markDone, under doneOnce
	})
}

// Spawn spawns the stream's actor as a child of parent (a parent actor's
// context, or an actor system's Root) under the given name. A Stream has at
// most one actor in its life: a second Spawn returns ErrAlreadySpawned, a
// Spawn after Close returns ErrStreamClosed.
func (s *Stream) Spawn(parent actor.SpawnerContext, name string) (*actor.PID, error) {
	// The gate is held across the spawn so the actor's Started handler,
	// which takes it too, finds the PID already recorded. The stream's
	// props use the default (goroutine) dispatcher: Started cannot run on
	// this goroutine.
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.closed {
		return nil, fmt.Errorf("spawn stream %q: %w", s.topic, ErrStreamClosed)
	}
	if s.pid != nil {
		return s.pid, fmt.Errorf("spawn stream %q: %w", s.topic, ErrAlreadySpawned)
	}
	pid, err := parent.SpawnNamed(s.Props(), name)
	if err != nil {
		return nil, fmt.Errorf("spawn stream %q: %w", s.topic, err)
	}
	s.pid, s.root = pid, parent.ActorSystem().Root
	return pid, nil
}

// Publish sends ev to the stream; the stream assigns its sequence number.
// It never blocks on subscribers and never panics. A nil error means the
// event is in the actor's mailbox: it will be published, or, if Close is
// handled before it, counted as a dead letter. ErrStreamClosed or
// ErrNotSpawned mean it was counted as a dead letter at once. Events of kind
// KindGap are refused with ErrReservedKind (and not counted).
func (s *Stream) Publish(ev Event) error {
	if ev.Kind == KindGap || ev.Gap != nil {
		return ErrReservedKind
	}
	s.gate.RLock()
	defer s.gate.RUnlock()
	if s.closed {
		s.refused.Add(1)
		return ErrStreamClosed
	}
	if s.pid == nil {
		s.refused.Add(1)
		return ErrNotSpawned
	}
	s.sent.Add(1)
	s.root.Send(s.pid, &Publish{Event: ev, viaHandle: true})
	return nil
}

// Subscribe adds a subscriber that receives every event published from now
// on that passes f, in sequence order, through the returned Subscription.
// Subscribing to a closed or stopped stream returns a Subscription that has
// already ended: Next returns ErrEndOfStream at once.
func (s *Stream) Subscribe(f Filter, o SubscribeOptions) *Subscription {
	window := o.Window
	if window <= 0 {
		window = s.cfg.Window
	}
	sub := newSubscription(s, window)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		sub.end(endReason(s.topic, "was closed before the subscription"))
		return sub
	}
	sb := s.addLocked(f, o.Buffer, window)
	sb.sub = sub
	sub.id = sb.id
	return sub
}

// addLocked registers a subscriber; s.mu is held and the stream is open.
func (s *Stream) addLocked(f Filter, buffer, window int) *subscriber {
	if buffer <= 0 {
		buffer = s.cfg.Buffer
	}
	st := &s.st
	st.nextID++
	sb := &subscriber{
		id:       st.nextID,
		filter:   f.clone(),
		limit:    buffer,
		window:   window,
		credit:   window,
		joinedAt: st.seq,
	}
	sb.buf.max = buffer
	st.subs = append(st.subs, sb)
	st.byID[sb.id] = sb
	st.joined++
	return sb
}

// unsubscribe removes the Subscription's subscriber, if it is still there,
// discarding (and counting) what its buffer holds.
func (s *Stream) unsubscribe(sub *Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb := s.st.byID[sub.id]; sb != nil && sb.sub == sub {
		s.departLocked(sb, true)
		sub.end(endReason(s.topic, "ended for this subscriber: the subscription was closed"))
		s.checkFlushesLocked()
	}
}

// Grant gives subscriber id credit for n more entries, as a Credit message
// does, but at once: a Credit message waits in the mailbox behind every
// Publish already queued, so during a burst longer than Window+Buffer it
// would arrive after the buffer overflowed, even for a subscriber that keeps
// up. Subscriptions grant this way; a subscriber actor that holds the Stream
// may too. Unknown IDs and n <= 0 are ignored; credit never exceeds the
// subscriber's window.
func (s *Stream) Grant(id uint64, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grantLocked(id, n)
}

func (s *Stream) grantLocked(id uint64, n int) {
	sb := s.st.byID[id]
	if sb == nil || n <= 0 {
		return
	}
	sb.credit = min(sb.credit+n, sb.window)
	s.handOver(sb, sb.credit, nil)
	s.checkFlushesLocked()
}

// Close closes the stream gracefully and waits until its actor stopped or
// ctx ends: later Publishes are refused and counted as dead letters, every
// subscriber receives everything still buffered for it and then
// EndOfStream, and the actor stops itself. Closing a never-spawned stream
// does the same at once. Calling Close again waits the same way.
func (s *Stream) Close(ctx context.Context) error {
	s.gate.RLock()
	closed, pid, root := s.closed, s.pid, s.root
	if !closed && pid != nil {
		root.Send(pid, &Close{})
	}
	s.gate.RUnlock()
	if pid == nil && !closed {
		s.mu.Lock()
		s.gate.Lock()
		spawned := s.pid != nil
		s.gate.Unlock()
		if !spawned {
			s.closeLocked("closed")
			s.st.stopped = true
		}
		s.mu.Unlock()
		if spawned { // lost a race with Spawn: close the actor
			return s.Close(ctx)
		}
		s.markDone()
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close stream %q: %w", s.topic, ctx.Err())
	}
}

// Flush waits until every event published before the call has been handed
// over to every subscriber (within each subscriber's credit), or the stream
// closed (which hands everything over), or ctx ends. It is the DRAINING step
// of shutdown: a subscriber that never reads keeps Flush waiting until ctx
// ends.
func (s *Stream) Flush(ctx context.Context) error {
	reply := make(chan Flushed, 1) // never closed: the actor sends at most once
	s.gate.RLock()
	closed, pid, root := s.closed, s.pid, s.root
	if !closed && pid != nil {
		root.Send(pid, &Flush{reply: reply})
	}
	s.gate.RUnlock()
	switch {
	case closed:
		return nil
	case pid == nil:
		return fmt.Errorf("flush stream %q: %w", s.topic, ErrNotSpawned)
	}
	select {
	case <-reply:
		return nil
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush stream %q: %w", s.topic, ctx.Err())
	}
}

// closeLocked closes the gate and ends every subscriber after handing over
// everything it holds. s.mu is held.
func (s *Stream) closeLocked(why string) {
	st := &s.st
	if st.closing {
		return
	}
	s.gate.Lock()
	s.closed = true
	s.gate.Unlock()
	st.closing = true
	reason := endReason(s.topic, why)
	for len(st.subs) > 0 {
		sb := st.subs[0]
		s.handOver(sb, -1, reason)
		s.departLocked(sb, false)
	}
	s.checkFlushesLocked()
}

// departLocked removes a subscriber. With discard, what its buffer still
// holds is thrown away and counted; otherwise it must be empty.
func (s *Stream) departLocked(sb *subscriber, discard bool) {
	st := &s.st
	if discard {
		n := uint64(sb.buf.clear())
		sb.c.Discarded += n
		st.total.Discarded += n
		sb.hasGap = false // its drops are counted; the notice has no reader
	}
	sb.leftAt = st.seq
	if i := indexOf(st.subs, sb); i >= 0 {
		st.subs = slices.Delete(st.subs, i, i+1) // zeroes the freed slot
	}
	delete(st.byID, sb.id)
	if sb.pid != nil {
		delete(st.byPID, pidKey(sb.pid))
	}
	st.left++
	st.gone.add(&sb.c)
	ss := sb.stats(false)
	ss.Left, ss.Ended = discard, !discard
	if len(st.departed) == keepDeparted {
		copy(st.departed, st.departed[1:])
		st.departed = st.departed[:keepDeparted-1]
	}
	st.departed = append(st.departed, ss)
}

func indexOf(subs []*subscriber, sb *subscriber) int {
	for i, x := range subs {
		if x == sb {
			return i
		}
	}
	return -1
}

func pidKey(pid *actor.PID) string { return pid.Address + "/" + pid.Id }

// checkFlushesLocked answers every pending Flush whose events were all
// handed over.
func (s *Stream) checkFlushesLocked() {
	st := &s.st
	if len(st.flushes) == 0 {
		return
	}
	keep := st.flushes[:0]
	for _, f := range st.flushes {
		if !st.closing && !s.flushedLocked(f.upTo) {
			keep = append(keep, f)
			continue
		}
		res := Flushed{UpToSeq: f.upTo}
		if f.reply != nil {
			f.reply <- res // capacity 1, one send per Flush: never blocks
		}
		if f.sender != nil {
			st.root.Send(f.sender, &res)
		}
	}
	clear(st.flushes[len(keep):])
	st.flushes = keep
}

// flushedLocked reports whether no subscriber still holds an event (or a
// Gap notice about events) with a sequence number up to upTo.
func (s *Stream) flushedLocked(upTo uint64) bool {
	for _, sb := range s.st.subs {
		if sb.hasGap && sb.gap.FromSeq <= upTo {
			return false
		}
		if sb.buf.len() > 0 && sb.buf.peek().Seq <= upTo {
			return false
		}
	}
	return true
}
