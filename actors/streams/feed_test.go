package streams_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/exo-actors/exo-actors/actors/streams"
)

// TestFeed: a fed subscription returns what it is given in order, grants
// credit every window/2 events it returns, calls leave once on Close, and
// ends with the producer's error after what it holds.
func TestFeed(t *testing.T) {
	var mu sync.Mutex
	var granted, left int
	sub, feed := streams.NewFeed("tasks", 7, 4,
		func(n int) { mu.Lock(); granted += n; mu.Unlock() },
		func() { mu.Lock(); left++; mu.Unlock() })
	if sub.ID() != 7 || sub.Stream() != "tasks" {
		t.Fatalf("ID %d, Stream %q", sub.ID(), sub.Stream())
	}
	feed.Deliver([]streams.Event{{Seq: 1}, {Seq: 2}, {Kind: streams.KindGap, Gap: &streams.Gap{Dropped: 2, FromSeq: 3, ToSeq: 4}}, {Seq: 5}})
	ctx := context.Background()
	var got []uint64
	for range 4 {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Seq)
	}
	if want := []uint64{1, 2, 0, 5}; len(got) != 4 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("seqs %v, want %v", got, want)
	}
	mu.Lock()
	if granted != 2 {
		t.Errorf("granted %d after 3 events (window 4), want 2", granted)
	}
	mu.Unlock()
	feed.Deliver([]streams.Event{{Seq: 6}})
	end := errors.New("far side ended")
	feed.End(errors.Join(streams.ErrEndOfStream, end))
	if ev, err := sub.Next(ctx); err != nil || ev.Seq != 6 {
		t.Fatalf("after End: %v, %v; want the event still held", ev, err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, end) || !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
	sub.Close()
	sub.Close()
	mu.Lock()
	defer mu.Unlock()
	if left != 1 {
		t.Errorf("leave called %d times, want 1", left)
	}
}

// TestFeedClose: Close ends the subscription at once with EndOfStream and
// later deliveries are dropped.
func TestFeedClose(t *testing.T) {
	sub, feed := streams.NewFeed("alerts", 1, 0, func(int) {}, func() {})
	sub.Close()
	feed.Deliver([]streams.Event{{Seq: 1}})
	if _, err := sub.Next(context.Background()); !errors.Is(err, streams.ErrEndOfStream) {
		t.Fatalf("after Close: %v", err)
	}
}
