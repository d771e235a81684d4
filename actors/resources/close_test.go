package resources_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
)

func TestCloseOrder(t *testing.T) {
	cases := []struct {
		name string
		deps map[string][]string // resource → what it depends on
		// first and last closes to finish; the rest may finish in any order
		// the dependencies allow.
		first, last string
		wantOrder   []string // exact order, when it is forced
	}{
		{name: "chain", deps: map[string][]string{"d": {"c"}, "c": {"b"}, "b": {"a"}, "a": nil},
			first: "d", last: "a", wantOrder: []string{"d", "c", "b", "a"}},
		{name: "diamond", deps: map[string][]string{"top": {"left", "right"}, "left": {"base"}, "right": {"base"}, "base": nil},
			first: "top", last: "base"},
		{name: "two chains into one", deps: map[string][]string{"app": {"db", "cache"}, "db": {"disk"}, "cache": {"net"}, "disk": nil, "net": {"disk"}},
			first: "app", last: "disk"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			p := newProbe()
			var specs []resources.Spec
			for _, name := range slices.Sorted(mapsKeys(tc.deps)) {
				specs = append(specs, resources.Spec{Name: name, Kind: "test", Owner: "r1", Generation: 1,
					DependsOn: tc.deps[name], Close: p.close(name, nil)})
			}
			e.register(specs...)
			report, err := e.rc.CloseOwner(e.ctx(), "r1")
			if err != nil {
				t.Fatal(err)
			}
			checkOrder(t, p.log(), tc.deps)
			if len(report.Order) != len(tc.deps) || report.Order[0] != tc.first || report.Order[len(report.Order)-1] != tc.last {
				t.Errorf("report order %v: want %s first, %s last, all %d", report.Order, tc.first, tc.last, len(tc.deps))
			}
			// The report's order agrees with the dependencies too.
			for i, name := range report.Order {
				for _, d := range tc.deps[name] {
					if j := slices.Index(report.Order, d); j < i {
						t.Errorf("report: %s finished before its dependent %s: %v", d, name, report.Order)
					}
				}
			}
			if tc.wantOrder != nil && !slices.Equal(report.Order, tc.wantOrder) {
				t.Errorf("order %v, want %v", report.Order, tc.wantOrder)
			}
			for _, en := range report.Entries {
				if en.Outcome != resources.CloseOK || en.Err != nil || en.Owner != "r1" || en.Dependent {
					t.Errorf("entry %+v", en)
				}
			}
			s := e.snapshot()
			if len(s.Resources) != 0 || s.Owners["r1"].Closed != len(tc.deps) || s.Node.Closed != len(tc.deps) {
				t.Errorf("after close: resources %v, counts %+v", s.Resources, s.Owners["r1"])
			}
		})
	}
}

func mapsKeys[M ~map[K]V, K comparable, V any](m M) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Independent resources close at the same time: both closes are running at
// once before either may return.
func TestIndependentClosesOverlap(t *testing.T) {
	e := newEnv(t, nil)
	p := newProbe()
	gate := newBlocker()
	e.register(
		resources.Spec{Name: "x", Owner: "r1", Close: p.close("x", gate.wait)},
		resources.Spec{Name: "y", Owner: "r1", Close: p.close("y", gate.wait)},
	)
	done := e.closeAsync("r1")
	// Neither close can return before the gate opens, so receiving both
	// starts proves they run in parallel.
	got := []string{<-p.started, <-p.started}
	slices.Sort(got)
	if !slices.Equal(got, []string{"x", "y"}) {
		t.Fatalf("started %v", got)
	}
	gate.open()
	r := <-done
	if r.err != nil || len(r.report.Entries) != 2 || p.max() != 2 {
		t.Fatalf("report %+v, err %v, max running %d", r.report, r.err, p.max())
	}
}

// Two independent closes that each take a fixed time finish in the time of
// one. In a synctest bubble, where time moves only when every goroutine of
// the test waits: two closes run one after the other would take exactly
// twice the time of one, in parallel exactly the time of one. Before, the
// test measured wall-clock time and wanted a ratio under 1.6, which a
// starved machine (a goroutine not run for a second or two) can miss.
func TestIndependentClosesTakeOneCloseTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const work = 100 * time.Millisecond
		busy := func(ctx context.Context) error { // the workload: a close that takes `work`
			select {
			case <-time.After(work):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// Registered before newEnv's, so it runs after it: protoactor's
		// dead-letter throttle (a goroutine that waits one 10 ms period
		// after the stop's dead letters) must end inside the bubble, and
		// only fake time passes here, none of the machine's.
		t.Cleanup(func() { <-time.After(time.Second) })
		e := newEnv(t, nil)
		measure := func(owner string, names ...string) time.Duration {
			t.Helper()
			for _, n := range names {
				e.register(resources.Spec{Name: n, Owner: owner, Close: busy})
			}
			start := time.Now()
			if _, err := e.rc.CloseOwner(e.ctx(), owner); err != nil {
				t.Fatal(err)
			}
			return time.Since(start)
		}
		single := measure("one", "solo")
		parallel := measure("two", "p1", "p2")
		t.Logf("one close %s, two independent closes %s", single, parallel)
		if single < work || parallel != single {
			t.Errorf("one close took %s, two independent closes %s: want the same, at least %s (in parallel)", single, parallel, work)
		}
	})
}

func TestCloseOwnerClosesForeignDependentsFirst(t *testing.T) {
	e := newEnv(t, nil)
	p := newProbe()
	mk := func(name, owner string, deps ...string) resources.Spec {
		return resources.Spec{Name: name, Kind: "pipe", Owner: owner, Generation: 1, DependsOn: deps, Close: p.close(name, nil)}
	}
	e.register(mk("r1/stdout", "r1"), mk("r1/proc", "r1", "r1/stdout"))
	e.register(mk("r2/tap", "r2", "r1/stdout"), mk("r2/own", "r2"), mk("r2/tap-buffer", "r2", "r2/tap"))
	report, err := e.rc.CloseOwner(e.ctx(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, p.log(), map[string][]string{"r1/proc": {"r1/stdout"}, "r2/tap": {"r1/stdout"}, "r2/tap-buffer": {"r2/tap"}})
	if report.Scope != "owner r1" || len(report.Entries) != 4 || report.Order[3] != "r1/stdout" {
		t.Fatalf("report %+v", report)
	}
	for _, name := range []string{"r2/tap", "r2/tap-buffer"} {
		if en, ok := report.Entry(name); !ok || !en.Dependent || en.Owner != "r2" {
			t.Errorf("%s: %+v, want a Dependent entry of r2", name, en)
		}
	}
	if en, _ := report.Entry("r1/proc"); en.Dependent {
		t.Errorf("r1/proc marked Dependent")
	}
	s := e.snapshot()
	if len(s.Resources) != 1 || s.Resources[0].Name != "r2/own" {
		t.Errorf("left: %+v, want only r2/own", s.Resources)
	}
	if s.Owners["r1"].Closed != 2 || s.Owners["r2"].Closed != 2 || s.Owners["r2"].Registered != 1 {
		t.Errorf("counts r1 %+v r2 %+v", s.Owners["r1"], s.Owners["r2"])
	}
}

// A runner restart: the new generation may take the old names only after
// the old generation's resources were closed.
func TestReRegisterAfterCloseOwner(t *testing.T) {
	e := newEnv(t, nil)
	gen := func(g uint64) []resources.Spec {
		return []resources.Spec{
			{Name: "r1/stdout", Owner: "r1", Generation: g, Close: nop},
			{Name: "r1/proc", Owner: "r1", Generation: g, DependsOn: []string{"r1/stdout"}, Close: nop},
		}
	}
	e.register(gen(1)...)
	if err := e.rc.Register(e.ctx(), gen(2)...); !errors.Is(err, resources.ErrStillRegistered) {
		t.Fatalf("gen 2 before closing gen 1: %v", err)
	}
	if _, err := e.rc.CloseOwner(e.ctx(), "r1"); err != nil {
		t.Fatal(err)
	}
	e.register(gen(2)...)
	for _, r := range e.snapshot().Resources {
		if r.Generation != 2 {
			t.Errorf("%s generation %d", r.Name, r.Generation)
		}
	}
}

func TestFailedCloseIsAnErrorRecord(t *testing.T) {
	e := newEnv(t, nil)
	p := newProbe()
	boom := errors.New("rmdir /tmp/r1: directory not empty")
	e.register(
		resources.Spec{Name: "tmp", Kind: "tempdir", Owner: "r1", Generation: 3, Close: p.close("tmp", nil)},
		resources.Spec{Name: "cache", Kind: "dir", Owner: "r1", Generation: 3, DependsOn: []string{"tmp"},
			Close: p.close("cache", func(context.Context) error { return boom })},
		resources.Spec{Name: "odd", Kind: "listener", Owner: "r1", Generation: 3, DependsOn: []string{"tmp"},
			Close: p.close("odd", func(context.Context) error { panic("listener gone") })},
	)
	report, err := e.rc.CloseOwner(e.ctx(), "r1")
	if err == nil || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap %v", err, boom)
	}
	var f errhandler.Failure
	if !errors.As(err, &f) || f.Kind != errhandler.KindResourceCloseFailed {
		t.Fatalf("err does not hold a resource close failure: %v", err)
	}
	// Dependents failed; the dependency still closed, after them.
	checkOrder(t, p.log(), map[string][]string{"cache": {"tmp"}, "odd": {"tmp"}})
	if en, _ := report.Entry("tmp"); en.Outcome != resources.CloseOK {
		t.Errorf("tmp: %+v", en)
	}
	cache, _ := report.Entry("cache")
	if cache.Outcome != resources.CloseFailed || !errors.Is(cache.Err, boom) || cache.Failure == nil {
		t.Fatalf("cache: %+v", cache)
	}
	want := errhandler.Failure{Kind: errhandler.KindResourceCloseFailed, Component: "resource", Operation: "close",
		RunnerID: "r1", Generation: 3, Message: `resource "cache" (dir)`, Cause: boom}
	if *cache.Failure != want {
		t.Errorf("failure %+v, want %+v", *cache.Failure, want)
	}
	if got := cache.Failure.Error(); got != `runner r1 gen 3: resource close failed: resource "cache" (dir): rmdir /tmp/r1: directory not empty; check the resource's Close function` {
		t.Errorf("failure text: %s", got)
	}
	odd, _ := report.Entry("odd")
	if odd.Outcome != resources.CloseFailed || !strings.Contains(odd.Err.Error(), "close panicked: listener gone") {
		t.Errorf("odd: %+v", odd)
	}
	if got := e.reportedFailures(); len(got) != 2 || len(report.Failures) != 2 {
		t.Errorf("OnFailure got %v, report %v: want 2 each", got, report.Failures)
	}
	c := e.snapshot().Owners["r1"]
	if c.Closed != 1 || c.CloseFailed != 2 || c.Errors != 2 || c.TimedOut != 0 {
		t.Errorf("counts %+v", c)
	}
}

// A cleanup's resources take no new dependents and refuse Activate and
// Reset; a second cleanup covering them reports the same closes.
func TestCleanupInProgress(t *testing.T) {
	e := newEnv(t, nil)
	p := newProbe()
	gate := newBlocker()
	e.register(
		resources.Spec{Name: "base", Owner: "r1", Close: p.close("base", nil)},
		resources.Spec{Name: "top", Owner: "r1", DependsOn: []string{"base"}, Close: p.close("top", gate.wait)},
	)
	first := e.closeAsync("r1")
	if got := <-p.started; got != "top" {
		t.Fatalf("first close started: %s", got)
	}
	s := e.snapshot()
	if top, _ := s.Resource("top"); top.State != resources.Closing {
		t.Errorf("top: %+v", top)
	}
	if base, _ := s.Resource("base"); base.State != resources.Registered || !base.Closing {
		t.Errorf("base: %+v, want Registered, waiting to close", base)
	}
	if err := e.rc.Register(e.ctx(), spec("late", "r2", "base")); !errors.Is(err, resources.ErrBeingClosed) {
		t.Errorf("register a dependent of a resource being closed: %v", err)
	}
	if err := e.rc.Activate(e.ctx(), "base"); !errors.Is(err, resources.ErrBeingClosed) {
		t.Errorf("activate: %v", err)
	}
	// A second cleanup covers them too, and "other", whose close starts at
	// once: when it starts, the manager has taken the second cleanup in.
	e.register(resources.Spec{Name: "other", Owner: "r2", Close: p.close("other", nil)})
	second := e.closeAsync("") // CloseAll
	if got := <-p.started; got != "other" {
		t.Fatalf("second close started: %s", got)
	}
	gate.open()
	r1, r2 := <-first, <-second
	if r1.err != nil || !slices.Equal(r1.report.Order, []string{"top", "base"}) {
		t.Errorf("first report %+v, err %v", r1.report, r1.err)
	}
	// other is independent: it may finish anywhere; top before base.
	o := r2.report.Order
	if r2.err != nil || len(o) != 3 || !slices.Contains(o, "other") || slices.Index(o, "top") > slices.Index(o, "base") {
		t.Errorf("second report %+v, err %v", r2.report, r2.err)
	}
	got := p.log()
	if len(got) != 6 {
		t.Errorf("each close runs once: %v", got)
	}
	checkOrder(t, got, map[string][]string{"top": {"base"}})
}

func TestCloseNothing(t *testing.T) {
	e := newEnv(t, nil)
	report, err := e.rc.CloseOwner(e.ctx(), "nobody")
	if err != nil || len(report.Entries) != 0 || report.Scope != "owner nobody" {
		t.Fatalf("report %+v, err %v", report, err)
	}
	report, err = e.rc.CloseAll(e.ctx())
	if err != nil || len(report.Entries) != 0 || report.Scope != "all" {
		t.Fatalf("report %+v, err %v", report, err)
	}
}
