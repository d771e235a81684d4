package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/exo-actors/exo-actors/actors/membership"
)

var dupMembers = []membership.Member{
	{ID: "A1", Address: "127.0.0.1:7201", NodeName: "gpu-a", Gateway: "127.0.0.1:7101"},
	{ID: "B1", Address: "127.0.0.1:7202", NodeName: "gpu-b", Gateway: "127.0.0.1:7102"},
	{ID: "C1", Address: "127.0.0.1:7204", NodeName: "gpu-a", Gateway: "127.0.0.1:7104"},
}

// TestClusterStatusFlagsDuplicateNames: two members with one node name are
// listed, and a warning line names the name, both members' addresses and
// what to do.
func TestClusterStatusFlagsDuplicateNames(t *testing.T) {
	var out bytes.Buffer
	printClusterStatus(&out, membership.Status{Cluster: "demo", Provider: membership.ProviderEtcd, Members: dupMembers})
	want := `WARNING: 2 members have the node name "gpu-a": member A1 at gateway 127.0.0.1:7101 (cluster address 127.0.0.1:7201), member C1 at gateway 127.0.0.1:7104 (cluster address 127.0.0.1:7204); names must be unique: stop all but one and start the others with another --name`
	if !strings.Contains(out.String(), want+"\n") {
		t.Fatalf("status:\n%s\nwant the line\n%s", out.String(), want)
	}
	if strings.Count(out.String(), "WARNING") != 1 {
		t.Errorf("one warning per duplicated name:\n%s", out.String())
	}
	// One node restarted on its addresses (kill -9, then started again):
	// its previous run's entry is no second node to stop (the advice was
	// "stop all but one").
	out.Reset()
	restarted := append(dupMembers[:2:2], membership.Member{ID: "A2", Address: "127.0.0.1:7201", NodeName: "gpu-a", Gateway: "127.0.0.1:7101"})
	printClusterStatus(&out, membership.Status{Cluster: "demo", Provider: membership.ProviderEtcd, Members: restarted})
	want = `WARNING: 2 members have the node name "gpu-a", all at gateway 127.0.0.1:7101 (cluster address 127.0.0.1:7201): members A1 and A2; the same node restarted: the older entry is its previous run (killed), which drops out once the cluster notices (etcd: its lease expires; automanaged: the peers' poll); if it stays, two processes share these addresses`
	if !strings.Contains(out.String(), want+"\n") || strings.Contains(out.String(), "stop all but one") {
		t.Errorf("status of a restarted node:\n%s\nwant the line\n%s", out.String(), want)
	}
	out.Reset()
	printClusterStatus(&out, membership.Status{Cluster: "demo", Provider: membership.ProviderEtcd, Members: dupMembers[:2]})
	if strings.Contains(out.String(), "WARNING") {
		t.Errorf("warning without duplicates:\n%s", out.String())
	}
}

// TestNodeWarnsOfMemberWithItsName: a node whose view holds another member
// with its name logs one warning naming both members' addresses, once per
// such member while it stays in the view.
func TestNodeWarnsOfMemberWithItsName(t *testing.T) {
	logger, hook := test.NewNullLogger()
	v := &viewLogger{log: logrus.NewEntry(logger), name: "gpu-a"}
	view := membership.View{Cluster: "demo", Self: "C1", State: membership.Joined, Members: dupMembers}
	v.warnSameName(view)
	v.warnSameName(view) // the next change: no second warning
	es := hook.AllEntries()
	if len(es) != 1 || es[0].Level != logrus.WarnLevel {
		t.Fatalf("%d entries, want one warning: %v", len(es), es)
	}
	for _, w := range []string{`another member of cluster demo has this node's name "gpu-a": member A1 at gateway 127.0.0.1:7101`,
		"this node is member C1 at gateway 127.0.0.1:7104", "start it with another --name"} {
		if !strings.Contains(es[0].Message, w) {
			t.Errorf("warning %q: want %q", es[0].Message, w)
		}
	}
	// A1 leaves, then a member with the name joins again: warned again.
	v.warnSameName(membership.View{Cluster: "demo", Self: "C1", State: membership.Joined, Members: dupMembers[1:]})
	v.warnSameName(view)
	if n := len(hook.AllEntries()); n != 2 {
		t.Errorf("%d warnings after A1 left and came back, want 2", n)
	}
}
