package runtime_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteWindowWithinSmallLimits: a node or a client with a small
// max_message has a small transport limit (2 × max_message + 1 MiB), and
// the node's window of unacknowledged bytes must not let protoactor's
// endpoint writer send a batch above it. With max_message 64 KiB the limit
// is 1.125 MiB; the 4 MiB window let up to 4 MiB of 256 KiB messages
// queue, sent as one gRPC message: the connection broke and the client
// declared the node lost.
func TestRemoteWindowWithinSmallLimits(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		opts        []exo.DialOption
	}{
		{"node", `, "max_message": 65536`, nil},
		// A client's own small limit (exo.WithMaxMessage) is one per
		// process (one Remote): the gateway's TestWelcomeWindowWithinLimits
		// covers GwHello.max_receive.
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, tc.extra)
			node := startNode(t, "small-limit-"+tc.name, cfg)
			ctx := remoteCtx(t, 2*time.Minute)
			c, err := dial(ctx, node.addr, tc.opts...)
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
			const n, size = 400, 64 << 10
			h, err := c.Submit(ctx, id, exo.Task{ID: "small-limit", Kind: "text_generation",
				Params: map[string]string{"max_tokens": fmt.Sprint(n), "token_bytes": fmt.Sprint(size)}})
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for {
				ch, err := h.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("after %d chunks: %v (client: %v)", got, err, c.Err())
				}
				if ch.Error != "" {
					t.Fatalf("chunk %d: error %q (client: %v)", ch.Index, ch.Error, c.Err())
				}
				got++
			}
			o, err := h.Wait(ctx)
			if err != nil || o.Status != exo.TaskComplete || got != n {
				t.Fatalf("task %+v %v, %d chunks read; want Complete with %d (client: %v)", o, err, got, n, c.Err())
			}
		})
	}
}
