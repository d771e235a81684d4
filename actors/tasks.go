package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TaskSpec is one unit of work for a runner.
type TaskSpec struct {
	// ID identifies the task; a second Submit with the same ID on the same
	// runner returns the first one's handle (see TaskLimits.DedupMemory).
	ID string
	// Kind says what to do, e.g. "text_generation" or "noop".
	Kind    string
	Payload []byte
	// Params are free-form (e.g. "max_tokens"; the built-in runner's "fault").
	Params map[string]string
	// Timeout ends the task TimedOut (and cancels it on the runner) this long
	// after it was sent to the runner; zero means no limit.
	Timeout time.Duration
	// Retryable tasks that were in flight when their runner crashed are
	// resubmitted once to the restarted runner instead of failing. The
	// retry is a new attempt: the handle discards the first attempt's chunks
	// and says so (TaskHandle.Next returns an error wrapping ErrTaskRetried;
	// a TaskRetried event goes to the hook and the tasks topic), so a
	// consumer gets exactly one attempt's output.
	Retryable bool
}

// Validate returns a clear error for a task that cannot be submitted.
func (t TaskSpec) Validate() error {
	switch {
	case t.ID == "":
		return fmt.Errorf("%w: empty ID; set Task.ID to an ID unique on the runner", ErrInvalidTask)
	case len(t.ID) > 256:
		return fmt.Errorf("%w: ID of %d bytes, limit 256; use a shorter ID", ErrInvalidTask, len(t.ID))
	case t.Kind == "":
		return fmt.Errorf("%w %q: empty Kind; set Task.Kind, e.g. \"text_generation\"", ErrInvalidTask, t.ID)
	case t.Timeout < 0:
		return fmt.Errorf("%w %q: negative Timeout %s; use 0 for no limit", ErrInvalidTask, t.ID, t.Timeout)
	}
	return nil
}

// TaskLimits bound the work a runner holds. Zero fields take the defaults.
type TaskLimits struct {
	// InFlight is how many tasks a runner runs at once; default 1.
	InFlight int
	// Queue is how many more may wait for a free slot; default 64. A Submit
	// beyond it fails with ErrQueueFull.
	Queue int
	// AckTimeout: a task the runner has not acknowledged this long after it
	// was sent ends Failed; default 5s.
	AckTimeout time.Duration
	// CancelWait: how long a cancelled task waits for the runner to confirm
	// before it ends Cancelled anyway; default 2s.
	CancelWait time.Duration
	// DedupMemory is how many finished tasks per runner are remembered for
	// deduplication (oldest forgotten first); default 1024. What is kept of
	// each is its outcome (TaskOutcome: status, reason, chunk count,
	// attempt, time), not its handle or chunks: a Submit of a remembered ID
	// returns a handle that has already ended with that outcome.
	DedupMemory int
	// HandleChunks is how many of a task's latest chunks its TaskHandle
	// keeps for Chunk, Chunks and Next; default DefaultHandleChunks. Older
	// ones are dropped, in whole blocks of 512, so a task that streams
	// without end holds a bounded amount of memory; Next reports a drop
	// with a *ChunksDroppedError (errors.Is ErrChunkDropped), Chunk(i) of a
	// dropped chunk returns ErrChunkDropped. Subscribers of the tasks topic
	// are not affected (their own buffer policy applies). Negative: keep
	// every chunk (the memory of a task then grows with its output).
	HandleChunks int
}

// DefaultHandleChunks is TaskLimits.HandleChunks's default: about 2–3 MiB
// of token chunks per running task.
const DefaultHandleChunks = 8192

func (l TaskLimits) withDefaults() TaskLimits {
	if l.InFlight <= 0 {
		l.InFlight = 1
	}
	if l.Queue <= 0 {
		l.Queue = 64
	}
	if l.AckTimeout <= 0 {
		l.AckTimeout = 5 * time.Second
	}
	if l.CancelWait <= 0 {
		l.CancelWait = 2 * time.Second
	}
	if l.DedupMemory <= 0 {
		l.DedupMemory = 1024
	}
	if l.HandleChunks == 0 {
		l.HandleChunks = DefaultHandleChunks
	}
	return l
}

// Task errors, tested with errors.Is.
var (
	ErrQueueFull          = errors.New("runner's task queue is full")
	ErrRunnerNotAvailable = errors.New("runner cannot take tasks")
	ErrTaskNotFound       = errors.New("task not found")
	// ErrInvalidTask: TaskSpec.Validate refused the task (empty or too
	// long ID, empty Kind, negative Timeout); the text names the field.
	ErrInvalidTask = errors.New("invalid task")
	// ErrTaskRetried: the task's attempt that Next was reading from ended
	// with its runner, and the task was resubmitted as a new attempt. What
	// was read of the earlier attempt is void; Next goes on with the new
	// attempt's chunk 0.
	ErrTaskRetried = errors.New("task retried: earlier attempt's output discarded")
	// ErrChunkDropped: the chunk asked for is older than what the handle
	// keeps (TaskLimits.HandleChunks).
	ErrChunkDropped        = errors.New("chunk no longer held by the task handle (TaskLimits.HandleChunks)")
	errTaskHandleCancelled = errors.New("stopped waiting")
)

// TaskOutcome is how a task ended.
type TaskOutcome struct {
	Status exov1.TaskStatus // Complete, TimedOut, Failed or Cancelled
	Reason string           // why, for all but Complete
	// Chunks counts the chunks of the attempt that ended the task, error
	// chunk included.
	Chunks int
	// Attempt is the attempt that ended the task: 1, or 2 after a retry.
	Attempt int
	At      time.Time
}

// RetryError is what TaskHandle.Next returns when the task was retried
// since the last chunk it returned. It wraps ErrTaskRetried.
type RetryError struct {
	TaskID  string
	Attempt int    // the new attempt, from 2
	Reason  string // why the earlier attempt ended
	// Discarded counts the earlier attempt's chunks that are void.
	Discarded int
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("task %q retried as attempt %d after %s: %d chunks of the earlier attempt discarded", e.TaskID, e.Attempt, e.Reason, e.Discarded)
}

// Unwrap makes errors.Is(err, ErrTaskRetried) hold.
func (e *RetryError) Unwrap() error { return ErrTaskRetried }

// ChunksDroppedError is what TaskHandle.Next returns when chunks it had not
// returned yet were dropped (TaskLimits.HandleChunks): it goes on with the
// oldest chunk still held. It wraps ErrChunkDropped.
type ChunksDroppedError struct {
	TaskID  string
	From    int // index of the first chunk skipped
	Skipped int // chunks skipped
}

func (e *ChunksDroppedError) Error() string {
	return fmt.Sprintf("task %q: %d chunks from index %d dropped before they were read (the handle keeps the latest TaskLimits.HandleChunks)", e.TaskID, e.Skipped, e.From)
}

// Unwrap makes errors.Is(err, ErrChunkDropped) hold.
func (e *ChunksDroppedError) Unwrap() error { return ErrChunkDropped }

// Chunk is one chunk of a task's output.
type Chunk = exov1.ChunkGenerated

// TaskHandle follows one submitted task: its chunks in order, then exactly
// one outcome. It is safe for concurrent use; every reader sees every chunk.
//
// A Retryable task whose runner crashed mid-task runs again as attempt 2.
// The handle then holds only the new attempt's chunks: Chunk(ctx, i),
// Chunks and the outcome are those of the attempt that ended the task, and
// Next returns a *RetryError (errors.Is(err, ErrTaskRetried)) once, before
// the new attempt's chunk 0, so a consumer that concatenates chunks knows to
// drop what it has. Attempt says which attempt is current.
type TaskHandle struct {
	ID       string
	RunnerID string

	mu sync.Mutex
	// chunks holds the chunks in blocks of chunkBlock (the last one
	// partly filled), so a long stream never copies what it already holds;
	// n counts them, base is the index of the first one still held (keep
	// bounds what is held: oldest blocks are dropped, see HandleChunks).
	chunks  [][]*Chunk
	n       int
	base    int
	keep    int // chunks to hold at least; < 0: all
	outcome *TaskOutcome
	// changed exists only while someone waits: the first waiter makes it,
	// the next change closes it and forgets it (nil), so a change nobody
	// waits for allocates nothing. waiters counts the goroutines that took
	// the current channel and have not given up on it; all under mu.
	changed chan struct{} // sole sender: the task's owner via push/finish under mu
	waiters int
	cursor  int // for Next
	// attempt is the current attempt (from 1); cursorAttempt the attempt
	// Next last read from; lastRetry why the last attempt ended.
	attempt       int
	cursorAttempt int
	lastRetry     *RetryError
}

// chunkBlock is how many chunks one block of a TaskHandle holds.
const chunkBlock = 512

func newTaskHandle(runnerID, id string, keep int) *TaskHandle {
	return &TaskHandle{ID: id, RunnerID: runnerID, attempt: 1, cursorAttempt: 1, keep: keep}
}

// endedTaskHandle is the handle a dedup hit on a finished task gets: it has
// the outcome and none of the chunks (they were not kept).
func endedTaskHandle(runnerID, id string, o TaskOutcome) *TaskHandle {
	h := &TaskHandle{ID: id, RunnerID: runnerID, attempt: o.Attempt, cursorAttempt: o.Attempt, outcome: &o}
	h.n, h.base, h.cursor = o.Chunks, o.Chunks, o.Chunks
	return h
}

// Attempt returns the current attempt: 1, or 2 after a retry.
func (h *TaskHandle) Attempt() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempt
}

// retry starts a new attempt: the chunks so far are discarded. It returns
// the new attempt and how many chunks it discarded; 0, 0 once ended.
func (h *TaskHandle) retry(reason string) (attempt, discarded int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.outcome != nil {
		return 0, 0
	}
	discarded = h.n
	h.chunks, h.n, h.base = nil, 0, 0
	h.attempt++
	h.lastRetry = &RetryError{TaskID: h.ID, Attempt: h.attempt, Reason: reason, Discarded: discarded}
	h.signalLocked()
	return h.attempt, discarded
}

// push appends a chunk to the current attempt and returns that attempt;
// false once the task has ended.
func (h *TaskHandle) push(c *Chunk) (int, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pushLocked(c)
}

// pushRunners is push for a chunk as the runner wrote it: its index must
// be the chunk's position in the attempt. One that is not is delivered at
// its position all the same (the pipe's order is the stream's), its index
// set to it; sent is then the index the runner wrote, and misindexed true.
func (h *TaskHandle) pushRunners(c *Chunk) (attempt int, ok bool, sent uint64, misindexed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if want := uint64(h.n); c.GetIndex() != want && h.outcome == nil {
		sent, misindexed = c.GetIndex(), true
		c.Index = want
	}
	attempt, ok = h.pushLocked(c)
	return attempt, ok, sent, misindexed
}

func (h *TaskHandle) pushLocked(c *Chunk) (int, bool) {
	if h.outcome != nil {
		return 0, false
	}
	last := len(h.chunks) - 1
	if last < 0 || len(h.chunks[last]) == chunkBlock {
		var b []*Chunk // the first block grows as needed: most tasks are short
		if last >= 0 {
			b = make([]*Chunk, 0, chunkBlock) // a long stream: whole blocks
		}
		h.chunks = append(h.chunks, b)
		last++
	}
	h.chunks[last] = append(h.chunks[last], c)
	h.n++
	if h.keep >= 0 && h.n-h.base-chunkBlock >= h.keep && len(h.chunks) > 1 {
		// Drop the oldest block: at least keep chunks stay held.
		h.chunks[0] = nil
		h.chunks = h.chunks[1:]
		h.base += chunkBlock
	}
	h.signalLocked()
	return h.attempt, true
}

// finish sets the outcome; false when the task had already ended, so every
// task ends exactly once.
func (h *TaskHandle) finish(o TaskOutcome) bool {
	ok, _ := h.finishWoke(o)
	return ok
}

// finishWoke is finish, and also says whether a Wait was woken.
func (h *TaskHandle) finishWoke(o TaskOutcome) (ok, woke bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.outcome != nil {
		return false, false
	}
	o.Chunks = h.n
	o.Attempt = h.attempt
	h.outcome = &o
	woke = h.waiters > 0
	h.signalLocked()
	return true, woke
}

// signalLocked wakes every waiter. With none, nothing holds a channel to
// close: a later waiter sees the change under mu before it would wait.
func (h *TaskHandle) signalLocked() {
	if h.waiters == 0 {
		return
	}
	close(h.changed) // sole sender: the task's owner, under h.mu (push/finish)
	h.changed, h.waiters = nil, 0
}

// waitLocked registers a waiter and returns the channel the next change
// closes; h.mu is held. Its caller unlocks, waits, and calls giveUp if it
// stops waiting before the channel closed.
func (h *TaskHandle) waitLocked() chan struct{} {
	if h.changed == nil {
		h.changed = make(chan struct{})
	}
	h.waiters++
	return h.changed
}

// giveUp unregisters a waiter of ch that stopped waiting (its context
// ended). If ch was closed meanwhile, the close already let it go.
func (h *TaskHandle) giveUp(ch chan struct{}) {
	h.mu.Lock()
	if h.changed == ch {
		h.waiters--
	}
	h.mu.Unlock()
}

// Outcome returns the outcome, or nil while the task runs.
func (h *TaskHandle) Outcome() *TaskOutcome {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.outcome == nil {
		return nil
	}
	o := *h.outcome
	return &o
}

// Chunks returns the current attempt's chunks so far that the handle still
// holds: all of them, or the latest TaskLimits.HandleChunks (rounded up to a
// block of 512) of a long stream. Chunks()[0] has index Held().
func (h *TaskHandle) Chunks() []*Chunk {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Chunk, 0, h.n-h.base)
	for _, b := range h.chunks {
		out = append(out, b...)
	}
	return out
}

// Held returns the index of the oldest chunk the handle still holds (0
// unless chunks were dropped, see TaskLimits.HandleChunks) and how many
// chunks the current attempt has produced.
func (h *TaskHandle) Held() (first, total int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.base, h.n
}

// count returns how many chunks the current attempt has produced.
func (h *TaskHandle) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// at returns held chunk i (base <= i < n); h.mu is held.
func (h *TaskHandle) at(i int) *Chunk {
	j := i - h.base
	return h.chunks[j/chunkBlock][j%chunkBlock]
}

// Chunk returns chunk i of the current attempt, waiting for it; io.EOF once
// the task ended with fewer chunks; an error wrapping ErrChunkDropped if it
// is older than what the handle holds. A wait goes on across a retry: it
// then returns the new attempt's chunk i.
func (h *TaskHandle) Chunk(ctx context.Context, i int) (*Chunk, error) {
	for {
		h.mu.Lock()
		if i < h.base {
			first := h.base
			h.mu.Unlock()
			return nil, fmt.Errorf("task %q chunk %d (oldest held: %d): %w", h.ID, i, first, ErrChunkDropped)
		}
		if i < h.n {
			c := h.at(i)
			h.mu.Unlock()
			return c, nil
		}
		if h.outcome != nil {
			h.mu.Unlock()
			return nil, io.EOF
		}
		ch := h.waitLocked()
		h.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			h.giveUp(ch)
			return nil, h.waitEnded(ctx)
		}
	}
}

// Next returns the next chunk this handle has not returned yet, or io.EOF
// after the last one. If the task was retried since the last chunk Next
// returned, Next returns a *RetryError (errors.Is(err, ErrTaskRetried))
// once: drop what was read, and call Next again for the new attempt's
// chunk 0. Readers sharing a handle share its cursor; use Chunk for
// independent readers.
func (h *TaskHandle) Next(ctx context.Context) (*Chunk, error) {
	for {
		h.mu.Lock()
		if h.cursorAttempt != h.attempt {
			h.cursorAttempt, h.cursor = h.attempt, 0
			r := *h.lastRetry
			h.mu.Unlock()
			return nil, &r
		}
		if h.cursor < h.base {
			e := &ChunksDroppedError{TaskID: h.ID, From: h.cursor, Skipped: h.base - h.cursor}
			h.cursor = h.base
			h.mu.Unlock()
			return nil, e
		}
		i := h.cursor
		if i < h.n {
			c := h.at(i)
			h.cursor++
			h.mu.Unlock()
			return c, nil
		}
		if h.outcome != nil {
			h.mu.Unlock()
			return nil, io.EOF
		}
		ch := h.waitLocked()
		h.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			h.giveUp(ch)
			return nil, h.waitEnded(ctx)
		}
	}
}

// waitEnded is the error of a wait on the handle whose ctx ended: it names
// the task, says that the task goes on, and wraps ctx's error.
func (h *TaskHandle) waitEnded(ctx context.Context) error {
	return fmt.Errorf("task %q on runner %s: %w: %w; the task itself goes on: wait again, or end it with Cancel",
		h.ID, h.RunnerID, errTaskHandleCancelled, ctx.Err())
}

// Wait returns the outcome once the task ended. It always returns for every
// task: a runner that crashes or stops ends its tasks Failed.
func (h *TaskHandle) Wait(ctx context.Context) (TaskOutcome, error) {
	for {
		h.mu.Lock()
		if h.outcome != nil {
			o := *h.outcome
			h.mu.Unlock()
			return o, nil
		}
		ch := h.waitLocked()
		h.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			h.giveUp(ch)
			return TaskOutcome{}, h.waitEnded(ctx)
		}
	}
}

// taskState is where a task is in its protocol life.
type taskState int

const (
	taskQueued     taskState = iota // waiting for a free slot
	taskSent                        // Task frame written
	taskRunning                     // TaskStatus Running seen
	taskAcked                       // TaskAcknowledged seen; chunks may come
	taskCancelling                  // Cancel sent; waiting for the runner's word
)

// taskEntry is one live task in a runner's ledger.
type taskEntry struct {
	spec      TaskSpec
	handle    *TaskHandle
	state     taskState
	sentGen   uint64 // generation it was sent to
	resubmits int    // times resubmitted after a restart
	cancelAs  exov1.TaskStatus
	cancelWhy string
	// cancelFrom is, while cancelling, how far the runner's frames for the
	// task have come (taskSent, taskRunning or taskAcked): its TaskStatus
	// Running and TaskAcknowledged may cross the Cancel on the pipes, and
	// are in order when they follow it.
	cancelFrom taskState
	timers     [3]timerSlot // ack, timeout, cancel wait
	// misindexed: a chunk of the task came with an index other than its
	// position (said once per task: pushRunners).
	misindexed bool
	// broke is the first protocol error of the runner about this task (a
	// frame out of order, ignored), said in the task's outcome if it ends
	// by a timeout: the runner's frames were there, out of order. brokeN
	// counts them (chunks out of order are logged once per task).
	broke  string
	brokeN int
	// chunkBroke: a chunk of the task came out of order (logged once).
	chunkBroke bool
}

const (
	taskTimerAck = iota
	taskTimerTimeout
	taskTimerCancel
)

// ledger holds a runner's tasks. It lives in the slot, so it outlives actor
// incarnations; only the runner actor (or its supervisor while the actor is
// suspended) touches it, under the slot's mutex.
type ledger struct {
	live     map[string]*taskEntry
	queue    []string // queued task IDs, in order
	inFlight int
	// done remembers finished tasks' outcomes for dedup: at most
	// TaskLimits.DedupMemory, oldest forgotten first (doneFIFO is a ring of
	// their IDs in end order). Outcomes only: a finished task's handle and
	// chunks are not kept alive by the ledger.
	done     map[string]doneTask
	doneFIFO []string
	doneHead int // index of the oldest ID in doneFIFO once it is full
}

func newLedger() *ledger {
	return &ledger{live: map[string]*taskEntry{}, done: map[string]doneTask{}}
}

// doneTask is what the ledger remembers of a finished task: its outcome,
// and its kind, so that a Submit of the same ID with another kind is told
// it is another task (sameTask).
type doneTask struct {
	outcome TaskOutcome
	kind    string
}

// lookup returns the handle of a live task, or a handle already ended with
// the remembered outcome of a finished one, or nil; kind is the kind the
// runner knows the task by ("" with a nil handle).
func (l *ledger) lookup(runnerID, id string) (h *TaskHandle, kind string) {
	if e := l.live[id]; e != nil {
		return e.handle, e.spec.Kind
	}
	if d, ok := l.done[id]; ok {
		return endedTaskHandle(runnerID, id, d.outcome), d.kind
	}
	return nil, ""
}

// dedup answers a Submit of a task ID the ledger knows (nil when it does
// not): the known task's handle, or, for a task of another kind under the
// same ID, an error wrapping ErrInvalidTask. Dedup is for a retried Submit
// of the same task; a caller that reused an ID for another task would
// otherwise wait on the first one's outcome.
func (l *ledger) dedup(runnerID string, spec TaskSpec) *submitReply {
	h, kind := l.lookup(runnerID, spec.ID)
	switch {
	case h == nil:
		return nil
	case kind != spec.Kind:
		return &submitReply{err: fmt.Errorf("%w %q: runner %s already has a task of that ID, of kind %q, not %q; a retried Submit must be the same task: give a new task a new ID",
			ErrInvalidTask, spec.ID, runnerID, kind, spec.Kind)}
	}
	return &submitReply{handle: h}
}

// finished reports whether id is a remembered finished task.
func (l *ledger) finished(id string) bool {
	_, ok := l.done[id]
	return ok
}

// remember keeps a finished task's outcome, forgetting the oldest beyond
// limit. The ring never grows past limit entries.
func (l *ledger) remember(id, kind string, o TaskOutcome, limit int) {
	if _, ok := l.done[id]; ok {
		l.done[id] = doneTask{o, kind} // already in the ring
		return
	}
	l.done[id] = doneTask{o, kind}
	if len(l.doneFIFO) < limit {
		l.doneFIFO = append(l.doneFIFO, id)
		return
	}
	delete(l.done, l.doneFIFO[l.doneHead])
	l.doneFIFO[l.doneHead] = id
	l.doneHead = (l.doneHead + 1) % len(l.doneFIFO)
}
