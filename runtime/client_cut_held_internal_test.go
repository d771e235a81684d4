package runtime

import (
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/membership"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestHeldForcedCutEndsWithItsErrorChunk: a Retryable task a forced
// shutdown cut is held for a failover, its error chunk held back by the
// member's connection; when no failover comes (its runner was stopped,
// ended on its node, or is not failed over) the task ends with the outcome
// it was diverted from, and a reader of Next must still meet the error
// chunk before io.EOF, as it did before the task was held: otherwise the
// cut output reads as whole.
func TestHeldForcedCutEndsWithItsErrorChunk(t *testing.T) {
	a := &memberConn{m: membership.Member{ID: "ma", NodeName: "a"}}
	cc := noteClient(t, 0, a)
	cc.follow("gen-1", a.m)
	h, feed := actors.NewTaskFeed("gen-1", "t")
	ct := &clusterTask{t: Task{ID: "t", Retryable: true}, runnerID: "gen-1", feed: feed, h: h, state: taskFollowed}
	cc.tasks[ct] = struct{}{}
	c := &Client{node: "a", tasks: map[uint64]*actors.TaskFeed{1: feed}, taskIDs: map[uint64]string{1: "t"},
		divert: func(f *actors.TaskFeed, out actors.TaskOutcome) bool { return cc.divertShutdownEnd(a, f, out) }}
	text := &exov1.ChunkGenerated{TaskId: "t", Index: 0, Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok0"}}}
	cut := &exov1.ChunkGenerated{TaskId: "t", Index: 1, Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: actors.ReasonShutdownForced}}}
	c.taskEvent(&exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_Chunks{Chunks: &exov1.GwChunkBatch{Chunks: []*exov1.ChunkGenerated{text, cut}}}})
	c.taskEvent(&exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_Outcome{Outcome: &exov1.GwTaskOutcome{
		Status: exov1.TaskStatus_TASK_STATUS_FAILED, Reason: actors.ReasonShutdownForced}}})
	if ct.state != taskHeld {
		t.Fatalf("task %s, want held", ct.state)
	}
	cc.mu.Lock()
	cc.endHeldLocked(func(*clusterTask) bool { return true }) // e.g. StopRunner stopped its runner
	cc.mu.Unlock()
	o := h.Outcome()
	cs := h.Chunks()
	if o == nil || o.Status != exov1.TaskStatus_TASK_STATUS_FAILED {
		t.Fatalf("outcome %v, want Failed", o)
	}
	if len(cs) == 0 || cs[len(cs)-1].GetError() == nil {
		t.Errorf("chunks %v: a Failed task cut by its node ends without an error chunk (a reader of Next takes the cut output for a whole one)", cs)
	}
}

// TestHeldForcedCutIsForgottenWhenTheTaskFailsHere: a task whose forced
// cut's error chunk is held, then ended on this side by a batch the node
// should not have sent, leaves nothing held: the map lives as long as the
// connection, and nothing else would ever remove the entry.
func TestHeldForcedCutIsForgottenWhenTheTaskFailsHere(t *testing.T) {
	for _, body := range []string{"too many", "unreadable packed"} {
		h, feed := actors.NewTaskFeed("gen-1", "t")
		c := &Client{node: "n1", tasks: map[uint64]*actors.TaskFeed{1: feed}, taskIDs: map[uint64]string{1: "t"},
			divert: func(*actors.TaskFeed, actors.TaskOutcome) bool { return true }}
		cut := &exov1.ChunkGenerated{TaskId: "t", Index: 0, Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: actors.ReasonShutdownForced}}}
		c.taskEvent(&exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_Chunk{Chunk: cut}})
		var m *exov1.GwTaskEvent
		if body == "too many" {
			many := make([]*exov1.ChunkGenerated, gateway.MaxChunkBatch+1)
			for i := range many {
				many[i] = &exov1.ChunkGenerated{TaskId: "t", Index: uint64(i + 1)}
			}
			m = &exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_Chunks{Chunks: &exov1.GwChunkBatch{Chunks: many}}}
		} else {
			m = &exov1.GwTaskEvent{CallId: 1, Body: &exov1.GwTaskEvent_PackedChunks{PackedChunks: []byte{0xff}}}
		}
		c.taskEvent(m)
		if h.Outcome() == nil {
			t.Fatalf("%s: the task did not end", body)
		}
		if len(c.cutChunks) != 0 {
			t.Errorf("%s: %d error chunks still held for a task that ended", body, len(c.cutChunks))
		}
	}
}
