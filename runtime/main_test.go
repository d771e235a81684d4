package runtime_test

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestMain(m *testing.M) {
	if helper := os.Getenv(helperEnv); helper != "" {
		os.Exit(runHelper(helper))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if left := leftProcesses(10 * time.Second); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "processes left behind: %v\n", left)
			code = 1
		}
	}
	if code == 0 {
		if leaked := leakedGoroutines(10 * time.Second); leaked != "" {
			fmt.Fprintln(os.Stderr, "leaked goroutines:\n"+leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// endpointFrames mark the goroutines of the process's client endpoint
// (protoactor remote and gRPC), which lives as long as the process by
// design (runtime/endpoint.go): they are not leaks. goleak matches whole
// function names only, hence this filter.
var endpointFrames = []string{"google.golang.org/grpc", "github.com/asynkron/protoactor-go/"}

// leakedGoroutines returns the stacks of goroutines other than this one,
// the test framework's and the endpoint's, waiting up to d for them to end.
func leakedGoroutines(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:goruntime.Stack(buf, true)]
		var leaked []string
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 || strings.Contains(g, "testing.(*M)") || strings.Contains(g, "os/signal.signal_recv") {
				continue // this goroutine; the framework
			}
			endpoint := false
			for _, f := range endpointFrames {
				endpoint = endpoint || strings.Contains(g, f)
			}
			if !endpoint {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond) // goroutines give no event when they end
	}
}

// leftProcesses returns the marked processes still alive after d: every
// node is SIGKILLed and reaped by its test, and its runners die with it
// (parent-death signal), a moment later.
func leftProcesses(d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		left := testutil.MarkedProcesses(markKey, strconv.Itoa(os.Getpid()))
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond) // they are not our children: nothing to wait on
	}
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// exoBinary builds exo-actors once (without -race): the node processes of
// these tests run it.
func exoBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "exo-actors-runtime-test-")
		if buildErr != nil {
			return
		}
		binPath, buildErr = testutil.BuildExo(binDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}
