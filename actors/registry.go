package actors

import (
	"strconv"
	"sync"
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
// the start costs the same 9 MiB up front and about 35–60 ms (more under the
// race detector), and then the registry's memory is flat from the first
// runner on. NodeConfig.SkipRegistryPrewarm turns it off (tests that start
// many short-lived nodes).
//
// It sets and removes one key per shard (prewarmKeys, found once per
// process). The keys never collide with a real PID's ID (those are "$<n>",
// "futureN" or actor names).
func prewarmRegistry(system *actor.ActorSystem) (shards int, took time.Duration) {
	start := time.Now()
	reg := system.ProcessRegistry
	keys := prewarmKeys(system)
	for _, key := range keys {
		bucket := reg.LocalPIDs.GetBucket(key)
		bucket.Set(key, nil)
		bucket.Remove(key)
	}
	return len(keys), time.Since(start)
}

// prewarmKeyList holds one key per registry shard, found once per process:
// every actor system's registry has the same shape and hash functions.
var prewarmKeyList struct {
	once sync.Once
	keys []string
}

// prewarmKeys returns one key for each shard map of system's registry: for
// generated keys, the shard each lands in (the registry's own GetBucket and
// GetShard) decides; about 32,768 × ln(32,768) ≈ 340,000 candidates cover
// every shard, and the bound stops a registry of another shape from looping.
func prewarmKeys(system *actor.ActorSystem) []string {
	prewarmKeyList.once.Do(func() {
		reg := system.ProcessRegistry
		buckets := reg.LocalPIDs.LocalPIDs
		if len(buckets) == 0 {
			return
		}
		want := len(buckets) * len(buckets[0])
		touched := make(map[any]struct{}, want)
		keys := make([]string, 0, want)
		var buf []byte
		for i := 0; i < 4_000_000 && len(keys) < want; i++ {
			buf = strconv.AppendInt(append(buf[:0], "exo-prewarm-"...), int64(i), 36)
			key := string(buf)
			shard := reg.LocalPIDs.GetBucket(key).GetShard(key)
			if _, ok := touched[shard]; ok {
				continue
			}
			touched[shard] = struct{}{}
			keys = append(keys, key)
		}
		prewarmKeyList.keys = keys
	})
	return prewarmKeyList.keys
}
