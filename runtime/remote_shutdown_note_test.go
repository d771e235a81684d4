package runtime_test

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteNodeShutDownSaysSo: a node shut down by SIGTERM while a
// client's task runs lets the task drain, and its client gets the task's
// outcome, then learns that the node shut down: Err wraps ErrNodeLost and
// ErrShuttingDown and says "shut down", and a StopRunner of the runner
// the shutdown stopped returns that error. Before, the client only saw
// "node lost: … its gateway terminated (Stopped)", and `remote run`'s
// cleanup failed on it ("cannot clean up … there") although the node's
// own shutdown had stopped the runner (trial-rust, run6).
func TestRemoteNodeShutDownSaysSo(t *testing.T) {
	node, c, ctx := dialNode(t, "shut-a", map[string]string{"echo": fmt.Sprintf(echoKind, "2ms")}, time.Minute)
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Submit(ctx, id, exo.Task{ID: "t", Kind: "text_generation", Params: map[string]string{"max_tokens": "300"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	o, err := h.Wait(ctx)
	if err != nil || o.Status != exo.TaskComplete {
		t.Errorf("task: %+v %v, want it drained to Complete", o, err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the client did not end when its node shut down")
	}
	err = c.Err()
	want := fmt.Sprintf("node shut-a (%s) shut down: its shutdown stopped every runner it ran", node.addr)
	if !errors.Is(err, exo.ErrNodeLost) || !errors.Is(err, exo.ErrShuttingDown) || err.Error() != want {
		t.Errorf("Err: %v\nwant %q, wrapping ErrNodeLost and ErrShuttingDown", err, want)
	}
	if _, err := c.StopRunner(ctx, id); !errors.Is(err, exo.ErrShuttingDown) || !strings.Contains(err.Error(), "shut down") {
		t.Errorf("StopRunner after the node shut down: %v", err)
	}
	if err := node.wait(t, 30*time.Second); err != nil {
		t.Errorf("node: %v", err)
	}
}
