package actorguard_test

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/actorguard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// panicky panics in its Stopping handler; guarded says whether the handler
// runs under actorguard.Run. Stopped counts through a channel.
type panicky struct {
	log     logrus.FieldLogger
	guarded bool
	stopped chan struct{}
}

func (p *panicky) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Stopping:
		h := func() { panic("boom in Stopping") }
		if p.guarded {
			actorguard.Run(p.log, "test actor", m, h)
			return
		}
		h()
	case *actor.Stopped:
		close(p.stopped) // sole sender: the actor's one Stopped
	}
}

// parent spawns the child in its Started; its strategy stops a child that
// fails, as the node's supervisors retire a runner actor that panicked.
type parent struct{ child *panicky }

func (p *parent) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return p.child }))
	}
}

func stopFailed(any) actor.Directive { return actor.StopDirective }

// watcher reports its watched actor's Terminated on a channel.
type watcher struct {
	who     *actor.PID
	watched chan struct{} // closed once the Watch is in who's mailbox
	gone    chan struct{}
}

func (w *watcher) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		ctx.Watch(w.who)
		close(w.watched) // sole sender: the watcher's one Started
	case *actor.Terminated:
		close(w.gone) // sole sender: the watcher's one Terminated
	}
}

// A panic in a child's Stopping handler wedges its parent's stop: the child
// never reaches Stopped, the parent waits for its Terminated, and nobody
// hears the parent's (checked for 2 s: a negative, it cannot fail falsely).
// Under Run the stop completes and the panic is logged once at error level.
func TestRunLetsTheStopGoOn(t *testing.T) {
	sys := actor.NewActorSystem()
	defer sys.Shutdown()
	for _, guarded := range []bool{false, true} {
		logger, hook := logtest.NewNullLogger()
		a := &panicky{log: logger, guarded: guarded, stopped: make(chan struct{})}
		pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &parent{child: a} },
			actor.WithSupervisor(actor.NewOneForOneStrategy(0, 0, stopFailed))))
		w := &watcher{who: pid, watched: make(chan struct{}), gone: make(chan struct{})}
		sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return w }))
		// The Watch goes in before the Stop: a Watch that reaches an actor
		// already stopping is answered with Terminated at once.
		<-w.watched
		sys.Root.Stop(pid)
		if !guarded {
			select {
			case <-w.gone:
				t.Fatal("unguarded: the stop completed; the trap this package exists for is gone (update docs/traps.md)")
			case <-time.After(2 * time.Second):
			}
			continue
		}
		select {
		case <-a.stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("guarded: no Stopped")
		}
		select {
		case <-w.gone:
		case <-time.After(10 * time.Second):
			t.Fatal("guarded: no Terminated")
		}
		var errs []*logrus.Entry
		for _, e := range hook.AllEntries() {
			if e.Level == logrus.ErrorLevel {
				errs = append(errs, e)
			}
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Message, "test actor panicked in its Stopping handler") ||
			errs[0].Data["panic"] != "boom in Stopping" || !strings.Contains(errs[0].Data["stack"].(string), "actorguard_test") {
			t.Fatalf("guarded: error log %v; want one line naming the actor, the handler, the panic and its stack", errs)
		}
	}
}

func TestRunWithoutPanic(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	ran := false
	if r := actorguard.Run(logger, "x", &actor.Stopped{}, func() { ran = true }); r != nil || !ran || len(hook.AllEntries()) != 0 {
		t.Fatalf("Run = %v, ran %v, logs %d; want nil, true, 0", r, ran, len(hook.AllEntries()))
	}
	if got := actorguard.Name(&actor.Restarting{}); got != "Restarting" {
		t.Fatalf("Name(Restarting) = %q", got)
	}
}
