package remoteopt_test

import (
	"testing"

	"github.com/asynkron/protoactor-go/remote"

	"github.com/exo-actors/exo-actors/internal/remoteopt"
)

func TestWriterQueue(t *testing.T) {
	def := remote.Configure("127.0.0.1", 0)
	cfg := remote.Configure("127.0.0.1", 0, remoteopt.WriterQueue())
	if cfg.EndpointWriterQueueSize != remoteopt.WriterQueueSlots {
		t.Fatalf("EndpointWriterQueueSize %d, want %d", cfg.EndpointWriterQueueSize, remoteopt.WriterQueueSlots)
	}
	// A full batch fits without growing the ring.
	if remoteopt.WriterQueueSlots < def.EndpointWriterBatchSize {
		t.Fatalf("%d slots hold less than one batch of %d messages", remoteopt.WriterQueueSlots, def.EndpointWriterBatchSize)
	}
}
