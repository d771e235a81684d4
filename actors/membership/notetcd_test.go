package membership

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEtcdEndpointThatIsNotEtcd: an etcd endpoint where an automanaged
// member's HTTP port answers names that, with the flags to read it (a new
// user's trial gave `cluster status --etcd-endpoints` a member's port and
// got only a timeout); another HTTP server is named as not etcd.
func TestEtcdEndpointThatIsNotEtcd(t *testing.T) {
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/exo/view" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(View{Cluster: "demo", State: Joined})
	}))
	defer member.Close()
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	// An etcd that answers HTTP/1 at /version but not the Status call in
	// time (no quorum, overloaded) is named as etcd, not as "not etcd".
	slowEtcd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}`))
	}))
	defer slowEtcd.Close()
	for _, c := range []struct {
		name, endpoint, want string
	}{
		{"automanaged member", strings.TrimPrefix(member.URL, "http://"),
			"is the HTTP port of a member of the automanaged cluster demo, not etcd: read it with --cluster-provider automanaged --cluster-peers " + strings.TrimPrefix(member.URL, "http://")},
		{"automanaged member, as a URL", member.URL, "of the automanaged cluster demo, not etcd"},
		{"an etcd that does not answer in time", strings.TrimPrefix(slowEtcd.URL, "http://"),
			"etcd 3.4.23 answers at " + strings.TrimPrefix(slowEtcd.URL, "http://") + ", but not the Status call in time: it may have no quorum or be overloaded"},
		{"another HTTP server", strings.TrimPrefix(other.URL, "http://"), "answers HTTP/1 but not as etcd: give etcd's client endpoint"},
	} {
		_, err := checkEtcd(Config{EtcdEndpoints: []string{c.endpoint}, EtcdDialTimeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrEtcdUnreachable) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrEtcdUnreachable saying %q", c.name, err, c.want)
		}
	}
}
