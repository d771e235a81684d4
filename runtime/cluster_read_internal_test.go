package runtime

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// slowPeers starts n automanaged peers whose /exo/view answers after
// delay (a loaded machine), each a joined member of cluster c.
func slowPeers(t *testing.T, n int, delay time.Duration) []string {
	t.Helper()
	var peers []string
	for i := range n {
		v := membership.View{Cluster: "c", Self: "m" + string(rune('a'+i)), Incarnation: 1, State: membership.Joined,
			Members: []membership.Member{{ID: "m" + string(rune('a'+i)), NodeName: string(rune('a' + i))}}}
		body, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tm := time.NewTimer(delay) // the peer's latency, not a wait for an event
			defer tm.Stop()
			select {
			case <-tm.C:
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}))
		t.Cleanup(srv.Close)
		peers = append(peers, strings.TrimPrefix(srv.URL, "http://"))
	}
	return peers
}

// TestClusterReadAfterStalledRead: a read of the membership that no peer
// answered (the client stalled) does not shorten later reads to
// unansweredPeerWait for every peer: peers that answer in 100 ms are read
// again. Before, every later read failed ("no member of cluster c
// answered") and the client went blind.
func TestClusterReadAfterStalledRead(t *testing.T) {
	cc := noteClient(t, 0)
	cc.mcfg = membership.Config{Cluster: "c", Provider: membership.ProviderAutomanaged, Peers: slowPeers(t, 2, 100*time.Millisecond)}
	stalled, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err := cc.readStatus(stalled)
	cancel()
	if err == nil {
		t.Fatal("a read bounded by 20 ms of peers answering in 100 ms succeeded; the test needs it to fail")
	}
	for i := range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*readTimeout)
		st, err := cc.readStatus(ctx)
		cancel()
		if err != nil {
			t.Fatalf("read %d after one stalled read: %v", i+1, err)
		}
		if len(st.Members) != 2 {
			t.Fatalf("read %d: %d members, want 2", i+1, len(st.Members))
		}
	}
}

// TestClusterPeerWait: a peer that missed a read while another answered is
// waited for twice its last latency, at least unansweredPeerWait.
func TestClusterPeerWait(t *testing.T) {
	for _, c := range []struct{ last, want time.Duration }{
		{0, unansweredPeerWait},
		{10 * time.Millisecond, unansweredPeerWait},
		{100 * time.Millisecond, 200 * time.Millisecond},
	} {
		if got := peerWait(c.last); got != c.want {
			t.Errorf("peerWait(%s) = %s, want %s", c.last, got, c.want)
		}
	}
}
