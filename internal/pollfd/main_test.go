package pollfd

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (a Writer's
// flusher ends in Close).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
