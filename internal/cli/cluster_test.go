package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

func closedAddr(t *testing.T) string {
	t.Helper()
	return testutil.DeadAddr(t)
}

func TestClusterCommandErrors(t *testing.T) {
	dead := closedAddr(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"cluster", "status"}, ExitUsage, "--cluster is required"},
		{[]string{"cluster", "status", "--cluster", " "}, ExitUsage, `--cluster " " is empty (a variable that expanded to nothing?): name the cluster`},
		{[]string{"cluster", "status", "--cluster", "c", "--cluster-provider", "zookeeper"}, ExitUsage, `unknown cluster provider "zookeeper"`},
		{[]string{"cluster", "status", "--cluster", "c"}, ExitUsage, "automanaged needs the peers' HTTP addresses"},
		{[]string{"cluster", "status", "--cluster", "c", "--cluster-peers", "nohost"}, ExitUsage, `bad peer "nohost"`},
		{[]string{"cluster", "status", "--cluster", "c", "--cluster-peers", dead}, ExitFailure, "no member of cluster c answered at " + dead + " (connection refused)"},
		{[]string{"cluster", "status", "--cluster", "c", "--cluster-provider", "etcd", "--etcd-endpoints", dead}, ExitFailure,
			"etcd unreachable at " + dead + " (" + dead + ": connection refused (nothing listened there for 2s)): start etcd or fix --etcd-endpoints"},
		{[]string{"cluster-member", "--cluster", "c"}, ExitUsage, "--name is required"},
		{[]string{"cluster-member", "--cluster", "c", "--name", "n", "--cluster-port", "7001", "--cluster-peers", "127.0.0.1:7002"}, ExitUsage,
			"do not include this member's own 127.0.0.1:7001"},
		{[]string{"cluster-member", "--cluster", "c", "--name", "n", "--cluster-provider", "etcd"}, ExitUsage, "etcd needs at least one endpoint"},
		{[]string{"cluster-member", "--cluster", "c", "--name", "n", "--cluster-provider", "etcd", "--etcd-endpoints", "h:1", "--evict-after", "1s"}, ExitUsage,
			"must exceed the provider's detection bound 4s"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "exo-actors: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr.String(), tt.want)
			}
		})
	}
}

func TestClusterHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"--help"}, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), "  cluster ") || strings.Contains(stdout.String(), "cluster-member") {
		t.Errorf("--help should list cluster and hide cluster-member:\n%s", stdout.String())
	}
}

// TestClusterStatusNamesAPeerInAnotherCluster: `cluster status --cluster
// trial` whose peer answers from cluster "trail" (a node started with a
// misspelt --cluster) names it, instead of a bare "views DISAGREE".
func TestClusterStatusNamesAPeerInAnotherCluster(t *testing.T) {
	st := membership.Status{Cluster: "trial", Provider: membership.ProviderAutomanaged, Peers: []membership.PeerView{
		{Peer: "127.0.0.1:7201", View: &membership.View{Cluster: "trial", State: membership.Joined}},
		{Peer: "127.0.0.1:7203", View: &membership.View{Cluster: "trail", State: membership.Joined}},
	}}
	var out bytes.Buffer
	printClusterStatus(&out, st)
	t.Log(out.String())
	for _, want := range []string{`views DISAGREE (127.0.0.1:7203 is in cluster "trail", not "trial"`,
		`peer 127.0.0.1:7203: in cluster "trail", not "trial": its node was started with --cluster trail; restart it with --cluster trial`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status:\n%s\nwant %q", out.String(), want)
		}
	}
}

// TestClusterStatusAgreementCountsWhoAnswered: views that agree while a
// peer did not answer say how many answered (a new user's trial read
// "views agree" with one of three peers silent); all answering keeps the
// short "views agree".
func TestClusterStatusAgreementCountsWhoAnswered(t *testing.T) {
	joined := &membership.View{Cluster: "demo", State: membership.Joined}
	st := membership.Status{Cluster: "demo", Provider: membership.ProviderAutomanaged, Agree: true, Peers: []membership.PeerView{
		{Peer: "127.0.0.1:7201", Error: "connection refused"},
		{Peer: "127.0.0.1:7202", View: joined}, {Peer: "127.0.0.1:7203", View: joined},
	}}
	var out bytes.Buffer
	printClusterStatus(&out, st)
	if want := "cluster demo (automanaged): 0 members, the views of the 2 of 3 peers that answered agree\n"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("status:\n%s\nwant it to start %q", out.String(), want)
	}
	lone := st
	lone.Peers = []membership.PeerView{st.Peers[0], st.Peers[1], {Peer: "127.0.0.1:7203", Error: "connection refused"}}
	out.Reset()
	printClusterStatus(&out, lone)
	if want := "cluster demo (automanaged): 0 members, only 1 of 3 peers answered (one view: nothing to compare)\n"; !strings.HasPrefix(out.String(), want) {
		t.Errorf("status with one peer answering:\n%s\nwant it to start %q", out.String(), want)
	}
	st.Peers[0] = membership.PeerView{Peer: "127.0.0.1:7201", View: joined}
	out.Reset()
	printClusterStatus(&out, st)
	if !strings.HasPrefix(out.String(), "cluster demo (automanaged): 0 members, views agree\n") {
		t.Errorf("status with every peer answering:\n%s", out.String())
	}
}

// TestClusterCommandsRefuseTheOtherProvidersFlags: 'cluster status' and
// 'cluster shutdown' refuse a flag of the provider they do not use, as
// 'node' does. Before, they ignored it: a new user's 'cluster shutdown
// --cluster-provider etcd --etcd-endpoints E --cluster-peers A', meant
// for the members at A, shut down every member registered in etcd.
func TestClusterCommandsRefuseTheOtherProvidersFlags(t *testing.T) {
	for _, cmd := range []string{"status", "shutdown"} {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--cluster-provider", "etcd", "--etcd-endpoints", "127.0.0.1:1", "--cluster-peers", "127.0.0.1:2"},
				"--cluster-peers is for --cluster-provider automanaged; this command uses etcd"},
			{[]string{"--cluster-peers", "127.0.0.1:2", "--etcd-endpoints", "127.0.0.1:1"},
				"--etcd-endpoints is for --cluster-provider etcd; this command uses automanaged"},
			{[]string{"--cluster-peers", "127.0.0.1:2", "--etcd-base-key", "/x"},
				"--etcd-base-key is for --cluster-provider etcd"},
		} {
			args := append([]string{"cluster", cmd, "--cluster", "demo"}, tt.args...)
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := Main(args, strings.NewReader(""), &stdout, &stderr)
				if code != ExitUsage || !strings.Contains(stderr.String(), tt.want) {
					t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), ExitUsage, tt.want)
				}
			})
		}
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"cluster", "status", "--cluster-peers", "127.0.0.1:2"}, strings.NewReader(""), &stdout, &stderr); code != ExitUsage ||
		!strings.Contains(stderr.String(), "--cluster is required: name the cluster (the --cluster its members were started with)") {
		t.Errorf("cluster status without --cluster: exit %d, stderr %q", code, stderr.String())
	}
}

// TestClusterStatusNoAnswerJSON: with --json, a status read that no peer
// answered still prints the JSON (each peer's error) on stdout, and exits
// 1 with the reason on stderr. Before, stdout was empty.
func TestClusterStatusNoAnswerJSON(t *testing.T) {
	dead := closedAddr(t)
	var stdout, stderr bytes.Buffer
	code := Main([]string{"cluster", "status", "--json", "--cluster", "c", "--cluster-peers", dead}, strings.NewReader(""), &stdout, &stderr)
	var st membership.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("stdout is not the status JSON: %v\n%s", err, stdout.String())
	}
	if code != ExitFailure || len(st.Peers) != 1 || !strings.Contains(st.Peers[0].Error, "connection refused") ||
		!strings.Contains(stderr.String(), "no member of cluster c answered") {
		t.Errorf("exit %d, status %+v, stderr %q", code, st, stderr.String())
	}
}

// TestShutdownCutText: one node's shutdown and several nodes' read right.
func TestShutdownCutText(t *testing.T) {
	const f = "cut %s tasks short and stopped %s runner"
	if got, want := shutdownCutText(1, f), "its shutdown cut its tasks short and stopped its runner"; got != want {
		t.Errorf("one node: %q, want %q", got, want)
	}
	if got, want := shutdownCutText(2, f), "their shutdowns cut their tasks short and stopped their runners"; got != want {
		t.Errorf("two nodes: %q, want %q", got, want)
	}
}

// TestRefusedShutdownErrorPlural: several refusing members read right.
func TestRefusedShutdownErrorPlural(t *testing.T) {
	err := refusedShutdownError([]string{"a (127.0.0.1:1)", "b (127.0.0.1:2)"})
	want := "2 members a (127.0.0.1:1), b (127.0.0.1:2) do not accept remote shutdown (started with --allow-remote-shutdown=false); nothing was shut down: stop them with SIGTERM on their hosts"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("%q, want it to begin %q", err, want)
	}
}

// TestClusterStatusMisspeltClusterSaysCheckIt: `cluster status --cluster
// trail` whose every answering peer is in cluster "trial" tells the
// operator to check --cluster, on each peer's line too, never to restart
// the healthy nodes with the typo; cluster shutdown stops on it in the
// same words, naming the peers' cluster. Before, each peer's line said
// "restart it with --cluster trail", and shutdown said only "nothing to
// shut down" (a docs-only trial).
func TestClusterStatusMisspeltClusterSaysCheckIt(t *testing.T) {
	trial := &membership.View{Cluster: "trial", State: membership.Joined}
	st := membership.Status{Cluster: "trail", Provider: membership.ProviderAutomanaged, Peers: []membership.PeerView{
		{Peer: "127.0.0.1:7201", View: trial}, {Peer: "127.0.0.1:7202", View: trial},
		{Peer: "127.0.0.1:7203", Error: "connection refused"},
	}}
	var out bytes.Buffer
	printClusterStatus(&out, st)
	if strings.Contains(out.String(), "restart it") {
		t.Errorf("status tells to restart a node:\n%s", out.String())
	}
	for _, p := range []string{"127.0.0.1:7201", "127.0.0.1:7202"} {
		if want := `peer ` + p + `: in cluster "trial", not "trail": check --cluster (no peer that answered is in cluster "trail")`; !strings.Contains(out.String(), want) {
			t.Errorf("status:\n%s\nwant %q", out.String(), want)
		}
	}
	cfg := membership.Config{Cluster: "trail"}
	if got, want := noMembersWhy(st, cfg), `127.0.0.1:7201, 127.0.0.1:7202 are in cluster "trial": check --cluster`; got != want {
		t.Errorf("no members: %q, want %q", got, want)
	}
}
