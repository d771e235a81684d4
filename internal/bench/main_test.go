package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// markerKey tags every child these tests start (through Config.Env and the
// node's environment), so a scan of /proc finds exactly them.
const markerKey = "EXO_BENCH_TEST_MARKER"

var (
	// exoBin is exo-actors built once, without -race, for the children.
	exoBin string
	// hasBenchChild says whether exoBin has the bench-child command (the
	// root command registers it in internal/cli).
	hasBenchChild bool
	// marker is this test process's marker value.
	marker string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "exo-bench-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	exoBin = filepath.Join(dir, "exo-actors")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			fmt.Fprintln(os.Stderr, "TestMain: cannot find the go tool to build exo-actors:", err)
			return 1
		}
	}
	build := exec.Command(goTool, "build", "-o", exoBin, "github.com/exo-actors/exo-actors/cmd/exo-actors")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "TestMain: go build exo-actors: %v\n%s", err, out)
		return 1
	}
	// `bench-child echo` with stdin at its end exits 0 at once if the
	// command exists, 2 (unknown command) if not.
	probe := exec.Command(exoBin, "bench-child", "echo")
	hasBenchChild = probe.Run() == nil
	marker = fmt.Sprintf("bench-test-%d", os.Getpid())

	code := m.Run()
	if left := markedProcesses(); len(left) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "child processes left behind: %v\n", left)
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

// testConfig is a Config whose children run exoBin and carry the marker.
func testConfig() Config {
	return Config{Binary: exoBin, Env: []string{markerKey + "=" + marker}}
}

// needBenchChild skips a test that runs floor children when exoBin lacks
// the bench-child command.
func needBenchChild(tb testing.TB) {
	tb.Helper()
	if !hasBenchChild {
		tb.Skip("exo-actors has no bench-child command yet: internal/cli's root must add newBenchCmd and newBenchChildCmd")
	}
}

// markedProcesses lists the live (not zombie) processes carrying this test
// process's marker.
func markedProcesses() []string {
	want := []byte(markerKey + "=" + marker + "\x00")
	entries, _ := os.ReadDir("/proc")
	var left []string
	for _, e := range entries {
		pid := e.Name()
		if pid[0] < '0' || pid[0] > '9' {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", pid, "environ"))
		if err != nil || !strings.Contains(string(env), string(want)) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) && s[i+2] == 'Z' {
			continue
		}
		left = append(left, pid)
	}
	return left
}
