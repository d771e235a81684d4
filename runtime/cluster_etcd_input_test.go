package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestDialClusterEtcdEndpointThatIsNotEtcd: a DialCluster whose etcd
// endpoint is a gRPC server that is not etcd (a node's gateway) fails
// before its ctx ends, since waiting changes nothing, and names the Go
// setting to fix, not a flag (a new user's trial: it waited the whole
// ctx, and said "fix --etcd-endpoints" to a Go host).
func TestDialClusterEtcdEndpointThatIsNotEtcd(t *testing.T) {
	gw := testutil.ServeGRPC(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "c", Provider: "etcd", EtcdEndpoints: []string{gw}})
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster succeeded against a gRPC server that is not etcd")
	}
	if ctx.Err() != nil || !errors.Is(err, membership.ErrNotEtcd) {
		t.Errorf("DialCluster: %v (ctx %v); want ErrNotEtcd before the ctx ended", err, ctx.Err())
	}
	if !strings.Contains(err.Error(), "speaks gRPC but is not etcd") || !strings.HasSuffix(err.Error(), "fix ClusterConfig.EtcdEndpoints") ||
		strings.Contains(err.Error(), "--etcd-endpoints") {
		t.Errorf("DialCluster: %v\nwant it to say what answers and to name ClusterConfig.EtcdEndpoints, no flag", err)
	}
}

// TestDialClusterEtcdWrongName: a DialCluster of a cluster that etcd holds
// no member of waits for members (nodes may be starting) and, when its ctx
// ends, says that etcd answered, where it looked, and which clusters etcd
// holds instead. Before, the read cut short by the ctx's end was the
// error: "read members of cluster wrong from etcd at …: context deadline
// exceeded", which blamed an etcd that had answered every read (a new
// user's trial).
func TestDialClusterEtcdWrongName(t *testing.T) {
	endpoint := startTestEtcd(t, etcdTestBinary(t))
	testutil.EtcdPut(t, endpoint, "/exo-actors/trial/trial@x")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "wrong", Provider: "etcd", EtcdEndpoints: []string{endpoint}})
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster succeeded with no member of its cluster")
	}
	want := "dial cluster wrong: etcd at " + endpoint + ` answered, and no member of cluster wrong is registered under /exo-actors/wrong/; etcd holds cluster "trial" (1 member) under the same base key: set ClusterConfig.Cluster to the nodes' --cluster; the dial's ctx ended (context deadline exceeded)`
	if err.Error() != want {
		t.Errorf("DialCluster:\n%v\nwant\n%s", err, want)
	}
	// Nothing under the base key at all: said too.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel2()
	cc, err = exo.DialCluster(ctx2, exo.ClusterConfig{Cluster: "wrong", Provider: "etcd", EtcdEndpoints: []string{endpoint}, EtcdBaseKey: "/empty"})
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster succeeded with no member of its cluster")
	}
	if want := "no member of cluster wrong is registered under /empty/wrong/, nor any other cluster under /empty/: start the nodes with --cluster wrong --cluster-provider etcd, or check ClusterConfig.Cluster and ClusterConfig.EtcdBaseKey"; !strings.Contains(err.Error(), want) {
		t.Errorf("DialCluster with an empty base key:\n%v\nwant it to say %q", err, want)
	}
}
