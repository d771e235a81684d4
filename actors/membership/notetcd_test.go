package membership

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
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
	// A gRPC server without etcd's services, as a node's gateway (--listen)
	// is: an operator's trial got "answers HTTP/1 but not as etcd", and
	// "unreachable within 2s" for an answer that came at once.
	gw := testutil.ServeGRPC(t)
	for _, c := range []struct {
		name, endpoint, want string
	}{
		{"automanaged member", strings.TrimPrefix(member.URL, "http://"),
			"is the HTTP port of a member of the automanaged cluster demo, not etcd: read it with --cluster-provider automanaged --cluster-peers " + strings.TrimPrefix(member.URL, "http://")},
		{"automanaged member, as a URL", member.URL, "of the automanaged cluster demo, not etcd"},
		{"an etcd that does not answer in time", strings.TrimPrefix(slowEtcd.URL, "http://"),
			"etcd 3.4.23 answers at " + strings.TrimPrefix(slowEtcd.URL, "http://") + ", but not the Status call in time: it may have no quorum or be overloaded"},
		{"another HTTP server", strings.TrimPrefix(other.URL, "http://"), "answers HTTP/1 but not as etcd: give etcd's client endpoint"},
		{"a gRPC server that is not etcd", gw, "etcd unreachable (not etcd) at " + gw + " (" + gw +
			": rpc error: code = Unimplemented desc = unknown service etcdserverpb.Maintenance (" + gw +
			" speaks gRPC but is not etcd: a node's gateway (--listen)? give etcd's client endpoint)): fix --etcd-endpoints"},
	} {
		_, err := checkEtcd(Config{EtcdEndpoints: []string{c.endpoint}, EtcdDialTimeout: 300 * time.Millisecond})
		if !errors.Is(err, ErrEtcdUnreachable) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrEtcdUnreachable saying %q", c.name, err, c.want)
		}
		// Waiting changes nothing when what answers is not etcd (a
		// DialCluster gives up at once); an etcd that is slow is etcd.
		if notIt := c.name != "an etcd that does not answer in time"; errors.Is(err, ErrNotEtcd) != notIt {
			t.Errorf("%s: errors.Is(err, ErrNotEtcd) = %v, want %v: %v", c.name, !notIt, notIt, err)
		}
	}
	// One endpoint that is etcd (if slow) among them: not ErrNotEtcd.
	if _, err := checkEtcd(Config{EtcdEndpoints: []string{gw, strings.TrimPrefix(slowEtcd.URL, "http://")}, EtcdDialTimeout: 300 * time.Millisecond}); errors.Is(err, ErrNotEtcd) {
		t.Errorf("a gRPC server and a slow etcd: %v; want no ErrNotEtcd", err)
	}
	// A Go host's DialCluster names its setting, not the flag.
	_, err := checkEtcd(Config{EtcdEndpoints: []string{gw}, EtcdDialTimeout: 300 * time.Millisecond, GoAPI: true})
	if err == nil || !strings.HasSuffix(err.Error(), ": fix ClusterConfig.EtcdEndpoints") {
		t.Errorf("through the Go API: %v; want it to end \": fix ClusterConfig.EtcdEndpoints\"", err)
	}
}

// TestEtcdRefusedSaysSo: an endpoint where nothing listens is named as
// refusing the connection, not "context deadline exceeded" (a new user's
// trial); the dial timeout is still waited (an etcd starting beside the
// node has that long), and "within" is not said of a refusal. A proxy
// whose etcd is down (503 to everything) is not called "not etcd", which
// would make a DialCluster give up at once (a review).
func TestEtcdRefusedSaysSo(t *testing.T) {
	ep := testutil.DeadAddr(t)
	_, err := checkEtcd(Config{EtcdEndpoints: []string{ep}, EtcdDialTimeout: 200 * time.Millisecond})
	want := "etcd unreachable at " + ep + " (" + ep + ": connection refused (nothing listened there for 200ms)): start etcd or fix --etcd-endpoints"
	if !errors.Is(err, ErrEtcdUnreachable) || errors.Is(err, ErrNotEtcd) || err.Error() != want {
		t.Errorf("nothing listening: %v\nwant ErrEtcdUnreachable saying %q", err, want)
	}
	_, err = checkEtcd(Config{EtcdEndpoints: []string{"http://" + ep}, EtcdDialTimeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "http://"+ep+": connection refused (nothing listened there for 200ms)") {
		t.Errorf("nothing listening, as a URL: %v", err)
	}
	// A unix socket is not dialed over TCP: never called refused.
	if refusedNow("unix://localhost:"+strings.Split(ep, ":")[1], time.Second) {
		t.Errorf("a unix:// endpoint was probed over TCP")
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
	}))
	defer proxy.Close()
	_, err = checkEtcd(Config{EtcdEndpoints: []string{strings.TrimPrefix(proxy.URL, "http://")}, EtcdDialTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrEtcdUnreachable) || errors.Is(err, ErrNotEtcd) || !strings.Contains(err.Error(), "answers HTTP/1 with status 503: a proxy whose etcd is down, or not etcd at all") {
		t.Errorf("a proxy answering 503: %v; want ErrEtcdUnreachable, not ErrNotEtcd, naming the 503", err)
	}
}

// TestEtcdThatAcceptsButDoesNotAnswer: an etcd frozen by SIGSTOP (the
// kernel still accepts its connections) was reported as if etcd did not
// run, "start etcd or fix --etcd-endpoints" (an operator's trial); the
// error now says that the endpoint accepted the connection and answered
// nothing, within how long, and what to check.
func TestEtcdThatAcceptsButDoesNotAnswer(t *testing.T) {
	frozen := testutil.AcceptAndHold(t)
	_, err := checkEtcd(Config{EtcdEndpoints: []string{frozen}, EtcdDialTimeout: 300 * time.Millisecond})
	want := "etcd at " + frozen + " accepted the connection but did not answer within 300ms (" + frozen +
		": context deadline exceeded, and no answer to HTTP GET /version within 1s more): etcd may be frozen (e.g. SIGSTOP) or overloaded; check its process (kill -CONT resumes a stopped one) and its health (etcdctl endpoint health), or fix --etcd-endpoints"
	if !errors.Is(err, ErrEtcdUnreachable) || err.Error() != want {
		t.Errorf("a frozen etcd: %v\nwant ErrEtcdUnreachable saying %q", err, want)
	}
	// Beside an endpoint where nothing listens, starting etcd there may
	// be the fix: the frozen one is named as such among them.
	dead := testutil.DeadAddr(t)
	_, err = checkEtcd(Config{EtcdEndpoints: []string{dead, frozen}, EtcdDialTimeout: 300 * time.Millisecond})
	for _, w := range []string{"etcd unreachable within 300ms at " + dead + "," + frozen,
		frozen + " accepted the connection but answers nothing: a frozen or overloaded etcd?",
		"start etcd or fix --etcd-endpoints"} {
		if !errors.Is(err, ErrEtcdUnreachable) || !strings.Contains(err.Error(), w) {
			t.Errorf("a dead and a frozen endpoint: %v\nwant ErrEtcdUnreachable saying %q", err, w)
		}
	}
}
