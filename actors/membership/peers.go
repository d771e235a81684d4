package membership

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// PeerConfig is what an automanaged peer says of its own configuration in
// its /exo/blocked answer: its cluster name and its --cluster-peers (as
// written). Older members leave both empty.
type PeerConfig struct {
	Cluster string
	Peers   []string
}

// PeerMismatch returns a warning when the automanaged peers' answers show a
// configuration this member cannot form a cluster with, or "" when none
// does. cluster, own and peers are this member's --cluster, its own
// host:port and its --cluster-peers; answers are the peers' configs by
// peer address. The signs:
//
//   - a peer answers from another cluster: a node started with another
//     --cluster; the provider ignores it, so it never joins this one;
//   - a peer's --cluster-peers lacks this member: that peer never polls
//     this one, so this member hears no gossip from it while the peer sits
//     in its view, takes that as an eviction and rejoins over and over (and
//     clients fail over the runners placed on it each time);
//   - a peer lists members this one's --cluster-peers lacks: they gossip
//     with members this one never polls, the same loop for them.
//
// Every member needs the same --cluster and the same --cluster-peers.
func PeerMismatch(cluster, own string, peers []string, answers map[string]PeerConfig) string {
	addrs := make([]string, 0, len(answers))
	for p := range answers {
		addrs = append(addrs, p)
	}
	sort.Strings(addrs)
	var other, lacksSelf, extra []string
	for _, p := range addrs {
		a := answers[p]
		switch {
		case a.Cluster == "":
			continue // an older member: says nothing
		case a.Cluster != cluster:
			other = append(other, fmt.Sprintf("%s is in cluster %q", p, a.Cluster))
			continue
		case len(a.Peers) == 0:
			continue
		}
		if !slices.Contains(a.Peers, own) {
			lacksSelf = append(lacksSelf, p)
		}
		for _, q := range a.Peers {
			if !slices.Contains(peers, q) && !slices.Contains(extra, q) {
				extra = append(extra, q)
			}
		}
	}
	var parts []string
	if len(other) > 0 {
		parts = append(parts, fmt.Sprintf("%s, not %q: a node started with another --cluster never joins this one",
			strings.Join(other, ", "), cluster))
	}
	if len(lacksSelf) > 0 {
		parts = append(parts, fmt.Sprintf("the --cluster-peers of %s lack this member's %s: they never poll it, so it hears no gossip from them, is evicted and rejoins over and over",
			strings.Join(lacksSelf, ", "), own))
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		parts = append(parts, fmt.Sprintf("peers list %s, which this member's --cluster-peers lacks", strings.Join(extra, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "members' peer lists disagree: " + strings.Join(parts, "; ") +
		fmt.Sprintf("; give every member the same --cluster and --cluster-peers (this member: --cluster %s --cluster-peers %s)", cluster, strings.Join(peers, ","))
}
