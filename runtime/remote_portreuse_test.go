package runtime_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteDialANodeOnTheAddressOfOneThatDied: a node started on the
// address of one that died, while this process's endpoint writer for that
// address still fails its connect to the dead one (a Close after the loss
// unwatches the gateway, which starts such a writer; protoactor's writer
// sleeps 2 s after its failed attempt, then publishes EndpointTerminated).
// The Dial's hello went into that writer and was dropped with it, and the
// EndpointTerminated that followed ended the Dial as "node lost … its
// endpoint terminated (connection lost)" (TestRemoteSlowSubscriber in a
// clean-clone CI, on a port the kernel handed out again). A Dial now says
// hello again through the next writer when the node still accepts
// connections, and the client works.
func TestRemoteDialANodeOnTheAddressOfOneThatDied(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	old := startNode(t, "old", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, old.addr)
	if err != nil {
		t.Fatal(err)
	}
	old.kill()
	_ = old.wait(t, 20*time.Second)
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the client did not notice its node's death")
	}
	if !errors.Is(c.Err(), exo.ErrNodeLost) {
		t.Fatalf("client of the dead node: %v, want ErrNodeLost", c.Err())
	}
	c.Close() // unwatches the gateway: a writer to the dead address, failing for 2 s
	node := startNode(t, "new", cfg, "--listen", old.addr)
	if node.addr != old.addr {
		t.Fatalf("the new node listens on %s, want %s", node.addr, old.addr)
	}
	c2, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatalf("dial of the new node on the dead one's address: %v", err)
	}
	defer c2.Close()
	t.Logf("losses of the node's endpoint during the dial: %d", c2.DialLossesForTest())
	id, err := c2.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatalf("spawn on the new node: %v", err)
	}
	if _, err := c2.StopRunner(ctx, id); err != nil {
		t.Fatal(err)
	}
}
