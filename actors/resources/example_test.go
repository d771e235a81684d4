package resources_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/resources"
)

// A runner's resources close in reverse dependency order when it stops.
func Example() {
	system := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond))
	defer system.Shutdown()
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	m := resources.NewManager(resources.Config{Logger: logger})
	// In a node, the parent actor spawns m.Props(); here the root does, with
	// a guardian so that the default (restart) strategy never applies.
	rc, err := m.Spawn(system.Root.Copy().WithGuardian(actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })), "resources")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = system.Root.StopFuture(rc.PID()).Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	closer := func(context.Context) error { return nil }
	err = rc.Register(ctx,
		resources.Spec{Name: "r1/process", Kind: "process", Owner: "r1", Generation: 1,
			DependsOn: []string{"r1/stdout", "r1/workdir"}, Close: closer},
		resources.Spec{Name: "r1/stdout", Kind: "pipe", Owner: "r1", Generation: 1, DependsOn: []string{"r1/workdir"}, Close: closer},
		resources.Spec{Name: "r1/workdir", Kind: "tempdir", Owner: "r1", Generation: 1, Close: closer},
	)
	fmt.Println("register:", err)
	fmt.Println("cycle:", rc.Register(ctx,
		resources.Spec{Name: "a", DependsOn: []string{"b"}, Close: closer},
		resources.Spec{Name: "b", DependsOn: []string{"a"}, Close: closer}))

	report, err := rc.CloseOwner(ctx, "r1")
	fmt.Println("close:", err)
	for _, e := range report.Entries {
		fmt.Printf("  %s (%s): %s\n", e.Name, e.Kind, e.Outcome)
	}
	snap, _ := rc.Snapshot(ctx)
	fmt.Println("closed:", snap.Owners["r1"].Closed, "left:", len(snap.Resources))
	_ = m.Wait(ctx)
	// Output:
	// register: <nil>
	// cycle: dependency cycle: a → b → a; remove one of these dependencies
	// close: <nil>
	//   r1/process (process): closed
	//   r1/stdout (pipe): closed
	//   r1/workdir (tempdir): closed
	// closed: 3 left: 0
}
