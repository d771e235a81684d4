package runtime

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/exo-actors/exo-actors/actors"
)

// Task is one unit of work for a runner.
type Task struct {
	// ID identifies the task; a second Submit with the same ID on the same
	// runner returns a handle of the same task while it runs (another
	// *TaskHandle value: on a System it shares the first one's chunks and
	// Next cursor; over a Client or ClusterClient it follows the task from
	// chunk 0 with a cursor of its own), and once it ended a handle with
	// its outcome but no chunks (TaskLimits.DedupMemory).
	// Required, at most 256 bytes.
	ID string
	// Kind says what to do, e.g. "text_generation" or "noop". Required.
	Kind string
	// Payload is the input, e.g. the prompt.
	Payload []byte
	// Params are free-form (e.g. "max_tokens"; the built-in runner's
	// "fault").
	Params map[string]string
	// Timeout ends the task TimedOut (and cancels it on the runner) this
	// long after it was sent to the runner; zero means no limit.
	Timeout time.Duration
	// Retryable tasks that were in flight when their runner crashed are
	// resubmitted once to the restarted runner instead of failing.
	Retryable bool
}

// Validate returns a one-line error for a task that cannot be submitted.
func (t Task) Validate() error { return toTaskSpec(t).Validate() }

// TaskStatus is where a task is, as exo names it: Pending (queued) →
// Running → one terminal status (Complete, TimedOut, Failed, Cancelled).
type TaskStatus int

// The task statuses. The zero value is TaskUnknown.
const (
	TaskUnknown TaskStatus = iota
	TaskPending
	TaskRunning
	TaskComplete
	TaskTimedOut
	TaskFailed
	TaskCancelled
)

var taskStatusNames = [...]string{"Unknown", "Pending", "Running", "Complete", "TimedOut", "Failed", "Cancelled"}

// String returns exo's name of the status, e.g. "TimedOut".
func (s TaskStatus) String() string {
	if s < 0 || int(s) >= len(taskStatusNames) {
		return "TaskStatus(" + strconv.Itoa(int(s)) + ")"
	}
	return taskStatusNames[s]
}

// Terminal reports whether the status ends the task.
func (s TaskStatus) Terminal() bool { return s >= TaskComplete && s <= TaskCancelled }

// TaskOutcome is how a task ended.
type TaskOutcome struct {
	// Status is TaskComplete, TaskTimedOut, TaskFailed or TaskCancelled.
	Status TaskStatus
	// Reason says why, for all but TaskComplete.
	Reason string
	// Chunks counts the chunks of the attempt that ended the task, an
	// error chunk included.
	Chunks int
	// Attempt is the attempt that ended the task: 1, or 2 after a retry
	// (Task.Retryable).
	Attempt int
	At      time.Time
}

// Chunk is one chunk of a task's output: a token, or an error that ends
// the task's stream.
type Chunk struct {
	TaskID string
	// Index is the chunk's position in the task's stream, from 0.
	Index uint64
	// Text and TokenID are the generated token.
	Text    string
	TokenID uint32
	// FinishReason is set on the last chunk of a generation, e.g. "stop".
	FinishReason string
	// Error is set on an error chunk (Text is empty then).
	Error string
}

// TaskHandle follows one submitted task: its chunks in order, then exactly
// one outcome. It is safe for concurrent use.
//
// A Retryable task whose runner crashed mid-task runs again as attempt 2.
// The handle then holds only the new attempt's chunks: Chunk, Chunks and
// the outcome are those of the attempt that ended the task, and Next
// returns a *RetryError (errors.Is(err, ErrTaskRetried)) once, before the
// new attempt's chunk 0: drop what you read and go on calling Next. So a
// consumer that concatenates what Next returns gets exactly one attempt's
// output.
type TaskHandle struct {
	// ID is the task's ID; RunnerID the runner's.
	ID       string
	RunnerID string

	h *actors.TaskHandle
}

// Next returns the next chunk this handle has not returned yet, waiting for
// it, or io.EOF after the last one. A task that failed after it was sent
// (its runner crashed or was killed, or, for a Client's or ClusterClient's
// handle, its node was lost or the client was closed: a reason beginning
// "client closed: ") ends with an error chunk (Chunk.Error set, the
// outcome's reason) before io.EOF; nothing but io.EOF follows it. A task ended otherwise before it
// completed (Cancelled, TimedOut: by its own deadline or a shutdown's
// drain deadline) ends with io.EOF alone, its last chunk without a
// FinishReason: io.EOF says the chunks ended, Wait says how the task did.
// After a retry it returns a *RetryError
// (errors.Is(err, ErrTaskRetried)) once, then the new attempt's chunks from
// 0. Readers sharing a handle share its cursor; use Chunk for independent
// readers.
func (h *TaskHandle) Next(ctx context.Context) (Chunk, error) {
	c, err := h.h.Next(ctx)
	if err != nil {
		var re *actors.RetryError
		if errors.As(err, &re) {
			return Chunk{}, &RetryError{TaskID: re.TaskID, Attempt: re.Attempt, Reason: re.Reason, Discarded: re.Discarded}
		}
		var de *actors.ChunksDroppedError
		if errors.As(err, &de) {
			return Chunk{}, &ChunksDroppedError{TaskID: de.TaskID, From: de.From, Skipped: de.Skipped}
		}
		return Chunk{}, err
	}
	return fromChunk(c), nil
}

// RetryError is what TaskHandle.Next returns, once, when the task was
// retried since the last chunk it returned. errors.Is(err, ErrTaskRetried)
// holds for it.
type RetryError struct {
	TaskID string
	// Attempt is the new attempt (2).
	Attempt int
	// Reason says why the earlier attempt ended (its runner's failure).
	Reason string
	// Discarded counts the earlier attempt's chunks, which are void.
	Discarded int
}

// Error says which task was retried, why, and what was discarded.
func (e *RetryError) Error() string {
	return (&actors.RetryError{TaskID: e.TaskID, Attempt: e.Attempt, Reason: e.Reason, Discarded: e.Discarded}).Error()
}

// Unwrap makes errors.Is(err, ErrTaskRetried) hold.
func (e *RetryError) Unwrap() error { return ErrTaskRetried }

// ChunksDroppedError is what TaskHandle.Next returns when chunks it had
// not returned yet were dropped (TaskLimits.HandleChunks: a reader that
// fell that far behind): the next Next goes on with the oldest chunk still
// held. errors.Is(err, ErrChunkDropped) holds for it; it is no end of the
// task, so a reading loop counts the loss and reads on.
type ChunksDroppedError struct {
	TaskID  string
	From    int // index of the first chunk skipped
	Skipped int // chunks skipped
}

// Error says which chunks of which task were dropped.
func (e *ChunksDroppedError) Error() string {
	return (&actors.ChunksDroppedError{TaskID: e.TaskID, From: e.From, Skipped: e.Skipped}).Error()
}

// Unwrap makes errors.Is(err, ErrChunkDropped) hold.
func (e *ChunksDroppedError) Unwrap() error { return ErrChunkDropped }

// Chunk returns chunk i of the current attempt, waiting for it; io.EOF
// once the task ended with fewer chunks. A wait goes on across a retry and
// then returns the new attempt's chunk i.
func (h *TaskHandle) Chunk(ctx context.Context, i int) (Chunk, error) {
	c, err := h.h.Chunk(ctx, i)
	if err != nil {
		return Chunk{}, err
	}
	return fromChunk(c), nil
}

// Attempt returns the current attempt: 1, or 2 after a retry.
func (h *TaskHandle) Attempt() int { return h.h.Attempt() }

// Chunks returns the current attempt's chunks so far.
func (h *TaskHandle) Chunks() []Chunk {
	cs := h.h.Chunks()
	out := make([]Chunk, len(cs))
	for i, c := range cs {
		out[i] = fromChunk(c)
	}
	return out
}

// Outcome returns the outcome, or nil while the task runs.
func (h *TaskHandle) Outcome() *TaskOutcome {
	o := h.h.Outcome()
	if o == nil {
		return nil
	}
	out := fromTaskOutcome(*o)
	return &out
}

// Wait returns the outcome once the task ended, or ctx's error. It returns
// for every task: a runner that crashes or stops ends its tasks Failed.
func (h *TaskHandle) Wait(ctx context.Context) (TaskOutcome, error) {
	o, err := h.h.Wait(ctx)
	if err != nil {
		return TaskOutcome{}, err
	}
	return fromTaskOutcome(o), nil
}
