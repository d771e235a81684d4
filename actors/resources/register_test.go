package resources_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/exo-actors/exo-actors/actors/resources"
)

func spec(name, owner string, deps ...string) resources.Spec {
	return resources.Spec{Name: name, Kind: "test", Owner: owner, Generation: 1, DependsOn: deps, Close: nop}
}

func TestRegisterRefuses(t *testing.T) {
	gen2 := spec("pipe", "r1")
	gen2.Generation = 2
	noClose := spec("x", "")
	noClose.Close = nil
	negative := spec("x", "")
	negative.CloseTimeout = -1
	cases := []struct {
		name    string
		before  []resources.Spec // registered first, must succeed
		specs   []resources.Spec
		is      error
		message string
	}{
		{name: "cycle of three",
			specs:   []resources.Spec{spec("a", "", "b"), spec("b", "", "c"), spec("c", "", "a")},
			is:      resources.ErrCycle,
			message: "dependency cycle: a → b → c → a; remove one of these dependencies"},
		{name: "cycle not through the first",
			specs:   []resources.Spec{spec("x", "", "a"), spec("a", "", "b"), spec("b", "", "a")},
			is:      resources.ErrCycle,
			message: "dependency cycle: a → b → a; remove one of these dependencies"},
		{name: "self dependency",
			specs:   []resources.Spec{spec("a", "", "a")},
			is:      resources.ErrCycle,
			message: "dependency cycle: a → a; remove one of these dependencies"},
		{name: "missing dependency",
			before:  []resources.Spec{spec("a", "")},
			specs:   []resources.Spec{spec("b", "r1", "a", "ghost")},
			is:      resources.ErrMissingDependency,
			message: `missing dependency: resource "b" of r1 generation 1 depends on "ghost", which is not registered; register it first or in the same call`},
		{name: "duplicate",
			before:  []resources.Spec{spec("a", "r1")},
			specs:   []resources.Spec{spec("a", "r2")},
			is:      resources.ErrDuplicate,
			message: `resource already registered: resource "a" of r1 generation 1 (state registered); choose another name, or close it first`},
		{name: "duplicate in one call",
			specs: []resources.Spec{spec("a", ""), spec("a", "")},
			is:    resources.ErrDuplicate},
		{name: "newer generation before the old one closed",
			before: []resources.Spec{spec("pipe", "r1")},
			specs:  []resources.Spec{gen2},
			is:     resources.ErrStillRegistered,
			message: `resource already registered by an older generation of its owner: resource "pipe" of r1 generation 1 is still registered ` +
				`(state registered); close the owner first (CloseOwner "r1"), then register generation 2`},
		{name: "no close function", specs: []resources.Spec{noClose}, is: resources.ErrInvalidSpec},
		{name: "no name", specs: []resources.Spec{{Close: nop}}, is: resources.ErrInvalidSpec},
		{name: "negative timeout", specs: []resources.Spec{negative}, is: resources.ErrInvalidSpec},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.register(tc.before...)
			err := e.rc.Register(e.ctx(), tc.specs...)
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if tc.message != "" && err.Error() != tc.message {
				t.Errorf("message:\n got %s\nwant %s", err, tc.message)
			}
			var names []string
			for _, r := range e.snapshot().Resources {
				names = append(names, r.Name)
			}
			var want []string
			for _, s := range tc.before {
				want = append(want, s.Name)
			}
			if !slices.Equal(names, want) {
				t.Errorf("registered after the refusal: %v, want only %v (all or nothing)", names, want)
			}
		})
	}
}

func TestCycleErrorPath(t *testing.T) {
	e := newEnv(t, nil)
	err := e.rc.Register(e.ctx(), spec("a", "", "b"), spec("b", "", "c"), spec("c", "", "a"))
	var ce *resources.CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v (%T), want a *CycleError", err, err)
	}
	if want := []string{"a", "b", "c", "a"}; !slices.Equal(ce.Path, want) {
		t.Errorf("path = %v, want %v", ce.Path, want)
	}
}

func TestRegisterSetWithInternalDependencies(t *testing.T) {
	e := newEnv(t, nil)
	// Listed before their dependencies: the call is taken as a whole.
	e.register(spec("proc", "r1", "stdout", "stdin"), spec("stdout", "r1", "tmp"), spec("stdin", "r1", "tmp"), spec("tmp", "r1"))
	s := e.snapshot()
	if len(s.Resources) != 4 || s.Owners["r1"].Registered != 4 || s.Node.Registered != 4 {
		t.Fatalf("snapshot: %+v", s)
	}
	if r, _ := s.Resource("proc"); !slices.Equal(r.DependsOn, []string{"stdout", "stdin"}) || r.State != resources.Registered {
		t.Errorf("proc: %+v", r)
	}
}
