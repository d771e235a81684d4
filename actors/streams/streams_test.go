package streams

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

func TestErrEndOfStreamIsEOF(t *testing.T) {
	err := endReason("tasks", "closed")
	if !errors.Is(err, ErrEndOfStream) || !errors.Is(err, io.EOF) || !errors.Is(ErrEndOfStream, io.EOF) {
		t.Fatalf("%v: want errors.Is ErrEndOfStream and io.EOF", err)
	}
}

func TestOrderAndCompletenessSeveralSubscribers(t *testing.T) {
	sys := newSystem(t)
	const n, readers = 5000, 4
	s := spawn(t, sys, TopicTasks, Config{Buffer: n}) // big enough: nothing may drop here
	subs := make([]*Subscription, readers)
	for i := range subs {
		subs[i] = s.Subscribe(Filter{}, SubscribeOptions{Window: 1 + i*7})
	}
	results := make([][]Event, readers)
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for i, sub := range subs {
		wg.Go(func() { results[i], errs[i] = readAll(sub) })
	}
	for i := range n {
		if err := s.Publish(Event{RunnerID: "r1", Kind: "chunk", Payload: i}); err != nil {
			t.Fatal(err)
		}
	}
	closeStream(t, s)
	wg.Wait()
	for i := range readers {
		if !errors.Is(errs[i], ErrEndOfStream) {
			t.Fatalf("reader %d ended with %v", i, errs[i])
		}
		events, dropped, err := checkOrder(results[i], 0, n)
		if err != nil || events != n || dropped != 0 {
			t.Fatalf("reader %d: %d events, %d dropped, %v", i, events, dropped, err)
		}
		for j, e := range results[i] {
			if e.Payload != j || e.Stream != TopicTasks || e.At.IsZero() {
				t.Fatalf("reader %d entry %d: %+v", i, j, e)
			}
		}
		if _, err := next(subs[i]); !errors.Is(err, ErrEndOfStream) {
			t.Fatalf("reader %d: Next after the end: %v", i, err)
		}
	}
	st := s.Stats()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	if st.Published != n || st.Matched != n*readers || st.Delivered != n*readers || !st.Stopped {
		t.Fatalf("published × subscribers: %+v", st)
	}
}

func TestFilters(t *testing.T) {
	events := []Event{
		{RunnerID: "a", TaskID: "t1", Kind: "status"},
		{RunnerID: "a", TaskID: "t1", Kind: "chunk"},
		{RunnerID: "a", TaskID: "t2", Kind: "chunk"},
		{RunnerID: "b", TaskID: "t3", Kind: "status"},
		{RunnerID: "b", Kind: "alert"},
		{Kind: "chunk"},
	}
	tests := []struct {
		name   string
		filter Filter
		want   []uint64 // sequence numbers
	}{
		{"all", Filter{}, []uint64{1, 2, 3, 4, 5, 6}},
		{"runner", Filter{RunnerID: "a"}, []uint64{1, 2, 3}},
		{"task", Filter{TaskID: "t1"}, []uint64{1, 2}},
		{"kind", Filter{Kinds: []string{"chunk"}}, []uint64{2, 3, 6}},
		{"kinds", Filter{Kinds: []string{"status", "alert"}}, []uint64{1, 4, 5}},
		{"runner and kind", Filter{RunnerID: "b", Kinds: []string{"status"}}, []uint64{4}},
		{"runner and task", Filter{RunnerID: "a", TaskID: "t2"}, []uint64{3}},
		{"nothing", Filter{RunnerID: "zz"}, nil},
	}
	sys := newSystem(t)
	s := spawn(t, sys, TopicRunnerStatus, Config{})
	subs := make([]*Subscription, len(tests))
	for i, tc := range tests {
		subs[i] = s.Subscribe(tc.filter, SubscribeOptions{})
	}
	tests[3].filter.Kinds[0] = "mutated" // the stream keeps its own copy
	for _, e := range events {
		if err := s.Publish(e); err != nil {
			t.Fatal(err)
		}
	}
	closeStream(t, s)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(subs[i])
			if !errors.Is(err, ErrEndOfStream) {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tc.want) {
				t.Fatalf("got seqs %v, want %v", seqs, tc.want)
			}
		})
	}
	st := s.Stats()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	if st.Matched != 6+3+2+3+3+1+1 {
		t.Fatalf("matched %d", st.Matched)
	}
}

// A subscriber that does not read: 4 events fill its window, 8 its buffer,
// the other 88 push out the oldest, which become one Gap in its order.
func TestSlowSubscriberGapCountedExactly(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{Buffer: 8, Window: 4})
	slow := s.Subscribe(Filter{}, SubscribeOptions{})
	fast := s.Subscribe(Filter{}, SubscribeOptions{Buffer: 1000})
	for i := range 100 {
		if err := s.Publish(Event{Kind: "chunk", Payload: i}); err != nil {
			t.Fatal(err)
		}
	}
	st := statsOf(t, sys, s) // every Publish was handled
	ss := st.PerSubscriber[0]
	if ss.Delivered != 4 || ss.Dropped != 88 || ss.Buffered != 8 || !ss.GapPending || ss.GapEvents != 0 || ss.Credit != 0 {
		t.Fatalf("slow subscriber before reading: %+v", ss)
	}
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	var got []Event
	for len(got) < 4+1+8 {
		ev, err := next(slow)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	for i := range 4 {
		if got[i].Seq != uint64(i+1) {
			t.Fatalf("entry %d: %+v", i, got[i])
		}
	}
	if g := got[4]; !g.IsGap() || *g.Gap != (Gap{Dropped: 88, FromSeq: 5, ToSeq: 92}) || g.Kind != KindGap || g.Seq != 0 {
		t.Fatalf("entry 4: want Gap{88, 5, 92}, got %+v gap %+v", g, g.Gap)
	}
	for i := 5; i < len(got); i++ {
		if got[i].Seq != uint64(88+i) {
			t.Fatalf("entry %d: %+v", i, got[i])
		}
	}
	closeStream(t, s)
	if _, err := next(slow); !errors.Is(err, ErrEndOfStream) {
		t.Fatalf("after the last event: %v", err)
	}
	fastGot, err := readAll(fast)
	if !errors.Is(err, ErrEndOfStream) {
		t.Fatal(err)
	}
	if events, dropped, err := checkOrder(fastGot, 0, 100); err != nil || events != 100 || dropped != 0 {
		t.Fatalf("the fast subscriber lost events: %d %d %v", events, dropped, err)
	}
	st = s.Stats()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	if st.GapDropped != 88 || st.GapEvents != 1 || st.Delivered != 12+100 {
		t.Fatalf("stream stats %+v", st)
	}
}

// A reader that reads in bursts with pauses: several Gaps, each exactly
// counted, and the total adds up per subscriber.
func TestSlowSubscriberSeveralGaps(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{Buffer: 5, Window: 2})
	sub := s.Subscribe(Filter{}, SubscribeOptions{})
	filtered := s.Subscribe(Filter{Kinds: []string{"odd"}}, SubscribeOptions{Buffer: 3, Window: 1})
	var entries, fEntries []Event
	seq := 0
	for round := range 10 {
		for range 7 + round*3 {
			kind := "even"
			if seq%2 == 1 {
				kind = "odd"
			}
			seq++
			if err := s.Publish(Event{Kind: kind}); err != nil {
				t.Fatal(err)
			}
		}
		statsOf(t, sys, s)
		for range 3 { // read a little, then fall behind again
			ev, err := next(sub)
			if err != nil {
				t.Fatal(err)
			}
			entries = append(entries, ev)
			if ev, err = next(filtered); err != nil {
				t.Fatal(err)
			}
			fEntries = append(fEntries, ev)
		}
	}
	closeStream(t, s)
	rest, err := readAll(sub)
	if !errors.Is(err, ErrEndOfStream) {
		t.Fatal(err)
	}
	entries = append(entries, rest...)
	events, dropped, err := checkOrder(entries, 0, uint64(seq))
	if err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	d, _ := departed(st, sub.ID())
	var gaps uint64
	for _, e := range entries {
		if e.IsGap() {
			gaps++
		}
	}
	if dropped != d.Dropped || events != d.Delivered || gaps != d.GapEvents || gaps < 2 || events+dropped != uint64(seq) {
		t.Fatalf("reader saw %d events, %d dropped in %d gaps; stream says %+v", events, dropped, gaps, d)
	}
	rest, err = readAll(filtered)
	if !errors.Is(err, ErrEndOfStream) {
		t.Fatal(err)
	}
	fEntries = append(fEntries, rest...)
	var fEvents, fDropped uint64
	last := uint64(0)
	for _, e := range fEntries {
		switch {
		case e.IsGap():
			if e.Gap.FromSeq <= last {
				t.Fatalf("gap %+v overlaps seq %d", *e.Gap, last)
			}
			fDropped += e.Gap.Dropped
			last = e.Gap.ToSeq
		case e.Kind != "odd" || e.Seq <= last:
			t.Fatalf("filtered reader got %+v after seq %d", e, last)
		default:
			fEvents++
			last = e.Seq
		}
	}
	fd, _ := departed(st, filtered.ID())
	if fEvents != fd.Delivered || fDropped != fd.Dropped || fEvents+fDropped != fd.Matched || fd.Matched != uint64(seq/2) {
		t.Fatalf("filtered: %d events %d dropped; stream says %+v", fEvents, fDropped, fd)
	}
}

func TestSubscribeToClosedOrStoppedStreamEndsAtOnce(t *testing.T) {
	sys := newSystem(t)
	closed := spawn(t, sys, TopicAlerts, Config{})
	closeStream(t, closed)
	stopped := spawn(t, sys, TopicAlerts, Config{})
	sys.Root.Stop(stopped.PID())
	<-stopped.Done()
	never := New(TopicAlerts, Config{})
	if err := never.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Stream{"closed": closed, "stopped": stopped, "never spawned": never} {
		sub := s.Subscribe(Filter{}, SubscribeOptions{})
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_, err := sub.Next(ctx)
		cancel()
		if !errors.Is(err, ErrEndOfStream) || !errors.Is(err, io.EOF) {
			t.Fatalf("%s: Next = %v, want the end of the stream at once", name, err)
		}
		if err := s.Stats().Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := never.Spawn(sys.Root, "late"); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("spawn after close: %v", err)
	}
}

func TestPublishToStoppedStreamIsCountedDeadLetter(t *testing.T) {
	sys := newSystem(t)
	s := New(TopicErrors, Config{})
	if err := s.Publish(Event{Kind: "x"}); !errors.Is(err, ErrNotSpawned) {
		t.Fatalf("before spawn: %v", err)
	}
	if _, err := s.Spawn(guarded(sys), "errors"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Spawn(guarded(sys), "errors2"); !errors.Is(err, ErrAlreadySpawned) {
		t.Fatalf("second spawn: %v", err)
	}
	if err := s.Publish(Event{Kind: KindGap}); !errors.Is(err, ErrReservedKind) {
		t.Fatalf("reserved kind: %v", err)
	}
	if err := s.Publish(Event{Kind: "x"}); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	sys.Root.Send(pid, &Publish{Event: Event{Kind: "raw"}})
	sys.Root.Send(pid, &Publish{Event: Event{Kind: KindGap}}) // refused by the actor, counted
	// Stop skips the mailbox: raw Publishes still queued would vanish.
	statsOf(t, sys, s)
	sys.Root.Stop(pid)
	<-s.Done()
	for range 3 {
		if err := s.Publish(Event{Kind: "x"}); !errors.Is(err, ErrStreamClosed) {
			t.Fatalf("after stop: %v", err)
		}
	}
	// protoactor's behaviour for a message sent to the stopped PID directly:
	// a dead letter on the system's EventStream, no panic; the stream does
	// not see it.
	var seen sync.WaitGroup
	seen.Add(1)
	var once sync.Once
	subscription := sys.EventStream.Subscribe(func(m any) {
		if d, ok := m.(*actor.DeadLetterEvent); ok && d.PID.Equal(pid) {
			once.Do(seen.Done)
		}
	})
	sys.Root.Send(pid, &Publish{Event: Event{Kind: "raw-after-stop"}})
	seen.Wait()
	sys.EventStream.Unsubscribe(subscription)
	st := s.Stats()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	// Offered: 1 before spawn + 1 + 2 raw + 3 after stop (the reserved-kind
	// call was refused before it counted); published: the 2 valid ones.
	if st.Offered != 7 || st.DeadLettered != 5 || st.Published != 2 || st.InFlight != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLeaveMidStream(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{Buffer: 100, Window: 4})
	leaver := s.Subscribe(Filter{}, SubscribeOptions{})
	stayer := s.Subscribe(Filter{}, SubscribeOptions{})
	for range 20 {
		if err := s.Publish(Event{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	statsOf(t, sys, s)
	if ev, err := next(leaver); err != nil || ev.Seq != 1 {
		t.Fatalf("%+v %v", ev, err)
	}
	leaver.Close()
	leaver.Close() // idempotent
	recv, _ := leaver.Received()
	for range 20 {
		if err := s.Publish(Event{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	statsOf(t, sys, s)
	if r, _ := leaver.Received(); r != recv {
		t.Fatalf("handed %d entries after Close, had %d", r, recv)
	}
	rest, err := readAll(leaver) // what was handed over before Close, then the end
	if !errors.Is(err, ErrEndOfStream) || len(rest) != 3 || rest[2].Seq != 4 {
		t.Fatalf("after Close: %d entries, %v", len(rest), err)
	}
	st := s.Stats()
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	d, ok := departed(st, leaver.ID())
	if !ok || !d.Left || d.Matched != 20 || d.Delivered != 4 || d.Discarded != 16 || d.LeftAt != 20 {
		t.Fatalf("departed leaver: %+v", d)
	}
	closeStream(t, s)
	all, err := readAll(stayer)
	if _, _, oerr := checkOrder(all, 0, 40); !errors.Is(err, ErrEndOfStream) || oerr != nil {
		t.Fatalf("stayer: %v %v", err, oerr)
	}
	if err := s.Stats().Check(); err != nil {
		t.Fatal(err)
	}
}

// A subscriber that joins mid-stream sees exactly the events after it
// joined; Check knows its span.
func TestJoinMidStream(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{})
	for range 10 {
		_ = s.Publish(Event{Kind: "k"})
	}
	statsOf(t, sys, s)
	sub := s.Subscribe(Filter{}, SubscribeOptions{})
	if after, ok := sub.JoinedAfter(); after != 10 || !ok {
		t.Fatalf("JoinedAfter %d, %v; want 10, true", after, ok)
	}
	for range 5 {
		_ = s.Publish(Event{Kind: "k"})
	}
	closeStream(t, s)
	got, err := readAll(sub)
	if _, _, oerr := checkOrder(got, 10, 15); !errors.Is(err, ErrEndOfStream) || oerr != nil {
		t.Fatalf("%v %v", err, oerr)
	}
	st := s.Stats()
	if d, _ := departed(st, sub.ID()); d.JoinedAt != 10 || d.Matched != 5 || !d.Ended {
		t.Fatalf("%+v", d)
	}
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestPIDSubscribeJoinsAfterQueuedPublishes: a subscriber actor's join is
// taken in the stream's mailbox order, so Subscribed.After covers every
// event published before the Subscribe was sent, whether the stream had
// taken it yet or not (a remote client learns the stream's head this way
// once its tasks ended: each outcome is published before its handle ends).
func TestPIDSubscribeJoinsAfterQueuedPublishes(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{})
	for range 7 {
		if err := s.Publish(Event{Kind: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := guarded(sys).SpawnNamed(actor.PropsFromFunc(func(actor.Context) {}), fmt.Sprintf("sub-%d", names.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Root.Stop(sub)
	res, err := sys.Root.RequestFuture(s.PID(), &Subscribe{PID: sub, Filter: Filter{TaskID: "none"}}, wait).Result()
	if err != nil {
		t.Fatal(err)
	}
	if m := res.(*Subscribed); m.Err != nil || m.After != 7 {
		t.Fatalf("Subscribed %+v; want After 7", m)
	}
}

// pidSubscriber is a subscriber actor. It acknowledges each Delivery unless
// hold is set, and reports everything it received on done when the stream
// ends.
type pidSubscriber struct {
	stream  *actor.PID
	id      uint64
	hold    bool
	entries []Event
	done    chan []Event // capacity 1, never closed
}

func (p *pidSubscriber) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Subscribed:
		p.stream, p.id = m.Stream, m.ID
	case *Delivery:
		p.entries = append(p.entries, m.Events...)
		if !p.hold && m.Credits() > 0 && !m.End {
			ctx.Send(p.stream, &Credit{ID: m.SubID, N: m.Credits()})
		}
		if m.End {
			p.done <- p.entries
		}
	case string:
		if m == "release" {
			p.hold = false
			ctx.Send(p.stream, &Credit{ID: p.id, N: 1 << 20})
		}
	}
}

func TestPIDSubscriber(t *testing.T) {
	for _, hold := range []bool{false, true} {
		t.Run(fmt.Sprintf("hold=%v", hold), func(t *testing.T) {
			sys := newSystem(t)
			// Credit messages queue behind the Publishes: a subscriber that
			// keeps up needs a buffer for the burst.
			buffer := 100
			if hold {
				buffer = 10
			}
			s := spawn(t, sys, TopicRunnerStatus, Config{Buffer: buffer, Window: 3})
			done := make(chan []Event, 1)
			sp := &pidSubscriber{hold: hold, done: done}
			sub, err := guarded(sys).SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return sp },
				actor.WithSupervisor(stopChildren{})), fmt.Sprintf("sub-%d", names.Add(1)))
			if err != nil {
				t.Fatal(err)
			}
			sys.Root.RequestWithCustomSender(s.PID(), &Subscribe{PID: sub}, sub)
			res, err := sys.Root.RequestFuture(s.PID(), &Subscribe{PID: nil}, wait).Result()
			if err != nil || res.(*Subscribed).Err == nil {
				t.Fatalf("Subscribe without PID: %v %+v", err, res)
			}
			res, err = sys.Root.RequestFuture(s.PID(), &Subscribe{PID: sub}, wait).Result()
			if err != nil || res.(*Subscribed).Err == nil || res.(*Subscribed).ID != 1 {
				t.Fatalf("Subscribe twice: %v %+v", err, res)
			}
			const n = 50
			for range n {
				if err := s.Publish(Event{Kind: "status"}); err != nil {
					t.Fatal(err)
				}
			}
			st := statsOf(t, sys, s)
			if err := st.Check(); err != nil {
				t.Fatal(err)
			}
			if hold {
				if ss := st.PerSubscriber[0]; ss.Delivered != 3 || ss.Dropped != n-3-10 || ss.Buffered != 10 {
					t.Fatalf("held subscriber: %+v", ss)
				}
				sys.Root.Send(sub, "release")
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			closeStream(t, s)
			var entries []Event
			select {
			case entries = <-done:
			case <-time.After(wait):
				t.Fatal("no End delivery")
			}
			events, dropped, err := checkOrder(entries, 0, n)
			if err != nil {
				t.Fatal(err)
			}
			st = s.Stats()
			if err := st.Check(); err != nil {
				t.Fatal(err)
			}
			d, _ := departed(st, 1)
			if events != d.Delivered || dropped != d.Dropped || (hold != (dropped > 0)) {
				t.Fatalf("pid subscriber got %d events, %d dropped; stream: %+v", events, dropped, d)
			}
			sys.Root.Stop(sub)
		})
	}
}

// A subscriber actor that stops is removed; a later Subscribe to a closed
// stream gets End at once.
func TestPIDSubscriberStops(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicRunnerStatus, Config{Window: 2})
	sp := &pidSubscriber{hold: true, done: make(chan []Event, 1)}
	sub := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sp }, actor.WithSupervisor(stopChildren{})))
	res, err := sys.Root.RequestFuture(s.PID(), &Subscribe{PID: sub}, wait).Result()
	if err != nil {
		t.Fatal(err)
	}
	sys.Root.Send(sub, res) // tell it its ID
	for range 10 {
		_ = s.Publish(Event{Kind: "k"})
	}
	statsOf(t, sys, s) // all ten handled before the subscriber stops
	if err := sys.Root.StopFuture(sub).Wait(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(wait); ; { // the stream learns of it through Terminated
		st := statsOf(t, sys, s) // each query is a round trip through its mailbox
		if time.Now().After(deadline) {
			t.Fatalf("the stream did not remove a stopped subscriber: %+v", st)
		}
		if st.Subscribers == 0 {
			if d, _ := departed(st, 1); !d.Left || d.Discarded != 8 || d.Delivered != 2 {
				t.Fatalf("%+v", d)
			}
			if err := st.Check(); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	closeStream(t, s)
	sp2 := &pidSubscriber{done: make(chan []Event, 1)}
	sub2 := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sp2 }, actor.WithSupervisor(stopChildren{})))
	if _, err = sys.Root.RequestFuture(s.PID(), &Subscribe{PID: sub2}, wait).Result(); !errors.Is(err, actor.ErrDeadLetter) {
		t.Fatalf("Subscribe to a stopped stream's PID: %v", err)
	}
	sys.Root.Stop(sub2)
}

func TestFlushWaitsForCredit(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{Window: 2})
	sub := s.Subscribe(Filter{}, SubscribeOptions{})
	for range 10 {
		_ = s.Publish(Event{Kind: "k"})
	}
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	err := s.Flush(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush with a reader that does not read: %v", err)
	}
	var flushErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		flushErr = s.Flush(ctx)
	})
	for range 10 {
		if _, err := next(sub); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if flushErr != nil {
		t.Fatal(flushErr)
	}
	closeStream(t, s)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatalf("flush after close: %v", err)
	}
}

// A stream actor that fails is restarted (or resumed) by its parent without
// losing its sequence counter or subscribers: they live outside the actor.
func TestRestartKeepsSequenceAndSubscribers(t *testing.T) {
	for _, strategy := range []string{"restart", "resume"} {
		t.Run(strategy, func(t *testing.T) {
			sys := newSystem(t)
			var failures sync.WaitGroup
			failures.Add(1)
			var guardian actor.SupervisorStrategy = ParentStrategy(func(*actor.PID, any) { failures.Done() })
			if strategy == "restart" {
				guardian = actor.NewRestartingStrategy()
				failures.Done()
			}
			s := New(TopicTasks, Config{})
			if _, err := s.Spawn(sys.Root.Copy().WithGuardian(guardian), "tasks"); err != nil {
				t.Fatal(err)
			}
			sub := s.Subscribe(Filter{}, SubscribeOptions{})
			for range 5 {
				_ = s.Publish(Event{Kind: "k"})
			}
			sys.Root.Send(s.PID(), &crash{})
			for range 5 {
				_ = s.Publish(Event{Kind: "k"})
			}
			closeStream(t, s)
			failures.Wait()
			got, err := readAll(sub)
			if _, _, oerr := checkOrder(got, 0, 10); !errors.Is(err, ErrEndOfStream) || oerr != nil {
				t.Fatalf("%v %v", err, oerr)
			}
			st := s.Stats()
			if err := st.Check(); err != nil {
				t.Fatal(err)
			}
			if want := map[string]uint64{"restart": 1, "resume": 0}[strategy]; st.Restarts != want || st.Published != 10 {
				t.Fatalf("restarts %d (want %d), published %d", st.Restarts, want, st.Published)
			}
		})
	}
}

// A second actor for the same Stream does nothing and stops itself.
func TestPropsSpawnedTwice(t *testing.T) {
	sys := newSystem(t)
	s := spawn(t, sys, TopicTasks, Config{})
	rogue := guarded(sys).Spawn(s.Props())
	if err := sys.Root.StopFuture(rogue).Wait(); err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe(Filter{}, SubscribeOptions{})
	_ = s.Publish(Event{Kind: "k"})
	if ev, err := next(sub); err != nil || ev.Seq != 1 {
		t.Fatalf("%+v %v", ev, err)
	}
	closeStream(t, s)
}

func TestClockStampsEvents(t *testing.T) {
	sys := newSystem(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	fake := clock.NewFake(at)
	s := spawn(t, sys, TopicAlerts, Config{Clock: fake})
	sub := s.Subscribe(Filter{}, SubscribeOptions{})
	own := at.Add(-time.Hour)
	_ = s.Publish(Event{Kind: "k"})
	_ = s.Publish(Event{Kind: "k", At: own})
	closeStream(t, s)
	got, _ := readAll(sub)
	if len(got) != 2 || !got[0].At.Equal(at) || !got[1].At.Equal(own) {
		t.Fatalf("%+v", got)
	}
}

func TestCheckReportsViolations(t *testing.T) {
	good := func() Stats {
		return Stats{
			Topic: "t", Offered: 10, Published: 8, DeadLettered: 2,
			Matched: 8, Delivered: 5, GapDropped: 2, GapEvents: 1, Buffered: 1,
			Subscribers: 1, Joined: 1,
			PerSubscriber: []SubStats{{ID: 1, Matched: 8, Delivered: 5, Dropped: 2, GapEvents: 1, Buffered: 1}},
		}
	}
	if err := good().Check(); err != nil {
		t.Fatalf("consistent stats: %v", err)
	}
	tests := []struct {
		name   string
		tamper func(*Stats)
		want   string
	}{
		{"subscriber lost an event", func(s *Stats) { s.PerSubscriber[0].Delivered-- }, "subscriber 1: matched 8 != delivered 4"},
		{"unfiltered subscriber missed an event", func(s *Stats) { s.Published = 9; s.Offered = 11 }, "matched 8 of the 9 events"},
		{"stream sum", func(s *Stats) { s.Delivered++ }, "matched 8 != delivered 6"},
		{"silent drop", func(s *Stats) { s.GapDropped--; s.Discarded++ }, "per-subscriber sums"},
		{"publish lost", func(s *Stats) { s.DeadLettered-- }, "offered 10 != published 8 + dead-lettered 1"},
		{"more gaps than drops", func(s *Stats) { s.PerSubscriber[0].GapEvents = 3; s.GapEvents = 3 }, "3 Gap events for 2 dropped"},
		{"stopped with a subscriber", func(s *Stats) { s.Stopped = true }, "stopped with 0 publishes in flight, 1 subscribers"},
		{"departed with a buffer", func(s *Stats) { s.Departed = []SubStats{{ID: 2, Buffered: 1, Matched: 1, LeftAt: 1}} }, "subscriber 2 departed with 1 events buffered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := good()
			tc.tamper(&st)
			err := st.Check()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check() = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// The stream actor does not fail on odd input: typed nil messages, unknown
// IDs, negative credit.
func TestOddMessagesDoNotFailTheStream(t *testing.T) {
	sys := newSystem(t)
	var failures sync.Mutex
	failed := 0
	s := New(TopicAlerts, Config{})
	root := sys.Root.Copy().WithGuardian(ParentStrategy(func(*actor.PID, any) {
		failures.Lock()
		failed++
		failures.Unlock()
	}))
	if _, err := s.Spawn(root, "alerts"); err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe(Filter{}, SubscribeOptions{})
	for _, m := range []any{(*Publish)(nil), (*Credit)(nil), (*Subscribe)(nil), (*Unsubscribe)(nil), (*Flush)(nil),
		(*Close)(nil), (*StatsQuery)(nil), &Credit{ID: 99, N: 5}, &Credit{ID: sub.ID(), N: -5}, &Unsubscribe{ID: 99}, "hello", 42} {
		sys.Root.Send(s.PID(), m)
	}
	_ = s.Publish(Event{Kind: "k"})
	if ev, err := next(sub); err != nil || ev.Seq != 1 {
		t.Fatalf("%+v %v", ev, err)
	}
	closeStream(t, s)
	failures.Lock()
	defer failures.Unlock()
	if failed != 0 {
		t.Fatalf("the stream actor failed %d times", failed)
	}
	if err := s.Stats().Check(); err != nil {
		t.Fatal(err)
	}
}
