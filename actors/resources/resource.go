package resources

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/actorguard"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// opKind is what a resource actor runs for the manager.
type opKind int

const (
	opClose opKind = iota + 1
	opReset
)

func (k opKind) String() string {
	if k == opReset {
		return "reset"
	}
	return "close"
}

// Manager → resource actor.
type (
	// startOp: run Close or Reset now.
	startOp struct{ kind opKind }
	// retire: the resource left the graph; stop once no function of it runs.
	retire struct{}
)

// Inside a resource actor: from its function goroutine and its timer.
type (
	// opReturned: the function returned (the goroutine's last message).
	opReturned struct {
		op  uint64
		err error
	}
	// opDeadline: the op's timeout passed (the timer's only message).
	opDeadline struct{ op uint64 }
)

// Resource actor → manager.
type (
	// opOutcome: an op ended, in time or by its timeout (then stillRunning).
	opOutcome struct {
		res          uint64
		op           uint64
		kind         opKind
		started      time.Time
		duration     time.Duration
		err          error
		timedOut     bool
		stillRunning bool
	}
	// opLate: the function of a timed-out op returned after all.
	opLate struct {
		res  uint64
		op   uint64
		kind opKind
		err  error
		ran  time.Duration
	}
)

// op is one Close or Reset call in flight.
type op struct {
	id       uint64
	kind     opKind
	started  time.Time
	cancel   context.CancelFunc
	timer    clock.Timer
	timedOut bool // the deadline came first; the outcome went out; waiting for the function
	returned bool // the function returned in time, but the timer had already fired: its message is on the way
}

// resourceActor runs one resource's Close and Reset functions, each on a
// goroutine of its own bounded by a timer on the manager's clock, and tells
// the manager how they ended. It stops itself once retired and nothing of it
// runs or is on its way to it, so no message of its goroutine or timer is
// ever lost to a stopped mailbox.
type resourceActor struct {
	res      uint64
	spec     Spec
	clock    clock.Clock
	track    *tracker
	logger   *logrus.Logger
	ops      map[uint64]*op
	nextOp   uint64
	retiring bool
}

func (a *resourceActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *startOp:
		a.start(ctx, m.kind)
	case *opReturned:
		a.returned(ctx, m)
	case *opDeadline:
		a.deadline(ctx, m)
	case *retire:
		a.retiring = true
		a.stopIfIdle(ctx)
	case *actor.Stopping:
		actorguard.Run(a.logger, fmt.Sprintf("resource actor %d", a.res), m, a.onStopping)
	}
}

// onStopping: stopped from outside (the manager stopped), it lets
// well-behaved functions return. Their last messages become dead letters.
func (a *resourceActor) onStopping() {
	for _, o := range a.ops {
		o.cancel()
		o.timer.Stop()
	}
}

func (a *resourceActor) start(ctx actor.Context, kind opKind) {
	fn := a.spec.Close
	if kind == opReset {
		fn = a.spec.Reset
	}
	a.nextOp++
	id := a.nextOp
	fctx, cancel := context.WithCancel(context.Background())
	o := &op{id: id, kind: kind, started: a.clock.Now(), cancel: cancel}
	a.ops[id] = o
	system, self := ctx.ActorSystem(), ctx.Self()
	a.track.add()
	go func() { // owner: this resource actor, which receives its last message; Manager.Wait waits for it
		defer a.track.done()
		err := call(fctx, fn, kind)
		cancel()
		system.Root.Send(self, &opReturned{op: id, err: err})
	}()
	o.timer = a.clock.AfterFunc(a.spec.CloseTimeout, func() { system.Root.Send(self, &opDeadline{op: id}) })
}

// call runs fn, turning a panic into an error.
func call(ctx context.Context, fn func(context.Context) error, kind opKind) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s panicked: %v", kind, p)
		}
	}()
	return fn(ctx)
}

func (a *resourceActor) returned(ctx actor.Context, m *opReturned) {
	o := a.ops[m.op]
	if o == nil {
		return
	}
	ran := a.clock.Since(o.started)
	if o.timedOut {
		delete(a.ops, o.id)
		ctx.Send(ctx.Parent(), &opLate{res: a.res, op: o.id, kind: o.kind, err: m.err, ran: ran})
		a.stopIfIdle(ctx)
		return
	}
	// Stop the timer before telling anyone: whoever hears the outcome finds
	// no timer of this op pending (tests on a fake clock count on it).
	stopped := o.timer.Stop()
	ctx.Send(ctx.Parent(), &opOutcome{res: a.res, op: o.id, kind: o.kind, started: o.started, duration: ran, err: m.err})
	if stopped {
		delete(a.ops, o.id)
		a.stopIfIdle(ctx)
		return
	}
	o.returned = true // the deadline message is queued or about to be: wait for it
}

func (a *resourceActor) deadline(ctx actor.Context, m *opDeadline) {
	o := a.ops[m.op]
	if o == nil {
		return
	}
	if o.returned {
		delete(a.ops, o.id)
		a.stopIfIdle(ctx)
		return
	}
	o.timedOut = true
	o.cancel()
	err := fmt.Errorf("%s did not return within %s: %w", o.kind, a.spec.CloseTimeout, ErrTimeout)
	ctx.Send(ctx.Parent(), &opOutcome{res: a.res, op: o.id, kind: o.kind, started: o.started,
		duration: a.clock.Since(o.started), err: err, timedOut: true, stillRunning: true})
}

func (a *resourceActor) stopIfIdle(ctx actor.Context) {
	if a.retiring && len(a.ops) == 0 {
		ctx.Stop(ctx.Self())
	}
}

// tracker counts the close and reset goroutines of one Manager, so its owner
// can wait for them (Manager.Wait).
type tracker struct {
	mu      sync.Mutex
	running int
	idle    chan struct{} // closed while running == 0; sole sender: tracker.done under mu
}

func newTracker() *tracker {
	t := &tracker{idle: make(chan struct{})}
	close(t.idle) // sole sender: newTracker, before anyone else sees t
	return t
}

func (t *tracker) add() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running == 0 {
		t.idle = make(chan struct{})
	}
	t.running++
}

func (t *tracker) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running--
	if t.running == 0 {
		close(t.idle) // sole sender: tracker.done, under mu, once per rise from zero
	}
}

func (t *tracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running
}

func (t *tracker) wait(ctx context.Context) error {
	t.mu.Lock()
	idle, running := t.idle, t.running
	t.mu.Unlock()
	if running == 0 {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d close or reset functions still running: %w", t.count(), ctx.Err())
	}
}

// stopOnFailure is the explicit supervisor strategy on every Props of this
// package: should a child ever fail, stop it (never the default restart).
type stopOnFailure struct{ logger *logrus.Logger }

func (s stopOnFailure) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, _ interface{}) {
	s.logger.WithFields(logrus.Fields{"child": child.String(), "reason": fmt.Sprint(reason)}).Error("unexpected child failure: stopping it")
	sup.StopChildren(child)
}
