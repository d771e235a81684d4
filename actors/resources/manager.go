package resources

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/actorguard"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Config configures a Manager. Zero fields take the documented defaults.
type Config struct {
	// Clock times closes and resets (their timeouts) and stamps reports and
	// snapshots; default clock.Real(). Tests inject a clock.Fake.
	Clock clock.Clock
	// Logger receives the manager's log lines; default a logrus logger at
	// info level on stderr.
	Logger *logrus.Logger
	// DefaultCloseTimeout applies to a Spec without CloseTimeout; default
	// DefaultCloseTimeout (5s).
	DefaultCloseTimeout time.Duration
	// OnFailure, if set, receives each failed or timed-out close
	// (errhandler.KindResourceCloseFailed), so the node can record it. It
	// runs on the manager's goroutine: it must not block, nor call the
	// manager's Client (that would wait for itself). A panic in it is
	// recovered and logged.
	OnFailure func(errhandler.Failure)
	// OnFinishedLate, if set, learns that a close or reset function that had
	// timed out returned after all, with what it returned (the error record
	// of its failure can be resolved). It runs on the manager's goroutine,
	// after the counts are updated; the same rules as OnFailure apply.
	OnFinishedLate func(l Lingering, err error)
}

// Manager makes resource manager actors and waits for their close and reset
// goroutines. Create it with NewManager, spawn its Props (or call Spawn), and
// talk to the actor through a Client.
type Manager struct {
	cfg   Config
	track *tracker
}

// NewManager returns a Manager with cfg's defaults filled in.
func NewManager(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = logrus.New()
	}
	if cfg.DefaultCloseTimeout <= 0 {
		cfg.DefaultCloseTimeout = DefaultCloseTimeout
	}
	return &Manager{cfg: cfg, track: newTracker()}
}

// Props returns the Props of a resource manager actor, to spawn under a
// parent. The manager holds the dependency graph in its actor, so its
// parent's strategy must resume or stop it, never restart it (a restart
// would forget every resource); it never fails on its callers' input. Each
// spawn is an independent manager; their goroutines all count in Wait.
func (m *Manager) Props() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return newManagerActor(m) },
		// Not consulted while the actor implements SupervisorStrategy itself;
		// explicit so that the default (restart) can never apply.
		actor.WithSupervisor(stopOnFailure{m.cfg.Logger}))
}

// Spawn spawns a manager actor named name under parent (an actor's context,
// or a RootContext with a guardian) and returns a Client for it.
func (m *Manager) Spawn(parent actor.SpawnerContext, name string) (*Client, error) {
	pid, err := parent.SpawnNamed(m.Props(), name)
	if err != nil {
		return nil, fmt.Errorf("spawn resource manager %q: %w", name, err)
	}
	return NewClient(parent.ActorSystem(), pid), nil
}

// Wait blocks until no close or reset function started by this Manager's
// actors is running, or until ctx is done. A timed-out function keeps
// running until it returns: Wait is how the owner of the Manager makes sure
// none is left (e.g. before a test's goroutine-leak check).
func (m *Manager) Wait(ctx context.Context) error { return m.track.wait(ctx) }

// Running returns how many close and reset goroutines are running now: a
// function, or the hand-over of its result to its actor right after.
func (m *Manager) Running() int { return m.track.count() }

// Requests to the manager actor, and their replies.
type (
	registerRequest    struct{ specs []Spec }
	activateRequest    struct{ name string }
	reportErrorRequest struct {
		name  string
		cause error
	}
	resetRequest struct{ name string }
	closeRequest struct {
		owner string
		gen   uint64 // with owner: only that generation's resources (0: all)
		all   bool
		msg   bool   // asked with CloseOwner/CloseAll: answer with *CloseResult
		tag   uint64 // echoed in *CloseResult
	}
	snapshotRequest struct{}

	errReply   struct{ err error }
	closeReply struct {
		report CloseReport
		err    error
	}
)

// cleanup is one CloseOwner or CloseAll in progress.
type cleanup struct {
	msg     bool // answer with the exported *CloseResult
	tag     uint64
	report  CloseReport
	members []*record       // in registration order
	inScope map[uint64]bool // members that were asked for (not only dependents)
	pending map[uint64]bool // members whose close has not finished
	reply   *actor.PID
}

type lingerKey struct{ res, op uint64 }

// managerActor owns the graph. Everything runs on its goroutine: requests,
// outcomes from resource actors, and HandleFailure.
type managerActor struct {
	m         *Manager
	system    *actor.ActorSystem
	g         *graph
	byID      map[uint64]*record // every record whose actor may still talk: in the graph or lingering
	byActor   map[string]uint64  // resource actor ID → record ID, until Terminated
	seq       uint64
	cleanups  []*cleanup
	tallies   map[string]*Counts // per owner, the event counts (see Counts)
	lingering map[lingerKey]Lingering
	// forgotten owners (ForgetOwner) whose tally goes once they are idle;
	// retired sums the tallies dropped (forget.go).
	forgotten map[string]bool
	retired   Counts
}

func newManagerActor(m *Manager) *managerActor {
	return &managerActor{
		m:         m,
		g:         newGraph(),
		byID:      map[uint64]*record{},
		byActor:   map[string]uint64{},
		tallies:   map[string]*Counts{},
		lingering: map[lingerKey]Lingering{},
	}
}

func (a *managerActor) log() *logrus.Logger { return a.m.cfg.Logger }
func (a *managerActor) now() time.Time      { return a.m.cfg.Clock.Now() }

func (a *managerActor) tally(owner string) *Counts {
	t := a.tallies[owner]
	if t == nil {
		t = &Counts{}
		a.tallies[owner] = t
	}
	return t
}

// Receive implements actor.Actor.
func (a *managerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.system = ctx.ActorSystem()
	case *registerRequest:
		ctx.Respond(&errReply{err: a.register(ctx, m.specs)})
	case *activateRequest:
		ctx.Respond(&errReply{err: a.activate(m.name)})
	case *reportErrorRequest:
		ctx.Respond(&errReply{err: a.reportError(m.name, m.cause)})
	case *resetRequest:
		a.reset(ctx, m.name, false)
	case *ResetResource:
		a.reset(ctx, m.Name, true)
	case *SnapshotQuery:
		ctx.Respond(a.snapshot())
	case *closeRequest:
		a.startCleanup(ctx, m)
	case *Register:
		ctx.Respond(&RegisterResult{Err: a.register(ctx, m.Specs)})
	case *CloseOwner:
		a.startCleanup(ctx, &closeRequest{owner: m.Owner, gen: m.Generation, msg: true, tag: m.Tag})
	case *ResetOwner:
		ctx.Respond(a.resetOwner(m))
	case *CloseAll:
		a.startCleanup(ctx, &closeRequest{all: true, msg: true})
	case *ForgetOwner:
		a.forgetOwner(m.Owner)
	case *snapshotRequest:
		ctx.Respond(a.snapshot())
	case *opOutcome:
		a.outcome(m)
		a.dropAllForgotten()
	case *opLate:
		a.late(m)
		a.dropAllForgotten()
	case *actor.Terminated:
		// Terminated is a system message: it can overtake the actor's last
		// user messages (opLate), so the record stays until those are in.
		if id, ok := a.byActor[m.Who.Id]; ok {
			delete(a.byActor, m.Who.Id)
			if r := a.byID[id]; r != nil {
				r.terminated = true
				a.forgetIfDone(r)
			}
		}
	case *actor.Stopping:
		actorguard.Run(a.log(), "resource manager", m, a.stopping)
	}
}

func (a *managerActor) register(ctx actor.Context, specs []Spec) error {
	norm := make([]Spec, len(specs))
	for i, s := range specs {
		n, err := s.normalize(a.m.cfg.DefaultCloseTimeout)
		if err != nil {
			return err
		}
		norm[i] = n
	}
	if err := a.g.check(norm); err != nil {
		return err
	}
	now := a.now()
	recs := make([]*record, 0, len(norm))
	for _, s := range norm {
		a.seq++
		r := &record{id: a.seq, spec: s, state: Registered, registeredAt: now}
		// The producer hands out this one instance: a resource actor is
		// stopped on failure (HandleFailure below), never restarted.
		ra := &resourceActor{res: r.id, spec: s, clock: a.m.cfg.Clock, track: a.m.track, logger: a.log(), ops: map[uint64]*op{}}
		props := actor.PropsFromProducer(func() actor.Actor { return ra },
			actor.WithSupervisor(stopOnFailure{a.log()}))
		pid, err := ctx.SpawnNamed(props, fmt.Sprintf("%s-%d", actorName(s.Name), r.id))
		if err != nil {
			for _, done := range recs { // all or nothing
				ctx.Stop(done.pid)
			}
			return fmt.Errorf("spawn actor of %s: %w", r.describe(), err)
		}
		r.pid = pid
		recs = append(recs, r)
	}
	for _, r := range recs {
		a.g.add(r)
		a.byID[r.id] = r
		a.byActor[r.pid.Id] = r.id
		a.tally(r.spec.Owner)
		a.log().WithFields(a.fields(r)).Debug("resource registered")
	}
	return nil
}

func (a *managerActor) fields(r *record) logrus.Fields {
	return logrus.Fields{"resource": r.spec.Name, "kind": r.spec.Kind, "owner": r.spec.Owner, "generation": r.spec.Generation}
}

func (a *managerActor) lookup(name string) (*record, error) {
	r := a.g.byName[name]
	if r == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknown, name)
	}
	return r, nil
}

func (a *managerActor) activate(name string) error {
	r, err := a.lookup(name)
	if err != nil {
		return err
	}
	switch {
	case r.cleanups > 0 || r.state == Closing:
		return fmt.Errorf("%w: cannot activate %s", ErrBeingClosed, r.describe())
	case r.state == Registered:
		r.state = Active
		return nil
	case r.state == Active:
		return nil
	}
	return fmt.Errorf("%w: cannot activate %s in state %s (reset it first)", ErrWrongState, r.describe(), r.state)
}

func (a *managerActor) reportError(name string, cause error) error {
	r, err := a.lookup(name)
	if err != nil {
		return err
	}
	msg := "reported broken"
	if cause != nil {
		msg = cause.Error()
	}
	r.errors++
	r.lastError = msg
	a.tally(r.spec.Owner).Errors++
	if r.state == Registered || r.state == Active {
		r.state = Error
	}
	// Closing or Resetting: counted; the running function decides the state.
	a.log().WithFields(a.fields(r)).WithField("error", msg).Warn("resource reported broken")
	return nil
}

func (a *managerActor) reset(ctx actor.Context, name string, msg bool) {
	r, err := a.lookup(name)
	if err == nil {
		err = a.resettable(r)
	}
	if err != nil {
		ctx.Respond(resetWaiter{msg: msg, name: name}.reply(err))
		return
	}
	if ctx.Sender() != nil {
		r.resetWaiters = append(r.resetWaiters, resetWaiter{pid: ctx.Sender(), name: name, msg: msg})
	}
	if r.state == Resetting {
		return // the caller shares the outcome of the reset in progress
	}
	r.state = Resetting
	r.resetStarted = a.now()
	a.system.Root.Send(r.pid, &startOp{kind: opReset})
}

// resetOwner starts the reset of every resource of the owner in Error that
// can be reset; it does not wait for the outcomes.
func (a *managerActor) resetOwner(m *ResetOwner) *OwnerResetResult {
	res := &OwnerResetResult{Tag: m.Tag}
	names := make([]string, 0)
	for name, r := range a.g.byName {
		if r.spec.Owner == m.Owner && (r.state == Error || r.state == Resetting) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		r := a.g.byName[name]
		if err := a.resettable(r); err != nil {
			res.Skipped = append(res.Skipped, err.Error())
			continue
		}
		res.Started = append(res.Started, name)
		if r.state == Resetting {
			continue
		}
		r.state = Resetting
		r.resetStarted = a.now()
		a.system.Root.Send(r.pid, &startOp{kind: opReset})
	}
	return res
}

func (a *managerActor) resettable(r *record) error {
	switch {
	case r.cleanups > 0 || r.state == Closing:
		return fmt.Errorf("%w: cannot reset %s", ErrBeingClosed, r.describe())
	case r.state == Resetting:
		return nil
	case r.state != Error:
		return fmt.Errorf("%w: cannot reset %s in state %s: only a resource in error can be reset", ErrWrongState, r.describe(), r.state)
	case r.spec.Reset == nil:
		return fmt.Errorf("%w: %s", ErrNoReset, r.describe())
	case r.pid == nil:
		return fmt.Errorf("%w: cannot reset %s: its actor failed", ErrWrongState, r.describe())
	case r.running > 0:
		return fmt.Errorf("%w: cannot reset %s: its last reset is still running past its timeout", ErrWrongState, r.describe())
	}
	return nil
}

// startCleanup begins a CloseOwner or CloseAll: the resources in scope plus
// everything that depends on them close in reverse dependency order.
func (a *managerActor) startCleanup(ctx actor.Context, m *closeRequest) {
	scope := "owner " + m.owner
	if m.all {
		scope = "all"
	}
	var seeds []*record
	for _, r := range a.g.byName {
		if m.all || (r.spec.Owner == m.owner && (m.gen == 0 || r.spec.Generation == m.gen)) {
			seeds = append(seeds, r)
		}
	}
	c := &cleanup{
		tag:     m.tag,
		report:  CloseReport{Scope: scope, Started: a.now()},
		members: a.g.closure(seeds),
		inScope: map[uint64]bool{},
		pending: map[uint64]bool{},
		reply:   ctx.Sender(),
		msg:     m.msg,
	}
	for _, r := range seeds {
		c.inScope[r.id] = true
	}
	for _, r := range c.members {
		r.cleanups++
		c.pending[r.id] = true
		if !c.inScope[r.id] {
			a.log().WithFields(a.fields(r)).WithField("scope", scope).
				Warn("closing a resource of another owner first: it depends on a resource being closed")
		}
	}
	a.cleanups = append(a.cleanups, c)
	a.advance()
}

// advance starts every close that may start now, in parallel, and answers
// the cleanups that are complete.
func (a *managerActor) advance() {
	for progressed := true; progressed; {
		progressed = false
		for _, c := range a.cleanups {
			for _, r := range c.members {
				if !a.g.closable(r) {
					continue
				}
				r.state = Closing
				r.closeStarted = a.now()
				if r.pid == nil { // its actor failed earlier: nothing can close it
					a.closeFinished(r, &opOutcome{started: r.closeStarted,
						err: fmt.Errorf("close not run: the actor of %s failed earlier", r.describe())})
					progressed = true
					continue
				}
				a.system.Root.Send(r.pid, &startOp{kind: opClose})
			}
		}
	}
	kept := a.cleanups[:0]
	for _, c := range a.cleanups {
		if len(c.pending) > 0 {
			kept = append(kept, c)
			continue
		}
		c.report.Duration = a.now().Sub(c.report.Started)
		a.answer(c, nil)
	}
	clear(a.cleanups[len(kept):])
	a.cleanups = kept
}

func (a *managerActor) answer(c *cleanup, err error) {
	switch {
	case c.reply == nil:
	case c.msg:
		if err == nil {
			err = c.report.Err()
		}
		a.system.Root.Send(c.reply, &CloseResult{Tag: c.tag, Report: c.report, Err: err})
	default:
		a.system.Root.Send(c.reply, &closeReply{report: c.report, err: err})
	}
}

func (a *managerActor) outcome(m *opOutcome) {
	r := a.byID[m.res]
	if r == nil {
		return
	}
	if m.stillRunning {
		r.running++
		a.lingering[lingerKey{m.res, m.op}] = Lingering{Name: r.spec.Name, Owner: r.spec.Owner, Generation: r.spec.Generation,
			Op: m.kind.String(), Started: m.started, TimedOutAt: m.started.Add(m.duration)}
	}
	switch m.kind {
	case opClose:
		if r.state == Closing {
			a.closeFinished(r, m)
		}
	case opReset:
		if r.state == Resetting {
			a.resetFinished(r, m)
		}
	}
	a.advance()
}

// closeFinished records how r's close ended, takes r out of the graph and
// gives its entry to every cleanup waiting for it.
func (a *managerActor) closeFinished(r *record, m *opOutcome) {
	t := a.tally(r.spec.Owner)
	e := CloseEntry{Name: r.spec.Name, Kind: r.spec.Kind, Owner: r.spec.Owner, Generation: r.spec.Generation,
		Started: m.started, Duration: m.duration, Outcome: CloseOK, Err: m.err, StillRunning: m.stillRunning}
	fields := a.fields(r)
	fields["duration"] = m.duration
	if m.err == nil {
		r.state = Closed
		t.Closed++
		a.log().WithFields(fields).Debug("resource closed")
	} else {
		r.state = Error
		r.errors++
		r.lastError = m.err.Error()
		t.Errors++
		t.CloseFailed++
		e.Outcome = CloseFailed
		if m.timedOut {
			e.Outcome = CloseTimedOut
			t.TimedOut++
		}
		f := errhandler.Failure{Kind: errhandler.KindResourceCloseFailed, Component: "resource", Operation: "close",
			RunnerID: r.spec.Owner, Generation: r.spec.Generation,
			Message: fmt.Sprintf("resource %q (%s)", r.spec.Name, r.spec.Kind), Cause: m.err}
		e.Failure = &f
		fields["error"] = m.err.Error()
		fields["still_running"] = m.stillRunning
		a.log().WithFields(fields).Warn("resource close failed: resource is in error")
		a.onFailure(f)
	}
	a.g.remove(r)
	r.cleanups = 0
	if r.pid != nil {
		a.system.Root.Send(r.pid, &retire{})
	}
	a.forgetIfDone(r)
	for _, c := range a.cleanups {
		if !c.pending[r.id] {
			continue
		}
		delete(c.pending, r.id)
		ce := e
		ce.Dependent = !c.inScope[r.id]
		c.report.Entries = append(c.report.Entries, ce)
		c.report.Order = append(c.report.Order, ce.Name)
		if ce.Failure != nil {
			c.report.Failures = append(c.report.Failures, *ce.Failure)
		}
	}
}

// forgetIfDone drops a record once nothing more can come of it: out of the
// graph, its actor terminated (or failed), and no function of it lingering.
func (a *managerActor) forgetIfDone(r *record) {
	if !r.inGraph && r.running == 0 && (r.terminated || r.pid == nil) {
		delete(a.byID, r.id)
	}
}

func (a *managerActor) onFailure(f errhandler.Failure) {
	if h := a.m.cfg.OnFailure; h != nil {
		a.hook("OnFailure", func() { h(f) })
	}
}

// hook runs a user hook, recovering a panic: the manager must not fail.
func (a *managerActor) hook(name string, f func()) {
	defer func() {
		if p := recover(); p != nil {
			a.log().WithField("panic", fmt.Sprint(p)).Errorf("resource manager %s hook panicked", name)
		}
	}()
	f()
}

func (a *managerActor) resetFinished(r *record, m *opOutcome) {
	t := a.tally(r.spec.Owner)
	res := &ResetResult{At: m.started, Duration: m.duration, OK: m.err == nil, TimedOut: m.timedOut}
	fields := a.fields(r)
	var err error
	if m.err == nil {
		r.state = Active
		r.resets++
		t.Resets++
		a.log().WithFields(fields).Info("resource reset: active again")
	} else {
		r.state = Error
		r.errors++
		r.resetFailures++
		r.lastError = m.err.Error()
		t.Errors++
		t.ResetFailures++
		res.Error = m.err.Error()
		err = fmt.Errorf("reset %s: %w", r.describe(), m.err)
		a.log().WithFields(fields).WithField("error", m.err.Error()).Warn("resource reset failed: still in error")
	}
	r.lastReset = res
	for _, w := range r.resetWaiters {
		a.system.Root.Send(w.pid, w.reply(err))
	}
	r.resetWaiters = nil
}

func (a *managerActor) late(m *opLate) {
	r := a.byID[m.res]
	if r == nil {
		return
	}
	key := lingerKey{m.res, m.op}
	l := a.lingering[key]
	delete(a.lingering, key)
	r.running--
	a.forgetIfDone(r)
	a.tally(r.spec.Owner).FinishedLate++
	fields := a.fields(r)
	fields["ran"] = m.ran
	if m.err != nil {
		fields["error"] = m.err.Error()
	}
	a.log().WithFields(fields).Warnf("resource %s returned after its timeout", m.kind)
	if h := a.m.cfg.OnFinishedLate; h != nil {
		a.hook("OnFinishedLate", func() { h(l, m.err) })
	}
}

// HandleFailure implements actor.SupervisorStrategy for the resource actors.
// They run no user code on their own goroutine, so a failure is a bug: stop
// the actor, and finish whatever it was doing as an error so that no cleanup
// or reset caller waits forever.
func (a *managerActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, _ interface{}) {
	sup.StopChildren(child)
	r := a.byID[a.byActor[child.Id]]
	a.log().WithFields(logrus.Fields{"child": child.Id, "reason": fmt.Sprint(reason)}).Error("resource actor failed (a bug): stopped it")
	if r == nil {
		return
	}
	r.pid = nil
	for k := range a.lingering { // their last messages are lost with the actor
		if k.res == r.id {
			delete(a.lingering, k)
		}
	}
	r.running = 0
	out := &opOutcome{res: r.id, err: fmt.Errorf("resource actor failed: %v", reason)}
	switch r.state {
	case Closing:
		out.started = r.closeStarted
		out.duration = a.now().Sub(r.closeStarted)
		a.closeFinished(r, out)
	case Resetting:
		out.started = r.resetStarted
		out.duration = a.now().Sub(r.resetStarted)
		a.resetFinished(r, out)
	}
	a.advance()
}

// stopping answers every caller still waiting: the manager is going away.
func (a *managerActor) stopping() {
	for _, c := range a.cleanups {
		c.report.Duration = a.now().Sub(c.report.Started)
		a.answer(c, fmt.Errorf("%w during cleanup (%d closes unfinished)", ErrManagerStopped, len(c.pending)))
	}
	a.cleanups = nil
	for _, r := range a.g.byName {
		for _, w := range r.resetWaiters {
			a.system.Root.Send(w.pid, w.reply(fmt.Errorf("%w during reset of %s", ErrManagerStopped, r.describe())))
		}
		r.resetWaiters = nil
	}
}

func (a *managerActor) snapshot() *Snapshot {
	s := &Snapshot{At: a.now(), Owners: map[string]Counts{}}
	live := map[string]*Counts{}
	for owner, t := range a.tallies {
		c := *t
		live[owner] = &c
	}
	for _, r := range a.g.sorted() {
		info := ResourceInfo{Name: r.spec.Name, Kind: r.spec.Kind, Owner: r.spec.Owner, Generation: r.spec.Generation,
			DependsOn: slices.Clone(r.spec.DependsOn), State: r.state, Registered: r.registeredAt,
			Errors: r.errors, LastError: r.lastError, Resets: r.resets, ResetFailures: r.resetFailures,
			Closing: r.cleanups > 0 || r.state == Closing}
		if r.lastReset != nil {
			lr := *r.lastReset
			info.LastReset = &lr
		}
		s.Resources = append(s.Resources, info)
		live[r.spec.Owner].addState(r.state)
	}
	for _, l := range a.lingering {
		s.Lingering = append(s.Lingering, l)
		if c := live[l.Owner]; c != nil {
			c.Lingering++
		}
	}
	slices.SortFunc(s.Lingering, func(x, y Lingering) int { return x.Started.Compare(y.Started) })
	for _, owner := range slices.Sorted(maps.Keys(live)) {
		s.Owners[owner] = *live[owner]
		s.Node.add(*live[owner])
	}
	s.Node.add(a.retired) // owners forgotten (ForgetOwner), counted still
	return s
}
