package cli

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		// A helper process of a test (remote_gap_test.go): a client of a
		// node with its own protoactor endpoint, which lives as long as
		// its process, so not in this one.
		os.Exit(runHelper(h))
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// exoBinary builds exo-actors once (without -race) for tests that run it as
// a separate process.
func exoBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "exo-actors-cli-test-")
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
