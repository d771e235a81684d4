package gateway_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// silentClient stands for a client's session actor that never
// acknowledges (GwAck): the gateway's window to it shuts once full. It
// keeps every message it gets, in order.
type silentClient struct {
	mu     sync.Mutex
	got    []proto.Message
	bytes  int           // chunk bytes received
	notify chan struct{} // capacity 1, never closed
}

func (c *silentClient) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(proto.Message); ok {
		c.mu.Lock()
		c.got = append(c.got, m)
		if ev, ok := m.(*exov1.GwTaskEvent); ok {
			c.bytes += proto.Size(ev)
		}
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// waitFor waits until cond holds on what the client got, or fails.
func (c *silentClient) waitFor(t *testing.T, what string, cond func(got []proto.Message, bytes int) bool) {
	t.Helper()
	deadline := time.After(wait)
	for {
		c.mu.Lock()
		ok := cond(c.got, c.bytes)
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.notify:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestCloseSendsAnEndedTasksOutcomeAndSaysTheNodeShutDown: a node closes
// its gateway after its shutdown. A task cut by that shutdown whose
// forwarder was behind (its client's window shut) still gets its outcome
// to the client, after a Skip of the chunks not sent, and then the
// client is told that the node shut down (GwError, call_id 0, code
// SHUTTING_DOWN). Before, Close cut the forwarders off first: the
// outcome never went, and a remote client's task ended "node lost: …
// its gateway terminated (Stopped)" (trial-rust, run6), with nothing
// telling it that the node had shut down and stopped its runners.
func TestCloseSendsAnEndedTasksOutcomeAndSaysTheNodeShutDown(t *testing.T) {
	f := newFixtureNode(t, func(c *actors.NodeConfig) {
		c.Shutdown = actors.ShutdownDeadlines{Draining: 200 * time.Millisecond}
	}, func(c *gateway.Config) { c.OutWindow = gateway.MaxOutMessage })
	cl := &silentClient{notify: make(chan struct{}, 1)}
	gw := f.gw.PID()
	root := f.node.System().Root
	client := root.Spawn(actor.PropsFromProducer(func() actor.Actor { return cl }))
	send := func(m proto.Message) { root.RequestWithCustomSender(gw, m, client) }

	send(&exov1.GwHello{CallId: 1, ClientName: "silent", Acks: true})
	cl.waitFor(t, "the welcome", func(got []proto.Message, _ int) bool { return len(got) >= 1 })
	send(&exov1.GwSpawnRunner{CallId: 2, Kind: "echo"})
	var runner string
	cl.waitFor(t, "the spawn", func(got []proto.Message, _ int) bool {
		for _, m := range got {
			if r, ok := m.(*exov1.GwRunnerSpawned); ok {
				runner = r.GetRunnerId()
				return true
			}
		}
		return false
	})
	// The node's own count of the task's chunks, to know when the forwarder
	// holds some back.
	chunks, err := f.node.Subscribe(actors.TopicTasks, streams.Filter{TaskID: "endless", Kinds: []string{actors.KindTaskChunk}}, streams.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer chunks.Close()
	send(&exov1.GwSubmit{CallId: 3, RunnerId: runner, TaskId: "endless", Kind: "text_generation",
		Params: map[string]string{"max_tokens": "1000000", "token_bytes": "4096"}})
	// The window (256 KiB) fills: the forwarder waits for an ack that
	// never comes, and holds back what the runner streams beyond it. Wait
	// until the node has published chunks past the window's worth, so some
	// are held back whatever the machine's speed (waiting for ¾ of the
	// window at the client failed under load: the drain's cut came before
	// the runner had streamed past the window, and no Skip was due).
	cl.waitFor(t, "a full window of chunks", func(_ []proto.Message, bytes int) bool { return bytes >= gateway.MaxOutMessage*3/4 })
	wctx, wcancel := context.WithTimeout(context.Background(), wait)
	defer wcancel()
	for published := 0; published < gateway.MaxOutMessage/4096+2; {
		ev, err := chunks.Next(wctx)
		if err != nil {
			t.Fatalf("the node's chunks of the task, %d so far: %v", published, err)
		}
		if ev.Gap == nil {
			published++
		} else {
			published += int(ev.Gap.Dropped)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := f.node.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f.gw.Close()
	// Sent before Close returned; the client takes them in order.
	cl.waitFor(t, "the shut-down note", func(got []proto.Message, _ int) bool {
		for _, m := range got {
			if e, ok := m.(*exov1.GwError); ok && e.GetCallId() == 0 {
				return true
			}
		}
		return false
	})

	cl.mu.Lock()
	defer cl.mu.Unlock()
	var outcome *exov1.GwTaskOutcome
	skipped, note := 0, -1
	for i, m := range cl.got {
		switch m := m.(type) {
		case *exov1.GwTaskEvent:
			if outcome != nil {
				t.Errorf("task event after the outcome: %v", m)
			}
			if s := m.GetSkip(); s != nil {
				skipped += int(s.GetCount())
			}
			if o := m.GetOutcome(); o != nil {
				outcome = o
			}
		case *exov1.GwError:
			if m.GetCallId() == 0 && m.GetCode() == exov1.GwCode_GW_CODE_SHUTTING_DOWN {
				note = i
				if outcome == nil {
					t.Errorf("the shut-down note came before the task's outcome")
				}
				if want := "node unit shut down: " + gateway.NodeShutDownText; m.GetText() != want {
					t.Errorf("note %q, want %q", m.GetText(), want)
				}
			}
		}
	}
	if outcome == nil || outcome.GetStatus() != exov1.TaskStatus_TASK_STATUS_TIMED_OUT || outcome.GetReason() != actors.ReasonShutdownDrainCut {
		t.Errorf("outcome %v, want TimedOut (%s)", outcome, actors.ReasonShutdownDrainCut)
	}
	if skipped == 0 {
		t.Errorf("no Skip for the chunks the window held back")
	}
	if note < 0 {
		t.Errorf("no shut-down note (GwError call_id 0, SHUTTING_DOWN) in %d messages", len(cl.got))
	}
}
