package membership

import (
	"context"
	"fmt"
	"sort"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdClusterKeysLimit bounds the keys etcdClusters reads: a status query
// or a dial that found no member reads the names of the clusters beside
// it, not an etcd of any size.
const etcdClusterKeysLimit = 1000

// etcdClusters returns the clusters registered in etcd under cfg's base key
// (protoactor's provider keys members as BASE/CLUSTER/ID), as name →
// member count, reading at most etcdClusterKeysLimit keys (without their
// values). A cluster that has no member has no key, so it is not listed.
func etcdClusters(ctx context.Context, cli *clientv3.Client, cfg Config) (map[string]int, error) {
	prefix := cfg.EtcdBaseKey + "/" // as protoactor's provider joins its keys, and etcdMembers reads them
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(), clientv3.WithLimit(etcdClusterKeysLimit))
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, kv := range resp.Kvs {
		name, _, ok := strings.Cut(strings.TrimPrefix(string(kv.Key), prefix), "/")
		if ok && name != "" {
			out[name]++
		}
	}
	return out, nil
}

// EtcdClusters is etcdClusters through a client of its own: the clusters
// registered in etcd under cfg's base key, as name → member count. A node
// that joined a cluster as its only member uses it to warn when others
// exist (a misspelt --cluster: etcd takes any name and cannot tell).
func EtcdClusters(ctx context.Context, cfg Config) (map[string]int, error) {
	cfg, err := queryConfig(cfg)
	if err != nil {
		return nil, err
	}
	cli, err := checkEtcdCtx(ctx, cfg, false)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	return etcdClusters(ctx, cli, cfg)
}

// DescribeEtcdClusters says which clusters other than cluster etcd holds,
// from counts as EtcdClusters returns them: `cluster "trial" (3 members)`,
// sorted by name; "" when there is none.
func DescribeEtcdClusters(cluster string, counts map[string]int) string {
	var names []string
	for n := range counts {
		if n != cluster {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		unit := "members"
		if counts[n] == 1 {
			unit = "member"
		}
		parts = append(parts, fmt.Sprintf("cluster %q (%d %s)", n, counts[n], unit))
	}
	return strings.Join(parts, ", ")
}
