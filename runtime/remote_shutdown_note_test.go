package runtime_test

import (
	"errors"
	"fmt"
	"os"
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

// TestClientClosedAfterShutdownNoteSaysGoodbye: a client that learnt of
// its node's shutdown (the note) and is closed at once is logged by the
// node as a goodbye, not as a lost client. Before, the client sent its
// goodbye after the note and stopped its actor at once in Close; the
// node's watch of that actor (a system message, handled before the user
// messages in the gateway's mailbox) often overtook the goodbye, and the
// node logged "session ended: the client's session actor terminated …
// lost=true" and counted the client lost (5 runs of 6 by hand,
// `remote shutdown` beside a `remote run`).
func TestClientClosedAfterShutdownNoteSaysGoodbye(t *testing.T) {
	node := startNode(t, "bye-a", writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "2ms")}, ""), "--log-level", "info")
	ctx := remoteCtx(t, time.Minute)
	var clients []*exo.Client
	for range 3 {
		c, err := dial(ctx, node.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		clients = append(clients, c)
	}
	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		select {
		case <-c.Done():
		case <-ctx.Done():
			t.Fatalf("client %d did not end when its node shut down", i)
		}
		if err := c.Err(); !errors.Is(err, exo.ErrShuttingDown) {
			t.Fatalf("client %d: Err %v, want it to wrap ErrShuttingDown", i, err)
		}
		c.Close()
	}
	if err := node.wait(t, 30*time.Second); err != nil {
		t.Errorf("node: %v", err)
	}
	b, err := os.ReadFile(node.out.Name())
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if n := strings.Count(log, "session ended: the client said goodbye"); n != len(clients) || strings.Contains(log, "lost=true") {
		t.Errorf("the node logged %d goodbyes (want %d) and these lost sessions:\n%s", n, len(clients), grepLines(log, "lost=true"))
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, strings.TrimRight(l, "\n"))
		}
	}
	return strings.Join(out, "\n")
}
