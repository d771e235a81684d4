package actors_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestChunksFromAfterDrops: a long task's handle drops its oldest chunks;
// ChunksFrom then returns nothing for a dropped index (Chunk says
// ErrChunkDropped) and the right chunks from the oldest held one on. It
// once indexed the blocks from 0 and panicked the gateway's forwarder.
func TestChunksFromAfterDrops(t *testing.T) {
	h, feed := actors.NewTaskFeed("r", "t")
	const n = actors.DefaultHandleChunks + 3*512
	for i := range n {
		feed.Chunk(&exov1.ChunkGenerated{TaskId: "t", Index: uint64(i)})
	}
	first, total := h.Held()
	if first == 0 || total != n {
		t.Fatalf("held %d..%d, want some dropped of %d", first, total, n)
	}
	if got, _ := h.ChunksFrom(first-1, 10); got != nil {
		t.Errorf("ChunksFrom a dropped index gave %d chunks", len(got))
	}
	if _, err := h.Chunk(context.Background(), first-1); !errors.Is(err, actors.ErrChunkDropped) {
		t.Errorf("Chunk of a dropped index: %v", err)
	}
	got, attempt := h.ChunksFrom(first, 600)
	if attempt != 1 || len(got) != 600 {
		t.Fatalf("ChunksFrom(%d, 600): %d chunks, attempt %d", first, len(got), attempt)
	}
	for i, c := range got {
		if c.GetIndex() != uint64(first+i) {
			t.Fatalf("chunk %d of ChunksFrom(%d) has index %d", i, first, c.GetIndex())
		}
	}
	if got, _ := h.ChunksFrom(total, 10); got != nil {
		t.Errorf("ChunksFrom past the end gave %d chunks", len(got))
	}
}

// TestFeedSkip: chunks the node dropped before sending (GwTaskSkip) are
// counted, and Next reports them as a local handle does.
func TestFeedSkip(t *testing.T) {
	ctx := context.Background()
	h, feed := actors.NewTaskFeed("r", "t")
	feed.Chunk(&exov1.ChunkGenerated{TaskId: "t", Index: 0})
	if c, err := h.Next(ctx); err != nil || c.GetIndex() != 0 {
		t.Fatalf("first chunk: %v %v", c, err)
	}
	feed.Chunk(&exov1.ChunkGenerated{TaskId: "t", Index: 1})
	if !feed.Skip(5) {
		t.Fatal("Skip refused")
	}
	feed.Chunk(&exov1.ChunkGenerated{TaskId: "t", Index: 7})
	var dropped *actors.ChunksDroppedError
	if _, err := h.Next(ctx); !errors.As(err, &dropped) || dropped.From != 1 || dropped.Skipped != 6 {
		t.Fatalf("after a skip Next said %v, want chunks 1..6 dropped", err)
	}
	if c, err := h.Next(ctx); err != nil || c.GetIndex() != 7 {
		t.Fatalf("after the skip: %v %v", c, err)
	}
	if c, err := h.Chunk(ctx, 7); err != nil || c.GetIndex() != 7 {
		t.Fatalf("Chunk(7): %v %v", c, err)
	}
	feed.Finish(actors.TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_COMPLETE})
	if o, _ := h.Wait(ctx); o.Chunks != 8 {
		t.Errorf("outcome counts %d chunks, want 8 (skipped included)", o.Chunks)
	}
	if _, err := h.Next(ctx); err != io.EOF {
		t.Errorf("after the last chunk: %v", err)
	}
	if feed.Skip(1) {
		t.Error("Skip after the end was accepted")
	}
}

// TestTaskFeedFail: a task ended on the client's side (its node lost) ends
// its chunk stream with an error chunk naming the reason, then io.EOF, so
// a reader of Next does not take the cut output for a whole one; one
// error chunk even when the node's own came first; Fail after the end
// changes nothing.
func TestTaskFeedFail(t *testing.T) {
	ctx := context.Background()
	read := func(h *actors.TaskHandle) (out []*actors.Chunk) {
		for {
			c, err := h.Next(ctx)
			if errors.Is(err, io.EOF) {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
	}
	h, feed := actors.NewTaskFeed("r", "t")
	feed.Chunk(&exov1.ChunkGenerated{TaskId: "t", Index: 0, Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "a"}}})
	if !feed.Fail("node n lost", time.Now()) || feed.Fail("again", time.Now()) {
		t.Fatal("Fail: want true once, then false")
	}
	cs := read(h)
	if len(cs) != 2 || cs[1].GetError().GetErrorMessage() != "node n lost" || cs[1].GetIndex() != 1 {
		t.Fatalf("chunks %v; want the token, then an error chunk 1 naming the reason", cs)
	}
	if o := h.Outcome(); o == nil || o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || o.Reason != "node n lost" || o.Chunks != 2 {
		t.Fatalf("outcome %+v; want Failed, the reason, 2 chunks", o)
	}

	h2, feed2 := actors.NewTaskFeed("r", "t2")
	feed2.Chunk(&exov1.ChunkGenerated{TaskId: "t2", Index: 0, Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: "runner failed"}}})
	feed2.Fail("node n lost", time.Now())
	if cs := read(h2); len(cs) != 1 || cs[0].GetError().GetErrorMessage() != "runner failed" {
		t.Fatalf("chunks %v; want only the node's error chunk", cs)
	}
}
