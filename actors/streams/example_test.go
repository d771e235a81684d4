package streams_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/actors/streams"
)

// A stream under an explicit parent strategy; a reader gets every event in
// order, then the end of the stream.
func Example() {
	sys := actor.NewActorSystem(
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
	)
	defer sys.Shutdown()
	parent := sys.Root.Copy().WithGuardian(streams.ParentStrategy(nil))

	tasks := streams.New(streams.TopicTasks, streams.Config{})
	if _, err := tasks.Spawn(parent, "tasks"); err != nil {
		fmt.Println(err)
		return
	}
	sub := tasks.Subscribe(streams.Filter{TaskID: "t1"}, streams.SubscribeOptions{})
	_ = tasks.Publish(streams.Event{RunnerID: "r1", TaskID: "t1", Kind: "chunk", Payload: "hello"})
	_ = tasks.Publish(streams.Event{RunnerID: "r1", TaskID: "t2", Kind: "chunk", Payload: "other task"})
	_ = tasks.Publish(streams.Event{RunnerID: "r1", TaskID: "t1", Kind: "status", Payload: "complete"})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = tasks.Close(ctx) // everything buffered is handed over, then EndOfStream
	fmt.Println(tasks.Publish(streams.Event{Kind: "chunk"}))
	for {
		ev, err := sub.Next(ctx)
		if errors.Is(err, io.EOF) {
			fmt.Println("end:", err)
			break
		}
		fmt.Println(ev.Seq, ev.Kind, ev.Payload)
	}
	st := tasks.Stats()
	fmt.Println("published", st.Published, "dead-lettered", st.DeadLettered, "delivered", st.Delivered, "check:", st.Check())
	// Output:
	// stream closed
	// 1 chunk hello
	// 3 status complete
	// end: end of stream: stream "tasks" closed
	// published 3 dead-lettered 1 delivered 2 check: <nil>
}
