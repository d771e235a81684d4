package runtime_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteConcurrentLargeSubmits: several Submits near the message limit
// at once, each within the limit, all reach the node.
func TestRemoteConcurrentLargeSubmits(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	node := startNode(t, "large-submits", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := exo.Dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 3<<20)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Submit(ctx, id, exo.Task{ID: fmt.Sprint("big-", i), Kind: "noop", Payload: payload})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("submit %d: %v", i, err)
		}
	}
}

// TestRemoteBlastOfLargeItems: a Blast whose items are large is either
// served whole or refused, never a lost node.
func TestRemoteBlastOfLargeItems(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	node := startNode(t, "large-blast", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := exo.Dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Blast(ctx, 2000, 64<<10)
	if err != nil && !errors.Is(err, exo.ErrInvalidRequest) || err == nil && got != 2000 {
		t.Fatalf("blast of 2000 items of 64 KiB: %d arrived, %v; want all of them, or ErrInvalidRequest", got, err)
	}
	if err := c.Echo(ctx); err != nil {
		t.Fatalf("after the blast: %v", err)
	}
}
