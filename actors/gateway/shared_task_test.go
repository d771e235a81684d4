package gateway_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// nextOf returns the next reply of type T, skipping the others (the
// chunks a probe that shares f.replies forwards meanwhile).
func nextOf[T proto.Message](t *testing.T, f *fixture) T {
	t.Helper()
	for {
		if m, ok := f.next(t).(T); ok {
			return m
		}
	}
}

// TestALostClientsSharedTaskGoesOn: a task two clients submitted (the
// same task ID on the same runner: the node runs it once and both read
// it) is not cancelled for the loss of one of them, neither by
// cancel_tasks_on_client_loss nor before the stop of the lost client's
// leased runner (which drains it instead): the other client still reads
// it. Before, both cancelled it by its ID, and the other client's task
// ended Cancelled.
func TestALostClientsSharedTaskGoesOn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lease bool
	}{{"cancel_tasks_on_client_loss", false}, {"leased runner", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureNode(t, func(*actors.NodeConfig) {}, func(c *gateway.Config) {
				c.CancelTasksOnClientLoss = !tc.lease
				c.SessionTimeout = time.Hour // the probes send no heartbeats
				c.Kinds["slow"] = gateway.Kind{Spec: actors.RunnerSpec{Kind: "slow", Builtin: true, Args: []string{"--token-delay", "10ms"}}}
			})
			f.hello(t)
			var runner string
			if tc.lease {
				runner = f.spawnLeasedKind(t, 2, "slow")
			} else {
				f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "slow"})
				runner = nextOf[*exov1.GwRunnerSpawned](t, f).GetRunnerId()
			}
			tasks, err := f.node.Subscribe(streams.TopicTasks, streams.Filter{TaskID: "shared", Kinds: []string{actors.KindTaskStatus, actors.KindTaskChunk}}, streams.SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer tasks.Close()
			submit := &exov1.GwSubmit{CallId: 10, RunnerId: runner, TaskId: "shared", Kind: "text_generation",
				Params: map[string]string{"max_tokens": "300"}} // 10 ms a token: 3 s
			f.send(submit)
			nextOf[*exov1.GwSubmitted](t, f)
			owner := f.probe
			f.newProbe() // another client, which submits the same task
			f.send(&exov1.GwHello{CallId: 1, ClientName: "unit-test-2"})
			nextOf[*exov1.GwWelcome](t, f)
			f.send(submit)
			nextOf[*exov1.GwSubmitted](t, f)
			// Both probes' chunks go to f.replies: drained meanwhile, or
			// its buffer fills and a probe blocks.
			done, drained := make(chan struct{}), make(chan struct{})
			go func() { // owner: this test, which waits on drained
				defer close(drained) // sole sender: this goroutine
				for {
					select {
					case <-f.replies:
					case <-done:
						return
					}
				}
			}()
			defer func() { close(done); <-drained }() // sole sender: this test
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			lost := false
			for {
				ev, err := tasks.Next(ctx)
				if err != nil {
					t.Fatalf("the shared task did not end: %v", err)
				}
				if ev.Kind == actors.KindTaskChunk && !lost {
					// Streaming (a stop cancels a task not started yet):
					// the first client lost now.
					f.node.System().Root.Stop(owner)
					lost = true
				}
				st, ok := ev.Payload.(*actors.TaskStatusChanged)
				if !ok || !terminalTask(st.Status) {
					continue
				}
				if st.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
					t.Fatalf("the shared task ended %v (%s) for the other client, which still reads it; want it complete", st.Status, st.Reason)
				}
				return
			}
		})
	}
}

func terminalTask(s exov1.TaskStatus) bool {
	return s >= exov1.TaskStatus_TASK_STATUS_COMPLETE
}
