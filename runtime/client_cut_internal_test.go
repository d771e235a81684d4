package runtime

import (
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestClientHoldsAForcedCutsErrorChunk: on a ClusterClient's connection,
// the error chunk a node writes as its forced shutdown kills a task's
// runner waits for the task's outcome: a task the ClusterClient takes for
// a resubmission shows no error chunk (a reader that stops at one would
// miss attempt 2); one it does not take gets the chunk, then its end, as
// any failed task.
func TestClientHoldsAForcedCutsErrorChunk(t *testing.T) {
	for _, take := range []bool{true, false} {
		h, feed := actors.NewTaskFeed("gen-1", "t")
		c := &Client{node: "n1", tasks: map[uint64]*actors.TaskFeed{1: feed}, taskIDs: map[uint64]string{1: "t"},
			divert: func(*actors.TaskFeed, actors.TaskOutcome) bool { return take }}
		text := &exov1.ChunkGenerated{TaskId: "t", Index: 0, Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok0"}}}
		cut := &exov1.ChunkGenerated{TaskId: "t", Index: 1, Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: actors.ReasonShutdownForced}}}
		c.taskEvent(&exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_Chunks{Chunks: &exov1.GwChunkBatch{Chunks: []*exov1.ChunkGenerated{text, cut}}}})
		c.taskEvent(&exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_Outcome{Outcome: &exov1.GwTaskOutcome{
			Status: exov1.TaskStatus_TASK_STATUS_FAILED, Reason: actors.ReasonShutdownForced}}})
		cs := h.Chunks()
		switch {
		case take && (len(cs) != 1 || h.Outcome() != nil):
			t.Errorf("taken for a resubmission: chunks %v, outcome %v; want the text chunk alone and no outcome", cs, h.Outcome())
		case !take && (len(cs) != 2 || cs[1].GetError().GetErrorMessage() != actors.ReasonShutdownForced || h.Outcome() == nil):
			t.Errorf("not taken: chunks %v, outcome %v; want the text chunk, the error chunk and the outcome", cs, h.Outcome())
		}
		if len(c.cutChunks) != 0 {
			t.Errorf("take %v: %d error chunks still held", take, len(c.cutChunks))
		}
	}
}
