package actors

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestTaskHandleWaitErrorSaysWhatAndWhatToDo: a TaskHandle wait whose
// context ends names the task and its runner, says that the task itself
// goes on (stopping a wait cancels nothing), and what to do, and still
// wraps the context's error. Before, it read only "task handle wait
// cancelled: context deadline exceeded": a host logging it could not tell
// which of its tasks it was, nor whether the task was cancelled.
func TestTaskHandleWaitErrorSaysWhatAndWhatToDo(t *testing.T) {
	h := newTaskHandle("llama-4f9c2a", "t-17", DefaultHandleChunks)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, errWait := h.Wait(ctx)
	_, errNext := h.Next(ctx)
	_, errChunk := h.Chunk(ctx, 0)
	for name, err := range map[string]error{"Wait": errWait, "Next": errNext, "Chunk": errChunk} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v does not wrap context.Canceled", name, err)
		}
		msg := err.Error()
		for _, want := range []string{`task "t-17"`, "runner llama-4f9c2a", "goes on", "Cancel"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q does not say %q", name, msg, want)
			}
		}
	}
}
