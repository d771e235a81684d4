package runtime

import (
	"context"
	"errors"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// hostileClient is a Client with no connection: the tests hand its
// delivery and taskEvent what a node would send, and what it sends the
// node arrives on sent.
func hostileClient(t testing.TB) (*Client, chan proto.Message) {
	t.Helper()
	sys := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(time.Millisecond))
	sent := make(chan proto.Message, 1024)
	gw := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(proto.Message); ok {
			select {
			case sent <- m:
			default: // the tests look at the first ones only
			}
		}
	}))
	t.Cleanup(func() { _ = sys.Root.StopFuture(gw).Wait() })
	return &Client{node: "hostile-node", root: sys.Root, gw: gw, ended: make(chan struct{}),
		pending: map[uint64]chan proto.Message{}, tasks: map[uint64]*actors.TaskFeed{}, taskIDs: map[uint64]string{},
		subs: map[uint64]*remoteSub{}, subsGone: make(chan struct{}), blasted: map[uint64]int{}}, sent
}

// subscribeHostile opens subscription 1 on c as Subscribe would, with the
// node's answer saying buffer nodeBuffer.
func subscribeHostile(c *Client, window, buffer, nodeBuffer int) (*streams.Subscription, *remoteSub) {
	sub, rs := c.openSub(1, "tasks", window, buffer)
	rs.subscribed(&exov1.GwSubscribed{CallId: 1, SubId: 7, Window: int32(window), Buffer: int32(nodeBuffer)})
	return sub, rs
}

// tokenEvents returns n token chunk events of one task, as a node packs
// them.
func tokenEvents(from, n int) []streams.Event {
	evs := make([]streams.Event, n)
	for i := range evs {
		seq := uint64(from + i)
		evs[i] = streams.Event{Stream: "tasks", Seq: seq, RunnerID: "r1", TaskID: "t1", Kind: actors.KindTaskChunk, At: time.Unix(1e9, int64(seq)),
			Payload: &actors.TaskChunk{RunnerID: "r1", TaskID: "t1", Attempt: 1, Chunk: &exov1.ChunkGenerated{TaskId: "t1", Index: seq,
				Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok ", TokenId: uint32(seq)}}}}}
	}
	return evs
}

func packed(evs []streams.Event) []byte {
	var p gateway.Packer
	p.Add(evs)
	return p.Take()
}

// drain returns the events Next hands out and the error that ends them.
func drain(t *testing.T, sub *streams.Subscription) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := 0
	for {
		if _, err := sub.Next(ctx); err != nil {
			return n, err
		}
		n++
	}
}

func wantUnsubscribe(t *testing.T, sent chan proto.Message) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-sent:
			if u, ok := m.(*exov1.GwUnsubscribe); ok && u.GetCallId() == 1 {
				return
			}
		case <-timeout:
			t.Fatal("the client did not unsubscribe from the hostile node")
		}
	}
}

// TestHostileDeliveryIsRefusedBeforeDecoding feeds a client the delivery
// a hostile node may send within the message size limit: 1 MiB of the
// smallest records a GwEventList can hold. Before the bound the client
// decoded all 524,288 of them (500 times the delivery's size allocated,
// 59 times kept live in the subscription's inbox); now it counts them,
// refuses the delivery, and ends the subscription saying why.
func TestHostileDeliveryIsRefusedBeforeDecoding(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  []byte
	}{
		{"empty events", []byte{0x0a, 0x00}},
		{"empty token chunks", []byte{0x0a, 0x04, 0x3a, 0x02, 0x1a, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, sent := hostileClient(t)
			sub, _ := subscribeHostile(c, 64, 0, 1024)
			var p []byte
			for len(p) < 1<<20 {
				p = append(p, tc.rec...)
			}
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			c.delivery(&exov1.GwDelivery{CallId: 1, Topic: "tasks", Packed: p})
			goruntime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes in: %d bytes allocated while the client handled it", len(p), alloc)
			// Before the bound: 200-500 MB (the test binary's other
			// goroutines allocate too, hence the slack).
			if alloc > 1<<20 {
				t.Errorf("handling the hostile delivery allocated %d bytes; want it refused before decoding", alloc)
			}
			n, err := drain(t, sub)
			if n != 0 {
				t.Errorf("the subscription got %d events of the hostile delivery, want none", n)
			}
			if !errors.Is(err, streams.ErrEndOfStream) || !errors.Is(err, ErrBadDelivery) {
				t.Fatalf("Next: %v, want an error wrapping ErrEndOfStream and ErrBadDelivery", err)
			}
			for _, want := range []string{`stream "tasks" of node hostile-node`, "a delivery of", "allowed at most 64 events", "window 64"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("end error %q does not say %q", err, want)
				}
			}
			wantUnsubscribe(t, sent)
		})
	}
}

// TestDeliveriesKeepToTheCredit follows a node that keeps to the credit
// and then one that does not: a delivery one event beyond what the client
// granted ends the subscription, and none of its events is handed out.
func TestDeliveriesKeepToTheCredit(t *testing.T) {
	c, sent := hostileClient(t)
	sub, rs := subscribeHostile(c, 8, 0, 1024)
	c.delivery(&exov1.GwDelivery{CallId: 1, Topic: "tasks", Packed: packed(tokenEvents(1, 8))})
	ctx := context.Background()
	for range 4 { // half the window: the client grants 4
		if _, err := sub.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := rs.room(false); got != 4 {
		t.Fatalf("room after 8 delivered and 4 granted: %d, want 4", got)
	}
	gap := streams.Event{Stream: "tasks", Kind: streams.KindGap, At: time.Unix(1e9, 0), Gap: &streams.Gap{Dropped: 3, FromSeq: 9, ToSeq: 11}}
	c.delivery(&exov1.GwDelivery{CallId: 1, Topic: "tasks", Packed: packed(append([]streams.Event{gap}, tokenEvents(12, 4)...))})
	if got := rs.room(false); got != 0 {
		t.Fatalf("room after a Gap and 4 more: %d, want 0 (a Gap takes no credit)", got)
	}
	c.delivery(&exov1.GwDelivery{CallId: 1, Topic: "tasks", Packed: packed(tokenEvents(16, 1))})
	n, err := drain(t, sub)
	if n != 4+1+4 {
		t.Errorf("Next returned %d entries after the refused delivery, want the 9 allowed before it", n)
	}
	for _, want := range []string{"a delivery of 1 entries (events and Gaps)", "allowed at most 0 events", "window 8, credit granted 12, events received 12"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("end error %v does not say %q", err, want)
		}
	}
	wantUnsubscribe(t, sent)
}

// TestEndDeliveryMayCarryTheBuffer: the stream hands a closing subscriber
// all it buffered, credit or not, so the delivery with End may carry the
// buffer on top of the credit, and no more.
func TestEndDeliveryMayCarryTheBuffer(t *testing.T) {
	for _, tc := range []struct {
		name               string
		asked, nodeSays, n int
		wantEvents         int
		wantErr            string
	}{
		{"node's buffer", 0, 100, 8 + 100, 108, "in order"},
		{"beyond node's buffer", 0, 100, 8 + 101, 0, "allowed at most 108 events"},
		{"asked buffer wins", 50, 100, 8 + 51, 0, "buffer 50 in the delivery that ends the stream"},
		{"node that does not say", 0, 0, 8 + streams.DefaultBuffer, 8 + streams.DefaultBuffer, "in order"},
		{"node's claim capped", 0, 1 << 30, 8 + maxNodeBuffer + 1, 0, "allowed at most 65544 events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := hostileClient(t)
			sub, _ := subscribeHostile(c, 8, tc.asked, tc.nodeSays)
			c.delivery(&exov1.GwDelivery{CallId: 1, Topic: "tasks", Packed: packed(tokenEvents(1, tc.n)), End: true, Reason: "in order"})
			n, err := drain(t, sub)
			if n != tc.wantEvents || err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %d events and %v; want %d and an error saying %q", n, err, tc.wantEvents, tc.wantErr)
			}
		})
	}
}

// TestOversizedChunkBatchFailsTheTask: a node sends at most
// gateway.MaxChunkBatch chunks in one GwTaskEvent; a client refuses a
// bigger batch before decoding it, and the task ends Failed saying why,
// in its outcome and in an error chunk after the chunks it had.
func TestOversizedChunkBatchFailsTheTask(t *testing.T) {
	chunks := make([]*exov1.ChunkGenerated, gateway.MaxChunkBatch+1)
	for i := range chunks {
		chunks[i] = &exov1.ChunkGenerated{TaskId: "t1", Index: uint64(i), Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "x"}}}
	}
	for _, tc := range []struct {
		name string
		body func(cs []*exov1.ChunkGenerated) *exov1.GwTaskEvent
	}{
		{"packed", func(cs []*exov1.ChunkGenerated) *exov1.GwTaskEvent {
			return &exov1.GwTaskEvent{CallId: 5, Body: &exov1.GwTaskEvent_PackedChunks{PackedChunks: gateway.PackChunks(nil, cs)}}
		}},
		{"batch", func(cs []*exov1.ChunkGenerated) *exov1.GwTaskEvent {
			return &exov1.GwTaskEvent{CallId: 5, Body: &exov1.GwTaskEvent_Chunks{Chunks: &exov1.GwChunkBatch{Chunks: cs}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := hostileClient(t)
			h, feed := actors.NewTaskFeed("r1", "t1")
			c.tasks[5], c.taskIDs[5] = feed, "t1"
			c.taskEvent(tc.body(chunks[:gateway.MaxChunkBatch])) // as many as a node sends: fine
			c.taskEvent(tc.body(chunks))
			o := h.Outcome()
			if o == nil || o.Status != exov1.TaskStatus_TASK_STATUS_FAILED {
				t.Fatalf("outcome %+v, want Failed", o)
			}
			want := `node hostile-node sent task "t1" a batch of 257 chunks, more than the 256 a node sends at once`
			// The first batch's chunks, then the error chunk naming why.
			if !strings.Contains(o.Reason, want) || o.Chunks != gateway.MaxChunkBatch+1 {
				t.Errorf("outcome: %d chunks, reason %q; want %d chunks and a reason saying %q", o.Chunks, o.Reason, gateway.MaxChunkBatch+1, want)
			}
			if last := h.Chunks()[gateway.MaxChunkBatch]; !strings.Contains(last.GetError().GetErrorMessage(), want) {
				t.Errorf("last chunk %v; want an error chunk saying %q", last, want)
			}
		})
	}
}

// FuzzClientDelivery hands a client's subscription arbitrary deliveries:
// the client never panics, never hands out more events than it granted
// (plus the buffer at the end), and ends the subscription on anything it
// refuses.
func FuzzClientDelivery(f *testing.F) {
	f.Add(packed(tokenEvents(1, 3)), false, uint8(4), uint8(2))
	f.Add(packed(tokenEvents(1, 9)), true, uint8(4), uint8(2))
	f.Add([]byte{0x0a, 0x00, 0x0a, 0x00, 0x0a, 0x00}, false, uint8(1), uint8(0))
	f.Add([]byte{0x0a, 0x04, 0x3a, 0x02, 0x1a, 0x00}, true, uint8(1), uint8(1))
	f.Add([]byte{0x0a, 0x05, 0x3a}, false, uint8(8), uint8(8))
	c, _ := hostileClient(f) // one for every input: a subscription each
	var id uint64
	f.Fuzz(func(t *testing.T, p []byte, end bool, window, buffer uint8) {
		id++
		sub, rs := c.openSub(id, "tasks", int(window%16)+1, int(buffer%16))
		rs.subscribed(&exov1.GwSubscribed{CallId: id})
		defer sub.Close()
		allowed := rs.room(end)
		c.delivery(&exov1.GwDelivery{CallId: id, Topic: "tasks", Packed: p, End: end})
		c.mu.Lock()
		open := c.subs[id] != nil
		c.mu.Unlock()
		events := 0
		for !open || int64(events) < rs.received { // an open one: until what it took is read
			ev, err := sub.Next(context.Background()) // never waits: delivery handed over all it will
			if err != nil {
				if !errors.Is(err, streams.ErrEndOfStream) {
					t.Fatalf("Next: %v", err)
				}
				break
			}
			if !ev.IsGap() {
				events++
			}
		}
		if int64(events) > allowed || int64(events) != rs.received {
			t.Fatalf("%d events handed out, %d counted, %d allowed", events, rs.received, allowed)
		}
	})
}
