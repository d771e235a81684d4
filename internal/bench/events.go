package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// chunkSource is one subscriber's view of a task's token chunks, in order.
type chunkSource interface {
	Next(ctx context.Context) (*exo.Chunk, error)
	Close() // unsubscribe; the measurement calls it once it is done
}

// eventsVia names how the events rows observe events; it is the note of
// those rows.
const eventsVia = "events observed through TaskHandle.Chunk (one independent cursor per subscriber): " +
	"System.Subscribe does not exist yet; switch subscribeChunks to it when it lands"

// subscribeChunks is the one place that decides how the events rows receive
// events: it opens k subscribers to the chunks of task taskID, calls submit
// to start the task at the right moment, and returns the subscribers with
// the task's handle.
//
// Today it reads the TaskHandle, each subscriber with its own index, so the
// k readers are independent as k subscriptions are: submit first, then the
// sources. Once System.Subscribe exists, it becomes (and eventsVia changes):
//
//	srcs := make([]chunkSource, k)
//	for i := range srcs {
//		sub, err := sys.Subscribe(ctx, streams.TopicTasks, streams.Filter{TaskID: taskID})
//		if err != nil { ... close the ones opened, return err }
//		srcs[i] = &subscriptionSource{sub} // Next: skip status events, unwrap
//	}                                    // Payload.(*exo.TaskChunk).Chunk, fail on a Gap
//	h, err := submit()
//
// subscribing before the Submit, so that no chunk is published before the
// subscribers are there. A Gap would mean a subscriber lost events, which a
// throughput row must not hide: it fails the row.
func subscribeChunks(_ context.Context, _ *exo.System, _ string, k int, submit func() (*exo.TaskHandle, error)) ([]chunkSource, *exo.TaskHandle, error) {
	h, err := submit()
	if err != nil {
		return nil, nil, err
	}
	srcs := make([]chunkSource, k)
	for i := range srcs {
		srcs[i] = &handleSource{h: h}
	}
	return srcs, h, nil
}

// handleSource reads a TaskHandle with a cursor of its own.
type handleSource struct {
	h    *exo.TaskHandle
	next int
}

func (s *handleSource) Close() {}

func (s *handleSource) Next(ctx context.Context) (*exo.Chunk, error) {
	c, err := s.h.Chunk(ctx, s.next)
	if err == nil {
		s.next++
	}
	return c, err
}

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

	var floor, one, four []float64 // seconds per task
	for rep := 0; rep <= b.sizes.EventReps; rep++ {
		var f time.Duration
		onFloor(ctx, func() { f, err = b.floorStream(fc, taskID("bench-events", 3*rep), n) })
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		d1, err := b.measureStream(ctx, sys, id, taskID("bench-events", 3*rep+1), n, 1)
		if err != nil {
			return nil, fmt.Errorf("1 subscriber: %w", err)
		}
		d4, err := b.measureStream(ctx, sys, id, taskID("bench-events", 3*rep+2), n, 4)
		if err != nil {
			return nil, fmt.Errorf("4 subscribers: %w", err)
		}
		if rep > 0 {
			floor, one, four = append(floor, f.Seconds()), append(one, d1.Seconds()), append(four, d4.Seconds())
		}
	}
	// The floor child ends at the end of its stdin, with status 0.
	fc.in.Close()
	if _, err := fc.wait(); err != nil {
		return nil, fmt.Errorf("floor child: %w", exitedCleanly(err))
	}
	fSec, oneSec, fourSec := best(floor), best(one), best(four)
	note := fmt.Sprintf("%d chunks per task, best of %d; %s", n, b.sizes.EventReps, eventsVia)
	return []Result{
		newResult(RowEvents1Sub, float64(n)/oneSec, float64(n)/fSec, "events/s", goal(0.9), AtLeast, note),
		newResult(RowEvents4Sub, fourSec/float64(n)*1e9, oneSec/float64(n)*1e9, "ns/event", goal(1.5), AtMost,
			"floor is events_1sub's time per event, measured in the same repetitions"),
	}, nil
}

// taskID returns prefix-NNNNNN: every task ID of a row has the same length,
// so the floor's frames are the measured path's frames byte for byte in size.
func taskID(prefix string, i int) string { return fmt.Sprintf("%s-%06d", prefix, i) }

// floorStream sends the stream child one Task frame and reads the n chunk
// frames it answers with, as a runner's stdout reader does: frame.Reader,
// a fresh envelope per frame.
func (b *bencher) floorStream(c *child, id string, n int) (time.Duration, error) {
	start := time.Now()
	err := c.fw.Write(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: textTask(id, n)}})
	if err != nil {
		return 0, err
	}
	var last *exov1.RunnerEnvelope
	for i := 0; i < n; i++ {
		last = &exov1.RunnerEnvelope{}
		if err := c.fr.Read(last); err != nil {
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

// measureStream submits a text_generation task of n tokens and returns the
// time from Submit until the last of k subscribers received the last chunk.
func (b *bencher) measureStream(ctx context.Context, sys *exo.System, runnerID, id string, n, k int) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := textTask(id, n)
	start := time.Now()
	srcs, h, err := subscribeChunks(ctx, sys, id, k, func() (*exo.TaskHandle, error) {
		return sys.Submit(ctx, runnerID, exo.Task{ID: t.Id, Kind: t.Kind, Params: t.Params})
	})
	if err != nil {
		return 0, err
	}
	defer func() {
		for _, src := range srcs {
			src.Close()
		}
	}()
	var (
		wg    sync.WaitGroup
		lasts = make([]time.Time, k)
		errs  = make([]error, k)
	)
	for j, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n; i++ {
				c, err := src.Next(ctx)
				if err == nil && c.GetIndex() != uint64(i) {
					err = fmt.Errorf("got chunk %d, want %d", c.GetIndex(), i)
				}
				if err != nil {
					errs[j] = fmt.Errorf("subscriber %d, chunk %d of %d: %w", j, i, n, err)
					cancel() // the other subscribers stop too
					return
				}
			}
			lasts[j] = time.Now()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	end := lasts[0]
	for _, l := range lasts[1:] {
		if l.After(end) {
			end = l
		}
	}
	out, err := h.Wait(ctx)
	if err != nil {
		return 0, err
	}
	if out.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE || out.Chunks != n {
		return 0, fmt.Errorf("task %s ended %s with %d chunks (%s), want Complete with %d", id, out.Status, out.Chunks, out.Reason, n)
	}
	return end.Sub(start), nil
}
