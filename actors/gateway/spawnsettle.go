package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// DefaultMaxUnsettledSpawns is Config.MaxUnsettledSpawns's default: the
// bound on a session's unsettled spawns, runners spawned for a
// GwSpawnRunner with settle whose GwSpawnSettle has not come yet. A client
// settles each spawn as soon as its call is over, so only a client that
// spawns that many at once, or never settles, meets it; one more such
// spawn is refused with ErrLimit (nothing is spawned).
const DefaultMaxUnsettledSpawns = 256

// unsettledStopTimeout bounds the stop of a runner whose spawn was given
// up or whose client's session ended unsettled (as a GwStopRunner's).
const unsettledStopTimeout = time.Minute

// Why an unsettled runner is stopped, for the log.
const (
	whyGaveUp     = "its client gave up on the spawn before it learned the runner's ID"
	whySessionEnd = "its client's session ended before the client said it learned the runner's ID"
)

// unsettledSpawn is a runner spawned for a GwSpawnRunner with settle, not
// settled yet; handOff: the request had hand_off.
type unsettledSpawn struct {
	id      string
	handOff bool
}

// HandGrace is how long a handing spawn of a session ended as lost waits
// for its client's handed note before the node names the runner as
// possibly known to nobody (nameUnconfirmed). The node
// learns of a dead client from its own connection to it (an endpoint's
// end), not from the one that carries the client's messages: a note the
// client sent just before it died may still be on its way.
const HandGrace = time.Second

// lostHand is a handing spawn of a session ended as lost, waiting out
// HandGrace for its client's handed note.
type lostHand struct {
	s     *session
	id    string
	until time.Time
}

// handingFate is what a session's end does to its handing spawns.
type handingFate int

const (
	keepHanding  handingFate = iota // a goodbye, a hello again, the gateway's restart: the client lives on
	graceHanding                    // the client lost: named after HandGrace unless its handed note comes
	nameHanding                     // the gateway stops (no tick will come): named now
)

// handingFate returns the fate of the handing spawns of a session ended so.
func (a *gatewayActor) handingFate(kind endKind) handingFate {
	switch {
	case a.g.life() == gatewayStopping:
		return nameHanding
	case kind == endLost && !a.restarting:
		return graceHanding
	}
	return keepHanding
}

// Spawns and their settling. A client that marks a GwSpawnRunner with
// settle (it does so when the node's GwWelcome has spawn_settle) answers
// the node's GwRunnerSpawned with a GwSpawnSettle: learned when the answer
// reached its caller in time (the client waits for the GwSpawnSettled
// before it hands the ID over), not learned when the caller gave up first
// (its ctx ended while the request was in flight). Until then the runner
// is in its session's unsettled map. The node stops it
//   - on a GwSpawnSettle that says not learned, and
//   - when the session ends (goodbye, or the client lost) with the spawn
//     still unsettled: nobody holds the runner's ID, so nobody would ever
//     stop it, and with a kind's max_runners it would refuse every later
//     spawn until the node restarted.
//
// A settled runner (learned) is the client's like any runner it spawned:
// it outlives the client's session, as docs/remote.md says. With hand_off
// (a client of this release) a learned runner is handing until the
// client's handed settle, sent just before the ID reaches its caller. A
// client lost before then (killed while the GwSpawnSettled was on its way,
// which a soak met in 14 of 39 clients killed during SpawnRunner) may
// have left a runner nobody knows, or may have handed its ID over in the
// moment before it died: the node cannot tell, and a runner whose ID a
// caller holds (remote run prints it) is never stopped for it. Once
// HandGrace has passed without the note (lostHanding), the node names the
// runner in a warning, with the command that stops it, and counts it
// (Stats.SpawnsUnconfirmed).
//
// A client's requests reach the gateway in the order it sent them, and the
// spawn is served on the gateway actor, so a GwSpawnSettle always finds its
// spawn done: the runner is in the map, or the spawn was refused (nothing
// to stop).

// refuseUnsettled refuses a spawn with settle when the session has
// Config.MaxUnsettledSpawns unsettled ones.
func (a *gatewayActor) refuseUnsettled(ctx actor.Context, s *session, m *exov1.GwSpawnRunner) bool {
	prev, open := s.unsettled[m.GetCallId()].id, false
	if _, open = s.unsettled[m.GetCallId()]; !open {
		prev, open = s.handing[m.GetCallId()]
	}
	if open && m.GetSettle() {
		// One unsettled spawn per call: a second under the same call_id
		// replaced the first in the book, and the first runner was then
		// neither settled nor stopped at the session's end (a fuzz
		// helper's note), as GwSubmit refuses a second open task per call.
		// One handing (learned, its handed settle to come) too: the
		// second's learned settle replaced it in the handing book, so a
		// lost client had only the second named (a review).
		a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: call %d already has a spawn not settled yet (runner %s); use a new call_id per GwSpawnRunner",
			ErrInvalidArgument, m.GetCallId(), prev)))
		return true
	}
	n := len(s.unsettled) + len(s.handing)
	if !m.GetSettle() || n < a.g.cfg.MaxUnsettledSpawns {
		return false
	}
	a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: %d spawns of this client not settled yet (GwSpawnSettle), the node's limit; settle them first",
		ErrLimit, n)))
	return true
}

// settle handles a GwSpawnSettle of the sender's session, and answers one
// with a call_id.
func (a *gatewayActor) settle(ctx actor.Context, m *exov1.GwSpawnSettle) {
	s := a.session(ctx)
	if s == nil && m.GetHanded() && ctx.Sender() != nil {
		// Its session ended as lost while the note was on its way: the
		// runner is the client's after all.
		key := pidKey(ctx.Sender())
		if h, ok := a.lostHanding[key][m.GetSpawnCallId()]; ok {
			delete(a.lostHanding[key], m.GetSpawnCallId())
			if len(a.lostHanding[key]) == 0 {
				delete(a.lostHanding, key)
			}
			a.g.cfg.Logger.WithFields(map[string]any{"client": h.s.name, "runner": h.id}).
				Info("gateway: runner " + h.id + " kept: its client's note that the ID reached its caller came after the client's session ended")
			if m.GetCallId() != 0 {
				// Taken: answered as a settle is (a client sends handed
				// without a call_id, but a call is always answered).
				a.reply(ctx, &exov1.GwSpawnSettled{CallId: m.GetCallId()})
			}
			return
		}
		// Not a spawn of a lost session: as any settle without a session
		// (before, one with a call_id was never answered, and its caller
		// waited out its whole call timeout: FuzzGatewayRequests).
	}
	if s == nil {
		// No session: its end already stopped its unsettled runners. The
		// client learns it from the error (and ends as lost).
		if m.GetCallId() != 0 {
			a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: send GwHello first (or reconnect: the session was dropped)", ErrNoSession)))
		}
		return
	}
	s.lastSeen = time.Now()
	if m.GetCallId() != 0 {
		defer a.reply(ctx, &exov1.GwSpawnSettled{CallId: m.GetCallId()})
	}
	if m.GetHanded() {
		// The caller has the ID: the client's now. A handed note for a
		// spawn whose learned settle never came (the client could not send
		// it) says learned too.
		delete(s.handing, m.GetSpawnCallId())
		delete(s.unsettled, m.GetSpawnCallId())
		return
	}
	sp, ok := s.unsettled[m.GetSpawnCallId()]
	if !ok {
		return // a spawn the node refused, or one sent without settle
	}
	delete(s.unsettled, m.GetSpawnCallId())
	switch {
	case !m.GetLearned():
		a.stopUnsettled(s, sp.id, whyGaveUp)
	case sp.handOff:
		s.handing[m.GetSpawnCallId()] = sp.id // until the handed settle
	}
}

// stopUnsettledOf stops every runner the ended session s left unsettled,
// and deals with those still handing as fate says; also when the gateway
// itself stops (an embedded Server.Close leaves the System running), but
// not when the node is shutting down: that stops them all.
func (a *gatewayActor) stopUnsettledOf(s *session, fate handingFate) {
	if a.g.cfg.Node.ShuttingDown() {
		return
	}
	for callID, sp := range s.unsettled {
		delete(s.unsettled, callID)
		a.stopUnsettled(s, sp.id, whySessionEnd)
	}
	for callID, id := range s.handing {
		delete(s.handing, callID)
		switch fate {
		case nameHanding:
			a.nameUnconfirmed(s, id)
		case graceHanding:
			// Bounded: each entry is a live runner of the node
			// (max_runners), here for HandGrace.
			if a.lostHanding[s.key] == nil {
				a.lostHanding[s.key] = map[uint64]lostHand{}
			}
			a.lostHanding[s.key][callID] = lostHand{s: s, id: id, until: time.Now().Add(HandGrace)}
		}
	}
}

// nameLostHanding names the runners of lostHanding whose grace is over, or
// all of them; not when the node is shutting down (that stops them all).
func (a *gatewayActor) nameLostHanding(all bool) {
	now := time.Now()
	for key, hs := range a.lostHanding {
		for callID, h := range hs {
			if all || now.After(h.until) {
				delete(hs, callID)
				if !a.g.cfg.Node.ShuttingDown() {
					a.nameUnconfirmed(h.s, h.id)
				}
			}
		}
		if len(hs) == 0 {
			delete(a.lostHanding, key)
		}
	}
}

// nameUnconfirmed warns of runner id, spawned for the lost session s whose
// client never confirmed it had handed the ID over, and counts it.
func (a *gatewayActor) nameUnconfirmed(s *session, id string) {
	g := a.g
	g.cfg.Logger.WithFields(map[string]any{"client": s.name, "address": s.pid.Address, "runner": id}).
		Warn(fmt.Sprintf("gateway: runner %s may be known to nobody: its client was lost before it confirmed the runner's ID reached its caller; if nobody holds the ID, stop it (exo-actors remote stop --node %s %s)",
			id, g.system.Address(), id))
	g.mu.Lock()
	g.stats.SpawnsUnconfirmed++
	g.mu.Unlock()
}

// stopUnsettled stops runner id off the actor (a stop drains the runner's
// tasks and may take its timeouts) and logs why and how it ended.
func (a *gatewayActor) stopUnsettled(s *session, id, why string) {
	// Stopped now: not again at the session's end if it was leased, nor by
	// the session a hello again hands the leases to (the same map).
	delete(s.leased, id)
	a.stopFor(s, id, why, logrus.WarnLevel)
}

// stopFor stops runner id off the actor for why (an unsettled spawn, a
// lease's end), logged at level, and logs how the stop ended; the tasks
// named are cancelled first (a lost client's own, which the stop would
// otherwise drain).
func (a *gatewayActor) stopFor(s *session, id, why string, level logrus.Level, cancelFirst ...string) {
	g := a.g
	log := g.cfg.Logger.WithFields(map[string]any{"client": s.name, "address": s.pid.Address, "runner": id})
	log.Log(level, "gateway: stopping runner "+id+": "+why)
	g.goOwned(func() {
		// Not g.ctx: a Close right after the give-up cancels it before the
		// stop is sent, and the runner would stay; Close waits for this
		// goroutine (goOwned), at most unsettledStopTimeout.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(g.ctx), unsettledStopTimeout)
		defer cancel()
		for _, task := range cancelFirst {
			if _, err := g.cfg.Node.Cancel(sctx, id, task); err != nil {
				log.WithError(err).Debug("gateway: cancel of task " + task + " before the stop")
			}
		}
		res, err := g.cfg.Node.StopRunner(sctx, id)
		if err != nil {
			log.WithError(err).Warn("gateway: stopping runner " + id + " (" + why + ")")
			return
		}
		log.Info(fmt.Sprintf("gateway: stopped runner %s (%s): %s", id, why, res.Summary()))
	})
}
