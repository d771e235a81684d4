package runtime

import (
	"testing"

	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestClosingPiecesCountTheBuffer: the pieces of a stream's final
// hand-over (closing, then end) may together carry the credit plus the
// buffer, and no more; a delivery that is neither closing nor end gets
// the credit alone.
func TestClosingPiecesCountTheBuffer(t *testing.T) {
	evs := func(n int) []streams.Event { return make([]streams.Event, n) }
	rs := newRemoteSub(1, 100)
	if err := rs.take("n", &exov1.GwDelivery{Topic: "alerts"}, evs(2)); err == nil {
		t.Fatal("2 events on a credit of 1, not closing: taken")
	}
	if err := rs.take("n", &exov1.GwDelivery{Topic: "alerts", Closing: true}, evs(60)); err != nil {
		t.Fatalf("a closing piece within credit and buffer: %v", err)
	}
	if err := rs.take("n", &exov1.GwDelivery{Topic: "alerts", End: true}, evs(42)); err == nil {
		t.Fatal("the end went past credit + buffer over its pieces: taken")
	}
	if err := rs.take("n", &exov1.GwDelivery{Topic: "alerts", End: true}, evs(41)); err != nil {
		t.Fatalf("the end within credit + buffer: %v", err)
	}
}
