package actors

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// TestPrewarmRegistryTouchesEveryShard: after the prewarm every shard map
// of the registry has held a key (so none allocates later), and none holds
// one now.
func TestPrewarmRegistryTouchesEveryShard(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	reg := sys.ProcessRegistry
	before := 0
	for _, b := range reg.LocalPIDs.LocalPIDs {
		before += b.Count()
	}
	shards, took := prewarmRegistry(sys)
	want := len(reg.LocalPIDs.LocalPIDs) * len(reg.LocalPIDs.LocalPIDs[0])
	if shards != want {
		t.Fatalf("prewarm touched %d shards, want %d", shards, want)
	}
	after := 0
	for _, b := range reg.LocalPIDs.LocalPIDs {
		after += b.Count()
	}
	if after != before {
		t.Errorf("registry holds %d keys after the prewarm, %d before: the prewarm left keys behind", after, before)
	}
	sys2 := actor.NewActorSystem()
	defer sys2.Shutdown()
	again, took2 := prewarmRegistry(sys2)
	if again != want {
		t.Errorf("second prewarm touched %d shards, want %d", again, want)
	}
	t.Logf("%d shards in %s (keys found then), %s for the next system", shards, took, took2)
}
