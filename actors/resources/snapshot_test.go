package resources_test

import (
	"context"
	"errors"
	"testing"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
)

func TestSnapshotCounts(t *testing.T) {
	e := newEnv(t, nil)
	ctx := e.ctx()
	e.register(spec("listener", ""), spec("r1/a", "r1"), spec("r1/b", "r1", "r1/a"), spec("r2/a", "r2"), spec("r2/b", "r2"))
	for _, name := range []string{"listener", "r1/a", "r2/a"} {
		if err := e.rc.Activate(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.rc.ReportError(ctx, "r2/b", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.rc.Activate(ctx, "ghost"); !errors.Is(err, resources.ErrUnknown) {
		t.Errorf("activate unknown: %v", err)
	}
	s := e.snapshot()
	want := map[string]resources.Counts{
		"":   {Active: 1},
		"r1": {Active: 1, Registered: 1},
		"r2": {Active: 1, Error: 1, Errors: 1},
	}
	for owner, c := range want {
		if s.Owners[owner] != c {
			t.Errorf("owner %q: %+v, want %+v", owner, s.Owners[owner], c)
		}
	}
	if n := s.Node; n.Active != 3 || n.Registered != 1 || n.Error != 1 || n.Errors != 1 || n.InState(resources.Active) != 3 {
		t.Errorf("node %+v", n)
	}
	if b, _ := s.Resource("r2/b"); b.State != resources.Error || b.Errors != 1 || b.LastError != "reported broken" {
		t.Errorf("r2/b %+v", b)
	}
	if s.Resources[0].Name != "listener" || len(s.Resources) != 5 {
		t.Errorf("resources not in registration order: %+v", s.Resources)
	}

	if _, err := e.rc.CloseAll(ctx); err != nil {
		t.Fatal(err)
	}
	s = e.snapshot()
	if len(s.Resources) != 0 || s.Node.Closed != 5 || s.Owners["r1"].Closed != 2 || s.Node.InState(resources.Closed) != 5 || s.Node.Active != 0 {
		t.Errorf("after CloseAll: %+v", s)
	}
}

// The manager survives a hook that panics.
func TestHookPanicIsRecovered(t *testing.T) {
	e := newEnv(t, nil, func(c *resources.Config) {
		c.OnFailure = func(errhandler.Failure) { panic("hook bug") }
	})
	e.register(resources.Spec{Name: "x", Close: func(context.Context) error { return errors.New("no") }})
	if _, err := e.rc.CloseAll(e.ctx()); err == nil {
		t.Fatal("want the close failure")
	}
	if s := e.snapshot(); s.Node.CloseFailed != 1 {
		t.Errorf("counts %+v", s.Node)
	}
}
