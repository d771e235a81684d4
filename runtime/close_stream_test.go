package runtime_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// closeMidStream reads h while closeClient runs, and checks that a Close while the
// task streams ends it the documented way (TaskHandle.Next): an error chunk
// whose text begins with ErrClientClosed's, then io.EOF, and the outcome
// Failed with that reason. The trial that reported "plain io.EOF" read
// with host-guide's loop, which did not look at Chunk.Error.
func closeMidStream(t *testing.T, ctx context.Context, h *exo.TaskHandle, closeClient func() error) {
	t.Helper()
	if _, err := h.Next(ctx); err != nil { // streaming
		t.Fatal(err)
	}
	ended := make(chan error, 1) // the reader's verdict; capacity 1, one send
	go func() {
		for {
			c, err := h.Next(ctx)
			if err != nil {
				ended <- fmt.Errorf("Next returned %v before any error chunk", err)
				return
			}
			if c.Error == "" {
				continue
			}
			if !strings.HasPrefix(c.Error, exo.ErrClientClosed.Error()+": ") {
				ended <- fmt.Errorf("error chunk %q, want it to begin %q", c.Error, exo.ErrClientClosed.Error()+": ")
				return
			}
			if _, err := h.Next(ctx); err != io.EOF {
				ended <- fmt.Errorf("after the error chunk Next returned %v, want io.EOF", err)
				return
			}
			ended <- nil
			return
		}
	}()
	if err := closeClient(); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; err != nil {
		t.Error(err)
	}
	o, err := h.Wait(ctx)
	if err != nil || o.Status != exo.TaskFailed || !strings.HasPrefix(o.Reason, exo.ErrClientClosed.Error()+": ") {
		t.Errorf("outcome %+v, %v; want Failed, its reason beginning %q", o, err, exo.ErrClientClosed.Error()+": ")
	}
}

// TestClientCloseEndsStreamsWithAnErrorChunk: Client.Close while a task
// streams.
func TestClientCloseEndsStreamsWithAnErrorChunk(t *testing.T) {
	_, c, ctx := dialNode(t, "close-stream", map[string]string{"echo": fmt.Sprintf(echoKind, "20ms")}, time.Minute)
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Submit(ctx, id, exo.Task{ID: "long", Kind: "text_generation", Params: map[string]string{"max_tokens": "100000"}})
	if err != nil {
		t.Fatal(err)
	}
	closeMidStream(t, ctx, h, c.Close)
}

// TestClusterCloseEndsStreamsWithAnErrorChunk: ClusterClient.Close while
// a task streams, as Client.Close.
func TestClusterCloseEndsStreamsWithAnErrorChunk(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 5 s)")
	}
	peers, _ := apiCluster(t, "close-stream", "close-a")
	cc, _ := dialAPICluster(t, exo.ClusterConfig{Cluster: "close-stream", Peers: peers}, 1)
	ctx := remoteCtx(t, time.Minute)
	id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := cc.Submit(ctx, id, exo.Task{ID: "long", Kind: "text_generation", Params: map[string]string{"max_tokens": "100000"}, Retryable: true})
	if err != nil {
		t.Fatal(err)
	}
	closeMidStream(t, ctx, h, cc.Close)
}
