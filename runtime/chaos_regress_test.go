package runtime_test

import (
	"context"
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
