package runtime

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestDialReadCutByTheDialsEnd: DialCluster keeps what the read before
// said when its last read was cut short by the dial's own end. The cut
// read is forced here (a read of two refusing peers with a ctx that has
// ended: both "no answer in time"); TestDialClusterNobodyAnswersSaysEachOnce
// met it only when the read under way at its deadline was slow (under
// load, GOMAXPROCS=1), and then said "no answer in time" for peers that had
// refused every connection.
func TestDialReadCutByTheDialsEnd(t *testing.T) {
	a, b := testutil.DeadAddr(t), testutil.DeadAddr(t)
	cc := &ClusterClient{mcfg: membership.Config{Cluster: "c", Peers: []string{a, b}}, http: newReadClient()}
	defer cc.closeReads()
	live, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, last := cc.readStatus(live)
	refused := "(" + a + ": connection refused; " + b + ": connection refused)"
	if last == nil || !strings.Contains(last.Error(), refused) {
		t.Fatalf("a read of two refusing peers: %v; want %s", last, refused)
	}
	ended, end := context.WithCancel(context.Background())
	end()
	st, err := cc.readStatus(ended)
	if err == nil || strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("a read with an ended ctx: %v; want it cut short (no answer in time)", err)
	}
	if got := dialReadErr(ended, st, err, last); got != last {
		t.Errorf("after the dial's end, a read cut short by it: DialCluster keeps %q; want the read before: %q", got, last)
	}
	// A read that was not cut short speaks for itself, and before the
	// dial's end every read does.
	if got := dialReadErr(ended, membership.Status{}, last, err); got != last {
		t.Errorf("a whole read after the dial's end: kept %q, want it", got)
	}
	if got := dialReadErr(live, st, err, last); got != err {
		t.Errorf("a read before the dial's end: kept %q, want it (%q)", got, err)
	}
	// etcd: a read that found no member and could not list the other
	// clusters (cut by the dial's end) says less than the one before,
	// which named them.
	etcd := membership.Config{Cluster: "wrong", Provider: membership.ProviderEtcd, EtcdEndpoints: []string{"http://127.0.0.1:1"}}
	named := noMemberYet(etcd, membership.Status{Provider: membership.ProviderEtcd, EtcdClusters: map[string]int{"trial": 1}})
	cutSt := membership.Status{Provider: membership.ProviderEtcd}
	cut := noMemberYet(etcd, cutSt)
	if got := dialReadErr(ended, cutSt, cut, named); got != named {
		t.Errorf("after the dial's end, an etcd read without the other clusters: kept %q, want the read before: %q", got, named)
	}
	if got := dialReadErr(live, cutSt, cut, named); got != cut {
		t.Errorf("an etcd read before the dial's end: kept %q, want it", got)
	}
}
