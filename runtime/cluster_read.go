package runtime

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// unansweredPeerWait is how long a read of the membership waits for an
// automanaged peer that did not answer the read before (a frozen or dead
// member's own HTTP port). Without it every read waited the full
// readTimeout for a frozen member, so a change of the other peers' views
// reached the client up to two reads (about 1 s) late: a frozen member was
// declared lost 2.6–3.1 s after SIGSTOP against a bound of 2.3 s. A peer
// that answers again is waited for in full from the next read on.
const unansweredPeerWait = 50 * time.Millisecond

// clientDetectionBound is ClusterClient.DetectionBound: the provider's
// bound from a member's death or freeze to the other members' views
// (membership.Config.DetectionBound: automanaged, the members' poll
// interval plus its 2 s HTTP timeout, which is what drops a frozen member;
// etcd, the lease and its expiry), plus one Poll of the client, plus the
// read that sees the change (bounded by readTimeout: a read is short when
// every peer answers at once, but a loaded client or peer takes longer;
// the frozen member's own port takes only unansweredPeerWait once it
// missed a read, within the provider's bound).
func clientDetectionBound(mcfg membership.Config, poll time.Duration) time.Duration {
	return mcfg.DetectionBound() + poll + readTimeout
}

// readStatus reads the membership as membership.QueryStatus does, one
// query per automanaged peer, each bounded by ctx, but a peer that did not
// answer the previous read only by unansweredPeerWait. The members are the
// union of the views of the peers that answered, joined, in this cluster.
func (cc *ClusterClient) readStatus(ctx context.Context) (membership.Status, error) {
	if cc.mcfg.Provider == membership.ProviderEtcd || len(cc.mcfg.Peers) < 2 {
		return membership.QueryStatus(ctx, cc.mcfg)
	}
	cc.mu.Lock()
	slow := make(map[string]bool, len(cc.unanswered))
	for p := range cc.unanswered {
		slow[p] = true
	}
	cc.mu.Unlock()
	peers := cc.mcfg.Peers
	views := make([]membership.PeerView, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() { // owner: readStatus, which waits
			defer wg.Done()
			pctx := ctx
			if slow[p] {
				var cancel context.CancelFunc
				pctx, cancel = context.WithTimeout(ctx, unansweredPeerWait)
				defer cancel()
			}
			one := cc.mcfg
			one.Peers = []string{p}
			st, err := membership.QueryStatus(pctx, one)
			if err != nil || len(st.Peers) != 1 {
				views[i] = membership.PeerView{Peer: p, Error: fmt.Sprint(err)}
				return
			}
			views[i] = st.Peers[0]
		}()
	}
	wg.Wait()
	st := membership.Status{Cluster: cc.mcfg.Cluster, Provider: cc.mcfg.Provider, Members: []membership.Member{}, Peers: views, Agree: true}
	unanswered := map[string]bool{} // at most len(Peers)
	seen := map[string]bool{}
	answered := 0
	for _, pv := range views {
		if pv.View == nil {
			unanswered[pv.Peer] = true
			continue
		}
		answered++
		if pv.View.Cluster != st.Cluster || pv.View.State != membership.Joined {
			st.Agree = false
			continue
		}
		for _, m := range pv.View.Members {
			if !seen[m.ID] {
				seen[m.ID] = true
				st.Members = append(st.Members, m)
			}
		}
	}
	cc.mu.Lock()
	cc.unanswered = unanswered
	cc.mu.Unlock()
	if answered == 0 {
		return st, fmt.Errorf("no member of cluster %s answered at %s: is a member running there?", st.Cluster, strings.Join(peers, ","))
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].ID < st.Members[j].ID })
	return st, nil
}
