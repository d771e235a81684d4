package actors

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// recordsOf returns the policy's records of kind k.
func recordsOf(h *errhandler.Handler, k errhandler.Kind) []errhandler.Record {
	var out []errhandler.Record
	for _, r := range h.Records() {
		if r.Kind == k {
			out = append(out, r)
		}
	}
	return out
}

// An event that its stream refuses (closed after CLOSING, or never spawned)
// is counted and classified stream_closed, at most one record per
// RecordInterval, the next record saying how many were counted only
// (defect 12 of issue 15: the error of Stream.Publish was discarded, and no
// code produced stream_closed).
func TestStreamClosedForwardingIsCountedAndClassified(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	policy, err := errhandler.New(errhandler.Config{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	nc := &nodeConfig{logger: logger, clock: fake, runnerClock: fake, policy: policy, streams: map[string]*streams.Stream{}}
	for _, topic := range streams.Topics() {
		nc.streams[topic] = streams.New(topic, streams.Config{Clock: fake})
	}
	// The alerts stream is closed (as after CLOSING); the others were never
	// spawned (as when a spawn failed).
	if err := nc.streams[TopicAlerts].Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		nc.emit(&Alert{RunnerID: "r-1", Message: "late"})
	}
	nc.emit(&TaskStatusChanged{RunnerID: "r-1", TaskID: "t"})
	st := nc.fwd.stats()
	recs := recordsOf(policy, errhandler.KindStreamClosed)
	if st.StreamClosed != 5 || st.StreamNotSpawned != 1 || st.Records != 1 || st.Suppressed != 5 || len(recs) != 1 {
		t.Fatalf("after 6 refused events: %+v, %d records; want 5 closed, 1 not spawned, 1 record, 5 suppressed", st, len(recs))
	}
	if r := recs[0]; r.Decision.Rule != "stream-closed" || r.Decision.Action != errhandler.Skip || r.Component != "stream" ||
		!strings.Contains(r.Operation, "publish alert to alerts") || r.RunnerID != "" {
		t.Errorf("record %+v: want rule stream-closed SKIP, component stream, the operation named, no runner", r)
	}
	fake.Advance(RecordInterval)
	nc.emit(&Alert{RunnerID: "r-1", Message: "later"})
	recs = recordsOf(policy, errhandler.KindStreamClosed)
	if len(recs) != 2 || !strings.Contains(recs[1].Message, "5 more of this kind") {
		t.Fatalf("records after the interval: %+v; want a second one counting the 5 suppressed", recs)
	}
	// While the node shuts down the same refusal is expected: LOW.
	nc.shuttingDown = func() bool { return true }
	fake.Advance(RecordInterval)
	nc.emit(&Alert{RunnerID: "r-1"})
	recs = recordsOf(policy, errhandler.KindStreamClosed)
	if last := recs[len(recs)-1]; last.Decision.Severity != errhandler.Low || last.Decision.Rule != "shutting-down" {
		t.Errorf("refusal during shutdown: %v, want LOW (rule shutting-down)", last.Decision)
	}
	// An event accepted by its stream is counted as published.
	if got := nc.fwd.stats().Published; got != 0 {
		t.Errorf("published %d, want 0", got)
	}
}
