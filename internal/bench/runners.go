package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// memoryBudget is memory_per_runner's goal: 64 KiB per idle runner actor.
const memoryBudget = 64.0 // KiB

// runners measures shutdown_100 and memory_per_runner on the same runners:
// spawn R idle runners (weighing the heap and stacks before and after), then
// shut the system down gracefully. The floor starts R bare `exo-actors
// runner` children, does each handshake by hand, waits until each is Ready,
// then sends each a Shutdown frame and waits for all of them in parallel
// (reading each one's stdout to the end, then reaping it, as a runner actor
// does).
func (b *bencher) runners(ctx context.Context) ([]Result, error) {
	r := b.sizes.Runners
	var (
		floor, measured []float64
		perRunner       float64 // KiB, from the first repetition
	)
	for rep := 0; rep < b.sizes.RunnerReps; rep++ {
		var (
			f   time.Duration
			err error
		)
		onFloor(ctx, func() { f, err = b.floorShutdown(ctx, r) })
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		m, mem, err := b.measureShutdown(ctx, r)
		if err != nil {
			return nil, err
		}
		floor, measured = append(floor, inUnit(f, time.Millisecond)), append(measured, inUnit(m, time.Millisecond))
		if rep == 0 {
			perRunner = mem
		}
	}
	note := fmt.Sprintf("%d runners, best of %d", r, b.sizes.RunnerReps)
	return []Result{
		newResult(RowShutdown100, best(measured), best(floor), "ms", nil, "", note+"; no goal set"),
		newResult(RowMemoryPerRunner, perRunner, memoryBudget, "KiB", goal(1), AtMost,
			fmt.Sprintf("%d runners, weighed on the first repetition only (a later one could reuse idle OS threads the first one created, whose stacks would then not show); ", r)+
				"the goal is absolute: the floor column is the 64 KiB budget, not a measurement"),
	}, nil
}

// floorShutdown returns the time from the first Shutdown frame until the
// last of r bare runners was reaped.
func (b *bencher) floorShutdown(ctx context.Context, r int) (d time.Duration, err error) {
	cs := make([]*child, 0, r)
	defer func() { stopAll(cs) }()
	for i := 0; i < r; i++ {
		c, err := b.startRunner()
		if err != nil {
			return 0, err
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		if _, err := c.handshake(); err != nil {
			return 0, err
		}
	}
	// One goroutine per child reads its frames to the end, says when it is
	// Ready, then reaps it. All are waited for below, on every path.
	var (
		wg      sync.WaitGroup
		readyCh = make(chan error, r) // one value per child; never closed
		reaped  = make([]time.Time, r)
		errs    = make([]error, r)
	)
	defer wg.Wait()
	defer stopAll(cs) // on an error path the readers end when their child dies
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sentReady := false
			var rerr error
			for {
				env := &exov1.RunnerEnvelope{}
				if rerr = c.fr.Read(env); rerr != nil {
					break
				}
				if !sentReady && env.GetStatusUpdated().GetStatus().GetKind() == statusReady {
					sentReady = true
					readyCh <- nil
				}
			}
			if !sentReady {
				readyCh <- fmt.Errorf("runner %d ended before Ready: %w", i, rerr)
			}
			at, werr := c.wait()
			reaped[i], errs[i] = at, exitedCleanly(werr)
		}()
	}
	for range cs {
		select {
		case err := <-readyCh:
			if err != nil {
				return 0, err
			}
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	start := time.Now()
	for _, c := range cs {
		if err := c.sendShutdown(); err != nil {
			return 0, err
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	last := start
	for _, t := range reaped {
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(start), nil
}

// measureShutdown spawns r runners in a fresh system, weighs them once all
// are Ready, and times the graceful Shutdown. It returns the Shutdown time
// and the Go heap plus goroutine stacks per runner, in KiB.
func (b *bencher) measureShutdown(ctx context.Context, r int) (d time.Duration, perRunner float64, err error) {
	w := newWatcher()
	sys, err := b.newSystem(w.hook, exo.ErrorPolicy{})
	if err != nil {
		return 0, 0, err
	}
	shut := false
	defer func() {
		if !shut {
			err = errJoin(err, shutdownSystem(sys))
		}
	}()
	ids := make([]string, 0, r)
	spec := runnerSpec()
	before := liveBytes()
	for i := 0; i < r; i++ {
		id, err := sys.SpawnRunner(ctx, spec)
		if err != nil {
			return 0, 0, err
		}
		ids = append(ids, id)
	}
	if err := w.awaitN(ctx, fmt.Sprintf("%d runners Ready", r), r, isStatus("", 1, statusReady)); err != nil {
		return 0, 0, err
	}
	after := liveBytes()
	perRunner = float64(after-before) / float64(r) / 1024

	// Once begun, the shutdown runs to its end even if ctx ends: it has its
	// own phase deadlines, and it is what stops the runners.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	start := time.Now()
	shut = true
	rep, err := sys.Shutdown(sctx)
	d = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("shutdown: %w", err)
	}
	if len(rep.Forced) > 0 {
		return 0, 0, fmt.Errorf("shutdown forced %d actors (%v): not a graceful shutdown", len(rep.Forced), rep.Forced)
	}
	runtime.KeepAlive(ids)
	return d, perRunner, nil
}

// liveBytes is the Go heap in use plus goroutine stacks, after collecting
// garbage (twice, so finalizers' garbage goes too).
func liveBytes() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc) + int64(m.StackInuse)
}
