package bench

import (
	"context"
	"fmt"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// dispatch measures dispatch_p50 and dispatch_p99: Submit of a noop task
// until Wait returns Complete, against one envelope's round trip through an
// echo child (the same Task envelope the runner actor sends for the noop).
// Samples alternate, floor then measured, so both see the same machine.
func (b *bencher) dispatch(ctx context.Context) (res []Result, err error) {
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
	echo, err := b.startChild(ChildSpec{Kind: ChildEcho}.Args()...)
	if err != nil {
		return nil, err
	}
	defer echo.stop()

	warm, n := b.sizes.DispatchWarmup, b.sizes.DispatchSamples
	floor, measured := make([]float64, 0, n), make([]float64, 0, n)
	for i := 0; i < warm+n; i++ {
		tid := taskID("bench-dispatch", i)
		var f time.Duration
		onFloor(ctx, func() { f, err = echoRoundTrip(echo, tid) })
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		m, err := submitNoop(ctx, sys, id, tid)
		if err != nil {
			return nil, fmt.Errorf("measured: %w", err)
		}
		if i >= warm {
			floor, measured = append(floor, inUnit(f, time.Microsecond)), append(measured, inUnit(m, time.Microsecond))
		}
	}
	// The pipe round trip back to back: the same echo, with no measured
	// path in between, so the child and this goroutine stay warm (no
	// wake-up of an idle peer between samples). Shown beside dispatch_p50.
	b2b := make([]float64, 0, n)
	for i := 0; i < warm+n; i++ {
		var f time.Duration
		onFloor(ctx, func() { f, err = echoRoundTrip(echo, taskID("bench-b2b", i)) })
		if err != nil {
			return nil, fmt.Errorf("back-to-back floor: %w", err)
		}
		if i >= warm {
			b2b = append(b2b, inUnit(f, time.Microsecond))
		}
	}
	echo.in.Close()
	if _, err := echo.wait(); err != nil {
		return nil, fmt.Errorf("echo child: %w", exitedCleanly(err))
	}
	note := fmt.Sprintf("%d samples", n)
	p50 := percentile(measured, 50)
	return []Result{
		newResult(RowDispatchP50, p50, percentile(floor, 50), "us", goal(2.0), AtMost, note+"; floor alternates with the measured path (its echo child idles before each sample)"),
		newResult(RowDispatchP99, percentile(measured, 99), percentile(floor, 99), "us", nil, "", note+"; no goal set for p99"),
		newResult(RowDispatchB2B, p50, percentile(b2b, 50), "us", nil, "",
			fmt.Sprintf("dispatch_p50 against the p50 of %d echo round trips back to back (child and reader warm); for information", n)),
	}, nil
}

// noopTask is the Task envelope the runner actor writes for a noop task.
func noopTask(id string) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{Id: id, Kind: "noop"}}}
}

// echoRoundTrip writes one Task envelope to the echo child and reads it back.
func echoRoundTrip(c *child, id string) (time.Duration, error) {
	start := time.Now()
	if err := c.fw.Write(noopTask(id)); err != nil {
		return 0, err
	}
	back := &exov1.SupervisorEnvelope{}
	if err := c.fr.Read(back); err != nil {
		return 0, err
	}
	d := time.Since(start)
	if back.GetTask().GetId() != id {
		return 0, fmt.Errorf("echo returned %v, want task %s", back, id)
	}
	return d, nil
}

// submitNoop submits a noop task and waits for its outcome.
func submitNoop(ctx context.Context, sys *exo.System, runnerID, id string) (time.Duration, error) {
	start := time.Now()
	h, err := sys.Submit(ctx, runnerID, exo.Task{ID: id, Kind: "noop"})
	if err != nil {
		return 0, err
	}
	out, err := h.Wait(ctx)
	if err != nil {
		return 0, err
	}
	d := time.Since(start)
	if out.Status != exo.TaskComplete {
		return 0, fmt.Errorf("noop task %s ended %s: %s", id, out.Status, out.Reason)
	}
	return d, nil
}
