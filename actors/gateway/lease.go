package gateway

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// DefaultMaxLeasedRunners is Config.MaxLeasedRunners's default: the bound
// on the runners leased to one session (GwSpawnRunner.lease). An entry
// goes when any client's GwStopRunner of its runner is under way; one
// whose runner ended otherwise (a host's own stop, a failure for good) is
// pruned when the bound is met, and only a session holding that many live leased runners has its
// next leased spawn refused with ErrLimit (nothing is spawned).
const DefaultMaxLeasedRunners = 1024

// whyLeaseEnd is why a leased runner is stopped, for the log.
const whyLeaseEnd = "it was leased to its client's session, which ended"

// Leases. A client dialled with runtime.WithLeasedRunners marks each
// GwSpawnRunner with lease (when the node's GwWelcome has runner_lease):
// the runner lives only as long as the client's session. When the session
// ends, by a goodbye, the client's loss (its process died, it was cut off,
// or this node was frozen past the session timeout), the gateway's own
// stop or its restart after a failure, the gateway stops its leased
// runners as a GwStopRunner would; a hello again (the client goes on)
// hands them to the new session; the node's shutdown stops every runner
// anyway. A leased runner is never left running by a client that cannot
// stop it, which settling alone cannot promise (spawnsettle.go: a client
// killed while its settle was answered leaves a runner the node only
// names): `exo-actors remote run` leases the runners it spawns unless
// --keep-runners.

// admitLease says whether a spawn with lease may go on: a session holds at
// most Config.MaxLeasedRunners leased runners; at the bound the entries of
// runners no longer live are pruned first.
func (a *gatewayActor) admitLease(ctx actor.Context, cctx context.Context, s *session, m *exov1.GwSpawnRunner) bool {
	if !m.GetLease() || len(s.leased) < a.g.cfg.MaxLeasedRunners {
		return true
	}
	infos, err := a.g.cfg.Node.Runners(cctx)
	if err != nil {
		a.reply(ctx, errMsg(m.GetCallId(), err))
		return false
	}
	live := make(map[string]bool, len(infos))
	for _, ri := range infos {
		live[ri.ID] = !terminal(ri.Status)
	}
	for id := range s.leased {
		if !live[id] {
			delete(s.leased, id)
		}
	}
	if len(s.leased) < a.g.cfg.MaxLeasedRunners {
		return true
	}
	a.reply(ctx, errMsg(m.GetCallId(), fmt.Errorf("%w: this client holds %d live leased runners, the node's limit; stop one first (GwStopRunner)",
		ErrLimit, len(s.leased))))
	return false
}

// stopLeasedOf stops the runners leased to the ended session s (not on a
// hello again: hello hands them to the new session; not when the node is
// shutting down: that stops them all). Their spawns, if still unsettled or
// handing, are settled by the stop: stopUnsettledOf, after this, neither
// stops them again nor names them. shared are the tasks of s another
// session also submitted (sharedTasks), never cancelled here.
func (a *gatewayActor) stopLeasedOf(s *session, kind endKind, shared map[taskRef]bool) {
	if kind == endAgain || len(s.leased) == 0 || a.g.cfg.Node.ShuttingDown() {
		return
	}
	for callID, sp := range s.unsettled {
		if _, ok := s.leased[sp.id]; ok {
			delete(s.unsettled, callID)
		}
	}
	for callID, id := range s.handing {
		if _, ok := s.leased[id]; ok {
			delete(s.handing, callID)
		}
	}
	level := logrus.WarnLevel // the client was lost: it could not stop them
	if kind == endBye {
		level = logrus.InfoLevel // a goodbye with runners leased: the lease is how they end
	}
	// A lost client's own open tasks on its leased runners are cancelled
	// before the stop: nobody will read their outcomes, and the stop would
	// otherwise drain them (up to timeouts.stop_drain). So are they once
	// the gateway closes (Server.Close on a System that goes on), whatever
	// ends the session then (its stop, or a goodbye that came during
	// Close): its forwarders are already cut off, and Close would wait out
	// the drain. Other clients' tasks on those runners drain as for any stop;
	// after a goodbye the client's too (its tasks go on after Close,
	// docs/remote.md).
	// A task another open session also submitted (the same ID on the
	// same runner is one task, deduplicated) is not cancelled: that
	// client still reads it, and it drains.
	mine := map[string][]string{}
	if kind == endLost || a.g.life() >= gatewayClosing {
		for callID, t := range s.tasks {
			if r := s.runners[callID]; r != "" {
				if _, ok := s.leased[r]; ok && !shared[taskRef{r, t.ID}] {
					mine[r] = append(mine[r], t.ID)
				}
			}
		}
	}
	for id := range s.leased {
		delete(s.leased, id)
		a.stopFor(s, id, whyLeaseEnd, level, mine[id]...)
	}
}

// stoppedByAClient forgets runner id, which a client's GwStopRunner is
// stopping, in every session (at most MaxSessions): its lease ends, and so
// does its spawn's settling, whichever session held them; the end of that
// session would only stop it again (with a warning) or, for a spawn still
// handing, name it as possibly known to nobody.
func (a *gatewayActor) stoppedByAClient(id string) {
	for _, s := range a.sessions {
		delete(s.leased, id)
		for callID, sp := range s.unsettled {
			if sp.id == id {
				delete(s.unsettled, callID)
			}
		}
		for callID, h := range s.handing {
			if h == id {
				delete(s.handing, callID)
			}
		}
	}
}

// taskRef names a task on a runner: the node deduplicates task IDs per
// runner, so two sessions' open tasks with the same taskRef are one task.
type taskRef struct{ runner, task string }

// sharedTasks returns the tasks of s that another open session also
// submitted (and so still reads), in one pass over the other sessions'
// open tasks (at most MaxSessions × MaxTasksPerSession; a scan per task of
// s was that many times more, on the gateway's goroutine). A cancel for
// s's sake (its loss) would end those for the other clients too. None once
// the gateway closes: every session's forwarders are cut off then, nobody
// reads them.
func (a *gatewayActor) sharedTasks(s *session) map[taskRef]bool {
	if a.g.life() >= gatewayClosing || len(s.tasks) == 0 {
		return nil
	}
	mine := make(map[taskRef]bool, len(s.tasks))
	for callID, t := range s.tasks {
		mine[taskRef{s.runners[callID], t.ID}] = true
	}
	shared := map[taskRef]bool{}
	for _, o := range a.sessions {
		if o == s {
			continue
		}
		for callID, t := range o.tasks {
			if r := (taskRef{o.runners[callID], t.ID}); mine[r] {
				shared[r] = true
			}
		}
	}
	return shared
}
