//go:build !race

package membership

// This test runs a cluster member in the test process. It is built without
// -race only: protoactor's Remote.Start writes grpc's process-wide logger
// (grpclog.SetLoggerV2) on every join, unsynchronized with the etcd clients'
// grpc goroutines that read it, and the race detector reports that
// (docs/traps.md). Run it with
// `go test -count=1 -run TestEtcdRejoinEndsEveryGoroutine ./actors/membership/`;
// `make test` (and so CI) runs it that way after the -race run.

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"
)

// TestEtcdRejoinEndsEveryGoroutine runs a member in this process, revokes its
// lease twice (as etcd does when a lease expires: the key goes), and checks
// that each rejoin leaves one key, that the revoked incarnation's key does
// not come back, and that once the member stopped nothing it or its old
// incarnations started still runs (protoactor's etcd provider left a
// keepalive, a role loop and an etcd client per incarnation).
func TestEtcdRejoinEndsEveryGoroutine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd (about 5 s)")
	}
	endpoint := startEtcd(t, etcdBinary(t))
	cli, err := checkEtcd(Config{EtcdEndpoints: []string{endpoint}, EtcdDialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	before := goleak.IgnoreCurrent()

	host := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(time.Second),
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	const cluster = "inproc"
	m, err := Start(host, Config{Cluster: cluster, NodeName: "n", Provider: ProviderEtcd, EtcdEndpoints: []string{endpoint},
		Host: "127.0.0.1"})
	if err != nil {
		host.Shutdown()
		t.Fatal(err)
	}
	joined := func(incarnation int) View {
		t.Helper()
		poll(t, wait, func() bool { v := m.View(); return v.State == Joined && v.Incarnation == incarnation },
			func() string { return fmt.Sprintf("no Joined view of incarnation %d: %+v", incarnation, m.View()) })
		return m.View()
	}
	v := joined(1)
	for inc := 2; inc <= 3; inc++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := cli.Get(ctx, DefaultEtcdBaseKey+"/"+cluster+"/"+v.Self)
		if err == nil && len(resp.Kvs) == 1 {
			_, err = cli.Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease))
		}
		cancel()
		if err != nil {
			t.Fatalf("revoke the lease of %s: %v (keys %v)", v.Self, err, etcdMemberKeys(t, cli, cluster))
		}
		old := v.Self
		v = joined(inc)
		if v.Self == old {
			t.Fatalf("incarnation %d kept the member ID %s", inc, old)
		}
		var got []string
		poll(t, 10*time.Second, func() bool {
			got = etcdMemberKeys(t, cli, cluster)
			return slices.Equal(got, []string{v.Self})
		}, func() string { return fmt.Sprintf("incarnation %d: etcd holds %v, want only %s", inc, got, v.Self) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	host.Shutdown()
	if keys := etcdMemberKeys(t, cli, cluster); len(keys) != 0 {
		t.Errorf("after Stop etcd still holds %v", keys)
	}
	// The test's own client closes first: its gRPC connection may have been
	// made again after the snapshot (a clean-clone CI saw a loopyWriter of
	// a transport that goroutine of the client's started after it), and
	// only the member's goroutines are under test.
	cli.Close()
	goleak.VerifyNone(t, append(throttleGoroutines(), before)...)
}
