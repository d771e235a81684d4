package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// Node names in a cluster must be unique: cluster status, the logs and the
// shutdown reports tell nodes apart by name. Nothing stops a second node
// from joining under a name a live member has (a check before the join
// would race with a node joining at the same moment, and would refuse a
// node restarted after kill -9 while its old entry is still listed), so
// duplicates are reported instead: `cluster status` prints a warning per
// duplicated name, and a node logs a warning when its view holds another
// member with its own name (docs/cluster.md).

// duplicateNames returns, per node name that more than one member has,
// those members; names sorted.
func duplicateNames(members []membership.Member) [][]membership.Member {
	by := map[string][]membership.Member{}
	for _, m := range members {
		if m.NodeName != "" {
			by[m.NodeName] = append(by[m.NodeName], m)
		}
	}
	var names []string
	for n, ms := range by {
		if len(ms) > 1 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([][]membership.Member, 0, len(names))
	for _, n := range names {
		out = append(out, by[n])
	}
	return out
}

// memberWhere says where a member is: its ID, gateway and cluster address.
func memberWhere(m membership.Member) string {
	gw := m.Gateway
	if gw == "" {
		gw = "-"
	}
	return fmt.Sprintf("member %s at gateway %s (cluster address %s)", m.ID, gw, m.Address)
}

// printDuplicateNames writes one warning line per duplicated node name.
func printDuplicateNames(w io.Writer, members []membership.Member) {
	for _, ms := range duplicateNames(members) {
		where := make([]string, len(ms))
		for i, m := range ms {
			where[i] = memberWhere(m)
		}
		if sameAddresses(ms) {
			// One node restarted on its addresses (after kill -9): the
			// older entry is its previous run, not a second node; "stop
			// all but one" would stop the only one (a rolling-restart
			// trial with etcd saw it for 2.2 s).
			fmt.Fprintf(w, "WARNING: %d members have the node name %q, all at gateway %s (cluster address %s): %s; the same node restarted: the older entry is its previous run (killed), which drops out once the cluster notices (etcd: its lease expires; automanaged: the peers' poll); if it stays, two processes share these addresses\n",
				len(ms), ms[0].NodeName, ms[0].Gateway, ms[0].Address, memberIDs(ms))
			continue
		}
		fmt.Fprintf(w, "WARNING: %d members have the node name %q: %s; names must be unique: stop all but one and start the others with another --name\n",
			len(ms), ms[0].NodeName, strings.Join(where, ", "))
	}
}

// sameAddresses says whether every member of ms has one gateway (known)
// and one cluster address.
func sameAddresses(ms []membership.Member) bool {
	for _, m := range ms {
		if m.Gateway == "" || m.Gateway != ms[0].Gateway || m.Address != ms[0].Address {
			return false
		}
	}
	return true
}

// memberIDs lists ms's member IDs: "members A1 and A2".
func memberIDs(ms []membership.Member) string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	if len(ids) == 2 {
		return "members " + ids[0] + " and " + ids[1]
	}
	return "members " + strings.Join(ids, ", ")
}

// sameNameMembers returns the members of v other than this one (v.Self)
// that have this node's name.
func sameNameMembers(name string, v membership.View) []membership.Member {
	var out []membership.Member
	for _, m := range v.Members {
		if m.NodeName == name && m.ID != v.Self {
			out = append(out, m)
		}
	}
	return out
}

// duplicateNameWarning is the text a node logs when another live member
// has its name.
func duplicateNameWarning(name string, v membership.View, other membership.Member) string {
	self := "this node"
	if me, ok := v.Member(v.Self); ok {
		self = "this node is " + memberWhere(me)
	}
	return fmt.Sprintf("another member of cluster %s has this node's name %q: %s; %s. Names must be unique: stop one and start it with another --name (if that member is this node's previous run, killed, it drops out once the cluster notices)",
		v.Cluster, name, memberWhere(other), self)
}
