package membership

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/actorsys"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// TestStopStopsEveryTimer: a rejoin whose join failed armed its retry
// timer in the field that held the check timer, so Stop stopped only the
// retry and the check timer stayed armed past Stop: it fired later into a
// stopped actor (a dead letter), and with a fake clock a test saw a timer
// the Membership no longer owned. Stop must leave no timer armed.
func TestStopStopsEveryTimer(t *testing.T) {
	// The port the next incarnation's automanaged HTTP server needs is
	// held here: the rejoin's join fails at once (address in use), as
	// when an old member still holds it.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	clk := clock.NewFake(time.Now())
	logger := logrus.New()
	logger.SetLevel(logrus.PanicLevel)
	cfg, err := Config{Cluster: "c", NodeName: "n", Host: "127.0.0.1", ManagePort: port,
		Peers: []string{fmt.Sprintf("127.0.0.1:%d", port)}, Clock: clk, Logger: logger}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	quiet := func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }
	host := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10*time.Millisecond), actor.WithLoggerFactory(quiet))
	defer host.Shutdown()

	// Start without its first join: a stand-in incarnation (no Remote, no
	// provider; its teardown only shuts its actor system down).
	m := &Membership{cfg: cfg, host: host, done: make(chan struct{})}
	m.quit, m.quitCancel = context.WithCancel(context.Background())
	m.view.Store(&View{Cluster: cfg.Cluster, State: Joining, Members: []Member{}})
	a := &memberActor{m: m, cfg: cfg, log: logrus.NewEntry(logger), state: Joining, number: 1, joining: 1, since: map[string]time.Time{}}
	stop := actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })
	m.pid = host.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a }, actor.WithSupervisor(stop), actor.WithGuardian(stop)))
	first := &incarnation{cfg: cfg, number: 1, system: actorsys.New(actor.WithLoggerFactory(quiet)), cl: &cluster.Cluster{}}
	if _, err := host.Root.RequestFuture(m.pid, &joinedMsg{number: 1, inc: first}, 5*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clk.WaitForTimers(ctx, 1); err != nil { // the check timer
		t.Fatalf("no check timer armed after the join: %v", err)
	}
	// Evicted: torn down, the rejoin fails, its retry is armed beside the
	// check timer.
	host.Root.Send(m.pid, &ownKeyDeletedMsg{number: 1})
	if err := clk.WaitForTimers(ctx, 2); err != nil {
		t.Fatalf("no retry timer armed after the failed rejoin (view %+v): %v", m.View(), err)
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := clk.Pending(); n != 0 {
		t.Errorf("%d timers still armed after Stop returned; want none", n)
	}
}
