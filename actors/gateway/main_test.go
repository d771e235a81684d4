package gateway_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// exoBin is exo-actors built once, without -race, for the built-in
// runners ("echo") of the fixtures (NodeConfig.BuiltinBinary): a
// race-built test binary re-executed as a runner is slow and its race
// reports would be lost with its stderr (docs/traps.md; as actors and
// runtime do).
var exoBin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "exo-gateway-test-")
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
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}
