package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
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
		binPath = filepath.Join(binDir, "exo-actors")
		gobin := filepath.Join(goruntime.GOROOT(), "bin", "go")
		out, err := exec.Command(gobin, "build", "-o", binPath, "github.com/exo-actors/exo-actors/cmd/exo-actors").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build exo-actors: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}
