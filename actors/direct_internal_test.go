package actors

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// TestDirectRoutes: a route delivers while open and refuses once withdrawn
// (one runner's close, or closeAll), and a reopened route delivers again;
// the map keeps no entry for a withdrawn route.
func TestDirectRoutes(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	got := make(chan any, 8)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(string); ok {
			got <- s
		}
	}))
	defer sys.Root.Stop(pid)
	var r directRoutes
	expect := func(want string) {
		t.Helper()
		select {
		case m := <-got:
			if m != want {
				t.Fatalf("actor got %v, want %q", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("actor never got %q", want)
		}
	}
	if r.send(sys, "a", "unknown") {
		t.Fatal("send on a route never opened reported delivered")
	}
	r.open("a", pid)
	if !r.send(sys, "a", "one") {
		t.Fatal("send on an open route refused")
	}
	expect("one")
	r.close("a")
	if r.send(sys, "a", "closed") {
		t.Fatal("send on a withdrawn route reported delivered")
	}
	r.open("a", pid)
	r.open("b", pid)
	if !r.send(sys, "b", "two") {
		t.Fatal("send on a reopened route refused")
	}
	expect("two")
	r.closeAll()
	for _, id := range []string{"a", "b"} {
		if r.send(sys, id, "after closeAll") {
			t.Fatalf("send to %s after closeAll reported delivered", id)
		}
	}
	n := 0
	r.m.Range(func(any, any) bool { n++; return true })
	if n != 0 {
		t.Errorf("%d routes kept after closeAll, want 0", n)
	}
	select {
	case m := <-got:
		t.Errorf("actor got %v through a withdrawn route", m)
	default:
	}
}
