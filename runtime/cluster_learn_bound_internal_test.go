package runtime

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// TestClusterReadMapsKeepOnlyTheReadsPeers: the per-peer latencies a
// ClusterClient keeps for its reads (cc.latency) hold the peers a read
// asks, not every peer ever learned: a member's --cluster-peers that
// change over the cluster's life (nodes replaced on new addresses) must
// not grow the map for the client's life. The seed's view names one
// other peer at a time, a new one each read, and the one before is gone.
func TestClusterReadMapsKeepOnlyTheReadsPeers(t *testing.T) {
	const rounds = 6
	var others []string
	var servers []*httptest.Server
	for range rounds {
		s := viewServer(t, &membership.View{Cluster: "c", Self: "mx", Incarnation: 1, State: membership.Joined})
		servers = append(servers, s)
		others = append(others, strings.TrimPrefix(s.URL, "http://"))
	}
	var mu sync.Mutex
	next := 0
	seed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := &membership.View{Cluster: "c", Self: "ma", Incarnation: 1, State: membership.Joined, Peers: []string{others[next]}}
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(seed.Close)

	cc := noteClient(t, 0)
	cc.ctx, cc.http = t.Context(), newReadClient()
	defer cc.closeReads()
	cc.mcfg = membership.Config{Cluster: "c", Provider: membership.ProviderAutomanaged, Peers: []string{strings.TrimPrefix(seed.URL, "http://")}, GoAPI: true}
	for i := range rounds {
		mu.Lock()
		next = i
		mu.Unlock()
		if _, err := cc.readStatus(t.Context()); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if i > 0 {
			servers[i-1].Close() // replaced: the seed names the next one
		}
	}
	cc.mu.Lock()
	n, m := len(cc.latency), len(cc.unanswered)
	cc.mu.Unlock()
	if peers := len(cc.readPeers()); n > peers+1 || m > peers+1 { // the last read asked one more than the next will
		t.Errorf("after %d reads with a new peer each: %d latencies, %d unanswered kept; want at most the %d peers a read asks (and the one dropped since)", rounds, n, m, peers)
	}
}
