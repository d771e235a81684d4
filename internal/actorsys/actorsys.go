// Package actorsys makes the protoactor actor systems of this module: every
// one (a node's, a client endpoint's, a cluster member's) gets a process
// registry of 32 Go maps instead of protoactor's 32,768 (Compact).
package actorsys

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// registryMaps is how many concurrent maps (of 32 shard maps each) the
// process registry keeps: Compact.
const registryMaps = 1

// New makes an actor system (actor.NewActorSystem with opts) and compacts
// its registry (Compact) before anything else can reach it.
func New(opts ...actor.ConfigOption) *actor.ActorSystem {
	system := actor.NewActorSystem(opts...)
	Compact(system)
	return system
}

// Compact replaces protoactor's process registry of 1024
// concurrent maps (32,768 Go maps) by registryMaps of them (32 Go maps), and
// moves what the actor system registered as it was made (its dead-letter
// and event-stream processes). Call it on the goroutine that made system,
// before anything else can reach the registry (New does).
//
// Why: every actor spawned and every future is a new key, and the first key
// that lands in one of the 32,768 Go maps allocates that map's first group
// of slots, which a Go map never gives back. A node that spawns runners for
// weeks, or a client that makes a future per call, therefore touched more
// and more of them: a node's live heap grew by about 9 MiB over its first
// 30,000 runners (docs/traps.md). Until the ninth session a node touched
// them all at its start instead (35–60 ms), and the registry's tens of
// thousands of small maps were then most of its live heap (16.1 MiB in the
// uptime_heap_growth row, 3.4 MiB without them) and half of the garbage
// collector's mark work while a runner streamed. 32 Go maps are all touched
// within the first runners; each grows to the keys it holds at once (live
// actors and futures, over 32) and, as Go's maps reuse deleted slots, stays
// there whatever the churn. A PID caches its process after its first
// lookup, so the 32 shard locks are not on the path of every message.
func Compact(system *actor.ActorSystem) {
	sm := system.ProcessRegistry.LocalPIDs
	next := make([]cmap.ConcurrentMap, registryMaps)
	for i := range next {
		next[i] = cmap.New()
	}
	old := sm.LocalPIDs
	sm.LocalPIDs = next
	for _, m := range old {
		m.IterCb(func(key string, v any) { sm.GetBucket(key).Set(key, v) })
	}
}
