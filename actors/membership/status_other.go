package membership

import (
	"fmt"
	"sort"
	"strings"
)

// OtherClusters returns the automanaged peers that answered a status query
// from another cluster than st.Cluster (the name given with --cluster, or
// ClusterConfig.Cluster), as cluster name → peers, each list sorted. A
// peer in another cluster is a node started with another --cluster: it
// never joins this one.
func (st Status) OtherClusters() map[string][]string {
	out := map[string][]string{}
	for _, pv := range st.Peers {
		if pv.View != nil && pv.View.Cluster != st.Cluster {
			out[pv.View.Cluster] = append(out[pv.View.Cluster], pv.Peer)
		}
	}
	for _, ps := range out {
		sort.Strings(ps)
	}
	return out
}

// AllInOtherClusters reports whether every peer answered, and each from
// another cluster than st.Cluster: then nobody at those addresses is a
// member of st.Cluster, and waiting changes nothing.
func (st Status) AllInOtherClusters() bool {
	if len(st.Peers) == 0 {
		return false
	}
	for _, pv := range st.Peers {
		if pv.View == nil || pv.View.Cluster == st.Cluster {
			return false
		}
	}
	return true
}

// DescribeOtherClusters says which peers are in which other cluster, e.g.
// `127.0.0.1:7201, 127.0.0.1:7202 are in cluster "demo"`; "" when none is.
//
// With etcd it names the clusters etcd holds beside st.Cluster
// (Status.EtcdClusters): `etcd holds cluster "trial" (3 members) under
// the same base key`.
func (st Status) DescribeOtherClusters() string {
	if st.Provider == ProviderEtcd {
		if d := DescribeEtcdClusters(st.Cluster, st.EtcdClusters); d != "" {
			return "etcd holds " + d + " under the same base key"
		}
		return ""
	}
	other := st.OtherClusters()
	names := make([]string, 0, len(other))
	for n := range other {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		verb := "is"
		if len(other[n]) > 1 {
			verb = "are"
		}
		parts = append(parts, fmt.Sprintf("%s %s in cluster %q", strings.Join(other[n], ", "), verb, n))
	}
	return strings.Join(parts, "; ")
}
