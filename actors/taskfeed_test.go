package actors_test

import (
	"context"
	"errors"
	"io"
	"testing"

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
