package bench

import (
	"context"
	"fmt"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// healthInterval is the health monitor's check interval in health_overhead.
const healthInterval = 100 * time.Millisecond

// healthOverhead measures health_overhead: dispatch p50 (Submit of a noop
// until Complete) on one of R Ready runners with the health monitor checking
// all R every 100 ms, against the same in a system without the monitor. The
// two systems run one after the other, max(RunnerReps, 2) times each, the
// order swapped at each repetition (a system started right after another
// one shut down 100 processes runs a little slower); the samples of each
// side are pooled.
func (b *bencher) healthOverhead(ctx context.Context) ([]Result, error) {
	var with, without []float64
	var checks uint64
	for rep := 0; rep < max(b.sizes.RunnerReps, 2); rep++ {
		for _, monitor := range [][]bool{{false, true}, {true, false}}[rep%2] {
			var (
				xs  []float64
				c   uint64
				err error
			)
			if monitor {
				xs, c, err = b.dispatchAmong(ctx, b.sizes.Runners, true)
				with, checks = append(with, xs...), checks+c
			} else {
				onFloor(ctx, func() { xs, _, err = b.dispatchAmong(ctx, b.sizes.Runners, false) })
				without = append(without, xs...)
			}
			if err != nil {
				return nil, fmt.Errorf("monitor %v: %w", monitor, err)
			}
		}
	}
	note := fmt.Sprintf("dispatch p50 on 1 of %d Ready runners, health checks every %s (%d checks ran) vs no monitor; %d samples each side",
		b.sizes.Runners, healthInterval, checks, len(with))
	return []Result{newResult(RowHealthOverhead, percentile(with, 50), percentile(without, 50), "us", goal(1.05), AtMost, note)}, nil
}

// dispatchAmong starts a system with r runners (the health monitor at
// healthInterval, or disabled), waits until all are Ready, and times
// DispatchSamples noop round trips on the first one (after DispatchWarmup).
// It returns the samples in µs and the number of health checks that ran.
func (b *bencher) dispatchAmong(ctx context.Context, r int, monitor bool) (samples []float64, checks uint64, err error) {
	w := newWatcher()
	checked := make(chan struct{}, 1) // never closed
	hc := exo.HealthConfig{HealthSettings: exo.HealthSettings{Interval: healthInterval, Disabled: !monitor}, OnCheck: func(uint64) {
		select {
		case checked <- struct{}{}:
		default:
		}
	}}
	sys, err := exo.New(exo.Config{Logger: b.log, Hook: w.hook, BuiltinBinary: b.bin, Env: b.env,
		DeadLetterThrottle: 50 * time.Millisecond, Health: hc})
	if err != nil {
		return nil, 0, err
	}
	defer func() { err = errJoin(err, shutdownSystem(sys)) }()
	ids := make([]string, 0, r)
	for i := 0; i < r; i++ {
		id, err := sys.SpawnRunner(ctx, runnerSpec())
		if err != nil {
			return nil, 0, err
		}
		ids = append(ids, id)
	}
	if err := w.awaitN(ctx, fmt.Sprintf("%d runners Ready", r), r, isStatus("", 1, statusReady)); err != nil {
		return nil, 0, err
	}
	tag := "nomon"
	if monitor {
		tag = "mon"
	}
	samples = make([]float64, 0, b.sizes.DispatchSamples)
	for i := 0; i < b.sizes.DispatchWarmup+b.sizes.DispatchSamples; i++ {
		d, err := submitNoop(ctx, sys, ids[0], taskID("bench-health-"+tag, i))
		if err != nil {
			return nil, 0, err
		}
		if i >= b.sizes.DispatchWarmup {
			samples = append(samples, inUnit(d, time.Microsecond))
		}
	}
	if monitor {
		// At least one check over every runner after the samples (a short
		// run can end within one interval).
		select {
		case <-checked:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
		select {
		case <-checked:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
		rep, err := sys.Health(ctx)
		if err != nil {
			return nil, 0, err
		}
		if rep.Checks == 0 || len(rep.Runners) != r {
			return nil, 0, fmt.Errorf("the health monitor ran %d checks over %d runners: it did not check while we measured", rep.Checks, len(rep.Runners))
		}
		checks = rep.Checks
	}
	return samples, checks, nil
}
