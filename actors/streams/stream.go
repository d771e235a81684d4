package streams

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

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
	// DefaultStall is how long a subscriber may hold back a Flush while it
	// acknowledges nothing before Flush stops waiting for it.
	DefaultStall = 2 * time.Second
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
	// Clock stamps events published with a zero At and measures Stall.
	// Default clock.Real().
	Clock clock.Clock
	// Stall bounds how long Flush waits for a subscriber that acknowledges
	// nothing (no Next returning events, no Grant or Credit) while events
	// wait for it: past Stall since its last acknowledgement (or since it
	// joined) it is stalled, and Flush no longer waits for it. Its events
	// stay buffered for it; Close still hands them over. Default
	// DefaultStall.
	Stall time.Duration
	// Logger receives the one log line the stream writes: a bug in its
	// actor's own stop (internal/actorguard). Default a logrus logger to
	// stderr.
	Logger logrus.FieldLogger
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
	if c.Stall <= 0 {
		c.Stall = DefaultStall
	}
	if c.Logger == nil {
		c.Logger = logrus.New()
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
	failed   uint64 // Publish messages lost to a failure (panic) of the actor before they were numbered: dead letters

	total     counters // over every subscriber ever
	gone      counters // over departed subscribers
	departed  []SubStats
	joined    uint64
	left      uint64
	abandoned uint64 // subscribers removed because their Subscription was dropped without Close
	restarts  uint64

	closing bool // Close handled (or the actor stopping): no Publish accepted
	stopped bool // the actor is stopping or stopped: everything was handed over, nothing more happens
	pumpDue bool // a pumpPIDs message is in the mailbox
	flushes []pendingFlush
	// flushTimer, when set, sends flushDue at flushWake: the moment the
	// first subscriber holding back a pending Flush becomes stalled.
	flushTimer clock.Timer
	flushWake  time.Time

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

// DefaultBuffer returns the buffer a subscriber gets when it asks for none
// (Config.Buffer with its default).
func (s *Stream) DefaultBuffer() int { return s.cfg.Buffer }

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
// Spawn after Close returns ErrStreamClosed. opts are added to the actor's
// props (Props); a dispatcher given there must not run the actor on the
// caller's goroutine.
func (s *Stream) Spawn(parent actor.SpawnerContext, name string, opts ...actor.PropsOption) (*actor.PID, error) {
	// The gate is held across the spawn so the actor's Started handler,
	// which takes it too, finds the PID already recorded. The stream's
	// dispatcher (protoactor's default, or the node's worker pool) runs the
	// actor on another goroutine: Started cannot run on this one.
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.closed {
		return nil, fmt.Errorf("spawn stream %q: %w", s.topic, ErrStreamClosed)
	}
	if s.pid != nil {
		return s.pid, fmt.Errorf("spawn stream %q: %w", s.topic, ErrAlreadySpawned)
	}
	pid, err := parent.SpawnNamed(s.Props(opts...), name)
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
// already ended: Next returns ErrEndOfStream at once. Close the Subscription
// when done; one dropped without Close is removed once the garbage
// collector finds it unreachable (see Subscription).
func (s *Stream) Subscribe(f Filter, o SubscribeOptions) *Subscription {
	window := o.Window
	if window <= 0 {
		window = s.cfg.Window
	}
	r := newLocalSub(s, window)
	sub := &Subscription{r: r}
	if s.subscribeReader(r, f, o.Buffer) {
		// r does not refer to sub, so sub can become unreachable.
		sub.cleanup = runtime.AddCleanup(sub, (*localSub).abandon, r)
	}
	return sub
}

// subscribeReader registers r, or ends it if the stream is closed; it
// reports whether r joined.
func (s *Stream) subscribeReader(r *localSub, f Filter, buffer int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		r.end(endReason(s.topic, "was closed before the subscription"))
		return false
	}
	sb := s.addLocked(f, buffer, r.window)
	sb.sub = r
	r.id, r.after, r.afterKnown = sb.id, sb.joinedAt, true
	return true
}

// abandon runs on the runtime's cleanup goroutine once the Subscription
// handle of r was garbage-collected without Close: the subscriber leaves,
// what its buffer held is counted as discarded, and it is listed as
// Abandoned.
func (r *localSub) abandon() {
	r.s.unsubscribe(r, "ended for this subscriber: the Subscription was dropped without Close", true)
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
		ackedAt:  s.cfg.Clock.Now(),
	}
	sb.buf.max = buffer
	st.subs = append(st.subs, sb)
	st.byID[sb.id] = sb
	st.joined++
	return sb
}

// unsubscribe removes the subscriber of r, if it is still there,
// discarding (and counting) what its buffer holds.
func (s *Stream) unsubscribe(r *localSub, why string, abandoned bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb := s.st.byID[r.id]; sb != nil && sb.sub == r {
		sb.abandoned = abandoned
		s.departLocked(sb, true)
		r.end(endReason(s.topic, why))
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
	sb.ackedAt = s.cfg.Clock.Now()
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
		if s.closeUnspawned() {
			s.markDone()
		} else { // lost a race with Spawn: close the actor
			return s.Close(ctx)
		}
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close stream %q: %w", s.topic, context.Cause(ctx))
	}
}

// Flush waits until every event published before the call has been handed
// over to every subscriber (within each subscriber's credit), or the stream
// closed (which hands everything over), or ctx ends. It is the DRAINING step
// of shutdown. It waits only for subscribers that make progress: one that
// acknowledged nothing for Config.Stall while its events wait (a reader
// that stopped reading, or a Subscription abandoned but not yet collected)
// is stalled and not waited for; its events stay buffered, and Close hands
// them over.
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
		return fmt.Errorf("flush stream %q: %w", s.topic, context.Cause(ctx))
	}
}

// closeUnspawned closes a stream whose actor was never spawned, and reports
// whether it did (false: the actor was spawned meanwhile).
func (s *Stream) closeUnspawned() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gate.RLock()
	spawned := s.pid != nil
	s.gate.RUnlock()
	if spawned {
		return false
	}
	s.closeLocked("closed")
	s.st.stopped = true
	return true
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
	if st.flushTimer != nil {
		st.flushTimer.Stop()
		st.flushTimer = nil
	}
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
	if sb.abandoned {
		st.abandoned++
	}
	st.gone.add(&sb.c)
	ss := sb.stats(false, time.Time{}, 0)
	ss.Left, ss.Ended, ss.Abandoned = discard, !discard, sb.abandoned
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
// handed over, except to stalled subscribers; for the others it arms the
// flush timer for the moment the next subscriber holding them back stalls.
func (s *Stream) checkFlushesLocked() {
	st := &s.st
	if len(st.flushes) == 0 {
		return
	}
	now := s.cfg.Clock.Now()
	var wake time.Time
	keep := st.flushes[:0]
	for _, f := range st.flushes {
		if !st.closing {
			if at, blocked := s.flushBlockedLocked(f.upTo, now); blocked {
				keep = append(keep, f)
				if wake.IsZero() || at.Before(wake) {
					wake = at
				}
				continue
			}
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
	if len(keep) > 0 {
		s.armFlushTimerLocked(now, wake)
	}
}

// flushBlockedLocked reports whether a subscriber that is not stalled still
// holds an event (or a Gap notice about events) with a sequence number up
// to upTo, and when the first such subscriber will be stalled.
func (s *Stream) flushBlockedLocked(upTo uint64, now time.Time) (wake time.Time, blocked bool) {
	for _, sb := range s.st.subs {
		holds := (sb.hasGap && sb.gap.FromSeq <= upTo) || (sb.buf.len() > 0 && sb.buf.peek().Seq <= upTo)
		if !holds {
			continue
		}
		if sb.noteProgress(now); sb.stalled(now, s.cfg.Stall) {
			continue
		}
		at := sb.ackedAt.Add(s.cfg.Stall)
		if !blocked || at.Before(wake) {
			wake = at
		}
		blocked = true
	}
	return wake, blocked
}

// flushDue is the flush timer's note to the actor: a subscriber holding
// back a Flush may have stalled by now.
type flushDueMsg struct{}

var flushDue = &flushDueMsg{}

// armFlushTimerLocked makes sure the flush timer fires at wake or earlier.
func (s *Stream) armFlushTimerLocked(now, wake time.Time) {
	st := &s.st
	if st.flushTimer != nil && !st.flushWake.After(wake) {
		return
	}
	if st.flushTimer != nil {
		st.flushTimer.Stop()
	}
	st.flushWake = wake
	st.flushTimer = s.cfg.Clock.AfterFunc(max(wake.Sub(now), 0), func() {
		// Like Publish: only into the mailbox of a stream still open, so
		// a timer that fires during the close makes no dead letter.
		s.gate.RLock()
		defer s.gate.RUnlock()
		if !s.closed && s.pid != nil {
			s.root.Send(s.pid, flushDue)
		}
	})
}

// handleFlushDue runs when the flush timer fired.
func (s *Stream) handleFlushDue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.flushTimer = nil
	s.checkFlushesLocked()
}
