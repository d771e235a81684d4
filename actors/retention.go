package actors

import (
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/actors/resources"
)

// Defaults of RetentionLimits.
const (
	DefaultKeepRemoved = 256
	DefaultRemovedTTL  = time.Hour
)

// RetentionLimits bound what a node remembers of runners that are gone, so
// its memory stays flat however many runners it has spawned over its life.
// A runner is removed when its actor ended for good: stopped (StopRunner, a
// cancelled restart), escalated, or stopped with the node. Its final info
// (RunnerInfo in Runners, the failure and last error record that
// StopRunner and Runners show) is kept for the newest KeepRemoved removed
// runners, and at most RemovedTTL after removal, whichever ends first; then
// the runner is forgotten: Runners no longer lists it, and StopRunner,
// Submit and Cancel answer ErrUnknownRunner. The error handler forgets a
// runner's backoff state at removal, and the resource manager its
// per-owner tally once its resources are gone (resources.ForgetOwner), and
// the health monitor its alerts, metric series and history (at its next
// check).
// The error handler's history (errhandler.Config.HistoryLimit) and each
// stream's departed subscribers (64) have bounds of their own.
type RetentionLimits struct {
	// KeepRemoved: removed runners whose final info is kept; default
	// DefaultKeepRemoved (256). Negative keeps none.
	KeepRemoved int
	// RemovedTTL: how long a removed runner's final info is kept; default
	// DefaultRemovedTTL (1h). The age is checked when a runner is removed,
	// spawned or listed (no timer runs for it).
	RemovedTTL time.Duration
}

func (r RetentionLimits) withDefaults() RetentionLimits {
	if r.KeepRemoved == 0 {
		r.KeepRemoved = DefaultKeepRemoved
	}
	if r.KeepRemoved < 0 {
		r.KeepRemoved = 0
	}
	if r.RemovedTTL <= 0 {
		r.RemovedTTL = DefaultRemovedTTL
	}
	return r
}

// removal is one removed runner still remembered.
type removal struct {
	id string
	at time.Time
}

// noteRemoved: runner id's actor has ended for good. Its backoff state is
// forgotten now; its final info stays within the retention limits.
func (s *runnerSupervisor) noteRemoved(system *actor.ActorSystem, id string) {
	if s.slots[id] == nil || s.waiting[id] != nil || s.children[id] != nil {
		return // not ours, or (defensively) still alive
	}
	s.node.policy.RunnerStopped(id)
	s.removed = append(s.removed, removal{id: id, at: s.node.clock.Now()})
	s.pruneRemoved(system)
}

// pruneRemoved forgets removed runners beyond the count or past their age.
func (s *runnerSupervisor) pruneRemoved(system *actor.ActorSystem) {
	lim := s.node.retention
	now := s.node.clock.Now()
	drop := 0
	for drop < len(s.removed) && (len(s.removed)-drop > lim.KeepRemoved || now.Sub(s.removed[drop].at) > lim.RemovedTTL) {
		s.forgetRunner(system, s.removed[drop].id)
		drop++
	}
	if drop > 0 {
		s.removed = slices.Delete(s.removed, 0, drop) // zeroes the tail
	}
}

// forgetRunner drops everything the supervisor holds about a removed runner.
func (s *runnerSupervisor) forgetRunner(system *actor.ActorSystem, id string) {
	delete(s.slots, id)
	delete(s.failures, id)
	delete(s.records, id)
	delete(s.stopReason, id)
	if i := slices.Index(s.order, id); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
	if s.node.resourcesPID != nil && system != nil {
		system.Root.Send(s.node.resourcesPID, &resources.ForgetOwner{Owner: id})
	}
	// The health monitor learns it from its next roster and drops the
	// runner's alerts, metric series and history: it may never have seen
	// the runner gone (forgotten between two checks), and a runner it no
	// longer lists would otherwise keep them for the node's life. Without
	// a monitor (Health.Disabled) nobody would: the history (fed by every
	// event, monitor or not) and the series go here.
	if s.node.healthCfg.Disabled {
		s.node.metrics.forget(id)
		s.node.history.forget(id)
		return
	}
	if len(s.forgotten) == maxForgotten {
		s.forgotten = slices.Delete(s.forgotten, 0, 1) // the monitor is late (failing, restarting): keep the newest
	}
	s.forgotten = append(s.forgotten, id)
}

// maxForgotten bounds the forgotten runners waiting for the health
// monitor's next roster.
const maxForgotten = 1024
