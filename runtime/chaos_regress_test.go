package runtime_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// grpcClientConnGoroutines counts the goroutines that belong to gRPC
// client connections (three callback serializers per ClientConn).
func grpcClientConnGoroutines() int {
	buf := make([]byte, 4<<20)
	n := goruntime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "grpcsync.(*CallbackSerializer).run(")
}

// TestChaosSeed7DepartedPeerLeaksNoGRPCConns is the regression test of the
// first bug exo-actors chaos found (seed 7, goroutines left after the run):
// a message to a peer that is gone (here the client's goodbye to a node
// killed with -9) starts a protoactor endpoint writer that, at our pin,
// leaked one gRPC ClientConn per failed connect attempt after the first,
// reconnecting forever. With one attempt (gateway.writerConnectAttempts)
// the client's gRPC connections go back to what they were.
func TestChaosSeed7DepartedPeerLeaksNoGRPCConns(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": `{"builtin": true}`}, "")
	before := grpcClientConnGoroutines()
	for i := 0; i < 2; i++ {
		n := startNode(t, "departed", cfg)
		ctx := remoteCtx(t, 20*time.Second)
		c, err := exo.Dial(ctx, n.addr)
		if err != nil {
			t.Fatal(err)
		}
		n.kill()
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatal("the client did not count the killed node lost")
		}
		c.Close() // sends the goodbye to the dead address
		_ = n.wait(t, 10*time.Second)
	}
	// Each leaked ClientConn would stay for good; a closed one goes within
	// a moment. Wait on the count (as goleak does), up to 15s.
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := grpcClientConnGoroutines()
		if got <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d gRPC client-connection goroutines 15s after the nodes went, %d before: ClientConns to departed peers leaked", got, before)
		}
		select {
		case <-time.After(50 * time.Millisecond): // polling a count: there is no event for "a goroutine ended"
		case <-context.Background().Done():
		}
	}
}

// TestChaosSeed22DroppedSessionEndsClient is the regression test of the
// second bug exo-actors chaos found (seed 22, on a loaded machine): the node
// dropped the client's session (no heartbeat within its session timeout)
// but went on answering the client's pings with pongs, so the client
// believed itself connected for ever: its task handles never ended, its
// subscriptions never ended, and every call failed with "no session". Now
// a ping without a session is answered "no session" and the client ends
// as lost: every handle Failed (node lost), every subscription ended.
func TestChaosSeed22DroppedSessionEndsClient(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"slow": fmt.Sprintf(echoKind, "50ms")}, `, "session_timeout": "500ms"`)
	n := startNode(t, "dropper", cfg)
	ctx := remoteCtx(t, 30*time.Second)
	// Pings 1s apart: the node (500ms session timeout) drops the session
	// between two of them; the client would wait 10s to count it lost.
	c, err := exo.Dial(ctx, n.addr, exo.WithHeartbeat(time.Second, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Submit(ctx, id, exo.Task{ID: "long", Kind: "text_generation", Params: map[string]string{"max_tokens": "1000"}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	oc, err := h.Wait(wctx)
	if err != nil {
		t.Fatalf("the task did not end after the node dropped the session: %v", err)
	}
	if oc.Status != exo.TaskFailed || !strings.Contains(oc.Reason, "session") {
		t.Errorf("outcome %s %q: want Failed naming the dropped session", oc.Status, oc.Reason)
	}
	if !errors.Is(c.Err(), exo.ErrNodeLost) {
		t.Errorf("client error %v: want ErrNodeLost", c.Err())
	}
	for {
		_, err := sub.Next(wctx)
		if err == nil {
			continue
		}
		if !errors.Is(err, exo.ErrEndOfStream) {
			t.Errorf("subscription ended with %v: want EndOfStream", err)
		}
		break
	}
}
