package runtime_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteChunkTooLargeFailsOnlyItsTask: a node whose max_message is
// small (32 bytes: a transport limit of 1 MiB + 64 bytes) and a runner
// chunk of 1 MiB, which cannot travel in one gRPC message. The node checks
// a message's size before it sends it: that task ends Failed with a reason
// naming the size and the limit, a subscription that would carry the chunk
// ends with such an error, and the client, its other task and its other
// subscription go on. Before, the node sent the chunk, gRPC refused the
// oversized batch, the connection broke, and every task and subscription
// of the client ended as "node lost".
func TestRemoteChunkTooLargeFailsOnlyItsTask(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "1ms")}, `, "max_message": 32`)
	node := startNode(t, "big-chunk", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	all, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	small, err := c.Subscribe(exo.TopicTasks, exo.Filter{TaskID: "small"}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	big, err := c.Submit(ctx, id, exo.Task{ID: "big", Kind: "text_generation",
		Params: map[string]string{"max_tokens": "2", "token_bytes": "1048576"}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := big.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("big task: %s: %s", o.Status, o.Reason)
	if o.Status != exo.TaskFailed || errors.Is(c.Err(), exo.ErrNodeLost) || !strings.Contains(o.Reason, "bytes") ||
		!strings.Contains(o.Reason, "limit") || strings.Contains(o.Reason, "node lost") {
		t.Fatalf("big task %s %q (client: %v); want Failed with a reason naming the chunk's size and the limit, and the client connected",
			o.Status, o.Reason, c.Err())
	}
	h, err := c.Submit(ctx, id, exo.Task{ID: "small", Kind: "text_generation", Params: map[string]string{"max_tokens": "5"}})
	if err != nil {
		t.Fatalf("submit after the big task: %v (client: %v)", err, c.Err())
	}
	if o, err := h.Wait(ctx); err != nil || o.Status != exo.TaskComplete {
		t.Fatalf("small task %+v %v (client: %v); want Complete", o, err, c.Err())
	}
	for {
		ev, err := small.Next(ctx)
		if err != nil {
			t.Fatalf("the small task's subscription: %v", err)
		}
		if st, ok := ev.Payload.(exo.TaskStatusChanged); ok && st.Status == exo.TaskComplete {
			break
		}
	}
	for {
		_, err := all.Next(ctx)
		if err == nil {
			continue
		}
		t.Logf("the subscription that would carry the chunk: %v", err)
		if errors.Is(err, exo.ErrNodeLost) || !strings.Contains(err.Error(), "bytes") {
			t.Fatalf("the subscription that would carry the chunk ended with %v; want an error naming the event's size and the limit", err)
		}
		break
	}
	if err := c.Err(); err != nil {
		t.Fatalf("client ended: %v", err)
	}
}
