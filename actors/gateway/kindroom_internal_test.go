package gateway

import (
	"maps"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestKindRoom: the room GwNodeStatusReply reports per bounded kind counts
// only live runners of that kind, never goes below 0, and leaves unbounded
// kinds out (placement reads it to skip a member that would refuse).
func TestKindRoom(t *testing.T) {
	g := &Gateway{cfg: Config{Kinds: map[string]Kind{
		"llama": {MaxRunners: 2},
		"embed": {MaxRunners: 1},
		"free":  {},
	}}}
	st := func(k exov1.RunnerStatusKind) *exov1.RunnerStatus { return &exov1.RunnerStatus{Kind: k} }
	if got, want := g.kindRoom(nil), map[string]int32{"llama": 2, "embed": 1}; !maps.Equal(got, want) {
		t.Fatalf("no runners: room %v, want %v", got, want)
	}
	infos := []actors.RunnerInfo{
		{Kind: "llama", Status: st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY)},
		{Kind: "llama", Status: st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED)}, // terminal: not counted
		{Kind: "embed", Status: st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING)},
		{Kind: "embed", Status: st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING)}, // over the bound: room 0, not -1
		{Kind: "free", Status: st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY)},
	}
	if got, want := g.kindRoom(infos), map[string]int32{"llama": 1, "embed": 0}; !maps.Equal(got, want) {
		t.Fatalf("room %v, want %v", got, want)
	}
	if got := (&Gateway{cfg: Config{Kinds: map[string]Kind{"free": {}}}}).kindRoom(infos); got != nil {
		t.Fatalf("no bounded kind: room %v, want none", got)
	}
	// A node-wide bound (Config.MaxRunners) bounds every kind: 4 live of
	// 5 leaves 1 for each, fewer where the kind's own bound says so.
	g.cfg.MaxRunners = 5
	if got, want := g.kindRoom(infos), map[string]int32{"llama": 1, "embed": 0, "free": 1}; !maps.Equal(got, want) {
		t.Fatalf("node-wide bound 5: room %v, want %v", got, want)
	}
}
