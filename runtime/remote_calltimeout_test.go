package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteSubscribeTimeoutLeavesNoRelay: a Subscribe that timed out on
// the client (the node answered after the call timeout) must not leave the
// subscription open on the node. Before, the client forgot the call but
// the node kept the relay (and the stream's subscriber) for the whole
// session: every timed-out Subscribe took one of the session's 64
// subscriptions for good, until the client could subscribe no more.
func TestRemoteSubscribeTimeoutLeavesNoRelay(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	node := startNode(t, "sub-timeout", cfg)
	ctx := remoteCtx(t, time.Minute)
	// Calls without a deadline of their own (Subscribe's) time out at
	// once: the node serves each, the client has stopped waiting.
	c, err := exo.Dial(ctx, node.addr, exo.WithCallTimeout(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	timedOut := 0
	for range 8 {
		sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{})
		switch {
		case err == nil:
			sub.Close() // the answer won the race: closed the usual way
		case errors.Is(err, context.DeadlineExceeded):
			timedOut++
		default:
			t.Fatal(err)
		}
	}
	if timedOut == 0 {
		t.Fatal("no Subscribe timed out: the test proves nothing")
	}
	// The node counts a relay until it stopped: ask until it has none
	// (NodeStatus carries its own deadline, so the 1ns default does not
	// apply).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		st, err := c.NodeStatus(ctx)
		if err != nil {
			t.Fatalf("node status: %v", err)
		}
		if st.Subscriptions == 0 {
			break
		}
		select {
		case <-deadline.C:
			t.Fatalf("node %s still holds %d subscriptions 10s after %d Subscribe calls timed out on the client: nothing ends them but the session's end", st.Name, st.Subscriptions, timedOut)
		case <-tick.C:
		}
	}
}

// TestRemoteBlastTimeoutLeavesNoCount: the items of a Blast that timed out
// on the client still arrive; the client must not start counting them
// again (one map entry per timed-out Blast, kept for the Client's life:
// state that grew with what the node sent).
func TestRemoteBlastTimeoutLeavesNoCount(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	node := startNode(t, "blast-timeout", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	expired, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	if _, err := c.Blast(expired, 100, 16); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blast with an expired context: %v, want a timeout", err)
	}
	// A second Blast waits for its own items; most often the first one's
	// arrived before (it started first). Whenever they come, the client
	// keeps no count for a call it gave up.
	if got, err := c.Blast(ctx, 100, 16); err != nil || got != 100 {
		t.Fatalf("blast: %d of 100 arrived: %v", got, err)
	}
	if n := c.BlastCountsForTest(); n != 0 {
		t.Fatalf("the client keeps %d blast counts after both Blast calls returned: the timed-out one's items made a new entry", n)
	}
}

// TestRemoteLostClientStopsItsHeartbeat: a Client whose node is lost stops
// its heartbeat goroutine at once, Close or not. Before, it ticked (every
// 250 ms, for nothing) until Close: a host that dials again after each loss
// without closing the lost Client piled one up per loss.
func TestRemoteLostClientStopsItsHeartbeat(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	node := startNode(t, "lost-beat", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tick := time.NewTicker(20 * time.Millisecond) // nothing announces a goroutine's start or end: look again
	defer tick.Stop()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for heartbeats() == 0 { // started by Dial; it may not have run yet
		select {
		case <-deadline.C:
			t.Fatal("no heartbeat goroutine found with a Client open: does heartbeats() look for the right name?")
		case <-tick.C:
		}
	}
	node.kill()
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the client did not notice the kill")
	}
	deadline.Reset(10 * time.Second)
	for heartbeats() != 0 {
		select {
		case <-deadline.C:
			t.Fatalf("the lost client's heartbeat goroutine still runs 10s after it was lost (%v), before Close", c.Err())
		case <-tick.C:
		}
	}
}

// heartbeats counts the goroutines running a Client's heartbeat.
func heartbeats() int {
	var b strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2) // one stack per goroutine
	return strings.Count(b.String(), "runtime.(*Client).heartbeat(")
}
