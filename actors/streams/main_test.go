package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait in these tests: a reader or a stream that needs
// longer is hung.
const wait = 10 * time.Second

// newSystem returns an actor system for one test. At the end of the test it
// is shut down and no goroutine may be left: the dead-letter throttle
// interval is short so its goroutine ends at once, and protoactor logs are
// discarded.
func newSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	// Goroutines of the test framework itself (parent tests, benchmarks)
	// are not this test's; the check runs last, after the system shut down.
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
	sys := actor.NewActorSystem(
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
	)
	t.Cleanup(sys.Shutdown)
	return sys
}

// guarded returns a root context whose spawns are supervised by
// ParentStrategy (an explicit strategy, not protoactor's default).
func guarded(sys *actor.ActorSystem) *actor.RootContext {
	return sys.Root.Copy().WithGuardian(ParentStrategy(nil))
}

var names atomic.Uint64

// spawn makes a stream and spawns its actor under a guarded root.
func spawn(t testing.TB, sys *actor.ActorSystem, topic string, cfg Config) *Stream {
	t.Helper()
	s := New(topic, cfg)
	if _, err := s.Spawn(guarded(sys), fmt.Sprintf("%s-%d", topic, names.Add(1))); err != nil {
		t.Fatal(err)
	}
	return s
}

// closeStream closes s and waits (bounded) until its actor stopped.
func closeStream(t testing.TB, s *Stream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// readAll reads sub until the end of the stream, each Next bounded by wait.
// It returns the entries (Gap events included) and the end error; an error
// that is not the end of the stream is returned as is.
func readAll(sub *Subscription) ([]Event, error) {
	var out []Event
	for {
		ev, err := next(sub)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func next(sub *Subscription) (Event, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ev, err := sub.Next(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return ev, fmt.Errorf("hung reader: no event and no end of stream within %s", wait)
	}
	return ev, err
}

// stats asks the actor for its stats: the reply also proves that every
// message sent before from this goroutine was handled.
func statsOf(t testing.TB, sys *actor.ActorSystem, s *Stream) Stats {
	t.Helper()
	res, err := sys.Root.RequestFuture(s.PID(), &StatsQuery{}, wait).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(Stats)
}

// checkOrder verifies one reader's entries against an unfiltered view of a
// stream that published seqs from+1..to: every sequence number appears
// exactly once, as an event or inside a Gap, in order. It returns the
// number of events and the sum of Gap.Dropped.
func checkOrder(entries []Event, from, to uint64) (events, dropped uint64, err error) {
	expect := from + 1
	for i, e := range entries {
		if e.IsGap() {
			g := e.Gap
			if e.Kind != KindGap || e.Seq != 0 {
				return 0, 0, fmt.Errorf("entry %d: gap event with kind %q seq %d", i, e.Kind, e.Seq)
			}
			if g.FromSeq != expect || g.ToSeq < g.FromSeq || g.Dropped != g.ToSeq-g.FromSeq+1 {
				return 0, 0, fmt.Errorf("entry %d: gap %+v, expected it to start at seq %d", i, *g, expect)
			}
			if i+1 < len(entries) && entries[i+1].IsGap() {
				return 0, 0, fmt.Errorf("entry %d: two gaps in a row (not coalesced)", i)
			}
			dropped += g.Dropped
			expect = g.ToSeq + 1
			continue
		}
		if e.Seq != expect {
			return 0, 0, fmt.Errorf("entry %d: seq %d, expected %d", i, e.Seq, expect)
		}
		events++
		expect++
	}
	if expect-1 != to {
		return 0, 0, fmt.Errorf("entries end at seq %d, the stream published up to %d", expect-1, to)
	}
	return events, dropped, nil
}

func departed(st Stats, id uint64) (SubStats, bool) {
	for _, d := range st.Departed {
		if d.ID == id {
			return d, true
		}
	}
	return SubStats{}, false
}
