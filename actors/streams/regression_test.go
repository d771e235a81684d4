package streams

// Regression tests named after exo's original shutdown bugs. Each runs
// 10,000 seeded iterations of a racy scenario on one actor system, several
// iterations at once; every wait is bounded, so a hang fails the test.
//
//	EXO_STREAMS_SEED=n        repeat a run (the seed is logged)
//	EXO_STREAMS_ITERATIONS=n  run n iterations instead of 10,000
//	EXO_STREAMS_ITERATION=i   run iteration i of the seed alone

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

type scenario func(root *actor.RootContext, rng *rand.Rand, iteration int, tl *tally) error

// tally sums what the iterations' streams counted, to show what the
// scenarios exercised.
type tally struct {
	mu sync.Mutex
	Stats
}

func (tl *tally) add(st Stats) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.Published += st.Published
	tl.DeadLettered += st.DeadLettered
	tl.Delivered += st.Delivered
	tl.GapDropped += st.GapDropped
	tl.GapEvents += st.GapEvents
	tl.Discarded += st.Discarded
	tl.Left += st.Left
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

func stress(t *testing.T, run scenario) {
	seed := uint64(envInt("EXO_STREAMS_SEED", time.Now().UnixNano()))
	iterations := envInt("EXO_STREAMS_ITERATIONS", 10_000)
	only := envInt("EXO_STREAMS_ITERATION", -1)
	t.Logf("seed %d: repeat with EXO_STREAMS_SEED=%d go test -race -run '^%s$' ./actors/streams", seed, seed, t.Name())
	sys := newSystem(t)
	root := guarded(sys)
	var (
		nextIter atomic.Int64
		ran      atomic.Int64
		failures atomic.Int64
		mu       sync.Mutex
		first    []string
		wg       sync.WaitGroup
	)
	var tl tally
	start := time.Now()
	for range 4 * runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for failures.Load() < 3 {
				i := nextIter.Add(1) - 1
				if i >= iterations {
					return
				}
				if only >= 0 && i != only {
					continue
				}
				ran.Add(1)
				rng := rand.New(rand.NewPCG(seed, uint64(i)))
				if err := run(root, rng, int(i), &tl); err != nil {
					failures.Add(1)
					mu.Lock()
					first = append(first, fmt.Sprintf("iteration %d: %v\n\trepeat alone: EXO_STREAMS_SEED=%d EXO_STREAMS_ITERATION=%d", i, err, seed, i))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, f := range first {
		t.Error(f)
	}
	t.Logf("%d iterations in %s: published %d, dead-lettered %d, delivered %d, dropped %d in %d gaps, discarded on leave %d, left %d",
		ran.Load(), time.Since(start).Round(time.Millisecond),
		tl.Published, tl.DeadLettered, tl.Delivered, tl.GapDropped, tl.GapEvents, tl.Discarded, tl.Left)
}

// reader reads a subscription to its end in its own goroutine; slow readers
// yield between events so buffers overflow and credit runs out.
type reader struct {
	sub     *Subscription
	entries []Event
	err     error
	again   error // a second Next after the end
}

func (r *reader) run(slow bool, rng *rand.Rand) func() {
	yieldEvery := 0
	if slow {
		yieldEvery = 1 + rng.IntN(3)
	}
	return func() {
		for {
			ev, err := next(r.sub)
			if err != nil {
				r.err = err
				_, r.again = next(r.sub)
				return
			}
			r.entries = append(r.entries, ev)
			if yieldEvery > 0 && len(r.entries)%yieldEvery == 0 {
				runtime.Gosched()
			}
		}
	}
}

// verifyEnded checks that a reader got EndOfStream last (and again on a
// second Next), and that its entries account for seqs from+1..to exactly as
// the stream's record of it says.
func verifyEnded(st Stats, r *reader, from, to uint64) error {
	if !errors.Is(r.err, ErrEndOfStream) || !errors.Is(r.err, io.EOF) {
		return fmt.Errorf("subscriber %d ended with %v, want EndOfStream", r.sub.ID(), r.err)
	}
	if !errors.Is(r.again, ErrEndOfStream) {
		return fmt.Errorf("subscriber %d: Next after the end returned %v", r.sub.ID(), r.again)
	}
	events, dropped, err := checkOrder(r.entries, from, to)
	if err != nil {
		return fmt.Errorf("subscriber %d: %w", r.sub.ID(), err)
	}
	return matchRecord(st, r, events, dropped)
}

// matchRecord compares what a reader saw with the stream's record of it. A
// subscriber that left may have had a Gap pending (its drops counted, the
// notice discarded with its buffer): then the record has more drops.
func matchRecord(st Stats, r *reader, events, dropped uint64) error {
	d, ok := departed(st, r.sub.ID())
	if !ok {
		return fmt.Errorf("subscriber %d not among the departed", r.sub.ID())
	}
	var gaps uint64
	for _, e := range r.entries {
		if e.IsGap() {
			gaps++
		}
	}
	if d.Delivered != events || d.GapEvents != gaps || d.Dropped < dropped || (d.Dropped > dropped && !d.Left) {
		return fmt.Errorf("subscriber %d read %d events, %d dropped in %d gaps; the stream says %+v", r.sub.ID(), events, dropped, gaps, d)
	}
	return nil
}

// settle waits (bounded) for the stream to stop and checks the stream-wide
// accounting against the producers' own count of attempts.
func settle(s *Stream, attempts uint64) (Stats, error) {
	select {
	case <-s.Done():
	case <-time.After(wait):
		return Stats{}, fmt.Errorf("stream did not stop within %s", wait)
	}
	st := s.Stats()
	if err := st.Check(); err != nil {
		return st, err
	}
	if st.Published+st.DeadLettered != attempts || st.Offered != attempts || st.InFlight != 0 {
		return st, fmt.Errorf("%d publish attempts, stream says published %d + dead-lettered %d (offered %d, in flight %d)",
			attempts, st.Published, st.DeadLettered, st.Offered, st.InFlight)
	}
	if st.Subscribers != 0 {
		return st, fmt.Errorf("%d subscribers left after the stop", st.Subscribers)
	}
	return st, nil
}

// Regression for exo's ClosedResourceError: a reader looped over a channel
// that another task closed between iterations. Here readers are blocked in
// (or about to call) Subscription.Next while the stream closes with events
// still buffered, and producers keep publishing into the close.
func TestClosedResourceError_NextRacesStreamClose(t *testing.T) {
	stress(t, func(root *actor.RootContext, rng *rand.Rand, i int, tl *tally) error {
		s := New(TopicTasks, Config{Buffer: 1 + rng.IntN(8), Window: 1 + rng.IntN(6)})
		if _, err := s.Spawn(root, fmt.Sprintf("close-%d", i)); err != nil {
			return err
		}
		readers := make([]*reader, 1+rng.IntN(3))
		var wg sync.WaitGroup
		for k := range readers {
			readers[k] = &reader{sub: s.Subscribe(Filter{}, SubscribeOptions{})}
			wg.Go(readers[k].run(rng.IntN(2) == 0, rng))
		}
		n := rng.IntN(30)
		closeAt := rng.IntN(n + 1)
		var closeErr error
		var closer sync.WaitGroup
		attempts := uint64(0)
		for j := 0; j <= n; j++ {
			if j == closeAt {
				if rng.IntN(2) == 0 {
					// The Close message lands among the Publishes still
					// being sent: the later ones become dead letters.
					root.Send(s.PID(), &Close{})
				} else {
					closer.Go(func() {
						ctx, cancel := context.WithTimeout(context.Background(), wait)
						defer cancel()
						closeErr = s.Close(ctx)
					})
				}
			}
			if j < n {
				attempts++
				if err := s.Publish(Event{Kind: "chunk", TaskID: "t"}); err != nil && !errors.Is(err, ErrStreamClosed) {
					return err
				}
			}
		}
		closer.Wait()
		wg.Wait()
		if closeErr != nil {
			return closeErr
		}
		st, err := settle(s, attempts)
		if err != nil {
			return err
		}
		tl.add(st)
		for _, r := range readers {
			if err := verifyEnded(st, r, 0, st.Published); err != nil {
				return err
			}
		}
		return nil
	})
}

// leaver is a subscriber that leaves mid-stream, by its own reader or by
// another goroutine while the reader waits in Next.
type leaver struct {
	reader
	after  int    // entries to read before leaving
	how    int    // leaveSelf, leaveRacing or leaveIdle
	handed uint64 // entries handed over when Close returned
}

const (
	leaveSelf   = iota // its reader reads `after` entries, then closes
	leaveRacing        // another goroutine closes it while its slow reader waits in Next
	leaveIdle          // it reads nothing; the producer closes it right after publishing, racing the stream's fan-out
)

// Regression for exo's BrokenResourceError: the sending side wrote to a
// receiver that had gone away. Here subscribers leave (Subscription.Close,
// or an actor subscriber that stops or unsubscribes) while producers
// publish to them.
func TestBrokenResourceError_PublishToSubscriberThatLeft(t *testing.T) {
	stress(t, func(root *actor.RootContext, rng *rand.Rand, i int, tl *tally) error {
		s := New(TopicTasks, Config{Buffer: 1 + rng.IntN(8), Window: 1 + rng.IntN(6)})
		if _, err := s.Spawn(root, fmt.Sprintf("left-%d", i)); err != nil {
			return err
		}
		n := rng.IntN(40)
		stayer := &reader{sub: s.Subscribe(Filter{}, SubscribeOptions{})}
		leavers := make([]*leaver, 1+rng.IntN(3))
		var wg sync.WaitGroup
		wg.Go(stayer.run(false, rng))
		for k := range leavers {
			l := &leaver{reader: reader{sub: s.Subscribe(Filter{}, SubscribeOptions{})}, after: rng.IntN(n + 1), how: rng.IntN(3)}
			leavers[k] = l
			switch l.how {
			case leaveIdle:
				continue
			case leaveRacing:
				// A slow reader, so its buffer in the stream holds events
				// when it leaves; it reads until the end, whenever Close lands.
				wg.Go(l.run(true, rng))
				wg.Go(func() {
					for range l.after {
						runtime.Gosched()
					}
					l.sub.Close()
					l.handed, _ = l.sub.Received()
				})
				continue
			}
			wg.Go(func() { // leaveSelf
				for len(l.entries) < l.after {
					ev, err := next(l.sub)
					if err != nil { // the stream closed first
						l.err = err
						_, l.again = next(l.sub)
						break
					}
					l.entries = append(l.entries, ev)
				}
				l.sub.Close() // a no-op if the stream closed first
				l.handed, _ = l.sub.Received()
				if l.err == nil {
					l.run(false, nil)() // what was handed over before Close, then the end
				}
			})
		}
		var actorSub *actor.PID
		var done chan []Event
		if rng.IntN(4) == 0 {
			done = make(chan []Event, 1) // never closed
			ps := &leavingPIDSubscriber{pidSubscriber: pidSubscriber{done: done}, stopAfter: rng.IntN(n + 1), unsubscribe: rng.IntN(2) == 0}
			actorSub = root.Spawn(actor.PropsFromProducer(func() actor.Actor { return ps }, actor.WithSupervisor(stopChildren{})))
			root.RequestWithCustomSender(s.PID(), &Subscribe{PID: actorSub}, actorSub)
		}
		for range n {
			if err := s.Publish(Event{Kind: "chunk"}); err != nil {
				return err
			}
		}
		synced := rng.IntN(2) == 0
		if synced { // every Publish handled: idle leavers hold a full window and buffer
			if _, err := root.RequestFuture(s.PID(), &StatsQuery{}, wait).Result(); err != nil {
				return err
			}
		}
		for _, l := range leavers {
			if l.how == leaveIdle {
				l.sub.Close()
				l.handed, _ = l.sub.Received()
				wg.Go(l.run(false, nil)) // what was handed over before Close, then the end
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			return err
		}
		wg.Wait()
		st, err := settle(s, uint64(n))
		if err != nil {
			return err
		}
		tl.add(st)
		if err := verifyEnded(st, stayer, 0, uint64(n)); err != nil {
			return err
		}
		for _, l := range leavers {
			if !errors.Is(l.err, ErrEndOfStream) || (l.again != nil && !errors.Is(l.again, ErrEndOfStream)) {
				return fmt.Errorf("leaver %d ended with %v / %v", l.sub.ID(), l.err, l.again)
			}
			if got, _ := l.sub.Received(); got != l.handed {
				return fmt.Errorf("leaver %d was handed %d entries after Close returned (had %d)", l.sub.ID(), got-l.handed, l.handed)
			}
			if uint64(len(l.entries)) != l.handed {
				return fmt.Errorf("leaver %d read %d of the %d entries handed to it", l.sub.ID(), len(l.entries), l.handed)
			}
			last, events, dropped, err := checkPrefix(l.entries)
			if err != nil {
				return fmt.Errorf("leaver %d: %w", l.sub.ID(), err)
			}
			if err := matchRecord(st, &l.reader, events, dropped); err != nil {
				return err
			}
			d, _ := departed(st, l.sub.ID())
			if d.LeftAt < last || (d.Left == d.Ended) {
				return fmt.Errorf("leaver %d read up to seq %d: %+v", l.sub.ID(), last, d)
			}
			if l.how == leaveIdle && synced { // the policy, exactly
				w, b := uint64(d.Window), uint64(d.Buffer)
				delivered := min(uint64(n), w)
				discarded := min(uint64(n)-delivered, b)
				if d.Delivered != delivered || d.Discarded != discarded || d.Dropped != uint64(n)-delivered-discarded || d.GapEvents != 0 {
					return fmt.Errorf("idle leaver after %d events (window %d, buffer %d): %+v", n, w, b, d)
				}
			}
		}
		if actorSub != nil {
			if err := root.StopFuture(actorSub).Wait(); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkPrefix is checkOrder for a reader that left: its entries start at
// seq 1 and have no hole, but may end anywhere. It returns the last seq.
func checkPrefix(entries []Event) (last, events, dropped uint64, err error) {
	for _, e := range entries {
		switch {
		case e.IsGap():
			last = e.Gap.ToSeq
		default:
			last = e.Seq
		}
	}
	events, dropped, err = checkOrder(entries, 0, last)
	return last, events, dropped, err
}

// leavingPIDSubscriber is an actor subscriber that leaves after stopAfter
// entries: it stops, or it unsubscribes.
type leavingPIDSubscriber struct {
	pidSubscriber
	stopAfter   int
	unsubscribe bool
	gone        bool
}

func (p *leavingPIDSubscriber) Receive(ctx actor.Context) {
	if p.gone {
		return
	}
	p.pidSubscriber.Receive(ctx)
	if _, ok := ctx.Message().(*Delivery); ok && len(p.entries) >= p.stopAfter {
		p.gone = true
		if p.unsubscribe {
			ctx.Send(p.stream, &Unsubscribe{ID: p.id})
		} else {
			ctx.Stop(ctx.Self())
		}
	}
}

// streamParent spawns a stream as its child, so the stream can be stopped
// by stopping its parent.
type streamParent struct{ s *Stream }

func (p *streamParent) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		if _, err := p.s.Spawn(ctx, "stream"); err != nil {
			panic(err) // a test bug; the test sees the stream never spawned
		}
	case string:
		ctx.Respond(p.s.PID())
	}
}

// Regression for exo's "Queue is closed": a producer kept putting events
// into a queue that shutdown had closed. Here producers publish while the
// stream is closed (Close), stopped (Stop, Poison) or its parent stops.
func TestQueueClosed_ProducerPublishesDuringShutdown(t *testing.T) {
	stress(t, func(root *actor.RootContext, rng *rand.Rand, i int, tl *tally) error {
		s := New(TopicTasks, Config{Buffer: 1 + rng.IntN(16), Window: 1 + rng.IntN(6)})
		mode := rng.IntN(4)
		var parent *actor.PID
		if mode == 3 {
			parent = root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &streamParent{s: s} },
				actor.WithSupervisor(ParentStrategy(nil))))
			if _, err := root.RequestFuture(parent, "pid?", wait).Result(); err != nil {
				return err
			}
		} else if _, err := s.Spawn(root, fmt.Sprintf("queue-%d", i)); err != nil {
			return err
		}
		readers := make([]*reader, 1+rng.IntN(2))
		var wg sync.WaitGroup
		for k := range readers {
			readers[k] = &reader{sub: s.Subscribe(Filter{}, SubscribeOptions{})}
			wg.Go(readers[k].run(rng.IntN(2) == 0, rng))
		}
		filtered := &reader{sub: s.Subscribe(Filter{RunnerID: "r0"}, SubscribeOptions{})}
		wg.Go(filtered.run(false, rng))
		producers := 1 + rng.IntN(3)
		perProducer := rng.IntN(40)
		shutdownAt := int64(rng.IntN(producers*perProducer + 1))
		var published, attempts atomic.Int64
		var shutErr error
		var prodErr atomic.Value
		shutdown := func() {
			switch mode {
			case 0:
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				shutErr = s.Close(ctx)
			case 1:
				root.Stop(s.PID())
			case 2:
				root.Poison(s.PID())
			case 3:
				root.Stop(parent)
			}
		}
		var prod sync.WaitGroup
		for p := range producers {
			prod.Go(func() {
				for range perProducer {
					if attempts.Add(1)-1 == shutdownAt {
						shutdown() // while this and the other producers publish
					}
					err := s.Publish(Event{RunnerID: fmt.Sprint("r", p), Kind: "chunk"})
					switch {
					case err == nil:
						published.Add(1)
					case !errors.Is(err, ErrStreamClosed):
						prodErr.CompareAndSwap(nil, err)
					}
				}
			})
		}
		prod.Wait()
		if err, _ := prodErr.Load().(error); err != nil {
			return err
		}
		if shutdownAt == attempts.Load() {
			shutdown()
		}
		select {
		case <-s.Done():
		case <-time.After(wait):
			return fmt.Errorf("mode %d: stream did not stop", mode)
		}
		if err := s.Publish(Event{Kind: "late"}); !errors.Is(err, ErrStreamClosed) {
			return fmt.Errorf("publish after the stop: %v", err)
		}
		wg.Wait()
		if shutErr != nil {
			return shutErr
		}
		st, err := settle(s, uint64(attempts.Load())+1)
		if err != nil {
			return fmt.Errorf("mode %d: %w", mode, err)
		}
		tl.add(st)
		if uint64(published.Load()) < st.Published {
			return fmt.Errorf("mode %d: %d publishes returned nil, %d published", mode, published.Load(), st.Published)
		}
		for _, r := range readers {
			if err := verifyEnded(st, r, 0, st.Published); err != nil {
				return fmt.Errorf("mode %d: %w", mode, err)
			}
		}
		if !errors.Is(filtered.err, ErrEndOfStream) {
			return fmt.Errorf("mode %d: filtered reader ended with %v", mode, filtered.err)
		}
		var events, dropped uint64
		for _, e := range filtered.entries {
			switch {
			case e.IsGap():
				dropped += e.Gap.Dropped
			case e.RunnerID != "r0":
				return fmt.Errorf("mode %d: filtered reader got %+v", mode, e)
			default:
				events++
			}
		}
		if err := matchRecord(st, filtered, events, dropped); err != nil {
			return fmt.Errorf("mode %d: %w", mode, err)
		}
		if mode == 3 {
			if err := root.StopFuture(parent).Wait(); err != nil && !errors.Is(err, actor.ErrTimeout) {
				return err
			}
		}
		return nil
	})
}
