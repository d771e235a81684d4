package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/actorguard"
	"github.com/exo-actors/exo-actors/internal/actorsys"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/lateticks"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Name is the gateway actor's name: a client reaches it at
// actor.NewPID(nodeAddress, Name).
const Name = "gateway"

// callTimeout bounds one call from the gateway into its node.
const callTimeout = 10 * time.Second

// MaxChunkBatch bounds the chunks of one GwTaskEvent: a node sends no
// more, and a client refuses a batch of more before decoding it.
const MaxChunkBatch = 256

// MaxSubscribeBuffer bounds the Buffer a peer may ask for in GwSubscribe:
// the events the node's stream keeps for that subscriber beyond its
// credit. A larger request is refused (ErrInvalidArgument), so a peer that
// never reads cannot make the node hold a stream's whole history.
const MaxSubscribeBuffer = 1 << 20

// DefaultMaxRunners is Config.MaxRunners's default: the live runners a
// node takes from its clients, all kinds together. Each is a process, with
// its pipes and goroutines; without a bound, clients (or the runners a
// killed client left) could spawn until the node's fork or file
// descriptors fail, which shuts the node down (a node-wide fault).
const DefaultMaxRunners = 256

// DefaultMaxBufferedEvents is Config.MaxBufferedEvents's default: as many
// events as the default session and subscription limits (64 × 64) hold at
// the streams' default buffer (1024), so subscriptions of the default
// buffer never meet it; subscriptions of large buffers do. At about 120
// bytes a buffered event (its payload aside) it bounds what subscribers
// that never read make the node hold to about 500 MB; before it, the bound
// was 64 × 64 × MaxSubscribeBuffer events (about 500 GB).
const DefaultMaxBufferedEvents = 64 * 64 * 1024

// MaxSubscribeWindow bounds the Window a peer may ask for in GwSubscribe:
// the events the node hands over unacknowledged. A larger request is
// refused (ErrInvalidArgument).
const MaxSubscribeWindow = 1 << 16

// maxBlast bounds one GwBlast.
const maxBlast = 1_000_000

// maxBlastBytes bounds the bytes of one GwBlast (count × (size + 16), an
// item's framing included); the bench's 100,000 items of 42 bytes take
// 5.7 MiB. A node runs one blast at a time, and its items are in the
// session's window (outGate) like task events, a group at a time
// (blastGroup): the node holds at most the window and one group of them
// unacknowledged, and the slot frees once the last group went through the
// window, so blast after blast on a slow link waits for
// the client's acknowledgements instead of growing the node's send queue.
// (A client without a window, GwHello.acks unset, gets one blast's items
// at a time, each at most this much, unacknowledged.)
const maxBlastBytes = 32 << 20

// blastGroup is how many blast items the window admits at once: the first
// of each group goes through the session's window (outGate) counting for
// the whole group, the others follow it raw. Item by item, the window's
// cost (about 55 ns an item on the bench machine) made the remote_events
// floor slower than raw protoactor remote, which flattered the ratio; per
// group it is paid about as often as the measured path pays it (once per
// delivery of about 200 events). The node then holds at most the window
// plus one group (256 × 528 bytes) of blast items unacknowledged.
const blastGroup = 256

// blastItemOverhead is what one blast item counts in the window beyond its
// data: call ID, sequence number, out_end and framing (as maxBlastBytes).
const blastItemOverhead = 16

// maxBlastSize bounds the bytes of one GwBlastItem. protoactor sends up to
// 1000 queued messages to a peer as one gRPC message, and one above the
// transport's limit (at least 1 MiB: 2 × max_message + 1 MiB) breaks the
// connection: a blast of 64 KiB items went out as 64 MB batches and the
// client lost the node. 1000 items of 512 bytes stay well under 1 MiB.
const maxBlastSize = 512

// tickEvery is how often the gateway looks for silent sessions.
const tickEvery = 250 * time.Millisecond

// Gateway is a running gateway actor and the goroutines it owns: one
// ticker, one forwarder per open task, one per slow call (StopRunner,
// Shutdown, ...: at most Config.MaxCallsPerSession per session, goCall),
// and one per lost client whose tasks it cancels. Close stops them all
// and waits for them.
type Gateway struct {
	// ended says why the sessions that ended last ended, by client key,
	// for a ping that comes after (endedSessions.why): the newest
	// endedKeep. Touched by the gateway actor only; here, not on the
	// actor, so that an actor's restart does not forget it.
	ended endedSessions
	// lifeV is the gateway's lifecycle (a gatewayLife: serving → leaving
	// → closing → stopping, leaving.go); read it with life, change it with to.
	lifeV atomic.Int32
	// admit is held while submit decides to start a task's forwarder
	// (life before closing: fwd.Add) and while Close moves the gateway to
	// closing, so that every fwd.Add happens before Close's fwd.Wait
	// (a WaitGroup's Add from zero concurrent with its Wait is a data race,
	// and can panic "WaitGroup is reused before previous Wait has returned").
	admit sync.Mutex

	cfg    Config
	system *actor.ActorSystem
	pid    *actor.PID
	start  time.Time

	ctx context.Context // ends the goroutines it owns
	// cancel ends ctx, with errGatewayClosing as its cause (Close).
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	// fwd counts the task forwarders (also in wg): Close waits for them
	// before it stops the actor, so each task that ended gets its outcome
	// to its client before the client sees the gateway terminate.
	fwd sync.WaitGroup
	sub *eventstream.Subscription
	// blastSlot (capacity 1, never closed) is held while a GwBlast sends:
	// one at a time per node (maxBlastBytes); another waits for it on its
	// call's goroutine.
	blastSlot chan struct{}

	mu    sync.Mutex
	stats Stats
	// requesters: open sessions that asked for the node's shutdown (under
	// mu, set with stats): Close waits RequesterGrace for goodbyes while
	// there is one, CloseGrace once there is none.
	requesters int
	// changed (under mu) is closed and replaced whenever the number of
	// sessions or of requesters changes: WaitIdle and Close's wait for
	// goodbyes, any number at once, take it with the counts and wait on it.
	changed chan struct{}

	closeOnce sync.Once
	closed    chan struct{} // closed when Close has ended (sole sender: Close, in closeOnce)
	// skip is closed by SkipGoodbyes (sole sender: skipOnce): Close no
	// longer waits for its clients' goodbyes.
	skipOnce sync.Once
	skip     chan struct{}

	// unregisterMetrics removes the gateway's collector (metrics.go) from
	// its node's registry: at the end of Close.
	unregisterMetrics func()
}

// Stats are the gateway's live counts.
type Stats struct {
	Sessions, Subscriptions, OpenTasks int
	// SessionsBye and SessionsLost count the sessions that ended, by why:
	// a goodbye (or the gateway's stop), or the client's loss. A session
	// replaced by its own client's hello again is in neither: the client
	// goes on (its hello is said again when no welcome came in time).
	SessionsBye, SessionsLost int
	// SpawnsUnconfirmed counts the runners spawned for a client that was
	// lost after the node acknowledged its spawn but before the client
	// confirmed the ID reached its caller (spawnsettle.go): kept, and named
	// in a warning, since the node cannot tell whether anyone holds the ID.
	SpawnsUnconfirmed int
}

// Start spawns the gateway actor in the node's actor system (whose remote,
// if any, must already be started so the gateway's PID carries the node's
// address), and adds its counts to the node's metrics (exo_gateway_*,
// Node.RegisterMetrics). Close it: Close removes them again, and until
// then a second Start on the same node is refused (one gateway per node).
func Start(cfg Config) (*Gateway, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Gateway{cfg: cfg, system: cfg.Node.System(), start: time.Now(), changed: make(chan struct{}), closed: make(chan struct{}), skip: make(chan struct{}),
		blastSlot: make(chan struct{}, 1)}
	g.ctx, g.cancel = context.WithCancelCause(context.Background())
	props := actor.PropsFromProducer(func() actor.Actor {
		return &gatewayActor{g: g, sessions: map[string]*session{}, children: map[string]childRef{}, lostHanding: map[string]map[uint64]lostHand{},
			shutdownCalls: map[string]int{}, notesOwed: map[string]*exov1.GwError{}, callsByKey: map[string]int{}}
	}, actor.WithSupervisor(actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })))
	unreg, err := cfg.Node.RegisterMetrics(newCollector(g))
	if err != nil {
		g.cancel(errGatewayClosing)
		return nil, fmt.Errorf("gateway: %w (is another gateway running on this node?)", err)
	}
	g.unregisterMetrics = unreg
	pid, err := g.system.Root.SpawnNamed(props, Name)
	if err != nil {
		unreg()
		g.cancel(errGatewayClosing)
		return nil, fmt.Errorf("spawn gateway: %w", err)
	}
	g.pid = pid
	// A peer's endpoint going away ends the sessions at that address at
	// once (2-5 ms after a kill -9), before any heartbeat would.
	g.sub = g.system.EventStream.Subscribe(func(ev any) {
		if t, ok := ev.(*remote.EndpointTerminatedEvent); ok {
			g.system.Root.Send(pid, &endpointGone{address: t.Address})
		}
	})
	g.wg.Add(1)
	go g.tick()
	return g, nil
}

// refusesShutdown: this node refuses a remote shutdown, in one go or
// phase by phase (errNoRemoteShutdown).
func (g *Gateway) refusesShutdown() bool { return g.cfg.Shutdown == nil || g.cfg.ShutdownPhase == nil }

// PID returns the gateway actor's PID.
func (g *Gateway) PID() *actor.PID { return g.pid }

// Stats returns the gateway's live counts.
func (g *Gateway) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stats
}

// WaitIdle waits until no client has a session (each said goodbye or was
// lost), or ctx ends. Any number of callers may wait at once.
func (g *Gateway) WaitIdle(ctx context.Context) error {
	for {
		g.mu.Lock()
		sessions, changed := g.stats.Sessions, g.changed
		g.mu.Unlock()
		if sessions == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops the gateway: its actor (every subscription relay with it),
// its ticker and forwarders; it waits for them. The forwarders end first:
// a task that has ended (a node closes its gateway after its shutdown, so
// every task has) gets its outcome to its client even when its forwarder
// was behind (waiting for the client's window), after a Skip of the chunks
// it did not send (forward's lastWord). Then, when the node shut down (or
// is shutting down), each client is told so (GwError, code SHUTTING_DOWN,
// call_id 0, after those outcomes; a client whose GwShutdown or
// GwShutdownPhase is unanswered gets it right after that answer, and
// Close waits for those answers, at most 2 min 10 s: closeNotesWait), and then Close
// waits up to Config.CloseGrace for the clients to say goodbye, or
// Config.RequesterGrace while a client that asked for the shutdown is
// connected (a client that knows the note says it at once): its goodbye
// proves that everything before it arrived, so the transport may close
// then (a node's remote, shut down right after, drops what its
// endpoint writer still holds). Before, Close cut the forwarders off
// first, and such a task's outcome never reached its client, whose handle
// ended "node lost", as did the client, with no word of the shutdown.
//
// From Close on, a GwSubmit is refused (SHUTTING_DOWN; a task the node
// had already accepted for it is cancelled), and so is a GwHello: the
// gateway is closing. Close may be called more than once, also at once:
// the later calls wait for the first.
func (g *Gateway) Close() {
	g.closeOnce.Do(func() {
		defer close(g.closed) // sole sender: the one run of closeOnce
		g.close()
	})
	<-g.closed
}

func (g *Gateway) close() {
	g.system.EventStream.Unsubscribe(g.sub)
	g.admit.Lock()
	g.to(gatewayClosing)
	g.admit.Unlock()
	g.cancel(errGatewayClosing)
	g.fwd.Wait()
	if note := g.shutDownNote(); note != nil && g.Stats().Sessions > 0 {
		g.system.Root.Send(g.pid, &sayShutDown{note: note})
		// A client whose shutdown call has not answered yet gets the note
		// after its report: wait for those calls (Close waits for them
		// below anyway: wg), so that the grace runs from the last note.
		if _, err := g.system.Root.RequestFuture(g.pid, &awaitNotes{}, closeNotesWait).Result(); err != nil {
			g.cfg.Logger.WithError(err).Warn("gateway: closing: a client's shutdown call did not answer in time; its note that the node shut down may not go")
		}
		g.cfg.Logger.WithFields(map[string]any{"sessions": g.Stats().Sessions, "grace": g.cfg.CloseGrace, "requester_grace": g.cfg.RequesterGrace}).
			Info("gateway: closing after the node's shutdown: its clients are told so; waiting for their goodbyes")
		g.waitGoodbyes()
	}
	_ = g.system.Root.StopFuture(g.pid).Wait()
	g.wg.Wait()
	g.unregisterMetrics()
}

// SkipGoodbyes makes a Close under way (or one to come) stop waiting for
// its clients' goodbyes at once: a client that has not said it yet may
// see the node lost instead of shut down, and a requester's shutdown
// report may not arrive. For an operator who will not wait (a signal to
// exo-actors node while it closes). Idempotent.
func (g *Gateway) SkipGoodbyes() {
	g.skipOnce.Do(func() { close(g.skip) }) // sole sender: skipOnce
}

// CloseGrace bounds how long Close waits, after telling its clients that
// the node shut down, for their goodbyes (older clients say none).
const CloseGrace = time.Second

// RequesterGrace is CloseGrace when a client still connected asked for the
// node's shutdown (GwShutdown, GwShutdownPhase): its goodbye proves that
// its shutdown report arrived before the node's transport closes, so it
// gets longer on a loaded machine. A client that says goodbye at once
// (every client of this module) costs nothing of it.
const RequesterGrace = 3 * time.Second

// waitGoodbyes waits until no client has a session: at most
// Config.CloseGrace, or Config.RequesterGrace while a client that asked for
// the node's shutdown is connected (a requester's goodbye shortens the
// wait for the others back to CloseGrace).
func (g *Gateway) waitGoodbyes() {
	start := time.Now()
	t := time.NewTimer(g.cfg.CloseGrace)
	defer t.Stop()
	for {
		g.mu.Lock()
		sessions, requesters, changed := g.stats.Sessions, g.requesters, g.changed
		g.mu.Unlock()
		if sessions == 0 {
			return
		}
		grace := g.cfg.CloseGrace
		if requesters > 0 {
			grace = max(grace, g.cfg.RequesterGrace)
		}
		left := grace - time.Since(start)
		if left <= 0 {
			return
		}
		t.Reset(left)
		select {
		case <-changed:
		case <-t.C:
		case <-g.skip:
			g.cfg.Logger.WithField("sessions", sessions).Warn("gateway: closing without waiting for the clients' goodbyes (SkipGoodbyes)")
			return
		}
	}
}

// closeNotesWait bounds Close's wait for the shutdown calls still running
// when it begins. A shutdown call ends with the node's shutdown (bounded by
// its phase deadlines), which has ended when a host closes the gateway
// after Shutdown returned: then the wait is none.
const closeNotesWait = 2*time.Minute + 10*time.Second

func (g *Gateway) tick() {
	defer g.wg.Done()
	t := time.NewTicker(tickEvery)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
			g.system.Root.Send(g.pid, tickMsg)
		}
	}
}

// sendTo answers a request from a goroutine of goOwned (a nil sender:
// nobody to answer).
func (g *Gateway) sendTo(to *actor.PID, msg proto.Message) {
	if to != nil {
		g.system.Root.Send(to, msg)
	}
}

// goOwned runs f as a goroutine the gateway owns (Close waits for it).
func (g *Gateway) goOwned(f func()) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		f()
	}()
}

// goCall serves a call of session s on a goroutine the gateway owns (a
// call that waits on other actors or runs long: StopRunner, NodeStatus,
// StatusDoc, InjectFault, Blast, Shutdown, ShutdownPhase), so the actor
// goes on answering every session's pings. At most MaxCallsPerSession of
// a session's calls run at once; beyond them the call is refused with
// ErrLimit, so a peer that never waits for its answers cannot grow the
// node's goroutines without bound.
func (a *gatewayActor) goCall(ctx actor.Context, s *session, callID uint64, f func()) bool {
	return a.goCallDone(ctx, s, callID, &callDone{s: s}, f)
}

// goCallDone is goCall with the callDone message to send when f returned.
func (a *gatewayActor) goCallDone(ctx actor.Context, s *session, callID uint64, done *callDone, f func()) bool {
	g := a.g
	if n := a.callsByKey[s.key]; n >= g.cfg.MaxCallsPerSession {
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: %d calls of this client in flight on node %s, its limit; wait for their answers", ErrLimit, n, g.cfg.Name)))
		return false
	}
	if limit := g.cfg.MaxSessions * g.cfg.MaxCallsPerSession; a.calls >= limit {
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: %d calls of all clients in flight on node %s, its limit; wait for their answers", ErrLimit, a.calls, g.cfg.Name)))
		return false
	}
	a.callsByKey[s.key]++
	a.calls++
	g.goOwned(func() {
		defer g.system.Root.Send(g.pid, done)
		f()
	})
	return true
}

// shutdownCallStarted counts a GwShutdown or GwShutdownPhase call that
// goCallDone accepted for session s.
func (a *gatewayActor) shutdownCallStarted(s *session) {
	a.shutdownCalls[s.key]++
	if !s.askedShutdown {
		s.askedShutdown = true
		a.count()
	}
}

// shutdownCallDone: a shutdown call of the client key answered. Its
// answer went out (from the call's goroutine, to the client's endpoint)
// before callDone was sent, so a note held for the client now follows it.
func (a *gatewayActor) shutdownCallDone(ctx actor.Context, key string) {
	if a.shutdownCalls[key]--; a.shutdownCalls[key] > 0 {
		return
	}
	delete(a.shutdownCalls, key)
	note := a.notesOwed[key]
	if note == nil {
		return
	}
	delete(a.notesOwed, key)
	if s := a.sessions[key]; s != nil && s.state == sessionOpen { // else it left: nothing more to it
		ctx.Send(s.pid, note)
	}
	if len(a.notesOwed) == 0 {
		a.answerNoteWaiters(ctx)
	}
}

// answerNoteWaiters answers every awaitNotes waiting.
func (a *gatewayActor) answerNoteWaiters(ctx actor.Context) {
	for _, w := range a.noteWaiters {
		ctx.Send(w, &notesSent{})
	}
	a.noteWaiters = nil
}

// releaseNotes, as the actor stops or restarts (its maps do not survive
// either): the notes still held go to their open sessions now, without
// their reports (those calls' answers may yet come), and Close is
// answered.
func (a *gatewayActor) releaseNotes(ctx actor.Context) {
	for key, note := range a.notesOwed {
		if s := a.sessions[key]; s != nil && s.state == sessionOpen {
			ctx.Send(s.pid, note)
		}
	}
	clear(a.notesOwed)
	a.answerNoteWaiters(ctx)
}

// Internal messages of the gateway actor (local Go structs, never on the
// wire).
type (
	tickT        struct{}
	endpointGone struct{ address string }
	// taskDone: the forwarder of a task of session s stopped. The session
	// itself, not its key: a client actor that says hello again gets a
	// new session under the same key, which this must not touch.
	taskDone struct {
		s      *session
		callID uint64
		// cutOpen: the forwarder was cut off by Close with the task still
		// open on the node; the session keeps it (lease.go cancels it
		// before it stops a leased runner).
		cutOpen bool
	}
	// sayShutDown: Close tells every client that its node shut down.
	sayShutDown struct{ note *exov1.GwError }
	// awaitNotes: Close asks to be answered (notesSent) once every note
	// held for a client's unanswered shutdown call went out.
	awaitNotes struct{}
	// notesSent answers awaitNotes.
	notesSent struct{}
	// callDone: a call served off the actor (goCall) answered; shutdown
	// when it was a GwShutdown.
	callDone struct {
		s        *session
		shutdown bool
	}
)

var tickMsg = &tickT{}

// sessionState is where a client's session is: open until it ends, by a
// goodbye or by the client's loss; an ended session is forgotten at once.
type sessionState int

const (
	sessionOpen  sessionState = iota // GwHello seen; requests served
	sessionEnded                     // GwBye, client lost, or gateway stopping
)

// endKind is why a session ended, as Stats counts it.
type endKind int

const (
	endBye   endKind = iota // a goodbye, or the gateway's own stop: SessionsBye
	endLost                 // the client's loss: SessionsLost; its tasks may be cancelled
	endAgain                // the same client said hello again: not counted, the client goes on
)

// sessionLost ends session s as lost, sent by the gateway to itself
// behind what its client sent before its Terminated.
type sessionLost struct{ s *session }

// session is one client: its actor, its subscriptions and its open tasks.
type session struct {
	key      string
	pid      *actor.PID
	name     string
	state    sessionState
	lastSeen time.Time
	subs     map[uint64]*actor.PID      // relay actors by GwSubscribe call_id
	tasks    map[uint64]actors.TaskSpec // open tasks by GwSubmit call_id
	runners  map[uint64]string          // the runner of each open task
	// askedShutdown: this client sent a GwShutdown or GwShutdownPhase
	// (kept by a hello again): Close then waits RequesterGrace for
	// goodbyes, the proof that its report arrived.
	askedShutdown bool
	// heard: the client sent something since its hello (believeLoss).
	heard bool
	ctx   context.Context // ends the session's forwarders
	// cancel ends ctx with errSessionEnded as its cause (endSession); ctx
	// ended by Close (its parent's end) has errGatewayClosing instead, and
	// forward's lastWord tells them apart.
	cancel context.CancelCauseFunc
	// out bounds the bytes of task events, deliveries and blast items in
	// flight to the client (outgate.go); nil for a client that does not
	// acknowledge.
	out *outGate
	// bounds: the largest message the session may send its client.
	bounds outBounds
	// unsettled: the runners of this session's spawns with settle whose
	// GwSpawnSettle has not come, by GwSpawnRunner call_id; handing: those
	// with hand_off whose learned settle came but whose handed has not.
	// At most Config.MaxUnsettledSpawns together (spawnsettle.go).
	unsettled map[uint64]unsettledSpawn
	handing   map[uint64]string
	// leased: the runners spawned with lease for this session, stopped at
	// its end (lease.go); at most Config.MaxLeasedRunners.
	leased map[string]struct{}
}

// childRef is a relay's subscription: its session (not the key, see
// taskDone) and call_id.
type childRef struct {
	s      *session
	callID uint64
	buffer int // a relay's: its subscription's buffer, in gatewayActor.buffered
}

type gatewayActor struct {
	g        *Gateway
	sessions map[string]*session
	children map[string]childRef // relay actor ID → its subscription
	// buffered: the sum of the open subscriptions' buffers (childRef.buffer),
	// at most Config.MaxBufferedEvents.
	buffered int
	// shutdownCalls: by client key (pidKey, so a hello again during the
	// call keeps it), the GwShutdown and GwShutdownPhase calls not answered
	// yet; an entry goes at 0. While a client has one, the note that the
	// node shut down (sayShutDown) waits in notesOwed under its key, so
	// the client gets its shutdown report first. Both are bounded by the
	// calls in flight (calls, at most MaxSessions × MaxCallsPerSession).
	shutdownCalls map[string]int
	notesOwed     map[string]*exov1.GwError
	// noteWaiters are Close's awaitNotes requests, answered (notesSent)
	// once notesOwed is empty, or when the actor stops or restarts (Close
	// runs once: at most one).
	noteWaiters []*actor.PID
	// callsByKey: by client key, the calls served off the actor (goCall)
	// not answered yet, across the key's sessions (a hello again does not
	// reset it); calls: all of them, at most MaxSessions ×
	// MaxCallsPerSession. Entries go at 0.
	callsByKey map[string]int
	calls      int
	// ticks judges whether a tick came too late to expire sessions by:
	// then the node did not run on time (a starved machine), and the
	// clients' pings may still wait unread behind the tick; "sent no
	// heartbeat for 2.3s" would measure the node's own stall and drop
	// live clients. A late tick expires nothing (internal/lateticks).
	ticks lateticks.Judge
	// lostHanding: by client key, the handing spawns of sessions ended as
	// lost, kept for HandGrace in case the client's handed note is still
	// on its way (spawnsettle.go); restarting: set while a restart ends
	// the sessions (their clients live on: handing spawns are kept).
	lostHanding map[string]map[uint64]lostHand
	restarting  bool
}

func pidKey(p *actor.PID) string { return p.Address + "/" + p.Id }

// sessionsFrom counts the sessions whose client actors live at address
// (one client process).
func (a *gatewayActor) sessionsFrom(address string) int {
	n := 0
	for _, s := range a.sessions {
		if s.pid.Address == address {
			n++
		}
	}
	return n
}

// Receive implements actor.Actor.
func (a *gatewayActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started, *actor.Stopped:
	case *actor.Restarting:
		// A panic in a handler (a bug): protoactor restarts a root actor
		// with a fresh gatewayActor, so the sessions and the held notes of
		// this one end here, counted, rather than linger as phantoms.
		actorguard.Run(a.g.cfg.Logger, "gateway", m, func() {
			a.releaseNotes(ctx)
			a.restarting = true
			for _, s := range a.sessions {
				a.endSession(ctx, s, "the gateway restarted after a failure", endLost)
			}
			a.nameLostHanding(true) // the fresh actor would not know them
			a.count()
		})
	case *actor.Stopping:
		actorguard.Run(a.g.cfg.Logger, "gateway", m, func() {
			a.releaseNotes(ctx)
			a.g.to(gatewayStopping) // the sessions ended now keep their clients' watches
			for _, s := range a.sessions {
				a.endSession(ctx, s, "the gateway stopped", endBye)
			}
			a.nameLostHanding(true) // no tick will come
		})
	case *tickT:
		if a.ticks.Late(time.Now(), tickEvery) {
			return
		}
		a.expire(ctx)
		a.nameLostHanding(false)
	case *endpointGone:
		for _, s := range a.sessions {
			if s.pid.Address == m.address && a.believeLoss(s, "its endpoint terminated") {
				a.endSession(ctx, s, "the client's endpoint "+m.address+" terminated", endLost)
			}
		}
	case *sayShutDown:
		for _, s := range a.sessions {
			if a.shutdownCalls[s.key] > 0 { // its shutdown report first (callDone)
				a.notesOwed[s.key] = m.note
				continue
			}
			ctx.Send(s.pid, m.note) // after every forwarder's last word (Close)
		}
	case *awaitNotes:
		if len(a.notesOwed) == 0 {
			ctx.Respond(&notesSent{})
			return
		}
		a.noteWaiters = append(a.noteWaiters, ctx.Sender())
	case *callDone:
		if a.calls > 0 { // else a call of the incarnation before a restart
			a.calls--
		}
		if a.callsByKey[m.s.key]--; a.callsByKey[m.s.key] <= 0 {
			delete(a.callsByKey, m.s.key)
		}
		if m.shutdown {
			a.shutdownCallDone(ctx, m.s.key)
		}
	case *taskDone:
		if m.cutOpen {
			// Close cut its forwarder off while it ran: the session,
			// which ends within Close, still has it open (lease.go).
			return
		}
		delete(m.s.tasks, m.callID)
		delete(m.s.runners, m.callID)
		a.count()
	case *actor.Terminated:
		if ref, ok := a.children[m.Who.Id]; ok {
			delete(a.children, m.Who.Id)
			delete(ref.s.subs, ref.callID)
			a.buffered -= ref.buffer
			a.count()
			return
		}
		// Only protoactor's AddressTerminated may be older than the
		// session (a writer's failed connect to the address); Stopped or
		// NotFound comes from the client's own endpoint: believed.
		if s := a.sessions[pidKey(m.Who)]; s != nil && (m.Why != actor.TerminatedReason_AddressTerminated || a.believeLoss(s, "its session actor terminated")) {
			if len(s.handing) > 0 {
				// A Terminated is a system message: it overtakes the
				// client's messages still queued here, the handed settle
				// it sent before it ended among them, and the node would
				// name a runner whose ID its caller got as possibly known
				// to nobody. Ended behind them instead (spawnsettle.go).
				ctx.Send(ctx.Self(), &sessionLost{s: s})
				return
			}
			a.endSession(ctx, s, "the client's session actor terminated", endLost)
		}
	case *sessionLost:
		if a.sessions[m.s.key] == m.s {
			a.endSession(ctx, m.s, "the client's session actor terminated", endLost)
		}
	case *exov1.GwHello:
		if a.oversized(ctx, m.GetCallId(), m) { // a client name of megabytes, held by its session
			return
		}
		a.hello(ctx, m)
	case *exov1.GwPing:
		s := a.session(ctx)
		if s == nil && ctx.Sender() == nil {
			return // nobody to answer (a review: this crashed the actor, and every session ended)
		}
		if s == nil {
			// The session was dropped (it sent nothing for SessionTimeout,
			// or its client said hello elsewhere): a pong would tell the
			// client all is well, and it would wait for its tasks and
			// streams for ever. Say so instead; the client then ends as
			// lost (found by exo-actors chaos, seed 22).
			a.reply(ctx, errMsg(0, fmt.Errorf("%w: this client's session was dropped (%s); dial again",
				ErrNoSession, a.g.ended.why(pidKey(ctx.Sender())))))
			return
		}
		s.lastSeen = time.Now()
		a.reply(ctx, &exov1.GwPong{Seq: m.GetSeq()})
	case *exov1.GwBye:
		if s := a.session(ctx); s != nil {
			a.endSession(ctx, s, "the client said goodbye", endBye)
		}
		if m.GetCallId() != 0 {
			a.reply(ctx, &exov1.GwByeAck{CallId: m.GetCallId()}) // also without a session: the goodbye is done
		}
	case *exov1.GwSpawnSettle:
		a.settle(ctx, m) // spawnsettle.go
	case *exov1.GwAck:
		if s := a.session(ctx); s != nil && s.out != nil {
			s.lastSeen = time.Now()
			s.out.ack(m.GetThrough())
		}
	default:
		a.request(ctx, m)
	}
}

// RequestSlack is what a request may carry beyond max_message: a task's
// payload and params count against max_message (a submit's own check), its
// IDs, kind, filters and framing do not. The client checks every request
// against max_message + RequestSlack before it sends it; the gateway
// refuses a larger one (oversized) from a peer that did not.
const RequestSlack = 64 << 10

// oversized refuses (ErrMessageTooLarge, to a call) a request larger than
// MaxMessage + RequestSlack and reports whether it did: a peer that is not
// our client could send a subscribe whose filter strings, or a spawn whose
// IDs, run to the transport's limit (2 × max_message + 1 MiB), and the
// session would hold them (a fuzz test's finding beside docs/remote.md's
// promise that no request larger than max_message is taken).
func (a *gatewayActor) oversized(ctx actor.Context, callID uint64, m proto.Message) bool {
	limit := a.g.cfg.MaxMessage + RequestSlack
	size := proto.Size(m)
	if size <= limit {
		return false
	}
	a.reply(ctx, errMsg(callID, fmt.Errorf("%w: %s is %d bytes, more than the %d a request may take on node %s (max_message %d, and %d for IDs and framing)",
		ErrMessageTooLarge, proto.MessageName(m).Name(), size, limit, a.g.cfg.Name, a.g.cfg.MaxMessage, RequestSlack)))
	return true
}

func (a *gatewayActor) reply(ctx actor.Context, msg proto.Message) {
	if ctx.Sender() != nil {
		ctx.Send(ctx.Sender(), msg)
	}
}

// session returns the sender's session, if it has one, which has then
// been heard from since its hello.
func (a *gatewayActor) session(ctx actor.Context) *session {
	if ctx.Sender() == nil {
		return nil
	}
	s := a.sessions[pidKey(ctx.Sender())]
	if s != nil {
		s.heard = true
	}
	return s
}

// believeLoss says whether news of a client's loss (its endpoint
// terminated, or the Terminated of its actor) ends its session now. It
// does once the client was heard from since its hello. Before that the
// news may be older than the session: a client started on the address of
// one that died finds the node's endpoint writer for that address still
// failing its connect to the dead one; the writer drops the welcome and
// the watch, then (2 s later) terminates the endpoint, and that news,
// coming after the new client's hello, would end the new session (or,
// on a stalled machine, the one its hello again opened) while the client
// lives. A session not heard from holds nothing (no task, no
// subscription: each needs a request) and ends by its SessionTimeout, or
// by its client's hello again.
func (a *gatewayActor) believeLoss(s *session, news string) bool {
	if s.heard {
		return true
	}
	a.g.cfg.Logger.WithFields(map[string]any{"client": s.name, "address": s.pid.Address}).
		Debug("gateway: session kept: " + news + " before the client said anything since its hello (its session_timeout decides)")
	return false
}

func (a *gatewayActor) hello(ctx actor.Context, m *exov1.GwHello) {
	g := a.g
	from := ctx.Sender()
	if from == nil {
		return
	}
	if g.life() >= gatewayClosing {
		// No session opens once Close began: it would miss the note that
		// the node shut down and keep Close waiting for its goodbye. A
		// client's session already open (a hello again) stays as it is.
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: node %s closes its gateway: no new session", actors.ErrShuttingDown, g.cfg.Name)))
		return
	}
	key := pidKey(from)
	asked := false
	leased := map[string]struct{}{}
	if old := a.sessions[key]; old != nil {
		asked, leased = old.askedShutdown, old.leased // the client goes on: its leases too (lease.go)
		a.endSession(ctx, old, "the client said hello again", endAgain)
	}
	// The client actor watches the gateway: give back a watch an earlier
	// session's end dropped (a hello again, or a hello after that session
	// expired: a client whose welcome was lost). System messages are
	// handled in order, this one after endSession's Unwatch; watchers are
	// a set, so a first hello's is harmless.
	if len(a.sessions) >= g.cfg.MaxSessions {
		// Refused: drop the watch its client actor made at its start, or
		// every refused client (it closes, or its process exits) would stay
		// among the gateway's watchers until the node stops.
		actorsys.SelfSystem(ctx, &actor.Unwatch{Watcher: from})
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: %d sessions, the node's limit", ErrLimit, g.cfg.MaxSessions)))
		return
	}
	actorsys.SelfSystem(ctx, &actor.Watch{Watcher: from})
	sctx, cancel := context.WithCancelCause(g.ctx)
	s := &session{key: key, pid: from, name: m.GetClientName(), lastSeen: time.Now(),
		subs: map[uint64]*actor.PID{}, tasks: map[uint64]actors.TaskSpec{}, runners: map[uint64]string{},
		unsettled: map[uint64]unsettledSpawn{}, handing: map[uint64]string{}, leased: leased, ctx: sctx, cancel: cancel, askedShutdown: asked}
	var window int64
	if m.GetAcks() {
		w := windowWithin(g.cfg.OutWindow, GRPCLimit(g.cfg.MaxMessage), int(m.GetMaxReceive()))
		s.out, window = newOutGate(g.system, w), int64(w)
	}
	s.bounds = boundsFor(int(window), GRPCLimit(g.cfg.MaxMessage), int(m.GetMaxReceive()), g.cfg.Node.MaxFrameSize())
	a.sessions[key] = s
	g.cfg.Node.ClientArrived(from) // this client actor again after its goodbye
	ctx.Watch(from)
	a.count()
	g.cfg.Logger.WithFields(map[string]any{"client": s.name, "address": from.Address}).Info("gateway: session opened")
	if n := a.sessionsFrom(from.Address); n > 1 {
		// One connection per client process: the sessions' windows and
		// answers share its gRPC batches (docs/remote.md, "Several
		// Clients of one process").
		g.cfg.Logger.WithFields(map[string]any{"client": s.name, "address": from.Address, "sessions": n}).
			Warn("gateway: one client process has several sessions with this node; they share one connection, where their windows add up: keep one Client per node in a process, or raise max_message on both sides")
	}
	a.reply(ctx, &exov1.GwWelcome{CallId: m.GetCallId(), NodeName: g.cfg.Name, Kinds: g.cfg.KindNames(),
		Version: g.cfg.Version, MaxMessage: int64(g.cfg.MaxMessage), OutWindow: window, SpawnSettle: true, SpawnHandOff: true, RunnerLease: true})
}

// expire ends the sessions that sent nothing for SessionTimeout: a client
// that froze (SIGSTOP) or whose network path died without a reset.
func (a *gatewayActor) expire(ctx actor.Context) {
	now := time.Now()
	for _, s := range a.sessions {
		if idle := now.Sub(s.lastSeen); idle > a.g.cfg.SessionTimeout {
			why := fmt.Sprintf("the client sent no heartbeat for %s", idle.Round(time.Millisecond))
			if !s.heard {
				// A client that died right after its hello, or a live one
				// whose welcome was lost (believeLoss): that one says
				// hello again and gets a new session.
				why = fmt.Sprintf("the client said nothing for %s after its hello (if it lives, its welcome was lost and it says hello again)", idle.Round(time.Millisecond))
			}
			a.endSession(ctx, s, why, endLost)
		}
	}
}

// endSession ends a session: its subscriptions end, its forwarders stop,
// and if lost (not a goodbye) and the node is so configured, its open
// tasks are cancelled.
func (a *gatewayActor) endSession(ctx actor.Context, s *session, why string, kind endKind) {
	lost := kind == endLost
	if s.state == sessionEnded {
		return
	}
	s.state = sessionEnded
	delete(a.sessions, s.key)
	a.g.ended.add(s.key, why)
	ctx.Unwatch(s.pid)
	if a.g.life() != gatewayStopping {
		// The client's actor watches the gateway, to learn of its end;
		// a client that dies never unwatches, and protoactor keeps an
		// actor's watchers until it stops. A gateway would hold every
		// client it ever had, and at its stop send each a Terminated: to
		// a dead client process a connection attempt (a node that had
		// served 400 short sessions made 689 at shutdown). The session's
		// end drops its client's watch.
		actorsys.SelfSystem(ctx, &actor.Unwatch{Watcher: s.pid})
	}
	for _, child := range s.subs {
		ctx.Stop(child)
	}
	s.cancel(errSessionEnded)
	if s.out != nil {
		s.out.close()
	}
	// The tasks of s another client also submitted (lease.go), once for
	// both the leased runners' stops and cancel_tasks_on_client_loss; only
	// a loss cancels anything for s alone (during Close nobody reads them).
	var shared map[taskRef]bool
	if lost {
		shared = a.sharedTasks(s)
	}
	a.stopLeasedOf(s, kind, shared)           // lease.go
	a.stopUnsettledOf(s, a.handingFate(kind)) // spawnsettle.go
	g := a.g
	if lost && g.cfg.CancelTasksOnClientLoss && len(s.tasks) > 0 {
		open := make([]taskRef, 0, len(s.tasks))
		for id, t := range s.tasks {
			if r := (taskRef{s.runners[id], t.ID}); !shared[r] {
				open = append(open, r)
			}
		}
		g.goOwned(func() {
			for _, r := range open {
				cctx, cancel := context.WithTimeout(g.ctx, callTimeout)
				_, _ = g.cfg.Node.Cancel(cctx, r.runner, r.task)
				cancel()
			}
		})
	}
	if kind != endAgain {
		// Late replies and events to it are expected now, after a goodbye
		// and after a loss alike (a node resumed from a freeze answered
		// its dead client's queued pings with "no session", and warned
		// send_to_stopped for each answer): the node logs them at debug.
		// A lost client that lives says hello again (ClientArrived).
		g.cfg.Node.ClientDeparted(s.pid)
	}
	g.mu.Lock()
	switch kind {
	case endLost:
		g.stats.SessionsLost++
	case endBye:
		g.stats.SessionsBye++
	}
	g.mu.Unlock()
	a.count()
	g.cfg.Logger.WithFields(map[string]any{"client": s.name, "address": s.pid.Address, "subscriptions": len(s.subs),
		"open_tasks": len(s.tasks), "lost": lost}).Info("gateway: session ended: " + why)
}

func (a *gatewayActor) count() {
	st := Stats{Sessions: len(a.sessions)}
	requesters := 0
	for _, s := range a.sessions {
		st.Subscriptions += len(s.subs)
		st.OpenTasks += len(s.tasks)
		if s.askedShutdown {
			requesters++
		}
	}
	a.g.mu.Lock()
	defer a.g.mu.Unlock()
	st.SessionsBye, st.SessionsLost = a.g.stats.SessionsBye, a.g.stats.SessionsLost
	st.SpawnsUnconfirmed = a.g.stats.SpawnsUnconfirmed
	if st.Sessions != a.g.stats.Sessions || requesters != a.g.requesters {
		close(a.g.changed) // sole sender: count, under g.mu, which replaces it at once
		a.g.changed = make(chan struct{})
	}
	a.g.stats = st
	a.g.requesters = requesters
}

// callIDOf returns the call_id of a request, and false for a message that
// is not a gateway request.
func callIDOf(m any) (uint64, bool) {
	type caller interface{ GetCallId() uint64 }
	switch m.(type) {
	case *exov1.GwSpawnRunner, *exov1.GwStopRunner, *exov1.GwListRunners, *exov1.GwSubmit, *exov1.GwCancel,
		*exov1.GwSubscribe, *exov1.GwCredit, *exov1.GwUnsubscribe, *exov1.GwNodeStatus, *exov1.GwShutdown,
		*exov1.GwEcho, *exov1.GwBlast, *exov1.GwStatusDoc, *exov1.GwInjectFault,
		*exov1.GwShutdownPhase:
		return m.(caller).GetCallId(), true
	}
	return 0, false
}

// request serves every call that needs a session.
func (a *gatewayActor) request(ctx actor.Context, msg any) {
	callID, ok := callIDOf(msg)
	if !ok {
		if _, isProto := msg.(proto.Message); isProto && ctx.Sender() != nil {
			a.reply(ctx, errMsg(0, fmt.Errorf("%w: gateway %s got a %s; send one of the Gw… requests of exoactors.v1",
				ErrUnsupported, a.g.cfg.Name, proto.MessageName(msg.(proto.Message)))))
		}
		return
	}
	if a.oversized(ctx, callID, msg.(proto.Message)) {
		return
	}
	s := a.session(ctx)
	if s == nil {
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: send GwHello first (or reconnect: the session was dropped)", ErrNoSession)))
		return
	}
	s.lastSeen = time.Now()
	g := a.g
	cctx, cancel := context.WithTimeout(g.ctx, callTimeout)
	defer cancel()
	switch m := msg.(type) {
	case *exov1.GwSpawnRunner:
		a.spawn(ctx, cctx, s, m)
	case *exov1.GwListRunners:
		infos, err := g.cfg.Node.Runners(cctx)
		if err != nil {
			a.reply(ctx, errMsg(callID, err))
			return
		}
		out := &exov1.GwRunnerList{CallId: callID}
		for _, ri := range infos {
			out.Runners = append(out.Runners, runnerInfo(ri))
		}
		if err := fitRunnerList(out, s.bounds.reply); err != nil {
			a.reply(ctx, errMsg(callID, err))
			return
		}
		a.reply(ctx, out)
	case *exov1.GwStopRunner:
		to := ctx.Sender()
		accepted := a.goCall(ctx, s, callID, func() {
			sctx, cancel := context.WithTimeout(g.ctx, time.Minute)
			defer cancel()
			res, err := g.cfg.Node.StopRunner(sctx, m.GetRunnerId())
			if err != nil {
				g.system.Root.Send(to, errMsg(callID, err))
				return
			}
			g.system.Root.Send(to, stopReply(callID, res))
		})
		if accepted {
			// Once the stop is under way (a refused call, too many in
			// flight, stops nothing). A stop that then fails or times out
			// on the node goes on there.
			a.stoppedByAClient(m.GetRunnerId())
		}
	case *exov1.GwSubmit:
		a.submit(ctx, cctx, s, m)
	case *exov1.GwCancel:
		n, err := g.cfg.Node.Cancel(cctx, m.GetRunnerId(), m.GetTaskId())
		if err != nil {
			a.reply(ctx, errMsg(callID, err))
			return
		}
		a.reply(ctx, &exov1.GwCancelled{CallId: callID, Count: int32(n)})
	case *exov1.GwSubscribe:
		a.subscribe(ctx, s, m)
	case *exov1.GwCredit:
		if child := s.subs[callID]; child != nil && m.GetN() > 0 {
			ctx.Send(child, &grant{n: int(m.GetN())})
		}
	case *exov1.GwUnsubscribe:
		if child := s.subs[callID]; child != nil {
			ctx.Stop(child)
			// Its buffer is free for the client's next subscription at
			// once, not only at the relay's Terminated.
			if ref, ok := a.children[child.Id]; ok {
				a.buffered -= ref.buffer
				ref.buffer = 0
				a.children[child.Id] = ref
			}
		}
	case *exov1.GwNodeStatus:
		// Off the actor: the health read and the status document are
		// queries of other actors, and this actor answers every session's
		// pings; a slow answer here must not look like a lost node.
		// Shutting down from SIGNALING on, not only once done: a
		// ClusterClient asks a member that left the view whether it
		// drains (runtime/cluster_leave.go).
		st, shutting, to := g.Stats(), g.life() != gatewayServing || g.cfg.Node.ShuttingDown(), ctx.Sender()
		if m.GetShuttingOnly() {
			// Known at once: answered here, without the runner and health
			// queries a loaded node may be slow to answer.
			a.reply(ctx, &exov1.GwNodeStatusReply{CallId: callID, NodeName: g.cfg.Name, Kinds: g.cfg.KindNames(), ShuttingDown: shutting,
				RefusesShutdown: g.refusesShutdown()})
			return
		}
		a.goCall(ctx, s, callID, func() {
			sctx, cancel := context.WithTimeout(g.ctx, callTimeout)
			defer cancel()
			infos, _ := g.cfg.Node.Runners(sctx)
			rep := &exov1.GwNodeStatusReply{CallId: callID, NodeName: g.cfg.Name, Kinds: g.cfg.KindNames(),
				Runners: int32(len(infos)), Sessions: int32(st.Sessions), Subscriptions: int32(st.Subscriptions),
				OpenTasks: int32(st.OpenTasks), Uptime: durationpb.New(time.Since(g.start)), ShuttingDown: shutting,
				KindRoom: g.kindRoom(infos), HeapAllocBytes: heapBytes(), Goroutines: uint32(goruntime.NumGoroutine()),
				RefusesShutdown: g.refusesShutdown(), SpawnsUnconfirmed: uint32(st.SpawnsUnconfirmed)}
			// An error: the monitor is disabled; no check yet: nothing known.
			if hr, err := g.cfg.Node.Health(sctx); err == nil && hr.Checks > 0 {
				rep.HealthScore, rep.HealthKnown = hr.Node.Value, true
			}
			g.sendTo(to, rep)
		})
	case *exov1.GwStatusDoc:
		to, replyMax := ctx.Sender(), s.bounds.reply
		a.goCall(ctx, s, callID, func() {
			sctx, cancel := context.WithTimeout(g.ctx, callTimeout)
			defer cancel()
			doc, err := httpapi.BuildStatus(sctx, g.cfg.Node)
			if err != nil {
				g.sendTo(to, errMsg(callID, err))
				return
			}
			b, err := statusJSON(doc, replyMax)
			if err != nil {
				g.sendTo(to, errMsg(callID, err))
				return
			}
			g.sendTo(to, &exov1.GwStatusDocReply{CallId: callID, Json: b})
		})
	case *exov1.GwInjectFault:
		if g.cfg.InjectFault == nil {
			a.reply(ctx, errMsg(callID, &quietError{sentinel: ErrUnsupported, msg: "this node does not allow fault injection: start it with --allow-faults (ServeConfig.InjectFault in Go)"}))
			return
		}
		to := ctx.Sender()
		a.goCall(ctx, s, callID, func() {
			fctx, cancel := context.WithTimeout(g.ctx, callTimeout)
			defer cancel()
			res, err := g.cfg.InjectFault(fctx, m.GetRunnerId(), m.GetGeneration(), m.GetKind())
			if err != nil {
				g.system.Root.Send(to, errMsg(callID, err))
				return
			}
			g.cfg.Logger.WithFields(map[string]any{"runner": m.GetRunnerId(), "fault": m.GetKind(), "generation": m.GetGeneration()}).Warn("gateway: fault injected at a client's request: " + res)
			g.system.Root.Send(to, &exov1.GwFaultInjected{CallId: callID, Result: res})
		})
	case *exov1.GwEcho:
		a.reply(ctx, &exov1.GwEchoed{CallId: callID})
	case *exov1.GwBlast:
		n, size := int(m.GetCount()), int(m.GetSize())
		if n < 0 || n > maxBlast || size < 0 || size > maxBlastSize || n*(size+16) > maxBlastBytes {
			a.reply(ctx, errMsg(callID, fmt.Errorf("%w: blast of %d messages of %d bytes: want at most %d of at most %d, %d MiB in all (count × (size + 16))",
				ErrInvalidArgument, n, size, maxBlast, maxBlastSize, maxBlastBytes>>20)))
			return
		}
		to, sctx, out := ctx.Sender(), s.ctx, s.out
		a.goCall(ctx, s, callID, func() {
			// One blast at a time: wait for the one sending (a refusal
			// would give the client nothing to act on: it cannot see
			// when that one ended). A waiter holds one of its session's
			// calls, so they are bounded too.
			select {
			case g.blastSlot <- struct{}{}:
			case <-sctx.Done():
				return
			}
			defer func() { <-g.blastSlot }()
			data := make([]byte, size)
			root := g.system.Root
			for i := range n {
				item := &exov1.GwBlastItem{CallId: callID, Seq: uint64(i + 1), Data: data}
				if out != nil && i%blastGroup == 0 {
					// The group's first item goes through the window for
					// the whole group; the rest follow it raw, so the
					// floor pays the window once per group, as the
					// measured path pays it once per delivery.
					rest := uint64(min(blastGroup, n-i) - 1)
					if out.sendFor(sctx, to, item, rest*uint64(size+blastItemOverhead)) != nil {
						return // the session ended
					}
					continue
				}
				if sctx.Err() != nil { // a client without a window: maxBlastBytes alone bounds it
					return
				}
				root.Send(to, item)
			}
			root.Send(to, &exov1.GwBlastDone{CallId: callID, Count: int32(n)})
		})
	case *exov1.GwShutdownPhase:
		a.shutdownPhase(ctx, s, m) // shutdown_phase.go
	case *exov1.GwShutdown:
		if g.cfg.Shutdown == nil {
			a.reply(ctx, errMsg(callID, errNoRemoteShutdown()))
			return
		}
		to, replyMax := ctx.Sender(), s.bounds.reply
		if !a.goCallDone(ctx, s, callID, &callDone{s: s, shutdown: true}, func() {
			// No bound of its own: the node's phase deadlines bound its
			// shutdown. A shorter one (it was 2 minutes) would cut the
			// phases of a node configured for longer (Shutdown fits its
			// phases into its context).
			text, rep, err := g.cfg.Shutdown(context.Background())
			if err != nil {
				g.system.Root.Send(to, errMsg(callID, err))
				return
			}
			out := &exov1.GwShutdownReport{CallId: callID, Report: text, Total: durationpb.New(rep.Total), Forced: rep.Forced,
				Node: ShutdownReportToProto(rep)}
			if err := fitShutdownReport(out, out.Node, &out.Report, replyMax); err != nil {
				g.system.Root.Send(to, errMsg(callID, err))
				return
			}
			g.system.Root.Send(to, out)
		}) {
			return
		}
		a.shutdownCallStarted(s)
	}
}

func (a *gatewayActor) spawn(ctx actor.Context, cctx context.Context, s *session, m *exov1.GwSpawnRunner) {
	g := a.g
	if a.refuseUnsettled(ctx, s, m) || !a.admitLease(ctx, cctx, s, m) {
		return
	}
	k, ok := g.cfg.Kinds[m.GetKind()]
	if !ok {
		have := "none"
		if names := g.cfg.KindNames(); len(names) > 0 {
			have = strings.Join(names, ", ")
		}
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w %q: node %s runs only the kinds of its config: %s", ErrUnknownKind, m.GetKind(), g.cfg.Name, have)))
		return
	}
	if k.MaxRunners > 0 || g.cfg.MaxRunners > 0 {
		infos, err := g.cfg.Node.Runners(cctx)
		if err != nil {
			a.reply(ctx, errMsg(m.GetCallId(), err))
			return
		}
		live, all := 0, 0
		for _, ri := range infos {
			if terminal(ri.Status) {
				continue
			}
			all++
			if ri.Kind == m.GetKind() {
				live++
			}
		}
		if g.cfg.MaxRunners > 0 && all >= g.cfg.MaxRunners {
			a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: node %s has %s, its max_runners (all kinds); stop one first (exo-actors remote status --node %s lists them, exo-actors remote stop --node %s RUNNER_ID stops one), or raise max_runners in the node config (-1: no bound)",
				ErrLimit, g.cfg.Name, liveRunners(all), g.system.Address(), g.system.Address())))
			return
		}
		if k.MaxRunners > 0 && live >= k.MaxRunners {
			a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: kind %q has %s, its max_runners; stop one first (runners a killed client left: exo-actors remote stop --node %s --kind %s), or raise kinds.%s.max_runners", ErrLimit, m.GetKind(), liveRunners(live), g.system.Address(), m.GetKind(), m.GetKind())))
			return
		}
	}
	id, err := g.cfg.Node.SpawnRunner(cctx, k.Spec)
	if err != nil {
		a.reply(ctx, errMsg(m.GetCallId(), err))
		return
	}
	if m.GetSettle() {
		s.unsettled[m.GetCallId()] = unsettledSpawn{id: id, handOff: m.GetHandOff()} // until its GwSpawnSettle (spawnsettle.go)
	}
	if m.GetLease() {
		s.leased[id] = struct{}{} // until the session's end or a client's stop of the runner (lease.go)
	}
	a.reply(ctx, &exov1.GwRunnerSpawned{CallId: m.GetCallId(), RunnerId: id})
}

func terminal(st *exov1.RunnerStatus) bool {
	switch st.GetKind() {
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN:
		return true
	}
	return false
}

func (a *gatewayActor) submit(ctx actor.Context, cctx context.Context, s *session, m *exov1.GwSubmit) {
	g := a.g
	callID := m.GetCallId()
	size := len(m.GetPayload())
	for k, v := range m.GetParams() {
		size += len(k) + len(v)
	}
	if size > g.cfg.MaxMessage {
		g.cfg.Node.RejectedSubmit(actors.RejectInvalidTask) // exo_tasks_rejected_total, as Node.Submit counts its own
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: task %q carries %d bytes, node %s accepts at most %d", ErrMessageTooLarge, m.GetTaskId(), size, g.cfg.Name, g.cfg.MaxMessage)))
		return
	}
	if g.life() >= gatewayClosing {
		// Refused before it reaches the node (it was submitted, then
		// cancelled, below) and before the session's bound, which tasks
		// Close cut off still count against (taskDone.cutOpen).
		g.cfg.Node.RejectedSubmit(actors.RejectShuttingDown)
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: node %s closes its gateway; task %q was not submitted", actors.ErrShuttingDown, g.cfg.Name, m.GetTaskId())))
		return
	}
	if _, open := s.tasks[callID]; open {
		// One forwarder and one entry per call: a second task under the
		// same call_id would escape MaxTasksPerSession and start one more
		// forwarder each time.
		g.cfg.Node.RejectedSubmit(actors.RejectInvalidTask)
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: call %d already has an open task (%q); use a new call_id per GwSubmit", ErrInvalidArgument, callID, s.tasks[callID].ID)))
		return
	}
	if len(s.tasks) >= g.cfg.MaxTasksPerSession {
		g.cfg.Node.RejectedSubmit(actors.RejectGatewayLimit)
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: %d open tasks for this client, the node's limit", ErrLimit, len(s.tasks))))
		return
	}
	spec := actors.TaskSpec{ID: m.GetTaskId(), Kind: m.GetKind(), Payload: m.GetPayload(), Params: m.GetParams(),
		Timeout: m.GetTimeout().AsDuration(), Retryable: m.GetRetryable()}
	h, err := g.cfg.Node.Submit(cctx, m.GetRunnerId(), spec)
	if err != nil {
		a.reply(ctx, errMsg(callID, err))
		return
	}
	if testHookSubmitted != nil {
		testHookSubmitted()
	}
	if !g.admitForwarder() {
		// Close began while the node took the task: Close may be waiting
		// for the forwarders already, so this one may not start. The
		// client is told so, and the task, which nobody will read, ends.
		runnerID := m.GetRunnerId()
		g.goOwned(func() {
			cctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			_, _ = g.cfg.Node.Cancel(cctx, runnerID, spec.ID)
			cancel()
		})
		// Not a RejectedSubmit: the node took it, and it counts once, as
		// a task that ended cancelled (it counted twice before).
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: node %s closes its gateway; task %q was cancelled", actors.ErrShuttingDown, g.cfg.Name, spec.ID)))
		return
	}
	s.tasks[callID] = spec
	s.runners[callID] = m.GetRunnerId()
	a.count()
	a.reply(ctx, &exov1.GwSubmitted{CallId: callID})
	to, sctx, out, bounds, runnerID := ctx.Sender(), s.ctx, s.out, s.bounds, m.GetRunnerId()
	g.goOwned(func() {
		defer g.fwd.Done()
		if g.forward(sctx, h, to, callID, out, bounds) {
			// A chunk too large for the client: its handle ended Failed;
			// the runner need not go on with a task nobody can read.
			cctx, cancel := context.WithTimeout(g.ctx, callTimeout)
			_, _ = g.cfg.Node.Cancel(cctx, runnerID, spec.ID)
			cancel()
		}
		cutOpen := h.Outcome() == nil && errors.Is(context.Cause(sctx), errGatewayClosing)
		g.system.Root.Send(g.pid, &taskDone{s: s, callID: callID, cutOpen: cutOpen})
	})
}

// errGatewayClosing and errSessionEnded are the causes a session's
// context ends with: Close began while the session was open, or the
// session ended first (its client left: goodbye, lost, a new hello; or
// the gateway's actor stopped without Close).
var (
	errGatewayClosing = errors.New("the gateway closes")
	errSessionEnded   = errors.New("the session ended (the client left)")
)

// testHookLastWord, when set (tests only, before Start), runs on a task's
// forwarder when its session ended, before forward's lastWord looks at
// why.
var testHookLastWord func(h *actors.TaskHandle)

// testHookSubmitted, when set (tests only, before Start), runs on the
// actor between Node.Submit's return and the forwarder's admission.
var testHookSubmitted func()

// admitForwarder counts one more task forwarder (fwd.Add) unless Close
// began (closing or stopping), under admit: see Gateway.admit.
func (g *Gateway) admitForwarder() bool {
	g.admit.Lock()
	defer g.admit.Unlock()
	if g.life() >= gatewayClosing {
		return false
	}
	g.fwd.Add(1)
	return true
}

// forward streams a task's chunks, retries and outcome to the client, in
// order, until the outcome or until ctx ends (the session ended). It reads
// the handle by index, so two submissions of one task ID each get it all.
// With out (a client that acknowledges) it waits for the session's window
// before each message, and a batch of chunks stops at MaxOutMessage bytes.
// A chunk larger than bounds allows is not sent: the task ends Failed for
// the client with a reason naming the size and the limit, and forward
// reports true (the caller cancels the task on the node).
func (g *Gateway) forward(ctx context.Context, h *actors.TaskHandle, to *actor.PID, callID uint64, out *outGate, bounds outBounds) (tooLarge bool) {
	root := g.system.Root
	send := func(ev *exov1.GwTaskEvent) bool {
		if out == nil {
			root.Send(to, ev)
			return true
		}
		return out.send(ctx, to, ev) == nil
	}
	batch := min(MaxOutMessage, bounds.maxOut)
	attempt, i := 1, 0
	// lastWord: the session ended. If it ended because the gateway closes
	// (its node shut down) and the task has ended, the client still gets
	// how it ended, past the window: a Retry if it was retried since, a
	// Skip for the chunks not sent, then the outcome. A client that left
	// (goodbye, lost) gets nothing more.
	lastWord := func() {
		if testHookLastWord != nil {
			testHookLastWord(h)
		}
		o := h.Outcome()
		// The cause tells a session that ended because the gateway closes
		// from one whose client left before (and the gateway closed
		// after): that client is not sent to (to a departed client
		// without acks, a send could start a reconnect during shutdown).
		if o == nil || !errors.Is(context.Cause(ctx), errGatewayClosing) {
			return
		}
		force := func(ev *exov1.GwTaskEvent) {
			if out == nil {
				root.Send(to, ev)
				return
			}
			out.force(to, ev)
		}
		if o.Attempt > attempt {
			force(&exov1.GwTaskEvent{CallId: callID, Body: &exov1.GwTaskEvent_Retry{Retry: &exov1.GwTaskRetry{Attempt: int32(o.Attempt)}}})
			i = 0
		}
		if n := o.Chunks - i; n > 0 {
			force(&exov1.GwTaskEvent{CallId: callID, Body: &exov1.GwTaskEvent_Skip{Skip: &exov1.GwTaskSkip{Count: int32(n)}}})
		}
		force(&exov1.GwTaskEvent{CallId: callID, Body: &exov1.GwTaskEvent_Outcome{Outcome: &exov1.GwTaskOutcome{
			Status: o.Status, Reason: o.Reason, Chunks: int32(o.Chunks), Attempt: int32(o.Attempt), At: timestamppb.New(o.At)}}})
	}
	for {
		c, err := h.Chunk(ctx, i)
		if at := h.Attempt(); at != attempt {
			attempt, i = at, 0
			ev := &exov1.GwTaskEvent{CallId: callID}
			if r := h.LastRetry(); r != nil {
				ev.Body = &exov1.GwTaskEvent_Retry{Retry: &exov1.GwTaskRetry{Attempt: int32(r.Attempt), Reason: r.Reason, Discarded: int32(r.Discarded)}}
			} else {
				ev.Body = &exov1.GwTaskEvent_Retry{Retry: &exov1.GwTaskRetry{Attempt: int32(at)}}
			}
			if !send(ev) {
				lastWord()
				return
			}
			continue
		}
		switch {
		case err == nil:
			// Whatever else is there already goes in the same message.
			more, at := h.ChunksFrom(i+1, MaxChunkBatch-1)
			if at != attempt {
				continue // retried meanwhile: the loop sends the retry
			}
			more = upToBytes(more, batch-chunkBytes(c))
			var ev *exov1.GwTaskEvent
			if len(more) == 0 {
				ev = &exov1.GwTaskEvent{CallId: callID, Body: &exov1.GwTaskEvent_Chunk{Chunk: c}}
				if size := int(outSize(ev)); size > bounds.maxOut {
					send(&exov1.GwTaskEvent{CallId: callID, Body: &exov1.GwTaskEvent_Outcome{Outcome: &exov1.GwTaskOutcome{
						Status: exov1.TaskStatus_TASK_STATUS_FAILED, Chunks: int32(i), Attempt: int32(attempt), At: timestamppb.Now(),
						Reason: bounds.tooLarge(fmt.Sprintf("chunk %d of task %q", c.GetIndex(), h.ID), size, g.cfg.Name) + "; the node cancelled the task"}}})
					return true
				}
			} else {
				packed := PackChunks(make([]byte, 0, 48*(1+len(more))), []*exov1.ChunkGenerated{c})
				ev = &exov1.GwTaskEvent{CallId: callID, Body: &exov1.GwTaskEvent_PackedChunks{PackedChunks: PackChunks(packed, more)}}
			}
			if !send(ev) {
				lastWord()
				return false
			}
			i += 1 + len(more)
		case errors.Is(err, actors.ErrChunkDropped):
			// The runner ran more than the handle holds ahead of this
			// forwarder: say so, and go on from the oldest chunk held.
			first, _ := h.Held()
			if first <= i {
				continue // retried meanwhile
			}
			if !send(&exov1.GwTaskEvent{CallId: callID, Body: &exov1.GwTaskEvent_Skip{Skip: &exov1.GwTaskSkip{Count: int32(first - i)}}}) {
				lastWord()
				return
			}
			i = first
		case err == io.EOF:
			o := h.Outcome()
			if !send(&exov1.GwTaskEvent{CallId: callID, Body: &exov1.GwTaskEvent_Outcome{Outcome: &exov1.GwTaskOutcome{
				Status: o.Status, Reason: o.Reason, Chunks: int32(o.Chunks), Attempt: int32(o.Attempt), At: timestamppb.New(o.At)}}}) {
				lastWord()
			}
			return
		default:
			lastWord() // the session ended
			return
		}
	}
}

// chunkBytes is about how many bytes chunk c takes on the wire: its text
// and a little for the rest of a token chunk, its exact size otherwise.
func chunkBytes(c *exov1.ChunkGenerated) int {
	if t := c.GetToken(); t != nil {
		return len(t.GetText()) + 24
	}
	return proto.Size(c)
}

// upToBytes returns the chunks of cs from the first that fit in budget
// bytes together (none when even the first does not).
func upToBytes(cs []*exov1.ChunkGenerated, budget int) []*exov1.ChunkGenerated {
	for i, c := range cs {
		if budget -= chunkBytes(c); budget < 0 {
			return cs[:i]
		}
	}
	return cs
}

func (a *gatewayActor) subscribe(ctx actor.Context, s *session, m *exov1.GwSubscribe) {
	g := a.g
	if err := actors.CheckSubscription(m.GetTopic(), streams.Filter{Kinds: m.GetKinds()},
		streams.SubscribeOptions{Buffer: int(m.GetBuffer()), Window: int(m.GetWindow())}); err != nil {
		a.reply(ctx, errMsg(m.GetCallId(), err))
		return
	}
	stream := g.cfg.Node.Stream(m.GetTopic())
	if stream == nil {
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w %q: want one of %s", ErrUnknownTopic, m.GetTopic(), strings.Join(streams.Topics(), ", "))))
		return
	}
	if len(s.subs) >= g.cfg.MaxSubsPerSession {
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: %d subscriptions for this client, the node's limit", ErrLimit, len(s.subs))))
		return
	}
	if old := s.subs[m.GetCallId()]; old != nil {
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: call %d already subscribed", ErrInvalidArgument, m.GetCallId())))
		return
	}
	if b, w := m.GetBuffer(), m.GetWindow(); b > MaxSubscribeBuffer || w > MaxSubscribeWindow {
		what := fmt.Sprintf("a buffer of %d events, node %s keeps at most %d per subscriber", b, g.cfg.Name, MaxSubscribeBuffer)
		if w > MaxSubscribeWindow {
			what = fmt.Sprintf("a window of %d events, node %s hands over at most %d unacknowledged", w, g.cfg.Name, MaxSubscribeWindow)
		}
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: subscription to %q asks for %s; ask for less (0: the node's default)", ErrInvalidArgument, m.GetTopic(), what)))
		return
	}
	buffer := int(m.GetBuffer())
	if buffer == 0 {
		buffer = stream.DefaultBuffer()
	}
	if a.buffered+buffer > g.cfg.MaxBufferedEvents {
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: subscription to %q asks for a buffer of %d events, and node %s's open subscriptions hold %d of its %d (gateway.Config.MaxBufferedEvents); ask for a smaller buffer, or end a subscription first",
			ErrLimit, m.GetTopic(), buffer, g.cfg.Name, a.buffered, g.cfg.MaxBufferedEvents)))
		return
	}
	r := &relay{g: g, stream: stream, to: ctx.Sender(), req: m, gate: s.out, bounds: s.bounds}
	child := ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return r }))
	s.subs[m.GetCallId()] = child
	a.children[child.Id] = childRef{s: s, callID: m.GetCallId(), buffer: buffer}
	a.buffered += buffer
	a.count()
}

// listErrorMax is what a runner's last error keeps in a list too large
// for the client's transport (fitRunnerList).
const listErrorMax = 256

// fitRunnerList keeps a runner list within maxOut bytes (the session's
// bounds.reply, replyfit.go), the largest answer the session's transport
// takes beside a full window: a message above it breaks the
// connection for every session of the client's process. A node keeps up
// to its live runners and 256 removed ones, a failed one with its texts
// (its last error; its Failed status's message and diagnostics, the
// latter with up to 20 stderr lines of 4 KiB and the runner's own 16 KiB;
// its last error record's message and causes; its last failure, which
// says much of that again): past maxOut each such text is cut to
// listErrorMax bytes and the last failure is left out (a client's
// WaitReady then says the record's text; before the failure was in the
// list, that was all it had); still past it, the list is refused, naming
// the sizes.
func fitRunnerList(out *exov1.GwRunnerList, maxOut int) error {
	size := proto.Size(out)
	if size <= maxOut {
		return nil
	}
	for i, r := range out.Runners {
		// A copy: the status and the record may be the node's own (its
		// error handler's stored causes; a review), never to be cut.
		r = proto.CloneOf(r)
		out.Runners[i] = r
		capListText(&r.LastError)
		if st := r.GetStatus(); st != nil {
			capListText(&st.ErrorMessage)
			capListText(&st.Diagnostics)
		}
		if rec := r.GetLastRecord(); rec != nil {
			capListText(&rec.Message)
			capListText(&rec.Note)
			for i := range rec.Causes {
				capListText(&rec.Causes[i])
			}
		}
		r.LastFailure = nil
	}
	if after := proto.Size(out); after > maxOut {
		return fmt.Errorf("%w: the list of %d runners takes %d bytes (%d with each runner's error texts cut to %d bytes), more than this client's transport takes in one answer (%d); raise max_message on the node and on the client, or lower retention.keep_removed",
			ErrMessageTooLarge, len(out.Runners), size, after, listErrorMax, maxOut)
	}
	return nil
}

func runnerInfo(ri actors.RunnerInfo) *exov1.GwRunnerInfo {
	return RunnerInfoToWire(ri)
}

func stopReply(callID uint64, r *actors.StopResult) *exov1.GwRunnerStopped {
	out := &exov1.GwRunnerStopped{CallId: callID, RunnerId: r.RunnerID, Generation: r.Generation, EndedBy: r.EndedBy,
		Total: durationpb.New(r.Total), Complaint: r.Complaint}
	if r.Exit != nil {
		out.Exit = r.Exit.String()
	}
	if r.Failure != nil {
		out.Failure = r.Failure.Message
	}
	for _, st := range r.Steps {
		out.Steps = append(out.Steps, st.Name)
		out.StepTimes = append(out.StepTimes, &exov1.GwStopStep{Name: st.Name, Started: ts(st.Started), Duration: dur(st.Duration)})
	}
	return out
}

// kindRoom says, for each kind of the config with a bound (its own
// MaxRunners, or the node's Config.MaxRunners), how many more live runners
// of it the node takes (never below 0); placement reads it to skip a
// member that would refuse.
func (g *Gateway) kindRoom(infos []actors.RunnerInfo) map[string]int32 {
	live := map[string]int{}
	for _, ri := range infos {
		if !terminal(ri.Status) {
			live[ri.Kind]++
		}
	}
	all := 0
	for _, n := range live {
		all += n
	}
	var room map[string]int32
	for name, k := range g.cfg.Kinds {
		r := -1 // no bound
		if k.MaxRunners > 0 {
			r = max(0, k.MaxRunners-live[name])
		}
		if g.cfg.MaxRunners > 0 { // the node-wide bound is every kind's too
			if left := max(0, g.cfg.MaxRunners-all); r < 0 || left < r {
				r = left
			}
		}
		if r >= 0 {
			if room == nil {
				room = map[string]int32{}
			}
			room[name] = int32(r)
		}
	}
	return room
}

// liveRunners says "1 live runner", "3 live runners".
func liveRunners(n int) string {
	if n == 1 {
		return "1 live runner"
	}
	return fmt.Sprintf("%d live runners", n)
}
