package streams

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/internal/actorguard"
)

// Messages of the stream actor. They are Go structs: local only.
type (
	// Publish asks the stream to publish Event; the stream sets Event.Seq
	// and Event.Stream. Prefer Stream.Publish: it counts a Publish to a
	// closed stream as a dead letter. A Publish sent to the PID directly
	// after the actor stopped becomes a protoactor dead letter instead
	// (*actor.DeadLetterEvent on the system's EventStream), which this
	// stream does not see; and one still in the mailbox when the actor is
	// stopped with Stop (not Close or Poison) is dropped by protoactor
	// without any trace.
	Publish struct {
		Event     Event
		viaHandle bool
	}
	// Subscribe adds an actor as subscriber; the stream watches it and
	// removes it when it stops. Reply: *Subscribed. Then the stream sends
	// it *Delivery messages within its credit, and finally one with End.
	// Local readers use Stream.Subscribe instead. A Subscribe that reaches
	// a stopped stream's PID comes back as *actor.DeadLetterResponse to a
	// requester: treat that as the end of the stream.
	Subscribe struct {
		Filter Filter
		Buffer int // 0: the stream's Config.Buffer
		Window int // 0: the stream's Config.Window
		PID    *actor.PID
	}
	// Subscribed answers Subscribe. Ended: the stream was already closed
	// (a Delivery with End was sent too). Err: the request was invalid.
	Subscribed struct {
		ID     uint64
		Stream *actor.PID
		Window int
		Buffer int // the subscriber's buffer: Subscribe's, or Config.Buffer
		// After is the stream's last sequence number when the subscriber
		// joined: every event it gets has a larger one. The join is taken
		// in the stream actor's mailbox order, so every event published
		// before the Subscribe was sent is at or below After.
		After uint64
		Ended bool
		Err   error
	}
	// Delivery carries events to a subscriber actor, in its order, Gap
	// events included. It acknowledges each with Credit{ID: SubID,
	// N: d.Credits()} (in one Credit or several) to the stream's PID. End:
	// no Delivery follows; Reason says why.
	Delivery struct {
		SubID  uint64
		Stream string
		Events []Event
		End    bool
		Reason string
	}
	// Unsubscribe removes a subscriber actor; what its buffer holds is
	// counted as discarded.
	Unsubscribe struct{ ID uint64 }
	// Credit says subscriber ID consumed N events (Gap events take no
	// credit) and may be handed N more. Stream.Grant does the same without
	// waiting in the mailbox.
	Credit struct {
		ID uint64
		N  int
	}
	// Close closes the stream: no Publish is accepted from then on (each is
	// counted as a dead letter), every subscriber gets everything still
	// buffered for it and then EndOfStream, and the actor then stops itself
	// (poison pill to itself, so it stops after what is already queued).
	// A requester gets *Closed.
	Close struct{}
	// Closed answers Close with the stream's accounting at close time.
	Closed struct{ Stats Stats }
	// Flush asks for an answer (*Flushed to the requester) once every event
	// published before it was handed over to every subscriber, within
	// credit. The close answers every pending Flush.
	Flush struct{ reply chan<- Flushed }
	// Flushed answers Flush.
	Flushed struct{ UpToSeq uint64 }
	// StatsQuery asks for the stream's Stats (a Stats value is the reply).
	StatsQuery struct{}
)

// Credits returns how many events of d take credit: all but the Gaps.
func (d *Delivery) Credits() int {
	n := len(d.Events)
	for i := range d.Events {
		if d.Events[i].IsGap() {
			n--
		}
	}
	return n
}

// pumpPIDs is the stream's note to itself to hand batched events to its
// subscriber actors; always this one pointer, so it allocates nothing.
type pumpPIDsMsg struct{}

var pumpPIDs = &pumpPIDsMsg{}

// crash makes the stream actor panic; tests use it to check that a restart
// loses nothing.
type crash struct{}

// Props returns the props of the stream's actor. Every incarnation the
// producer builds is a fresh, stateless struct over the same Stream, so a
// parent may restart or resume a failed stream actor without losing its
// sequence counter, subscribers or counters. The actor has no children; its
// own supervisor strategy (for them) is explicit anyway: stop. Spawn the
// props once per Stream (Spawn does); a second actor stops itself at once.
//
// opts are added to the props, e.g. actor.WithDispatcher.
func (s *Stream) Props(opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &streamActor{s: s} },
		append([]actor.PropsOption{actor.WithSupervisor(stopChildren{})}, opts...)...)
}

// streamActor is one incarnation of a stream's actor. It holds no state of
// its own: everything lives in the Stream, which outlives incarnations.
type streamActor struct {
	s     *Stream
	rogue bool // a second actor for the same Stream: it does nothing
}

// Receive implements actor.Actor. It never panics on what it receives.
func (a *streamActor) Receive(ctx actor.Context) {
	if a.rogue {
		return
	}
	s := a.s
	msg := ctx.Message()
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Pointer && v.IsNil() {
		return // a typed nil: nothing to do, and nothing to panic about
	}
	switch m := msg.(type) {
	case *actor.Started:
		a.started(ctx)
	case *Publish:
		s.handlePublish(m)
	case *PublishBatch:
		s.handlePublishBatch(m)
	case *Credit:
		s.Grant(m.ID, m.N)
	case *pumpPIDsMsg:
		s.handlePump()
	case *flushDueMsg:
		s.handleFlushDue()
	case *Subscribe:
		a.subscribe(ctx, m)
	case *Unsubscribe:
		s.handleUnsubscribe(ctx, m)
	case *actor.Terminated:
		s.handleTerminated(m)
	case *Flush:
		s.handleFlush(ctx.Sender(), m)
	case *Close:
		first, stats := s.handleClose()
		if ctx.Sender() != nil {
			ctx.Respond(&Closed{Stats: stats})
		}
		if first {
			// The pill queues behind every Publish this handle sent before
			// the gate closed, so each of them is taken (and counted) first.
			ctx.Poison(ctx.Self())
		}
	case *StatsQuery:
		if ctx.Sender() != nil {
			ctx.Respond(s.Stats())
		}
	case *actor.Restarting:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.st.restarts++
	case *actor.Stopping:
		actorguard.Run(s.cfg.Logger, "stream actor "+s.topic, m, s.stopping)
	case *actor.Stopped:
		actorguard.Run(s.cfg.Logger, "stream actor "+s.topic, m, s.markDone)
	case *crash:
		panic("streams: crash requested by a test")
	}
}

// The handlers below run on the actor's goroutine and hold s.mu. Each
// unlocks it with defer: a panic while it is held (a bug; the parent then
// resumes the actor) must not leave it locked, or every later Subscribe,
// Grant, Publish and Stats would block forever.

// handlePublish takes one Publish. If it panics before the event got its
// sequence number, the Publish is lost: it is counted as a dead letter
// (failed), so the accounting still adds up.
func (s *Stream) handlePublish(m *Publish) {
	s.mu.Lock()
	seq, handled := s.st.seq, false
	defer func() {
		if !handled && s.st.seq == seq {
			s.st.failed++
		}
		s.mu.Unlock()
	}()
	s.onPublish(m)
	handled = true
}

// handlePublishBatch is handlePublish for a batch: a panic before the
// batch was numbered counts its events as lost (dead letters), and the
// mutex is released either way. Done runs after, outside s.mu: it may be
// anyone's code.
func (s *Stream) handlePublishBatch(m *PublishBatch) {
	func() {
		s.mu.Lock()
		seq, handled := s.st.seq, false
		defer func() {
			if !handled && s.st.seq == seq {
				s.st.failed += uint64(len(m.Events))
			}
			s.mu.Unlock()
		}()
		s.onPublishBatch(m)
		handled = true
	}()
	if m.Done != nil {
		m.Done()
	}
}

func (s *Stream) handlePump() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.pumpDue = false
	s.pumpAll()
	s.checkFlushesLocked()
}

func (s *Stream) handleUnsubscribe(ctx actor.Context, m *Unsubscribe) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb := s.st.byID[m.ID]
	if sb == nil {
		return
	}
	if sb.pid != nil {
		ctx.Unwatch(sb.pid)
	}
	s.departLocked(sb, true)
	if sb.sub != nil {
		sb.sub.end(endReason(s.topic, "ended for this subscriber: it unsubscribed"))
	}
	s.checkFlushesLocked()
}

func (s *Stream) handleTerminated(m *actor.Terminated) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sb := s.st.byPID[pidKey(m.Who)]; sb != nil {
		s.departLocked(sb, true)
		s.checkFlushesLocked()
	}
}

func (s *Stream) handleFlush(sender *actor.PID, m *Flush) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pumpAll()
	s.st.flushes = append(s.st.flushes, pendingFlush{upTo: s.st.seq, sender: sender, reply: m.reply})
	s.checkFlushesLocked()
}

func (s *Stream) handleClose() (first bool, stats Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first = !s.st.closing
	s.closeLocked("closed")
	return first, s.statsLocked()
}

func (a *streamActor) started(ctx actor.Context) {
	s, self := a.s, ctx.Self()
	s.gate.Lock()
	switch {
	case s.pid == nil && !s.closed:
		s.pid, s.root = self, ctx.ActorSystem().Root
	case s.pid == nil || !s.pid.Equal(self):
		a.rogue = true // spawned twice, or after the stream closed
	}
	s.gate.Unlock()
	if a.rogue {
		ctx.Stop(self)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.root, s.st.self = ctx.ActorSystem().Root, self
}

func (s *Stream) onPublish(m *Publish) {
	st := &s.st
	if m.viaHandle {
		st.received++
	} else {
		st.raw++
	}
	switch {
	case st.closing:
		st.late++
	case m.Event.Kind == KindGap || m.Event.Gap != nil:
		st.invalid++
	default:
		ev := m.Event // the message may be the sender's: do not write to it
		s.accept(&ev)
	}
}

func (a *streamActor) subscribe(ctx actor.Context, m *Subscribe) {
	reply := &Subscribed{Stream: ctx.Self()}
	if m.PID == nil {
		reply.Err = errors.New("streams: Subscribe needs the subscriber's PID (local readers use Stream.Subscribe)")
	} else {
		reply.Window, reply.Buffer = m.Window, m.Buffer
		if reply.Window <= 0 {
			reply.Window = a.s.cfg.Window
		}
		if reply.Buffer <= 0 {
			reply.Buffer = a.s.cfg.Buffer
		}
		if a.s.subscribePID(m, reply) {
			ctx.Watch(m.PID)
		}
	}
	if ctx.Sender() != nil {
		ctx.Respond(reply)
	}
}

// subscribePID adds a subscriber actor and fills in reply; it reports
// whether the stream must watch the actor.
func (s *Stream) subscribePID(m *Subscribe, reply *Subscribed) (watch bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.st.byPID[pidKey(m.PID)]; old != nil {
		reply.ID = old.id
		reply.Err = fmt.Errorf("streams: %s is already subscribed to stream %q as subscriber %d", m.PID, s.topic, old.id)
		return false
	}
	if s.closed {
		reply.Ended = true
		s.st.root.Send(m.PID, &Delivery{Stream: s.topic, End: true,
			Reason: endReason(s.topic, "was closed before the subscription").Error()})
		return false
	}
	sb := s.addLocked(m.Filter, m.Buffer, reply.Window)
	sb.pid = m.PID
	s.st.byPID[pidKey(m.PID)] = sb
	reply.ID, reply.After = sb.id, sb.joinedAt
	return true
}

// stopping runs when the actor stops, whether by Close, Poison, Stop or its
// parent stopping: the gate closes, every subscriber still there gets
// everything buffered for it and EndOfStream, pending Flushes are answered,
// and the Publishes this handle sent that are still in the mailbox (which
// protoactor drops once the actor has stopped) are counted as dead letters.
func (s *Stream) stopping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked("stopped")
	// The gate is closed: sent can no longer grow.
	s.st.lost = s.sent.Load() - s.st.received
	s.st.stopped = true
}

// stopChildren is the stream actor's explicit supervisor strategy. It has
// no children; should one ever fail, it is stopped.
type stopChildren struct{}

func (stopChildren) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, _ any, _ any) {
	sup.StopChildren(child)
}

// ParentStrategy is a supervisor strategy for the parent of stream actors:
// a failed stream actor is resumed, and onFailure (if not nil) hears of it.
// Resuming is enough because an incarnation holds no state; a restart would
// lose nothing either, but protoactor revives an actor restarted after it
// stopped, which resuming cannot do. The message being handled when the
// actor failed is lost (protoactor does not retry it; a lost Publish is
// counted as a dead letter), and the stream's mutex is released on the way
// out; the stream's code does not panic on any input, so only a bug (or a
// failing injected Clock) can fail it.
//
// The strategy is a pointer, so it can also serve as a guardian strategy
// (protoactor keys guardians by strategy value).
func ParentStrategy(onFailure func(child *actor.PID, reason any)) actor.SupervisorStrategy {
	return &parentStrategy{onFailure}
}

type parentStrategy struct{ onFailure func(*actor.PID, any) }

func (p *parentStrategy) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, _ any) {
	if p.onFailure != nil {
		p.onFailure(child, reason)
	}
	sup.ResumeChildren(child)
}
