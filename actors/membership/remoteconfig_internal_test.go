package membership

import (
	"testing"

	"github.com/exo-actors/exo-actors/internal/remoteopt"
)

// A member's Remote sends to every other member through an endpoint
// writer each; protoactor's default first queue (1,000,000 slots) is 16 MB
// per peer (docs/operations.md, "Memory of a long-running node").
func TestMemberRemoteConfigWriterQueueStartsSmall(t *testing.T) {
	cfg := memberRemoteConfig("127.0.0.1", 0)
	if got := cfg.EndpointWriterQueueSize; got != remoteopt.WriterQueueSlots {
		t.Fatalf("a member's endpoint writer starts with %d slots (%d bytes per peer), want %d", got, got*16, remoteopt.WriterQueueSlots)
	}
}
