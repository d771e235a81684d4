package actors

import (
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// prewarmRegistry touches every shard map of the actor system's process
// registry once, so the node's memory does not grow with uptime as it fills.
//
// protoactor's registry is 1024 concurrent maps of 32 shards each: 32,768
// Go maps. The first key that lands in one of them allocates that map's
// first group of slots (about 290 bytes), and a Go map never gives it back
// when it empties again. Every actor spawned and every future makes a new
// key, so a node that spawns runners for weeks touches more and more of the
// 32,768 maps: about 9 MiB once all are touched, reached after some 100,000
// keys (tens of thousands of runners), growing all the way there
// (docs/traps.md; bench row uptime_heap_growth). Touching each map once at
// the start costs the same 9 MiB up front and about 10–30 ms (more under the
// race detector), and then the registry's memory is flat from the first
// runner on. NodeConfig.SkipRegistryPrewarm turns it off (tests that start
// many short-lived nodes).
//
// It finds, for generated keys, the shard each would land in (the
// registry's own GetBucket and GetShard), and sets and removes one key per
// shard not yet touched. The keys never collide with a real PID's ID
// (those are "$<n>" or actor names).
func prewarmRegistry(system *actor.ActorSystem) (shards int, took time.Duration) {
	start := time.Now()
	reg := system.ProcessRegistry
	touched := make(map[any]struct{}, 1<<15)
	var buf []byte
	// Coupon collector: about 32,768 × ln(32,768) ≈ 340,000 keys touch
	// every shard; the bound stops a registry of another shape from looping.
	for i := 0; i < 4_000_000; i++ {
		buf = strconv.AppendInt(append(buf[:0], "exo-prewarm-"...), int64(i), 36)
		key := string(buf)
		bucket := reg.LocalPIDs.GetBucket(key)
		shard := bucket.GetShard(key)
		if _, ok := touched[shard]; ok {
			continue
		}
		touched[shard] = struct{}{}
		bucket.Set(key, nil)
		bucket.Remove(key)
		if len(touched) == len(reg.LocalPIDs.LocalPIDs)*len(bucket) {
			break
		}
	}
	return len(touched), time.Since(start)
}
