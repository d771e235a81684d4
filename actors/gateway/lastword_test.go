package gateway_test

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestNoLastWordToAClientThatLeft: a client (without acks) says goodbye
// while its task runs; the task ends (cancelled), and then the gateway
// closes. The forwarder sends the departed client nothing more: its
// session's context ended because the client left, not because the
// gateway closes. Before, lastWord looked only at the gateway's context
// and, with Close under way, sent the departed client a Skip and the
// outcome (to a client without acks, a send to a gone address can start
// reconnects during a shutdown).
func TestNoLastWordToAClientThatLeft(t *testing.T) {
	handles, release := make(chan *actors.TaskHandle, 1), make(chan struct{})
	defer gateway.SetLastWordHookForTest(func(h *actors.TaskHandle) {
		handles <- h // one task, one forwarder: fires once
		<-release
	})()
	f := newFixture(t)
	cl := &silentClient{notify: make(chan struct{}, 1)}
	gw := f.gw.PID()
	root := f.node.System().Root
	client := root.Spawn(actor.PropsFromProducer(func() actor.Actor { return cl }))
	send := func(m proto.Message) { root.RequestWithCustomSender(gw, m, client) }

	send(&exov1.GwHello{CallId: 1, ClientName: "leaver"})
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
	send(&exov1.GwSubmit{CallId: 3, RunnerId: runner, TaskId: "outlived", Kind: "text_generation",
		Params: map[string]string{"max_tokens": "1000000"}})
	cl.waitFor(t, "a chunk", func(_ []proto.Message, bytes int) bool { return bytes > 0 })
	send(&exov1.GwBye{CallId: 4})
	h := <-handles // the session ended: the forwarder is in lastWord
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := f.node.Cancel(ctx, runner, "outlived"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	cl.mu.Lock()
	before := len(cl.got)
	cl.mu.Unlock()

	closed := make(chan struct{})
	go func() {
		defer close(closed) // sole sender: this goroutine, which the test waits for
		f.gw.Close()
	}()
	<-f.gw.ClosingForTest()
	close(release) // sole sender: the test goroutine
	<-closed
	// Whatever the forwarder sent went before Close returned; a marker
	// sent after it arrives after them.
	marker := &exov1.GwBye{CallId: 999}
	root.Send(client, marker)
	cl.waitFor(t, "the marker", func(got []proto.Message, _ int) bool {
		return len(got) > 0 && proto.Equal(got[len(got)-1], marker)
	})
	cl.mu.Lock()
	defer cl.mu.Unlock()
	for _, m := range cl.got[before:] {
		if ev, ok := m.(*exov1.GwTaskEvent); ok {
			t.Errorf("sent to the client after its goodbye: %v", ev)
		}
	}
}
