package runtime

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// TestClusterCloseEndsItsReadConnections: the keep-alive connections of a
// ClusterClient's membership reads end with Close. Before, the reads went
// through http.DefaultTransport: after Close one connection per peer (two
// goroutines each) stayed up to 90 s, the 6 of the 44 goroutines a closed
// client of 3 members left that were not the process's client endpoint
// (docs/operations.md, "Memory of a long-running node").
func TestClusterCloseEndsItsReadConnections(t *testing.T) {
	closed := make(chan struct{}, 16)
	var peers []string
	for i := range 2 {
		v := membership.View{Cluster: "c", Self: "m" + string(rune('a'+i)), Incarnation: 1, State: membership.Joined,
			Members: []membership.Member{{ID: "m" + string(rune('a'+i)), NodeName: string(rune('a' + i))}}}
		body, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}))
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateClosed {
				closed <- struct{}{}
			}
		}
		srv.Start()
		t.Cleanup(srv.Close)
		peers = append(peers, strings.TrimPrefix(srv.URL, "http://"))
	}
	cc := noteClient(t, 0)
	cc.ctx, cc.cancel = context.WithCancel(context.Background())
	cc.http = newReadClient()
	cc.mcfg = membership.Config{Cluster: "c", Provider: membership.ProviderAutomanaged, Peers: peers}
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := cc.readStatus(ctx)
		cancel()
		if err != nil || len(st.Members) != 2 {
			t.Fatalf("read %d: %d members, %v; want 2", i+1, len(st.Members), err)
		}
	}
	cc.Close()
	limit := time.NewTimer(10 * time.Second) // a hang-sized bound: before, they stayed 90 s
	defer limit.Stop()
	for n := 0; n < len(peers); n++ {
		select {
		case <-closed:
		case <-limit.C:
			t.Fatalf("%d of the %d peers' read connections closed within 10 s of Close, want all", n, len(peers))
		}
	}
}
