package runtime_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestChunkDroppedIsARuntimeError: a host that imports only runtime can
// tell a reader that fell behind TaskLimits.HandleChunks from the task's
// end (a new user's trial: the docs named ErrChunkDropped, but runtime had
// none, and Next returned an actors type). Next returns a
// *ChunksDroppedError, errors.Is ErrChunkDropped, then goes on; Chunk(i)
// of a dropped chunk wraps ErrChunkDropped.
func TestChunkDroppedIsARuntimeError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := config()
	cfg.Tasks.HandleChunks = 512
	sys, err := exo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Shutdown(context.Background())
	id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "fast", Builtin: true, Args: []string{"--layers", "1", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "0s"}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := sys.Submit(ctx, id, exo.Task{ID: "t", Kind: "text_generation", Params: map[string]string{"max_tokens": "2000"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Chunk(ctx, 0); !errors.Is(err, exo.ErrChunkDropped) {
		t.Errorf("Chunk(0) after 2000 chunks with HandleChunks 512: %v, want ErrChunkDropped", err)
	}
	_, err = h.Next(ctx)
	var de *exo.ChunksDroppedError
	if !errors.As(err, &de) || !errors.Is(err, exo.ErrChunkDropped) || de.TaskID != "t" || de.From != 0 || de.Skipped <= 0 {
		t.Fatalf("first Next: %v (%#v), want a *runtime.ChunksDroppedError from index 0", err, de)
	}
	read := 0
	for {
		_, err := h.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next after the drop: %v", err)
		}
		read++
	}
	if de.Skipped+read != 2000 {
		t.Errorf("skipped %d + read %d, want 2000", de.Skipped, read)
	}
}
