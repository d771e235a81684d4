package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestNodeAloneInEtcdWarns: a node that joined an etcd cluster as its
// only member while etcd holds other clusters under the same base key
// warns (a misspelt --cluster: etcd takes any name; a new user's trial
// started --cluster trail beside trial and got only an info line). A node
// with company, or alone in an etcd that holds no other cluster, says
// nothing.
func TestNodeAloneInEtcdWarns(t *testing.T) {
	endpoint := testutil.StartEtcd(t, testutil.EtcdBinary(t))
	// Cluster trial has two members, the misspelt trail only this node.
	testutil.EtcdPut(t, endpoint, "/exo-actors/trial/trial@a", "/exo-actors/trial/trial@b", "/exo-actors/trail/trail@me", "/other/solo/solo@me")
	warned := func(cfg membership.Config) string {
		var log bytes.Buffer
		l := logrus.New()
		l.SetOutput(&log)
		warnAloneInEtcd(&env{logger: l}, cfg)
		return log.String()
	}
	cfg := membership.Config{Cluster: "trail", Provider: membership.ProviderEtcd, EtcdEndpoints: []string{endpoint}}
	want := `this node is the only member of cluster trail, and etcd holds cluster \"trial\" (2 members) under /exo-actors/: a misspelt --cluster? Every member of a cluster needs the same --cluster`
	if got := warned(cfg); !strings.Contains(got, "level=warning") || !strings.Contains(got, want) {
		t.Errorf("alone beside trial: logged %q, want a warning saying %q", got, want)
	}
	cfg.Cluster = "trial"
	if got := warned(cfg); got != "" {
		t.Errorf("a member of trial: logged %q, want nothing", got)
	}
	cfg.Cluster, cfg.EtcdBaseKey = "solo", "/other"
	if got := warned(cfg); got != "" {
		t.Errorf("alone in a base key with no other cluster: logged %q, want nothing", got)
	}
}
