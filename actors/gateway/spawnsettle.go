package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

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
	whyLostHand   = "its client was lost before it said the runner's ID reached its caller"
)

// unsettledSpawn is a runner spawned for a GwSpawnRunner with settle, not
// settled yet; handOff: the request had hand_off.
type unsettledSpawn struct {
	id      string
	handOff bool
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
// client's handed settle, sent just before the ID reaches its caller: a
// client lost before then (killed while the GwSpawnSettled was on its way,
// which a soak met in 14 of 39 clients killed during SpawnRunner) leaves
// a runner nobody knows, and the node stops it; a goodbye does not (a
// Client closed during that wait still returns the ID). The window left is
// the moment between the handed settle's send and its leaving the client
// process, in which the caller already holds the ID.
//
// A client's requests reach the gateway in the order it sent them, and the
// spawn is served on the gateway actor, so a GwSpawnSettle always finds its
// spawn done: the runner is in the map, or the spawn was refused (nothing
// to stop).

// refuseUnsettled refuses a spawn with settle when the session has
// Config.MaxUnsettledSpawns unsettled ones.
func (a *gatewayActor) refuseUnsettled(ctx actor.Context, s *session, m *exov1.GwSpawnRunner) bool {
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
		delete(s.handing, m.GetSpawnCallId()) // the caller has the ID: the client's now
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
// and, when the client was lost, every one still handing; also when the
// gateway itself stops (an embedded Server.Close leaves the System
// running), but not when the node is shutting down: that stops them all.
func (a *gatewayActor) stopUnsettledOf(s *session, lost bool) {
	if a.g.cfg.Node.ShuttingDown() {
		return
	}
	for callID, sp := range s.unsettled {
		delete(s.unsettled, callID)
		a.stopUnsettled(s, sp.id, whySessionEnd)
	}
	for callID, id := range s.handing {
		delete(s.handing, callID)
		if lost {
			a.stopUnsettled(s, id, whyLostHand)
		}
	}
}

// stopUnsettled stops runner id off the actor (a stop drains the runner's
// tasks and may take its timeouts) and logs why and how it ended.
func (a *gatewayActor) stopUnsettled(s *session, id, why string) {
	g := a.g
	log := g.cfg.Logger.WithFields(map[string]any{"client": s.name, "address": s.pid.Address, "runner": id})
	log.Warn("gateway: stopping runner " + id + ": " + why)
	g.goOwned(func() {
		// Not g.ctx: a Close right after the give-up cancels it before the
		// stop is sent, and the runner would stay; Close waits for this
		// goroutine (goOwned), at most unsettledStopTimeout.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(g.ctx), unsettledStopTimeout)
		defer cancel()
		res, err := g.cfg.Node.StopRunner(sctx, id)
		if err != nil {
			log.WithError(err).Warn("gateway: stopping runner " + id + " that its client never learned")
			return
		}
		log.Info(fmt.Sprintf("gateway: stopped runner %s that its client never learned: ended by %s", id, res.EndedBy))
	})
}
