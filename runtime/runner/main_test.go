package runner_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine Serve started (or a test
// helper) is still running when they end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
