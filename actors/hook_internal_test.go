package actors

import (
	"io"
	"testing"

	"github.com/sirupsen/logrus"
)

// TestHookCloseDuringDeliver: an event handed to the async hook while the
// node shuts down is delivered or counted as dropped, even when close
// finishes draining the queue between deliver's stop check and its send
// (nobody reads the queue after that).
func TestHookCloseDuringDeliver(t *testing.T) {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	h := newHookRunner(func(Event) {}, 4, 0, logger)
	h.enqueueing = h.close
	h.deliver(&ProcessStarted{RunnerID: "r1"})
	if s := h.stats(); s.Calls+s.Dropped != 1 {
		t.Fatalf("one event delivered to a closing hook: %d calls + %d dropped, want 1 (%d left in the queue)", s.Calls, s.Dropped, s.Queued)
	}
}
