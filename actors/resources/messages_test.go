package resources_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/resources"
)

// The messages an actor uses instead of the blocking Client: a snapshot,
// and a reset answered with *ResetResourceResult (refusals included).
func TestSnapshotQueryAndResetResource(t *testing.T) {
	e := newEnv(t, nil)
	resets := 0
	s := spec("r1/cache", "r1")
	s.Reset = func(context.Context) error { resets++; return nil }
	e.register(s, spec("r1/plain", "r1"))
	if err := e.rc.ReportError(e.ctx(), "r1/cache", errors.New("broken")); err != nil {
		t.Fatal(err)
	}
	ask := func(msg any) any {
		t.Helper()
		res, err := e.system.Root.RequestFuture(e.rc.PID(), msg, 10*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	snap, ok := ask(&resources.SnapshotQuery{}).(*resources.Snapshot)
	if !ok || len(snap.Resources) != 2 || snap.Resources[0].State != resources.Error {
		t.Fatalf("snapshot %+v", snap)
	}
	r, ok := ask(&resources.ResetResource{Name: "r1/cache"}).(*resources.ResetResourceResult)
	if !ok || r.Name != "r1/cache" || r.Err != nil || resets != 1 {
		t.Fatalf("reset: %+v (resets %d)", r, resets)
	}
	r = ask(&resources.ResetResource{Name: "r1/plain"}).(*resources.ResetResourceResult)
	if !errors.Is(r.Err, resources.ErrWrongState) {
		t.Errorf("reset of an active resource: %v, want ErrWrongState", r.Err)
	}
	r = ask(&resources.ResetResource{Name: "ghost"}).(*resources.ResetResourceResult)
	if r.Name != "ghost" || !errors.Is(r.Err, resources.ErrUnknown) {
		t.Errorf("reset of an unknown resource: %+v", r)
	}
}
