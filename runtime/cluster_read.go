package runtime

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
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
//
// It is a floor: a peer that missed a read while another peer answered is
// waited for twice its last answer's latency, at least unansweredPeerWait
// (peerWait), so a peer slower than 50 ms on a loaded machine still
// answers; and a read no peer answered (the client itself stalled) marks
// no peer, else every later read would give every peer 50 ms and the
// client could go blind (no member ever lost or joined).
const unansweredPeerWait = 50 * time.Millisecond

// peerWait is the wait readStatus gives a peer that missed the last read
// while another answered: twice its last latency, at least
// unansweredPeerWait.
func peerWait(last time.Duration) time.Duration {
	return max(2*last, unansweredPeerWait)
}

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

// maxLearnedPeers bounds the automanaged peers a ClusterClient learns
// from the views it reads (learnPeers); past it the rest are left out (a
// cluster that large lists its members' addresses in ClusterConfig.Peers).
const maxLearnedPeers = 64

// readPeers are the automanaged peers a read asks: ClusterConfig.Peers,
// then the peers learned from the last read's views that it does not name.
func (cc *ClusterClient) readPeers() []string {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return append(slices.Clip(cc.mcfg.Peers), cc.learned...)
}

// learnPeers keeps, from the views of a read that some peer answered, the
// peers they poll (View.Peers: their --cluster-peers) and the peers that
// answered, those ClusterConfig.Peers does not name, at most
// maxLearnedPeers, sorted. The next reads ask them too, so a client given
// one member's address still reads the view once that member is gone (a
// user's trial: its tasks stayed open and every call "not decided yet"
// until the member came back). Each answered read replaces the list: a
// peer no member polls any longer is dropped.
func (cc *ClusterClient) learnPeers(views []membership.PeerView) {
	known := map[string]bool{}
	for _, p := range cc.mcfg.Peers {
		known[p] = true
	}
	var learned []string
	answered := false
	for _, pv := range views {
		if pv.View == nil || pv.View.Cluster != cc.mcfg.Cluster {
			continue
		}
		answered = true
		// The peer itself too: a member does not list itself in its
		// --cluster-peers, so of two members, the learned one that
		// answered would be dropped by its own answer.
		for _, p := range append([]string{pv.Peer}, pv.View.Peers...) {
			if !known[p] && len(learned) < maxLearnedPeers {
				known[p] = true
				learned = append(learned, p)
			}
		}
	}
	if !answered {
		return // a read nobody of this cluster answered says nothing of the peers
	}
	sort.Strings(learned)
	cc.mu.Lock()
	cc.learned = learned
	cc.mu.Unlock()
}

// readStatus reads the membership as membership.QueryStatus does, one
// query per automanaged peer (ClusterConfig.Peers and the peers learned
// from their views: learnPeers), each bounded by ctx, but a peer that did
// not answer the previous read only by unansweredPeerWait. The members are
// the union of the views of the peers that answered, joined, in this
// cluster.
func (cc *ClusterClient) readStatus(ctx context.Context) (membership.Status, error) {
	if cc.mcfg.Provider == membership.ProviderEtcd {
		return membership.QueryStatusVia(ctx, cc.mcfg, cc.http)
	}
	peers := cc.readPeers()
	if len(peers) < 2 {
		st, err := membership.QueryStatusVia(ctx, cc.mcfg, cc.http)
		cc.learnPeers(st.Peers)
		return st, err
	}
	cc.mu.Lock()
	slow := make(map[string]time.Duration, len(cc.unanswered))
	for p, w := range cc.unanswered {
		slow[p] = w
	}
	// The peers of this read only: learned peers come and go with the
	// members' --cluster-peers, and a latency kept for every peer ever
	// learned grew for the client's life.
	last := make(map[string]time.Duration, len(peers))
	for _, p := range peers {
		if l, ok := cc.latency[p]; ok {
			last[p] = l
		}
	}
	cc.mu.Unlock()
	views := make([]membership.PeerView, len(peers))
	took := make([]time.Duration, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() { // owner: readStatus, which waits
			defer wg.Done()
			pctx := ctx
			if w, ok := slow[p]; ok {
				var cancel context.CancelFunc
				pctx, cancel = context.WithTimeout(ctx, w)
				defer cancel()
			}
			one := cc.mcfg
			one.Peers = []string{p}
			start := time.Now()
			st, err := membership.QueryStatusVia(pctx, one, cc.http)
			took[i] = time.Since(start)
			if len(st.Peers) == 1 {
				// The peer's own view, or its raw error (not the read's
				// whole NoAnswer sentence, which the read of every peer
				// below would nest in its own).
				views[i] = st.Peers[0]
				return
			}
			views[i] = membership.PeerView{Peer: p, Error: fmt.Sprint(err)}
		}()
	}
	wg.Wait()
	cc.learnPeers(views)
	st := membership.Status{Cluster: cc.mcfg.Cluster, Provider: cc.mcfg.Provider, Members: []membership.Member{}, Peers: views, Agree: true}
	var missed []string
	seen := map[string]bool{}
	answered := 0
	for i, pv := range views {
		if pv.View == nil {
			missed = append(missed, pv.Peer)
			continue
		}
		answered++
		last[pv.Peer] = took[i]
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
	if answered > 0 { // a read nobody answered says nothing about any one peer
		unanswered := make(map[string]time.Duration, len(missed)) // at most len(Peers)
		for _, p := range missed {
			unanswered[p] = peerWait(last[p])
		}
		cc.mu.Lock()
		cc.unanswered, cc.latency = unanswered, last // last: at most len(peers) keys
		cc.mu.Unlock()
	}
	if answered == 0 {
		return st, cc.mcfg.NoAnswer(views)
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].ID < st.Members[j].ID })
	return st, nil
}

// newReadClient is the HTTP client of a ClusterClient's membership reads
// of automanaged peers: on its own Transport, so that Close can end its
// keep-alive connections (closeReads). On http.DefaultTransport they were
// the process's: one per peer, two goroutines each, which stayed up to
// 90 s after the last read, and Close could not close them without
// closing the host's own idle connections too.
//
// A host that replaced http.DefaultTransport with another
// RoundTripper gets a plain Transport with the same proxy rule.
func newReadClient() *http.Client {
	tr, ok := http.DefaultTransport.(*http.Transport)
	if ok {
		tr = tr.Clone()
	} else {
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment, IdleConnTimeout: 90 * time.Second}
	}
	// Reads held back until the request is out: a peer that speaks first
	// (a node's gateway given as a peer) would make net/http log an
	// "Unsolicited response" line into the host's output.
	return &http.Client{Timeout: 2 * time.Second, Transport: membership.WriteFirst(tr)}
}

// closeReads closes the idle connections of the membership reads; Close
// calls it once the poller has ended (no read is in flight).
func (cc *ClusterClient) closeReads() {
	if cc.http != nil {
		cc.http.CloseIdleConnections()
	}
}
