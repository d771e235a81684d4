package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// floodTimeouts are the runner timeouts of the flood measurements: a stop
// drains in-flight tasks for 1 ms only (the flooding task would otherwise
// hold the stop for StopDrain, 30 s), so a stop's reply time is the
// runtime's reaction, not a configured wait.
var floodTimeouts = exo.RunnerTimeouts{StopDrain: time.Millisecond}

// newFloodSystem is newSystem with floodTimeouts.
func (b *bencher) newFloodSystem(hook exo.EventHook) (*exo.System, error) {
	return exo.New(exo.Config{
		Logger:             b.log,
		Hook:               hook,
		BuiltinBinary:      b.bin,
		Env:                b.env,
		Timeouts:           floodTimeouts,
		DeadLetterThrottle: 50 * time.Millisecond,
	})
}

// slowReader reads a runner's chunk events through a Subscription (the
// stream's default buffer and window) ratio times slower than the runner
// writes them: it holds what it has read to at most 1/ratio of the events
// the tasks stream has published (the runner's progress as the node sees
// it), waiting 1 ms whenever it is ahead. The chunks it misses are dropped
// by the stream's slow-subscriber policy (Gap events).
type slowReader struct {
	progress func() int64 // events published so far
	read     atomic.Int64 // chunk events read
	newest   atomic.Int64 // newest chunk index seen
	gaps     atomic.Int64
	dropped  atomic.Int64
	err      error
}

func (r *slowReader) run(ctx context.Context, sub *exo.Subscription, ratio int64) {
	buf := make([]exo.StreamEvent, 0, 64)
	for {
		var err error
		buf, err = sub.NextBatch(ctx, buf[:0], 64)
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, exo.ErrEndOfStream) {
				r.err = err
			}
			return
		}
		for i := range buf {
			if g := buf[i].Gap; g != nil {
				r.gaps.Add(1)
				r.dropped.Add(int64(g.Dropped))
				continue
			}
			if tc, ok := buf[i].Payload.(exo.TaskChunk); ok {
				r.read.Add(1)
				if idx := int64(tc.Chunk.Index); idx > r.newest.Load() {
					r.newest.Store(idx)
				}
			}
			buf[i] = exo.StreamEvent{}
		}
		for r.read.Load()*ratio > r.progress() {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
	}
}

// startFlood subscribes a slow reader to runner id's chunks and submits a
// task of n chunks (the built-in runner with no token delay writes them as
// fast as it can), then waits until the reader has seen the flood under
// way. The returned stop ends the reader.
func startFlood(ctx context.Context, sys *exo.System, id, taskID string, n int, ratio int64) (*slowReader, *exo.TaskHandle, func(), error) {
	sub, err := sys.Subscribe(exo.TopicTasks, exo.Filter{RunnerID: id, Kinds: []string{chunkTopicKind}}, exo.SubscribeOptions{})
	if err != nil {
		return nil, nil, nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	published := func() int64 { return int64(sys.StreamStats()[exo.TopicTasks].Published) }
	before := published()
	r := &slowReader{progress: func() int64 { return published() - before }}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.run(rctx, sub, ratio) }()
	stop := func() { cancel(); sub.Close(); wg.Wait() }
	t := textTask(taskID, n)
	h, err := sys.Submit(ctx, id, exo.Task{ID: t.Id, Kind: t.Kind, Params: t.Params})
	if err != nil {
		stop()
		return nil, nil, nil, err
	}
	under := int64(min(n/20, 5000))
	for r.progress() < under {
		if o := h.Outcome(); o != nil {
			stop()
			return nil, nil, nil, fmt.Errorf("flood task ended before it was under way: %s %s", exov1.TaskStatus_name[int32(o.Status)], o.Reason)
		}
		select {
		case <-ctx.Done():
			stop()
			return nil, nil, nil, ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return r, h, stop, nil
}

// controlSample times probes PingRunner calls (spaced by 2 ms) and then one
// StopRunner on runner id, in ms.
func controlSample(ctx context.Context, sys *exo.System, id string, probes int) (pings []float64, stop float64, err error) {
	for range probes {
		d, err := sys.PingRunner(ctx, id)
		if err != nil {
			return nil, 0, fmt.Errorf("ping: %w", err)
		}
		pings = append(pings, inUnit(d, time.Millisecond))
		time.Sleep(2 * time.Millisecond) // spread the probes over the flood (a bench, not a test)
	}
	start := time.Now()
	if _, err := sys.StopRunner(ctx, id); err != nil {
		return nil, 0, fmt.Errorf("stop: %w", err)
	}
	return pings, inUnit(time.Since(start), time.Millisecond), nil
}

// floodControl measures flood_control_ms and flood_probe_ms: how long a
// control message waits while a runner floods its stdout (the runner
// writes FloodChunks chunks as fast as it can; the only subscriber reads 10×
// slower), against the same on an idle Ready runner. Samples alternate:
// an idle runner, then a flooding one.
func (b *bencher) floodControl(ctx context.Context) (res []Result, err error) {
	w := newWatcher()
	sys, err := b.newFloodSystem(w.hook)
	if err != nil {
		return nil, err
	}
	defer func() { err = errJoin(err, shutdownSystem(sys)) }()
	var idlePings, floodPings, idleStops, floodStops []float64
	var gaps, read int64
	gc0, published0 := gcCycles(), sys.StreamStats()[exo.TopicTasks].Published
	for i := range b.sizes.FloodSamples {
		id, _, err := b.spawnReady(ctx, sys, w)
		if err != nil {
			return nil, err
		}
		p, s, err := controlSample(ctx, sys, id, b.sizes.FloodProbes)
		if err != nil {
			return nil, fmt.Errorf("idle runner: %w", err)
		}
		idlePings, idleStops = append(idlePings, p...), append(idleStops, s)

		id, _, err = b.spawnReady(ctx, sys, w)
		if err != nil {
			return nil, err
		}
		r, _, stopFlood, err := startFlood(ctx, sys, id, taskID("bench-flood", i), b.sizes.FloodChunks, 10)
		if err != nil {
			return nil, err
		}
		p, s, err = controlSample(ctx, sys, id, b.sizes.FloodProbes)
		stopFlood()
		if err == nil {
			err = r.err
		}
		if err != nil {
			return nil, fmt.Errorf("flooding runner: %w", err)
		}
		floodPings, floodStops = append(floodPings, p...), append(floodStops, s)
		gaps, read = gaps+r.gaps.Load(), read+r.read.Load()
	}
	k := b.sizes.FloodSamples
	gcs, events := gcCycles()-gc0, sys.StreamStats()[exo.TopicTasks].Published-published0
	note := fmt.Sprintf("%d runners stopped while flooding (a task of %d chunks; one subscriber reading 10× slower: it read %d chunks, %d Gaps) against %d idle runners; StopDrain 1ms; %s",
		k, b.sizes.FloodChunks, read, gaps, k, gcNote(gcs, events))
	return []Result{
		newResult(RowFloodControl, percentile(floodStops, 99), percentile(idleStops, 99), "ms", goal(2), AtMost,
			fmt.Sprintf("p99 of StopRunner until its reply (p50: %.3g ms flooding, %.3g ms idle); %s", percentile(floodStops, 50), percentile(idleStops, 50), note)),
		newResult(RowFloodProbe, percentile(floodPings, 99), percentile(idlePings, 99), "ms", goal(2), AtMost,
			fmt.Sprintf("p99 of %d control messages per runner through the supervisor and the runner's mailbox, the path of a stop or a phase message (System.PingRunner; p50: %.3g ms flooding, %.3g ms idle); %s",
				b.sizes.FloodProbes, percentile(floodPings, 50), percentile(idlePings, 50), note)),
	}, nil
}

// heapBudgetMiB is heap_flood's absolute goal.
const heapBudgetMiB = 16

// gcCycles is this process's count of completed GC cycles.
func gcCycles() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

// gcNote says how often the node collected garbage during a flood
// measurement: GC cycles against the events published on the tasks topic
// (nearly all of them chunk events).
func gcNote(gcs uint32, events uint64) string {
	if events == 0 {
		return fmt.Sprintf("%d GC cycles, no task event", gcs)
	}
	return fmt.Sprintf("%d GC cycles for %d task events (%.1f per 100,000)", gcs, events, float64(gcs)*1e5/float64(events))
}

// heapFlood measures heap_flood: the growth of the node's live heap while
// one runner floods FloodChunks chunks to the only subscriber, which reads
// 10× slower than the runner writes. Every 50 ms it collects garbage and
// reads the live heap; the row is the largest reading minus the reading
// before the task, in MiB, against a 16 MiB budget.
func (b *bencher) heapFlood(ctx context.Context) (res []Result, err error) {
	w := newWatcher()
	sys, err := b.newFloodSystem(w.hook)
	if err != nil {
		return nil, err
	}
	defer func() { err = errJoin(err, shutdownSystem(sys)) }()
	id, _, err := b.spawnReady(ctx, sys, w)
	if err != nil {
		return nil, err
	}
	base, baseMarked := liveHeap(), markedHeap()
	r, h, stopFlood, err := startFlood(ctx, sys, id, "bench-heap-flood", b.sizes.FloodChunks, 10)
	if err != nil {
		return nil, err
	}
	peak, peakMarked := base, baseMarked
	done := make(chan struct{}) // sole sender: the waiter goroutine below, once
	var (
		out  exo.TaskOutcome
		werr error
	)
	go func() {
		defer close(done) // sole sender: this goroutine
		out, werr = h.Wait(ctx)
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
			peak = max(peak, liveHeap())
			peakMarked = max(peakMarked, markedHeap())
		}
	}
	d := time.Since(start)
	peak = max(peak, liveHeap())
	peakMarked = max(peakMarked, markedHeap())
	stopFlood()
	if werr == nil && out.Status != exo.TaskComplete {
		werr = fmt.Errorf("flood task ended %s: %s", out.Status, out.Reason)
	}
	if werr != nil {
		return nil, werr
	}
	growth := float64(peak-base) / (1 << 20)
	note := fmt.Sprintf("peak live heap (GC every 50 ms, HeapAlloc) minus before; of it, marked live by the GC (/gc/heap/live:bytes, without what was allocated while the GC ran): %.2f MiB; %d chunks in %.1fs (%.0f/s), subscriber read %d (%d Gaps, %d chunks dropped); the floor column holds the 16 MiB budget",
		float64(peakMarked-min(baseMarked, peakMarked))/(1<<20), b.sizes.FloodChunks, d.Seconds(), float64(b.sizes.FloodChunks)/d.Seconds(), r.read.Load(), r.gaps.Load(), r.dropped.Load())
	return []Result{newResult(RowHeapFlood, growth, heapBudgetMiB, "MiB", goal(1), AtMost, note)}, nil
}

// markedHeap returns the heap the last GC marked live
// (/gc/heap/live:bytes): HeapAlloc after a GC also counts what was
// allocated while that GC ran, which grows with how long a starved GC takes.
func markedHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// liveHeap collects garbage twice and returns the live heap in bytes.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
