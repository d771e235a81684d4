package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protodelim"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// chunkTopicKind is the Kind of a chunk event on TopicTasks.
const chunkTopicKind = "task_chunk"

// eventsVia names how the events rows observe events; it is part of the note
// of those rows.
const eventsVia = "each subscriber is a System.Subscribe on TopicTasks filtered by the runner and kind task_chunk"

// subscribeOptions are the events rows' subscriber options for tasks of n
// chunks. Buffer n: a subscriber's buffer in the stream holds a whole task,
// so it never drops a chunk however far behind its reader falls within a
// task (the rows measure throughput, not the slow-subscriber policy); the
// buffer grows only as far as the reader actually lags. Window is the
// stream's default: the credit any subscriber gets.
func subscribeOptions(n int) exo.SubscribeOptions { return exo.SubscribeOptions{Buffer: n} }

// chunkSub is one subscriber to a runner's chunk events: a Subscription on
// TopicTasks with Filter{RunnerID, Kinds: task_chunk}. It counts the Gap
// events it meets and the chunks they stood for.
type chunkSub struct {
	sub     eventSource
	taskID  string // the task whose chunks it expects
	gaps    int    // Gap events seen
	dropped uint64 // events the Gaps said were dropped
	// batch holds events taken with NextBatch (the stream hands a
	// subscriber what queued up in one go), not yet returned by Next.
	batch []exo.StreamEvent
	next  int
}

// eventSource is what chunkSub reads: an *exo.Subscription (tests feed it
// from a bare stream).
type eventSource interface {
	Next(ctx context.Context) (exo.StreamEvent, error)
	NextBatch(ctx context.Context, buf []exo.StreamEvent, limit int) ([]exo.StreamEvent, error)
	Close()
}

// subscribeChunks opens k subscriptions to the chunk events of runner
// runnerID, before the task is submitted, so no chunk is published before
// the subscribers are there. On error it closes the ones it opened.
func subscribeChunks(sys *exo.System, runnerID, taskID string, n, k int) ([]*chunkSub, error) {
	subs := make([]*chunkSub, 0, k)
	for range k {
		sub, err := sys.Subscribe(exo.TopicTasks, exo.Filter{RunnerID: runnerID, Kinds: []string{chunkTopicKind}}, subscribeOptions(n))
		if err != nil {
			closeSubs(subs)
			return nil, err
		}
		subs = append(subs, &chunkSub{sub: sub, taskID: taskID})
	}
	return subs, nil
}

func closeSubs(subs []*chunkSub) {
	for _, s := range subs {
		s.sub.Close()
	}
}

// Next returns the next chunk of the subscriber's task. It skips Gap events,
// counting them; gap reports whether one came just before the chunk.
func (s *chunkSub) Next(ctx context.Context) (c exo.Chunk, gap bool, err error) {
	for {
		if s.next == len(s.batch) {
			var err error
			s.batch, s.next = s.batch[:0], 0
			if s.batch, err = s.sub.NextBatch(ctx, s.batch, 0); err != nil {
				return exo.Chunk{}, gap, err
			}
		}
		ev := s.batch[s.next]
		s.batch[s.next] = exo.StreamEvent{} // let the payload go
		s.next++
		if ev.Gap != nil {
			s.gaps++
			s.dropped += ev.Gap.Dropped
			gap = true
			continue
		}
		tc, ok := ev.Payload.(exo.TaskChunk)
		switch {
		case !ok || ev.Kind != chunkTopicKind:
			return exo.Chunk{}, gap, fmt.Errorf("event %d is %q (%T), not a chunk", ev.Seq, ev.Kind, ev.Payload)
		case tc.TaskID != s.taskID:
			return exo.Chunk{}, gap, fmt.Errorf("event %d is a chunk of task %q, want %q", ev.Seq, tc.TaskID, s.taskID)
		}
		return tc.Chunk, gap, nil
	}
}

// readTask reads the chunks of a task of n chunks up to the last one (index
// n-1) and returns how many it received: n, or fewer if a Gap stood for
// some. Chunks must come in index order, with no index missing except
// where a Gap came just before.
func (s *chunkSub) readTask(ctx context.Context, n int) (delivered int, err error) {
	for want := uint64(0); want < uint64(n); {
		c, gap, err := s.Next(ctx)
		if err == nil && (c.Index < want || (!gap && c.Index != want)) {
			err = fmt.Errorf("got chunk %d, want %d", c.Index, want)
		}
		if err != nil {
			return delivered, fmt.Errorf("after %d chunks of %d: %w", delivered, n, err)
		}
		delivered++
		want = c.Index + 1
	}
	return delivered, nil
}

// streamRun is one measured task: the time from Submit until the last
// subscriber held the last chunk, and what the subscribers received.
type streamRun struct {
	d         time.Duration
	delivered int    // chunk events received, over all subscribers
	gaps      int    // Gap events, over all subscribers
	dropped   uint64 // events those Gaps stood for
}

// perSub is the chunk events one subscriber received, on average.
func (r streamRun) perSub(k int) float64 { return float64(r.delivered) / float64(k) }

// events measures events_1sub and events_4sub. Each repetition runs the
// floor, one subscriber and four subscribers back to back, so the three see
// the same machine; the first repetition warms up and is not counted.
func (b *bencher) events(ctx context.Context) (res []Result, err error) {
	n := b.sizes.Tokens
	w := newWatcher()
	sys, err := b.newSystem(w.hook, exo.ErrorPolicy{})
	if err != nil {
		return nil, err
	}
	defer func() { err = errJoin(err, shutdownSystem(sys)) }()
	id, _, err := b.spawnReady(ctx, sys, w)
	if err != nil {
		return nil, err
	}
	fc, err := b.startChild(ChildSpec{Kind: ChildStream, N: n}.Args()...)
	if err != nil {
		return nil, err
	}
	defer fc.stop()

	// floor and one are events/s, four is ns per event per subscriber; each
	// counts only the chunk events delivered.
	var (
		floor, one, four []float64
		gaps             int
		dropped          uint64
	)
	for rep := 0; rep <= b.sizes.EventReps; rep++ {
		var f time.Duration
		onFloor(ctx, func() { f, err = b.floorStream(fc, taskID("bench-events", 3*rep), n) })
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		r1, err := b.measureStream(ctx, sys, id, taskID("bench-events", 3*rep+1), n, 1)
		if err != nil {
			return nil, fmt.Errorf("1 subscriber: %w", err)
		}
		r4, err := b.measureStream(ctx, sys, id, taskID("bench-events", 3*rep+2), n, 4)
		if err != nil {
			return nil, fmt.Errorf("4 subscribers: %w", err)
		}
		gaps, dropped = gaps+r1.gaps+r4.gaps, dropped+r1.dropped+r4.dropped
		if rep > 0 {
			floor = append(floor, float64(n)/f.Seconds())
			one = append(one, r1.perSub(1)/r1.d.Seconds())
			four = append(four, r4.d.Seconds()*1e9/r4.perSub(4))
		}
	}
	// The floor child ends at the end of its stdin, with status 0.
	fc.in.Close()
	if _, err := fc.wait(); err != nil {
		return nil, fmt.Errorf("floor child: %w", exitedCleanly(err))
	}
	fRate, oneRate, fourNs := slices.Max(floor), slices.Max(one), best(four)
	note := fmt.Sprintf("%d chunks per task, best of %d; %s (Buffer %d, default Window); %s",
		n, b.sizes.EventReps, eventsVia, subscribeOptions(n).Buffer, gapNote(gaps, dropped))
	return []Result{
		newResult(RowEvents1Sub, oneRate, fRate, "events/s", goal(1.0), AtLeast, note),
		newResult(RowEvents4Sub, fourNs, 1e9/oneRate, "ns/event", goal(1.2), AtMost,
			"floor is events_1sub's time per event, measured in the same repetitions; "+gapNote(gaps, dropped)),
	}, nil
}

// gapNote says how many Gap events the subscribers met over the whole
// measurement (warm-up included): a Gap means chunks were dropped, which
// the rows do not count as delivered.
func gapNote(gaps int, dropped uint64) string {
	if gaps == 0 {
		return "no Gap: every chunk was delivered to every subscriber"
	}
	return fmt.Sprintf("%d Gap events: %d chunks dropped (not counted as delivered)", gaps, dropped)
}

// taskID returns prefix-NNNNNN: every task ID of a row has the same length,
// so the floor's frames are the measured path's frames byte for byte in size.
func taskID(prefix string, i int) string { return fmt.Sprintf("%s-%06d", prefix, i) }

// floorUnmarshal is the honest floor's read: protodelim with the frame
// size limit, nothing else (no envelope checks: those are part of the
// measured path).
var floorUnmarshal = protodelim.UnmarshalOptions{MaxSize: frame.DefaultMaxSize}

// floorStream sends the stream child one Task frame and reads the n chunk
// frames it answers with in the cheapest correct way: a plain protodelim
// read and proto.Unmarshal into a fresh envelope per frame, from a 64 KiB
// bufio.Reader. The project's own frame.Reader (offsets, envelope and
// unknown-field checks) is part of the measured path, not of the floor.
func (b *bencher) floorStream(c *child, id string, n int) (time.Duration, error) {
	start := time.Now()
	err := c.fw.Write(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: textTask(id, n)}})
	if err != nil {
		return 0, err
	}
	var last *exov1.RunnerEnvelope
	for i := 0; i < n; i++ {
		last = &exov1.RunnerEnvelope{}
		if err := floorUnmarshal.UnmarshalFrom(c.br, last); err != nil {
			return 0, fmt.Errorf("chunk %d of %d: %w", i, n, err)
		}
	}
	d := time.Since(start)
	if cg := last.GetChunkGenerated(); cg.GetTaskId() != id || cg.GetIndex() != uint64(n-1) {
		return 0, fmt.Errorf("last frame is not chunk %d of %s: %v", n-1, id, last)
	}
	return d, nil
}

// textTask is the task both paths run: text_generation of n tokens.
func textTask(id string, n int) *exov1.Task {
	return &exov1.Task{Id: id, Kind: "text_generation", Params: map[string]string{"max_tokens": strconv.Itoa(n)}}
}

// measureStream subscribes k subscribers to runner runnerID's chunks, then
// submits a text_generation task of n tokens, and returns the time from
// Submit until the last subscriber received the last chunk, with how many
// chunk events they received: all n each, unless a Gap stood for some.
func (b *bencher) measureStream(ctx context.Context, sys *exo.System, runnerID, id string, n, k int) (streamRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := textTask(id, n)
	subs, err := subscribeChunks(sys, runnerID, id, n, k)
	if err != nil {
		return streamRun{}, err
	}
	defer closeSubs(subs)
	var (
		wg        sync.WaitGroup
		lasts     = make([]time.Time, k)
		delivered = make([]int, k)
		errs      = make([]error, k)
	)
	start := time.Now()
	h, err := sys.Submit(ctx, runnerID, exo.Task{ID: t.Id, Kind: t.Kind, Params: t.Params})
	if err != nil {
		return streamRun{}, err
	}
	for j, src := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			delivered[j], errs[j] = src.readTask(ctx, n)
			if errs[j] != nil {
				errs[j] = fmt.Errorf("subscriber %d: %w", j, errs[j])
				cancel() // the other subscribers stop too
				return
			}
			lasts[j] = time.Now()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return streamRun{}, err
	}
	run := streamRun{d: slices.MaxFunc(lasts, time.Time.Compare).Sub(start)}
	for j, s := range subs {
		run.delivered += delivered[j]
		run.gaps += s.gaps
		run.dropped += s.dropped
	}
	out, err := h.Wait(ctx)
	if err != nil {
		return streamRun{}, err
	}
	if out.Status != exo.TaskComplete || out.Chunks != n {
		return streamRun{}, fmt.Errorf("task %s ended %s with %d chunks (%s), want Complete with %d", id, out.Status, out.Chunks, out.Reason, n)
	}
	return run, nil
}
