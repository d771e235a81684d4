package protocol_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func TestLegalAfter(t *testing.T) {
	for from, want := range map[exov1.RunnerStatusKind]string{
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING:       "Loading, Loaded, ShuttingDown or Failed",
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE:          "Connecting, Loading, ShuttingDown or Failed",
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN: "Shutdown or Failed",
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN:      "nothing (it is terminal)",
	} {
		if got := protocol.LegalAfter(from); got != want {
			t.Errorf("after %s: %q, want %q", protocol.StatusName(from), got, want)
		}
	}
	// It names exactly the legal transitions.
	for k := range exov1.RunnerStatusKind_name {
		from := exov1.RunnerStatusKind(k)
		if protocol.Terminal(from) {
			continue
		}
		names := strings.Split(strings.Replace(protocol.LegalAfter(from), " or ", ", ", 1), ", ")
		for j := range exov1.RunnerStatusKind_name {
			to := exov1.RunnerStatusKind(j)
			if legal, named := protocol.ValidTransition(from, to), slices.Contains(names, protocol.StatusName(to)); legal != named {
				t.Errorf("%s → %s: legal %v, but LegalAfter says %q", protocol.StatusName(from), protocol.StatusName(to), legal, protocol.LegalAfter(from))
			}
		}
	}
}

// TestNegotiateSaysWhatIsWrongWithTheRange: ranges that do not overlap
// name both; a runner's empty range, or none at all (0, 0), says so and
// what to send, not "upgrade the older side" (a raw runner's trial).
func TestNegotiateSaysWhatIsWrongWithTheRange(t *testing.T) {
	for _, tc := range []struct {
		min, max uint32
		want     string
	}{
		{2, 3, "protocol versions do not overlap: runner speaks [2, 3], supervisor speaks [1, 1]; upgrade the older side"},
		{3, 1, "the runner's Hello gives an empty protocol version range [3, 1] (min_version above max_version; the supervisor speaks [1, 1]): send min_version <= max_version"},
		{0, 0, "the runner's Hello gives no protocol versions (min_version and max_version are 0; the supervisor speaks [1, 1]): send the range the runner speaks, e.g. min_version 1, max_version 1"},
	} {
		v, err := protocol.Negotiate(tc.min, tc.max, 1, 1)
		if err == nil || err.Error() != tc.want {
			t.Errorf("[%d, %d]: %d, %v\nwant %s", tc.min, tc.max, v, err, tc.want)
		}
	}
	if v, err := protocol.Negotiate(1, 3, 1, 1); v != 1 || err != nil {
		t.Errorf("[1, 3]: %d, %v; want 1", v, err)
	}
}
