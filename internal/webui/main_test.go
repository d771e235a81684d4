package webui_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// The browser test builds exo-actors (without -race) for its built-in
// runners, once, into buildDir; the other tests need no binary.
var (
	buildDir  string
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func exoBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { binary, buildErr = testutil.BuildExo(buildDir) })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// markerKey=marker is in the environment of every process the tests start
// (runners, chromium), so a scan finds any left behind.
const markerKey = "EXO_ACTORS_TEST_MARKER"

var marker = fmt.Sprintf("webui-test-%d", os.Getpid())

func TestMain(m *testing.M) {
	var err error
	if buildDir, err = os.MkdirTemp("", "exo-actors-webui-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(buildDir)
	// Killed chromium processes linger as zombies for a while: MarkedProcesses
	// reads the process state and skips them.
	if left := testutil.MarkedProcesses(markerKey, marker); len(left) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "processes left behind: %v\n", left)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
