package httpapi_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// binary is exo-actors, built once without -race, for the built-in runners.
var binary string

const markerKey = "EXO_ACTORS_TEST_MARKER"

var marker = fmt.Sprintf("httpapi-test-%d", os.Getpid())

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exo-actors-httpapi-test-")
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
	os.Exit(code)
}
