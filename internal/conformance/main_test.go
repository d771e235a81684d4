package conformance_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// binary is exo-actors, built once (without -race) for `exo-actors runner`.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exo-conformance-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if binary, err = testutil.BuildExo(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
