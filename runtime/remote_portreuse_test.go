package runtime_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteDialANodeOnTheAddressOfOneThatDied: a node started on the
// address of one that died is dialed, also while this process's endpoint
// writer to that address still fails its connect to the dead node
// (protoactor's writer sleeps 2 s after its failed attempt, then publishes
// EndpointTerminated for the address). The Dial's hello went into that
// writer and was dropped with it, and the EndpointTerminated that followed
// ended the Dial as "node lost … its endpoint terminated (connection
// lost)" (TestRemoteSlowSubscriber in a clean-clone CI, on a port the
// kernel handed out again).
//
// Two ways in: the Close of a client of the dead node, whose actor's stop
// sent the gateway that watched it a Terminated, which started such a
// writer (no longer: the client drops that watch when its node's endpoint
// ended); and any other message to the dead address (here a ping, as a
// heartbeat in flight is), after which a Dial says hello again through the
// next writer.
func TestRemoteDialANodeOnTheAddressOfOneThatDied(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	old := startNode(t, "old", cfg)
	ctx := remoteCtx(t, 2*time.Minute)
	addr := old.addr
	// No heartbeat in the test's time: a ping sent between the kill and
	// the client's noticing it would start a writer to the dead address
	// of its own, which the first dial below must not meet.
	c, err := exo.Dial(ctx, addr, exo.WithHeartbeat(time.Minute, 2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// killed kills the node n that c is connected to and closes c once it
	// noticed.
	killed := func(n *nodeProc, c *exo.Client) {
		t.Helper()
		n.kill()
		_ = n.wait(t, 20*time.Second)
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatal("the client did not notice its node's death")
		}
		if !errors.Is(c.Err(), exo.ErrNodeLost) {
			t.Fatalf("client of the dead node: %v, want ErrNodeLost", c.Err())
		}
		c.Close()
	}
	// works checks a client of the node on addr.
	works := func(c *exo.Client) {
		t.Helper()
		id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
		if err != nil {
			t.Fatalf("spawn on the new node: %v", err)
		}
		if _, err := c.StopRunner(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	killed(old, c)
	node := startNode(t, "new", cfg, "--listen", addr)
	c, err = dial(ctx, addr)
	if err != nil {
		t.Fatalf("dial of the new node on the dead one's address, after a Close: %v", err)
	}
	if n := c.DialLossesForTest(); n != 0 {
		t.Errorf("after a Close of the dead node's client, the dial met %d losses of the endpoint: the Close sent the dead address something", n)
	}
	works(c)
	// A writer to the dead address, made on purpose: the dial must meet it
	// (the new node starts within its 2 s) and say hello again. A node
	// slower to start than that meets none: tried again, at most 3 times.
	for attempt := 1; ; attempt++ {
		killed(node, c)
		holder, err := dial(ctx, testNodeAddrOf(t, cfg)) // holds the process's endpoint while no client of addr is open
		if err != nil {
			t.Fatal(err)
		}
		holder.PokeGatewayForTest(addr)
		node = startNode(t, fmt.Sprintf("new%d", attempt), cfg, "--listen", addr)
		c, err = dial(ctx, addr)
		holder.Close()
		if err != nil {
			t.Fatalf("dial of the new node while a writer to the dead one fails: %v", err)
		}
		works(c)
		if n := c.DialLossesForTest(); n > 0 {
			t.Logf("attempt %d: the dial met the dying writer (%d losses) and said hello again", attempt, n)
			break
		}
		if attempt == 3 {
			t.Fatalf("3 attempts, and no dial met the writer to the dead address: each new node took longer than its 2 s to start?")
		}
	}
	c.Close()
}

// testNodeAddrOf starts a node of its own (another address) and returns
// its address.
func testNodeAddrOf(t *testing.T, cfg string) string {
	t.Helper()
	return startNode(t, "holder", cfg).addr
}
