package bench

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// crash measures crash_detect and restart from the same kills: SIGKILL of a
// Ready runner until the hook receives its Failed status, and until the
// replacement process is Ready (no backoff delay, no loading delay, no
// restart limit). The floor kills a bare `exo-actors runner` (handshaken by
// hand and Ready, like the measured one) and times Wait returning, then the
// exec of a new one until its Hello frame. Kills alternate, floor then
// measured.
func (b *bencher) crash(ctx context.Context) (res []Result, err error) {
	w := newWatcher()
	sys, err := b.newSystem(w.hook, exo.ErrorPolicy{
		Backoff:   exo.BackoffConfig{Base: errhandler.NoDelay},
		Intensity: exo.Intensity{MaxRestarts: -1},
	})
	if err != nil {
		return nil, err
	}
	defer func() { err = errJoin(err, shutdownSystem(sys)) }()
	id, _, err := b.spawnReady(ctx, sys, w)
	if err != nil {
		return nil, err
	}
	started, err := w.await(ctx, id+" process started", isStarted(id, 1))
	if err != nil {
		return nil, err
	}
	pid, gen := started.pid, uint64(1)

	fc, err := b.readyRunnerChild()
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	// fc changes as the floor restarts; stop whichever is current at the end.
	defer func() { fc.stop() }()

	n := b.sizes.CrashSamples
	var floorDetect, floorRestart, detect, restart []float64
	for i := 0; i < n; i++ {
		var fd, fr float64
		onFloor(ctx, func() { fd, fr, err = b.floorKill(&fc) })
		if err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
		floorDetect, floorRestart = append(floorDetect, fd), append(floorRestart, fr)

		// Measured: SIGKILL → Failed status at the hook → replacement Ready.
		start := time.Now()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return nil, fmt.Errorf("kill runner %s (pid %d): %w", id, pid, err)
		}
		failed, err := w.await(ctx, fmt.Sprintf("%s generation %d Failed", id, gen), isStatus(id, gen, statusFailed))
		if err != nil {
			return nil, err
		}
		ready, err := w.await(ctx, fmt.Sprintf("%s generation %d Ready", id, gen+1), isStatus(id, gen+1, statusReady))
		if err != nil {
			return nil, err
		}
		st, err := w.await(ctx, fmt.Sprintf("%s generation %d started", id, gen+1), isStarted(id, gen+1))
		if err != nil {
			return nil, err
		}
		detect = append(detect, inUnit(failed.at.Sub(start), time.Millisecond))
		restart = append(restart, inUnit(ready.at.Sub(start), time.Millisecond))
		pid, gen = st.pid, gen+1
	}
	note := fmt.Sprintf("median of %d kills", n)
	return []Result{
		newResult(RowCrashDetect, median(detect), median(floorDetect), "ms", goal(1.5), AtMost, note),
		newResult(RowRestart, median(restart), median(floorRestart), "ms", goal(1.2), AtMost,
			note+"; measured until the replacement is Ready, floor until the new process's Hello"),
	}, nil
}

// readyRunnerChild starts a bare `exo-actors runner`, does the handshake and
// reads until it is Ready.
func (b *bencher) readyRunnerChild() (*child, error) {
	c, err := b.startRunner()
	if err != nil {
		return nil, err
	}
	if _, err := c.handshake(); err != nil {
		c.stop()
		return nil, err
	}
	if err := c.readUntilReady(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// floorKill kills the bare runner *fc, times Wait returning and the exec of
// a new one until its Hello, then brings the new one to Ready (untimed) and
// leaves it in *fc. It returns both times in milliseconds.
func (b *bencher) floorKill(fc **child) (detect, restart float64, err error) {
	start := time.Now()
	(*fc).kill()
	reaped, _ := (*fc).wait()
	(*fc).stop()
	next, err := b.startRunner()
	if err != nil {
		return 0, 0, fmt.Errorf("restart: %w", err)
	}
	*fc = next
	hello, err := next.handshake()
	if err != nil {
		return 0, 0, fmt.Errorf("restart: %w", err)
	}
	detect, restart = inUnit(reaped.Sub(start), time.Millisecond), inUnit(hello.Sub(start), time.Millisecond)
	if err := next.readUntilReady(); err != nil {
		return 0, 0, fmt.Errorf("restart: %w", err)
	}
	return detect, restart, nil
}
