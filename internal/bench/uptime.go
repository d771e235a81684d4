package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// uptimeWorkers is how many spawn/stop cycles run at once.
const uptimeWorkers = 8

// uptime measures uptime_heap_growth: the node's live heap after
// UptimeCycles spawn/stop cycles of a runner, each running UptimeTasks noop
// tasks (20,000 cycles and 200,000 tasks in a full run), divided by the
// live heap after the first tenth of them. Everything a node keeps per
// runner or per task must be bounded for the ratio to stay near 1: removed
// runners' final info (RetentionLimits), finished tasks' outcomes
// (TaskLimits.DedupMemory), the error handler's and the streams' books.
func (b *bencher) uptime(ctx context.Context) (res []Result, err error) {
	sys, err := b.newSystem(nil, exo.ErrorPolicy{})
	if err != nil {
		return nil, err
	}
	defer func() { err = errJoin(err, shutdownSystem(sys)) }()
	total := b.sizes.UptimeCycles
	first := total / 10
	start := time.Now()
	if err := b.cycles(ctx, sys, 0, first); err != nil {
		return nil, err
	}
	base := liveHeap()
	if err := b.cycles(ctx, sys, first, total); err != nil {
		return nil, err
	}
	end := liveHeap()
	d := time.Since(start)
	infos, err := sys.Runners(ctx)
	if err != nil {
		return nil, err
	}
	mib := func(x uint64) float64 { return float64(x) / (1 << 20) }
	note := fmt.Sprintf("live heap after %d spawn/stop cycles and %d noop tasks (%.0fs, %d at once) against after the first %d cycles and %d tasks (%.2f MiB); %d runners still listed",
		total, total*b.sizes.UptimeTasks, d.Seconds(), uptimeWorkers, first, first*b.sizes.UptimeTasks, mib(base), len(infos))
	if first < actors.DefaultKeepRemoved+uptimeWorkers {
		// --quick: 200 cycles are fewer than the removed runners the node
		// keeps (RetentionLimits.KeepRemoved), so the base is taken before
		// that bounded retention is full and its filling counts as growth
		// (0.957 with the base after 300 cycles instead of 200, by hand).
		note += fmt.Sprintf("; the base comes before the node keeps its full %d removed runners (RetentionLimits.KeepRemoved), so part of the growth is that bounded retention filling: the full run's base comes after it",
			actors.DefaultKeepRemoved)
	}
	return []Result{newResult(RowUptimeHeap, mib(end), mib(base), "MiB", goal(1.10), AtMost, note)}, nil
}

// cycles runs cycles from..to-1: spawn a runner, submit its tasks (they
// queue until it is Ready), wait for each, stop it.
func (b *bencher) cycles(ctx context.Context, sys *exo.System, from, to int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		ferr error
	)
	next.Store(int64(from))
	for range uptimeWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if err := b.cycle(ctx, sys, i); err != nil {
					mu.Lock()
					if ferr == nil {
						ferr = fmt.Errorf("cycle %d: %w", i, err)
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	return ferr
}

func (b *bencher) cycle(ctx context.Context, sys *exo.System, i int) error {
	id, err := sys.SpawnRunner(ctx, runnerSpec())
	if err != nil {
		return err
	}
	hs := make([]*exo.TaskHandle, 0, b.sizes.UptimeTasks)
	for j := range b.sizes.UptimeTasks {
		h, err := sys.Submit(ctx, id, exo.Task{ID: taskID(fmt.Sprintf("up%07d", i), j), Kind: "noop"})
		if err != nil {
			return err
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		o, err := h.Wait(ctx)
		if err != nil {
			return err
		}
		if o.Status != exo.TaskComplete {
			return fmt.Errorf("task %s ended %s: %s", h.ID, o.Status, o.Reason)
		}
	}
	_, err = sys.StopRunner(ctx, id)
	return err
}
