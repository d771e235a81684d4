package errhandler

import (
	"strings"
	"testing"
)

// TestHintsNameTheNodeConfigKey: a hint that says to raise a RunnerTimeouts
// field also names the key of an `exo-actors node` config that sets it, so
// a node operator (who has no Go API) knows what to change.
func TestHintsNameTheNodeConfigKey(t *testing.T) {
	for _, tc := range []struct {
		kind      Kind
		goField   string
		configKey string
	}{
		{KindHang, "RunnerTimeouts.HeartbeatTimeout", "timeouts.heartbeat_timeout"},
		{KindNoProgress, "RunnerTimeouts.ProgressTimeout", "timeouts.progress_timeout"},
		{KindLoadingStall, "RunnerTimeouts.LoadingStall", "timeouts.loading_stall"},
		{KindHandshakeTimeout, "RunnerTimeouts.Handshake", "timeouts.handshake"},
	} {
		h := tc.kind.Hint()
		if !strings.Contains(h, tc.goField) || !strings.Contains(h, "(node config: "+tc.configKey+")") {
			t.Errorf("%s: hint %q: want it to name %s and (node config: %s)", tc.kind, h, tc.goField, tc.configKey)
		}
	}
}
