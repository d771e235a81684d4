package runtime_test

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteConcurrentLargeSubmits: several Submits near the message limit
// at once, each within the limit, all reach the node.
func TestRemoteConcurrentLargeSubmits(t *testing.T) {
	_, c, ctx := dialNode(t, "large-submits", map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, time.Minute)
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 3<<20)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Submit(ctx, id, exo.Task{ID: fmt.Sprint("big-", i), Kind: "noop", Payload: payload})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("submit %d: %v", i, err)
		}
	}
}

// TestRemoteBlastOfLargeItems: a Blast whose items are large is either
// served whole or refused, never a lost node.
func TestRemoteBlastOfLargeItems(t *testing.T) {
	_, c, ctx := dialNode(t, "large-blast", map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, time.Minute)
	got, err := c.Blast(ctx, 2000, 64<<10)
	if err != nil && !errors.Is(err, exo.ErrInvalidRequest) || err == nil && got != 2000 {
		t.Fatalf("blast of 2000 items of 64 KiB: %d arrived, %v; want all of them, or ErrInvalidRequest", got, err)
	}
	if err := c.Echo(ctx); err != nil {
		t.Fatalf("after the blast: %v", err)
	}
}

// TestRemoteLargeChunksDoNotBreakTheConnection: a runner streams large
// chunks as fast as it can, to the submitter's handle and to a subscriber
// of the tasks topic: 40 of 1 MiB, and 400 of 64 KiB. Before the node's
// window (outGate) and its cut of batches at MaxOutMessage bytes, the node
// put up to 256 chunks in one message and queued messages for the client
// without bound, and protoactor sent up to 1000 of them in one gRPC
// message: past the client's limit the connection broke, and the client
// declared the node lost (1 MiB: "chunk 14: … node lost: … it dropped this
// client's session"). Now every chunk arrives, and the client stays
// connected.
func TestRemoteLargeChunksDoNotBreakTheConnection(t *testing.T) {
	_, c, ctx := dialNode(t, "large-chunks", map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, 2*time.Minute)
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ n, size int }{{40, 1 << 20}, {400, 64 << 10}} {
		sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{RunnerID: id, Kinds: []string{"task_chunk"}}, exo.SubscribeOptions{Buffer: 2 * tc.n})
		if err != nil {
			t.Fatal(err)
		}
		h, err := c.Submit(ctx, id, exo.Task{ID: fmt.Sprintf("big-chunks-%d", tc.size), Kind: "text_generation",
			Params: map[string]string{"max_tokens": fmt.Sprint(tc.n), "token_bytes": fmt.Sprint(tc.size)}})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for {
			ch, err := h.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%d-byte chunks: after %d: %v (client: %v)", tc.size, got, err, c.Err())
			}
			if len(ch.Text) != tc.size || ch.Error != "" {
				t.Fatalf("chunk %d: %d bytes, error %q; want %d bytes", ch.Index, len(ch.Text), ch.Error, tc.size)
			}
			got++
		}
		o, err := h.Wait(ctx)
		if err != nil || o.Status != exo.TaskComplete || got != tc.n {
			t.Fatalf("%d-byte chunks: task %+v %v, %d chunks read; want Complete with %d (client: %v)", tc.size, o, err, got, tc.n, c.Err())
		}
		for events := 0; events < tc.n; events++ {
			ev, err := sub.Next(ctx)
			if err != nil {
				t.Fatalf("%d-byte chunks: subscription after %d events: %v", tc.size, events, err)
			}
			if ev.Gap != nil {
				t.Fatalf("%d-byte chunks: subscription: a gap of %d after %d events", tc.size, ev.Gap.Dropped, events)
			}
		}
		sub.Close()
	}
	if err := c.Err(); err != nil {
		t.Fatalf("client: %v; want connected", err)
	}
}
