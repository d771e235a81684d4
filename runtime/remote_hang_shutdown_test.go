package runtime_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteShutdownWithAHungRunner: a node shut down (ShutdownNode) while
// a runner hangs mid-task (it stops reading, writing and heartbeating, even
// through SIGTERM): the task ends once, and its terminal status is on the
// client's subscription to the node's tasks topic, before the stream's end.
// exo-actors chaos saw it missing (seed 20261203: "runner hangs: no
// heartbeat for 6.015s … no terminal status on node node-42's tasks
// stream").
func TestRemoteShutdownWithAHungRunner(t *testing.T) {
	node, c, ctx := dialNode(t, "hung-shutdown", map[string]string{"slow": fmt.Sprintf(echoKind, "20ms")}, 2*time.Minute)
	sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: 8192})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Submit(ctx, id, exo.Task{ID: "hangs", Kind: "text_generation", Params: map[string]string{"max_tokens": "1000"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	infos, err := c.Runners(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("runners: %v %v", infos, err)
	}
	// Frozen whole, as exo-actors chaos's runner-hang does.
	if err := syscall.Kill(infos[0].Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// A second ShutdownNode during the first, as exo-actors chaos does.
	second := make(chan error, 1)
	go func() { // owned: waited below
		time.Sleep(100 * time.Millisecond) // the driver's own pace, not a wait for an event
		_, err := c.ShutdownNode(ctx)
		second <- err
	}()
	rep, err := c.ShutdownNode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("shutdown report:\n%s", rep.Text)
	t.Logf("second ShutdownNode: %v", <-second)
	c.Close()
	terminal := 0
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			break
		}
		if st, ok := ev.Payload.(exo.TaskStatusChanged); ok && st.TaskID == "hangs" && st.Status.Terminal() {
			terminal++
		}
	}
	o := h.Outcome()
	if terminal != 1 || o == nil {
		t.Errorf("task: outcome %+v, %d terminal statuses on the tasks stream; want an outcome and 1", o, terminal)
	}
	_ = node.wait(t, 60*time.Second)
}
