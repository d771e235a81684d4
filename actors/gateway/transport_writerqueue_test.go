package gateway_test

import (
	"testing"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/internal/remoteopt"
)

// Every Remote a node or a client starts sends to each peer through an
// endpoint writer whose queue is first allocated at
// EndpointWriterQueueSize slots of 16 bytes each. protoactor's default
// (1,000,000) cost a node 16 MB per client session and kept the last one
// live (docs/operations.md, "Memory of a long-running node").
func TestRemoteConfigWriterQueueStartsSmall(t *testing.T) {
	for _, tr := range []gateway.Transport{
		{Listen: "127.0.0.1:0"},
		{Listen: "127.0.0.1:7101", MaxMessage: 64 << 10},
	} {
		cfg, err := tr.RemoteConfig()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.EndpointWriterQueueSize; got != remoteopt.WriterQueueSlots {
			t.Errorf("%+v: the endpoint writer's first queue has %d slots (%d bytes per peer before any message), want %d (remoteopt.WriterQueue)",
				tr, got, got*16, remoteopt.WriterQueueSlots)
		}
	}
}
