package membership

import (
	"context"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestEtcdStatusNamesTheOtherClusters: a status query (or a DialCluster)
// of a cluster with no member in etcd names the clusters etcd holds under
// the same base key, with their member counts, so that a misspelt name
// (--cluster tria for trial) finds the right one; etcd takes any name and
// cannot refuse it (a new user's trial: "has no members", no hint).
func TestEtcdStatusNamesTheOtherClusters(t *testing.T) {
	endpoint := startEtcd(t, etcdBinary(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The values are not read. A key without a cluster part is no cluster.
	testutil.EtcdPut(t, endpoint, "/exo-actors/trial/trial@a", "/exo-actors/trial/trial@b", "/exo-actors/solo/solo@c", "/exo-actors/stray", "/other-base/x/x@d")
	cfg := Config{Cluster: "tria", Provider: ProviderEtcd, EtcdEndpoints: []string{endpoint}}
	st, err := QueryStatus(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Members) != 0 || len(st.EtcdClusters) != 2 || st.EtcdClusters["trial"] != 2 || st.EtcdClusters["solo"] != 1 {
		t.Fatalf("status of tria: %d members, etcd clusters %v; want none, and trial (2), solo (1)", len(st.Members), st.EtcdClusters)
	}
	want := `etcd holds cluster "solo" (1 member), cluster "trial" (2 members) under the same base key`
	if got := st.DescribeOtherClusters(); got != want {
		t.Errorf("DescribeOtherClusters: %q, want %q", got, want)
	}
	counts, err := EtcdClusters(ctx, Config{Cluster: "solo", Provider: ProviderEtcd, EtcdEndpoints: []string{endpoint}})
	if err != nil || len(counts) != 2 {
		t.Fatalf("EtcdClusters: %v, %v", counts, err)
	}
	if got, want := DescribeEtcdClusters("solo", counts), `cluster "trial" (2 members)`; got != want {
		t.Errorf("DescribeEtcdClusters without solo: %q, want %q", got, want)
	}
	// A base key of "/" or with a trailing slash: the keys are BASE + "/" +
	// CLUSTER + "/" + ID, as protoactor joins them (a review: "/" read the
	// other base keys as clusters, "/exo/" found none).
	testutil.EtcdPut(t, endpoint, "//rootc/rootc@a", "/slash//sc/sc@a")
	for base, want := range map[string]string{"/": "rootc", "/slash/": "sc"} {
		counts, err := EtcdClusters(ctx, Config{Cluster: "none", Provider: ProviderEtcd, EtcdEndpoints: []string{endpoint}, EtcdBaseKey: base})
		if err != nil || len(counts) != 1 || counts[want] != 1 {
			t.Errorf("EtcdClusters under %q: %v, %v; want only %s (1 member)", base, counts, err, want)
		}
	}
	// A cluster that has members says none of this.
	st, err = QueryStatus(ctx, Config{Cluster: "trial", Provider: ProviderEtcd, EtcdEndpoints: []string{endpoint}})
	if err != nil || st.EtcdClusters != nil || st.DescribeOtherClusters() != "" {
		t.Errorf("status of trial: etcd clusters %v, %q, %v; want none named", st.EtcdClusters, st.DescribeOtherClusters(), err)
	}
}
