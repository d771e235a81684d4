package actorsys

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

// TestCompact: after compact the registry has registryMaps
// concurrent maps, still holds what the actor system registered as it was
// made (dead letters, the event stream: both still answer), and actors
// spawned afterwards are found, reached and removed as before, from several
// goroutines at once (-race).
func TestCompact(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	before := registryKeys(sys)
	compact(sys)
	if got := len(sys.ProcessRegistry.LocalPIDs.LocalPIDs); got != registryMaps {
		t.Fatalf("registry has %d concurrent maps after compact, want %d", got, registryMaps)
	}
	if got := registryKeys(sys); got != before {
		t.Fatalf("registry holds %d keys after compact, %d before: it lost what the system had registered", got, before)
	}
	for _, id := range []string{"deadletter", "eventstream"} {
		if _, ok := sys.ProcessRegistry.GetLocal(id); !ok {
			t.Errorf("%q is not in the registry after compact", id)
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

// TestEveryActorSystemIsMadeByNew: no non-test file of the module makes an
// actor system by itself (it would get protoactor's 32,768-map registry
// back, whose memory grows with every actor and future for weeks).
func TestEveryActorSystemIsMadeByNew(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	self := filepath.Join(root, "internal", "actorsys")
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") || path == self {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(src), "\n") {
			if strings.Contains(line, "NewActorSystem(") || strings.Contains(line, "NewActorSystemWithConfig(") {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d makes an actor system itself: use actorsys.New, which gives it the small process registry (docs/traps.md)", rel, i+1)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d Go files checked under %s: the walk missed the module", checked, root)
	}
}
