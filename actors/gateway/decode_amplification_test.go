package gateway_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// BenchmarkDecodeAmplification decodes 1 MiB of the smallest records a
// delivery can hold, as a client did before it checked a delivery
// against its credit (docs/remote.md, "Bounds on what a node sends"): B/op
// over 1 MiB is how many bytes a client allocates per byte a node sends
// when it decodes a delivery whole. Measured: ~500 (empty events), ~200
// (empty token chunks), ~270 (unpacked GwDelivery.events); the client now
// decodes a delivery only when its record count is within the credit.
func BenchmarkDecodeAmplification(b *testing.B) {
	for _, c := range []struct {
		name     string
		rec      []byte
		unpacked bool
	}{
		{"empty-events", []byte{0x0a, 0x00}, false},
		{"empty-chunks", []byte{0x0a, 0x04, 0x3a, 0x02, 0x1a, 0x00}, false},
		{"unpacked-events", []byte{0x1a, 0x00}, true}, // GwDelivery.events
	} {
		var in []byte
		for len(in) < 1<<20 {
			in = append(in, c.rec...)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				var evs []streams.Event
				if c.unpacked {
					var d exov1.GwDelivery
					if err := proto.Unmarshal(in, &d); err != nil {
						b.Fatal(err)
					}
					evs = gateway.DecodeEvents(make([]streams.Event, 0, len(d.GetEvents())), "tasks", d.GetEvents())
				} else {
					var err error
					if evs, err = gateway.UnpackEvents(nil, "tasks", in); err != nil {
						b.Fatal(err)
					}
				}
				sub, feed := streams.NewFeed("tasks", 1, 64, func(int) {}, func() {})
				feed.Deliver(evs) // what the client did next, bound or not
				sub.Close()
			}
		})
	}
}
