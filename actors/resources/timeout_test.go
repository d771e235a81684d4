package resources_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// A stuck close times out on the manager's (fake) clock: the resource ends
// in Error, its dependency closes after it, and the goroutine still running
// in the close function is tracked until the test releases it.
func TestStuckCloseTimesOut(t *testing.T) {
	clk := clock.NewFake(t0)
	e := newEnv(t, clk)
	p := newProbe()
	stuck := newBlocker()
	polite := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() } // returns once cancelled
	e.register(
		resources.Spec{Name: "base", Kind: "tempdir", Owner: "r1", Generation: 2, Close: p.close("base", nil)},
		resources.Spec{Name: "stuck", Kind: "pipe", Owner: "r1", Generation: 2, DependsOn: []string{"base"},
			CloseTimeout: 5 * time.Second, Close: p.close("stuck", stuck.wait)},
		resources.Spec{Name: "polite", Kind: "subscription", Owner: "r1", Generation: 2, DependsOn: []string{"base"},
			CloseTimeout: 3 * time.Second, Close: p.close("polite", polite)},
	)
	done := e.closeAsync("r1")
	ctx := e.ctx()
	<-p.started
	<-p.started
	if err := clk.WaitForTimers(ctx, 2); err != nil { // both timeouts armed
		t.Fatal(err)
	}
	clk.Advance(3 * time.Second) // polite times out, is cancelled, returns late
	if l := <-e.late; l.l.Name != "polite" || l.l.Op != "close" || !errors.Is(l.err, context.Canceled) {
		t.Errorf("late finish %+v", l)
	}
	s := e.snapshot()
	if polite, ok := s.Resource("polite"); ok {
		t.Errorf("polite still registered: %+v", polite)
	}
	if base, _ := s.Resource("base"); base.State != resources.Registered || !base.Closing {
		t.Errorf("base must wait for stuck: %+v", base)
	}
	clk.Advance(2 * time.Second) // stuck times out; base may close now
	r := <-done
	if !errors.Is(r.err, resources.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", r.err)
	}
	if r.report.Order[2] != "base" || len(r.report.Entries) != 3 {
		t.Fatalf("order %v", r.report.Order)
	}
	// stuck never ended; base started only after it timed out.
	if got := p.log(); len(got) != 5 || got[3] != "start base" || got[2] != "end polite" {
		t.Errorf("close events %v", got)
	}
	en, _ := r.report.Entry("stuck")
	if en.Outcome != resources.CloseTimedOut || !en.StillRunning || en.Duration != 5*time.Second ||
		!en.Started.Equal(t0) || !errors.Is(en.Err, resources.ErrTimeout) {
		t.Errorf("stuck entry %+v", en)
	}
	if en.Failure == nil || en.Failure.Kind != errhandler.KindResourceCloseFailed || en.Failure.RunnerID != "r1" || en.Failure.Generation != 2 {
		t.Errorf("stuck failure %+v", en.Failure)
	}
	// The entry is made when the timeout fires: polite had not returned then.
	if en, _ := r.report.Entry("polite"); en.Outcome != resources.CloseTimedOut || !en.StillRunning || en.Duration != 3*time.Second {
		t.Errorf("polite entry %+v", en)
	}
	if fs := e.reportedFailures(); len(fs) != 2 {
		t.Errorf("OnFailure: %v", fs)
	}

	s = e.snapshot()
	c := s.Owners["r1"]
	if c.CloseFailed != 2 || c.TimedOut != 2 || c.Closed != 1 || c.Errors != 2 || c.FinishedLate != 1 || c.Lingering != 1 {
		t.Errorf("counts %+v", c)
	}
	if len(s.Lingering) != 1 || s.Lingering[0].Name != "stuck" || !s.Lingering[0].TimedOutAt.Equal(t0.Add(5*time.Second)) {
		t.Errorf("lingering %+v", s.Lingering)
	}
	// Running counts goroutines: base's may still be between its last Send
	// and its exit, so only a lower bound is certain here.
	if n := e.manager.Running(); n < 1 {
		t.Errorf("running functions: %d, want stuck's at least", n)
	}

	stuck.open()
	if l := <-e.late; l.l.Name != "stuck" || l.err != nil {
		t.Errorf("late finish %+v", l)
	}
	if err := e.manager.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	s = e.snapshot()
	if c := s.Node; c.FinishedLate != 2 || c.Lingering != 0 || len(s.Lingering) != 0 {
		t.Errorf("after release: %+v, lingering %v", c, s.Lingering)
	}
}

// A dependency of a stuck resource is not held back longer than the
// timeout, and a new generation can register while the old close lingers.
func TestReRegisterWhileOldCloseLingers(t *testing.T) {
	clk := clock.NewFake(t0)
	e := newEnv(t, clk)
	stuck := newBlocker()
	defer stuck.open()
	e.register(resources.Spec{Name: "pipe", Owner: "r1", Generation: 1, Close: stuck.wait})
	done := e.closeAsync("r1")
	if err := clk.WaitForTimers(e.ctx(), 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(resources.DefaultCloseTimeout)
	if r := <-done; !errors.Is(r.err, resources.ErrTimeout) {
		t.Fatalf("err = %v", r.err)
	}
	e.register(resources.Spec{Name: "pipe", Owner: "r1", Generation: 2, Close: nop})
	s := e.snapshot()
	if r, _ := s.Resource("pipe"); r.Generation != 2 || len(s.Lingering) != 1 || s.Lingering[0].Generation != 1 {
		t.Errorf("snapshot %+v", s)
	}
}

func TestReset(t *testing.T) {
	clk := clock.NewFake(t0)
	e := newEnv(t, clk)
	var resets atomic.Int32
	flaky := errors.New("still down")
	stuck := newBlocker()
	e.register(
		resources.Spec{Name: "sub", Kind: "subscription", Owner: "r1", Close: nop,
			Reset: func(context.Context) error { resets.Add(1); return nil }},
		resources.Spec{Name: "flaky", Owner: "r1", Close: nop,
			Reset: func(context.Context) error { return flaky }},
		resources.Spec{Name: "slow", Owner: "r1", Close: nop, CloseTimeout: time.Second, Reset: stuck.wait},
		resources.Spec{Name: "plain", Owner: "r1", Close: nop},
	)
	ctx := e.ctx()
	for _, name := range []string{"sub", "flaky", "slow", "plain"} {
		if err := e.rc.Activate(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.rc.Reset(ctx, "sub"); !errors.Is(err, resources.ErrWrongState) {
		t.Errorf("reset of an active resource: %v", err)
	}
	for _, name := range []string{"sub", "flaky", "slow", "plain"} {
		if err := e.rc.ReportError(ctx, name, errors.New("connection lost")); err != nil {
			t.Fatal(err)
		}
	}
	if c := e.snapshot().Owners["r1"]; c.Error != 4 || c.Errors != 4 {
		t.Errorf("after reported errors: %+v", c)
	}
	if err := e.rc.Activate(ctx, "sub"); !errors.Is(err, resources.ErrWrongState) {
		t.Errorf("activate in error: %v", err)
	}

	if err := e.rc.Reset(ctx, "sub"); err != nil || resets.Load() != 1 {
		t.Fatalf("reset: %v (%d resets)", err, resets.Load())
	}
	if err := e.rc.Reset(ctx, "flaky"); !errors.Is(err, flaky) {
		t.Errorf("failed reset: %v", err)
	}
	if err := e.rc.Reset(ctx, "plain"); !errors.Is(err, resources.ErrNoReset) {
		t.Errorf("reset without a Reset function: %v", err)
	}
	if err := e.rc.Reset(ctx, "ghost"); !errors.Is(err, resources.ErrUnknown) {
		t.Errorf("reset of an unknown resource: %v", err)
	}
	slowErr := make(chan error, 1)
	go func() { slowErr <- e.rc.Reset(ctx, "slow") }()
	if err := clk.WaitForTimers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if err := <-slowErr; !errors.Is(err, resources.ErrTimeout) {
		t.Errorf("stuck reset: %v", err)
	}
	if err := e.rc.Reset(ctx, "slow"); !errors.Is(err, resources.ErrWrongState) {
		t.Errorf("reset while the last one lingers: %v", err)
	}

	s := e.snapshot()
	sub, _ := s.Resource("sub")
	if sub.State != resources.Active || sub.Resets != 1 || sub.Errors != 1 || sub.LastReset == nil || !sub.LastReset.OK {
		t.Errorf("sub %+v", sub)
	}
	fl, _ := s.Resource("flaky")
	if fl.State != resources.Error || fl.ResetFailures != 1 || fl.Errors != 2 || fl.LastReset.Error != "still down" {
		t.Errorf("flaky %+v", fl)
	}
	sl, _ := s.Resource("slow")
	if sl.State != resources.Error || !sl.LastReset.TimedOut || sl.LastReset.Duration != time.Second {
		t.Errorf("slow %+v, last reset %+v", sl, sl.LastReset)
	}
	c := s.Owners["r1"]
	if c.Active != 1 || c.Error != 3 || c.Resets != 1 || c.ResetFailures != 2 || c.Errors != 6 || c.Lingering != 1 {
		t.Errorf("counts %+v", c)
	}

	// A resource in error is still closed; the lingering reset does not
	// hold the cleanup back.
	r, err := e.rc.CloseOwner(ctx, "r1")
	if err != nil || len(r.Entries) != 4 {
		t.Fatalf("close: %+v, %v", r, err)
	}
	stuck.open()
	if l := <-e.late; l.l.Name != "slow" || l.l.Op != "reset" {
		t.Errorf("late %+v", l)
	}
}

func TestStopAnswersWaiters(t *testing.T) {
	e := newEnv(t, nil)
	stuck := newBlocker()
	p := newProbe()
	e.register(resources.Spec{Name: "pipe", Owner: "r1", Close: p.close("pipe", stuck.wait)})
	done := e.closeAsync("r1")
	<-p.started
	if err := e.system.Root.StopFuture(e.rc.PID()).Wait(); err != nil {
		t.Fatal(err)
	}
	if r := <-done; !errors.Is(r.err, resources.ErrManagerStopped) {
		t.Errorf("err = %v, want ErrManagerStopped", r.err)
	}
	if _, err := e.rc.Snapshot(e.ctx()); !errors.Is(err, resources.ErrManagerStopped) {
		t.Errorf("snapshot of a stopped manager: %v", err)
	}
	stuck.open() // its result becomes a dead letter; the goroutine ends
	if err := e.manager.Wait(e.ctx()); err != nil {
		t.Fatal(err)
	}
}
