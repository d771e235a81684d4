package actorsys

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

func registryKeys(sys *actor.ActorSystem) int {
	n := 0
	for _, m := range sys.ProcessRegistry.LocalPIDs.LocalPIDs {
		n += m.Count()
	}
	return n
}

// TestMain fails the package's tests if a goroutine of an actor system is
// still running when they end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestCompact: after Compact the registry has registryMaps
// concurrent maps, still holds what the actor system registered as it was
// made (dead letters, the event stream: both still answer), and actors
// spawned afterwards are found, reached and removed as before, from several
// goroutines at once (-race).
func TestCompact(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	before := registryKeys(sys)
	Compact(sys)
	if got := len(sys.ProcessRegistry.LocalPIDs.LocalPIDs); got != registryMaps {
		t.Fatalf("registry has %d concurrent maps after Compact, want %d", got, registryMaps)
	}
	if got := registryKeys(sys); got != before {
		t.Fatalf("registry holds %d keys after Compact, %d before: it lost what the system had registered", got, before)
	}
	for _, id := range []string{"deadletter", "eventstream"} {
		if _, ok := sys.ProcessRegistry.GetLocal(id); !ok {
			t.Errorf("%q is not in the registry after Compact", id)
		}
	}

	const workers, each = 4, 500
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range each {
				pid, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
					if s, ok := c.Message().(string); ok {
						c.Respond(s)
					}
				}), fmt.Sprintf("w%d-%d", w, i))
				if err != nil {
					errs <- err
					return
				}
				want := fmt.Sprint(w, i)
				got, err := sys.Root.RequestFuture(pid, want, 10*time.Second).Result()
				if err != nil || got != want {
					errs <- fmt.Errorf("actor %s answered %v, %v; want %q", pid.Id, got, err, want)
					return
				}
				if err := sys.Root.StopFuture(pid).Wait(); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Stopped actors leave the registry (their futures too).
	if got := registryKeys(sys); got != before {
		t.Errorf("registry holds %d keys after %d actors came and went, %d before", got, workers*each, before)
	}
	if _, ok := sys.ProcessRegistry.GetLocal("w0-0"); ok {
		t.Error("a stopped actor is still registered")
	}
}
