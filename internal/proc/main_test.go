package proc_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if a goroutine of a process (reader,
// writer, waiter) or of the spawner is still running when they end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
