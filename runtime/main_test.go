package runtime_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

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

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

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
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
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
