package runtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestDialClusterFrozenEtcdEndsWithItsCtx: a DialCluster whose etcd
// accepts connections and answers nothing (frozen, SIGSTOP: the kernel
// still accepts) returns when its ctx ends. Each read of the membership
// made a new etcd client and gave its Status call EtcdDialTimeout (2 s),
// then looked at the endpoint for 1 s more, whatever the ctx: the dial
// returned after 3 s for a ctx of 300 ms, and a ClusterClient's poller
// (reads bounded by 500 ms) and Close were held as long.
func TestDialClusterFrozenEtcdEndsWithItsCtx(t *testing.T) {
	frozen := testutil.AcceptAndHold(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "c", Provider: "etcd", EtcdEndpoints: []string{frozen}})
	took := time.Since(start)
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster succeeded against a frozen etcd")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DialCluster: %v; want an error wrapping its ctx's", err)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("DialCluster with a ctx of 300ms returned after %s: %v", took.Round(time.Millisecond), err)
	}
	t.Logf("took %s: %v", took.Round(time.Millisecond), err)
}
