package runtime_test

import (
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// markerKey tags every runner these tests start, so a scan of /proc finds
// exactly them.
const markerKey = "EXO_RUNTIME_TEST_MARKER"

var (
	// exoBin is exo-actors built once, without -race, for the built-in
	// runners of the tests and examples.
	exoBin string
	marker = fmt.Sprintf("runtime-test-%d", os.Getpid())
)

func TestMain(m *testing.M) {
	if helper := os.Getenv(helperEnv); helper != "" {
		os.Exit(runHelper(helper))
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "exo-runtime-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if exoBin, err = testutil.BuildExo(dir); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	code := m.Run()
	if left := testutil.MarkedProcesses(markerKey, marker); len(left) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "runner processes left behind: %v\n", left)
		code = 1
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
	return code
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

// exoBinary is the exo-actors binary TestMain built (without -race): the
// node processes of the remote tests run it.
func exoBinary(t *testing.T) string {
	t.Helper()
	if exoBin == "" {
		t.Fatal("exo-actors was not built by TestMain")
	}
	return exoBin
}

// quietLogger drops everything below error, so examples print only their
// output.
func quietLogger() *logrus.Logger {
	l := logrus.New()
	l.SetLevel(logrus.ErrorLevel)
	l.Out = os.Stderr
	return l
}

// config is a Config for tests and examples: the built-in runner from
// exoBin, short waits, quiet logs, marked children.
func config() exo.Config {
	return exo.Config{
		Logger:             quietLogger(),
		BuiltinBinary:      exoBin,
		Env:                append(os.Environ(), markerKey+"="+marker),
		DeadLetterThrottle: time.Millisecond,
		Timeouts: exo.RunnerTimeouts{
			HeartbeatInterval: 20 * time.Millisecond,
			HeartbeatTimeout:  2 * time.Second,
			ExitGrace:         500 * time.Millisecond,
			StopGrace:         500 * time.Millisecond,
			TermWait:          300 * time.Millisecond,
			Drain:             500 * time.Millisecond,
		},
		Shutdown: exo.ShutdownDeadlines{Signaling: time.Second, Draining: 5 * time.Second, Closing: 5 * time.Second},
	}
}

// fastRunner is the built-in runner with no loading delays.
func fastRunner(kind string, extra ...string) exo.RunnerSpec {
	return exo.RunnerSpec{Kind: kind, Builtin: true,
		Args: append([]string{"--layers", "2", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "1ms"}, extra...)}
}
