package runtime

import (
	"errors"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// TestPlaceKindOfALostMemberIsNoMistake: a kind that only a member lost
// moments ago registers (its node restarting in a rolling restart, or cut
// off) is a passing state, as one that only a suspect or leaving member
// registers: SpawnRunner says to try again shortly and does not wrap
// ErrUnknownKind, which says the kind is a mistake ("use one of those, or
// start nodes whose config registers it"). The lost member leaves
// cc.members at once, so the check of the members alone took it for a
// kind nobody has.
func TestPlaceKindOfALostMemberIsNoMistake(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a", Kinds: []string{"llama"}}, c: goneClient(), state: memberSuspect}
	b := &memberConn{m: membership.Member{ID: "mb", NodeName: "b", Kinds: []string{"gen"}}, c: goneClient()}
	cc := noteClient(t, 0, a, b)
	cc.ctx, cc.dead = t.Context(), map[string]bool{}
	cc.cfg.Cluster = "c"
	_, err := cc.place(t.Context(), "llama", "")
	if !errors.Is(err, ErrNoPlacement) || errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), "try again shortly") {
		t.Fatalf("with a suspect: %v; want ErrNoPlacement, try again shortly", err)
	}
	cc.declareLost(a, "its connection was lost (test)", false)
	cc.wg.Wait()
	_, err = cc.place(t.Context(), "llama", "")
	if !errors.Is(err, ErrNoPlacement) || errors.Is(err, ErrUnknownKind) || !strings.Contains(err.Error(), "try again shortly") {
		t.Errorf("just after its loss: %v; want ErrNoPlacement, try again shortly, not ErrUnknownKind", err)
	}
	if _, err := cc.place(t.Context(), "whisper", ""); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("a kind no member ever registered: %v; want ErrUnknownKind", err)
	}
}
