package actorsys

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// registryMaps is how many concurrent maps (of 32 shard maps each) the
// process registry keeps: compact.
const registryMaps = 1

// New makes an actor system (actor.NewActorSystem with opts) and compacts
// its registry before anything else can reach it: nothing in
// actor.NewActorSystem starts a goroutine that reads the registry, and
// only its dead-letter and event-stream processes are registered by then.
func New(opts ...actor.ConfigOption) *actor.ActorSystem {
	system := actor.NewActorSystem(opts...)
	compact(system)
	return system
}

// compact replaces protoactor's process registry of 1024 concurrent maps
// (32,768 Go maps) by registryMaps of them (32 Go maps), and moves what the
// actor system registered as it was made. It is safe only before system
// escapes the goroutine that made it (New).
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
// there (with thousands of keys live per map, after at most one growth from
// tombstones: +30% measured at 5,000 live keys, then flat to 20 M adds).
//
// Locks: a PID caches its process after its first lookup, but every future
// takes a shard's lock to register and again to leave, and a remote
// delivery looks its target up once per batch. Measured on 2 cores (a
// one-off benchmark, 64 goroutines adding, reading and removing futures):
// 255–341 ns per cycle with one concurrent map against 730–1,895 with
// 1024 (whose first key in each map also allocates); lookups of live keys
// 40–42 against 42–47 ns. Not a contention point on this machine.
func compact(system *actor.ActorSystem) {
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

// SelfSystem sends the actor of ctx a system message (a Watch or an
// Unwatch on behalf of another PID), handled after the current message:
// protoactor's Context offers Watch and Unwatch only for the actor itself
// as the watcher, and a gateway that watches its clients, or a client that
// drops the watch its gateway made of it, needs the other direction.
func SelfSystem(ctx actor.Context, msg actor.SystemMessage) {
	if p, ok := ctx.ActorSystem().ProcessRegistry.GetLocal(ctx.Self().Id); ok {
		p.SendSystemMessage(ctx.Self(), msg)
	}
}
