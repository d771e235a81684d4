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
