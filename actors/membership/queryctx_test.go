package membership

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestQueryStatusEtcdHonoursCtx: a status read of an etcd that accepts and
// answers nothing (frozen) returns when the caller's ctx ends, not after
// EtcdDialTimeout and the look at what answers there: ClusterClient's
// poller reads with a 500 ms bound (readTimeout), and its Close and
// DialCluster's ctx wait for the read.
func TestQueryStatusEtcdHonoursCtx(t *testing.T) {
	frozen := testutil.AcceptAndHold(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := QueryStatus(ctx, Config{Cluster: "c", Provider: ProviderEtcd, EtcdEndpoints: []string{frozen}})
	took := time.Since(start)
	if err == nil {
		t.Fatal("QueryStatus of a frozen etcd succeeded")
	}
	if took > time.Second {
		t.Errorf("QueryStatus took %s with a ctx of 200ms (err %v); want it back soon after its ctx ended", took.Round(time.Millisecond), err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrEtcdUnreachable) {
		t.Errorf("QueryStatus: %v; want an error wrapping the ctx's and ErrEtcdUnreachable (the CLI's exit 1)", err)
	}
}
