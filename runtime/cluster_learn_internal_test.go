package runtime

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// viewServer serves v at /exo/view, as an automanaged member's HTTP port
// does; closed at the end of the test.
func viewServer(t *testing.T, v *membership.View) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/exo/view" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestClusterLearnsPeers: a ClusterClient given one member's HTTP address
// learns the others' from that member's view (View.Peers) and reads the
// membership from them once that member is gone. Before, every read asked
// only the one address given: with that member killed, no read answered,
// and the client could see neither the loss nor the members still up (a
// user's trial gave one seed, as a service lists one).
func TestClusterLearnsPeers(t *testing.T) {
	members := []membership.Member{{ID: "ma", NodeName: "a", Gateway: "127.0.0.1:1"}, {ID: "mb", NodeName: "b", Gateway: "127.0.0.1:2"}}
	vb := &membership.View{Cluster: "c", Self: "mb", Incarnation: 1, State: membership.Joined, Members: members[1:]}
	b := viewServer(t, vb)
	bAddr := strings.TrimPrefix(b.URL, "http://")
	va := &membership.View{Cluster: "c", Self: "ma", Incarnation: 1, State: membership.Joined, Members: members, Peers: []string{bAddr}}
	a := viewServer(t, va)
	aAddr := strings.TrimPrefix(a.URL, "http://")
	vb.Peers = []string{aAddr}

	cc := noteClient(t, 0)
	cc.ctx, cc.http = t.Context(), newReadClient()
	defer cc.closeReads()
	cc.mcfg = membership.Config{Cluster: "c", Provider: membership.ProviderAutomanaged, Peers: []string{aAddr}, GoAPI: true}
	st, err := cc.readStatus(t.Context())
	if err != nil || len(st.Members) != 2 {
		t.Fatalf("first read: %+v, %v; want both members", st.Members, err)
	}
	if got := cc.readPeers(); len(got) != 2 || got[0] != aAddr || got[1] != bAddr {
		t.Fatalf("peers after the first read: %v; want the given one, then the learned %s", got, bAddr)
	}
	a.Close() // the only member given is gone
	st, err = cc.readStatus(t.Context())
	if err != nil || len(st.Members) != 1 || st.Members[0].ID != "mb" {
		t.Fatalf("read with the given member gone: %+v, %v; want b's view, from the learned peer", st.Members, err)
	}
	// b polls a only (a member does not list itself), and it answered:
	// it stays a peer, and the next read still answers.
	if got := cc.readPeers(); len(got) != 2 || got[1] != bAddr {
		t.Errorf("peers after b's answer: %v; want b kept (it answered)", got)
	}
	if st, err = cc.readStatus(t.Context()); err != nil || len(st.Members) != 1 {
		t.Errorf("third read: %+v, %v; want b's view again", st.Members, err)
	}
}
