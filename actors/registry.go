package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// registryMaps is how many concurrent maps (of 32 shard maps each) the
// node's process registry keeps: compactRegistry.
const registryMaps = 1

// compactRegistry replaces protoactor's process registry of 1024
// concurrent maps (32,768 Go maps) by registryMaps of them (32 Go maps), and
// moves what the actor system registered as it was made (its dead-letter
// and event-stream processes). It runs on the goroutine that made system,
// before anything else can reach the registry.
//
// Why: every actor spawned and every future is a new key, and the first key
// that lands in one of the 32,768 Go maps allocates that map's first group
// of slots, which a Go map never gives back. A node that spawns runners for
// weeks therefore touched more and more of them, its live heap growing by
// about 9 MiB over the first 30,000 runners (docs/traps.md). Until the
// ninth session the node touched them all at its start instead (35–60 ms),
// and the registry's tens of thousands of small maps were most of a node's
// live heap (16.1 MiB in the uptime_heap_growth row, 3.4 MiB without them)
// and half of the garbage collector's mark work while a runner streamed.
// 32 Go maps are all touched within the first runners; each grows to the
// keys it holds at once (live actors and futures, over 32) and, as Go's
// maps reuse deleted slots, stays there whatever the churn. A PID caches
// its process after its first lookup, so the 32 shard locks are not on the
// path of every message.
func compactRegistry(system *actor.ActorSystem) {
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
