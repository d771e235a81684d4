package actors

import (
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TaskFeed is the producing side of a TaskHandle whose task runs elsewhere:
// on a remote node, seen through a client (package runtime). The handle
// behaves like a local one: chunks in order, a retry as a *RetryError,
// exactly one outcome. Only one goroutine (or actor) feeds a TaskFeed.
type TaskFeed struct{ h *TaskHandle }

// NewTaskFeed returns a handle for task taskID of runner runnerID and the
// feed that fills it. The handle holds the latest DefaultHandleChunks
// chunks of a long stream, as a local one does by default.
func NewTaskFeed(runnerID, taskID string) (*TaskHandle, *TaskFeed) {
	h := newTaskHandle(runnerID, taskID, DefaultHandleChunks)
	return h, &TaskFeed{h: h}
}

// Chunk appends a chunk to the current attempt; false once the task ended.
func (f *TaskFeed) Chunk(c *Chunk) bool {
	_, ok := f.h.push(c)
	return ok
}

// Skip records that the next n chunks of the current attempt were dropped
// before they reached this side (the node's handle no longer held them):
// the handle counts them and drops what it holds, so Next returns a
// *ChunksDroppedError for them, as it does locally. False once ended.
func (f *TaskFeed) Skip(n int) bool { return f.h.skip(n) }

// Retry starts a new attempt, discarding the current one's chunks.
func (f *TaskFeed) Retry(reason string) { f.h.retry(reason) }

// Finish ends the task with o (Chunks and Attempt are the handle's own);
// false when it had already ended, so a task ends exactly once.
func (f *TaskFeed) Finish(o TaskOutcome) bool { return f.h.finish(o) }

// Fail ends the task Failed with reason, as a node ends a task whose runner
// failed: an error chunk naming the reason comes first (unless the last
// chunk held is an error chunk already), so a reader of Next learns that
// the output was cut before it meets io.EOF, and does not take a truncated
// output for a whole one. For a task that ends on this side without its
// node's word: the node lost, its delivery unreadable. False when it had
// already ended.
func (f *TaskFeed) Fail(reason string, at time.Time) bool {
	if f.Ended() {
		return false
	}
	if !f.h.lastIsError() {
		f.h.push(&Chunk{TaskId: f.h.ID, Index: uint64(f.h.count()),
			Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: reason}}})
	}
	return f.h.finish(TaskOutcome{Status: exov1.TaskStatus_TASK_STATUS_FAILED, Reason: reason, At: at})
}

// Ended reports whether the task has its outcome.
func (f *TaskFeed) Ended() bool { return f.h.Outcome() != nil }

// LastRetry returns why the task was last retried, or nil if it never was.
func (h *TaskHandle) LastRetry() *RetryError {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lastRetry == nil {
		return nil
	}
	r := *h.lastRetry
	return &r
}

// ChunksFrom returns, without waiting, the current attempt's chunks from
// index i on (at most max of them), and that attempt; none when chunk i is
// no longer held (Chunk then says ErrChunkDropped).
func (h *TaskHandle) ChunksFrom(i, max int) ([]*Chunk, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i < h.base {
		return nil, h.attempt
	}
	if i >= h.n {
		return nil, h.attempt
	}
	out := make([]*Chunk, 0, min(h.n-i, max))
	for ; i < h.n && len(out) < max; i++ {
		out = append(out, h.at(i))
	}
	return out, h.attempt
}

// lastIsError reports whether the last chunk of the current attempt is
// held and is an error chunk.
func (h *TaskHandle) lastIsError() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n > h.base && h.at(h.n-1).GetError() != nil
}

// skip counts n chunks of the current attempt that never arrived and
// drops every chunk held, so the held chunks stay contiguous; false once
// the task ended.
func (h *TaskHandle) skip(n int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.outcome != nil {
		return false
	}
	if n <= 0 {
		return true
	}
	h.n += n
	h.chunks, h.base = nil, h.n
	h.signalLocked()
	return true
}
