package membership

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

func validAutomanaged() Config {
	return Config{Cluster: "c", NodeName: "n1", Kinds: []string{"llm"}, ManagePort: 7001,
		Peers: []string{"127.0.0.1:7001", "127.0.0.1:7002"}}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no cluster", func(c *Config) { c.Cluster = "" }, "cluster name is empty"},
		{"bad cluster", func(c *Config) { c.Cluster = "a b" }, `bad cluster name "a b"`},
		{"no node", func(c *Config) { c.NodeName = "" }, "node name is empty"},
		{"bad node", func(c *Config) { c.NodeName = "x/y" }, `bad node name "x/y"`},
		{"bad kind", func(c *Config) { c.Kinds = []string{"ok", "no way"} }, `bad runner kind "no way"`},
		{"kind twice", func(c *Config) { c.Kinds = []string{"a", "a"} }, `runner kind "a" given twice`},
		{"unknown provider", func(c *Config) { c.Provider = "zookeeper" }, `unknown cluster provider "zookeeper": want automanaged or etcd`},
		{"bad host", func(c *Config) { c.Host = "loopback" }, `bad host "loopback"`},
		{"bad gateway", func(c *Config) { c.Gateway = "nowhere" }, `bad gateway address "nowhere"`},
		{"bad remote port", func(c *Config) { c.RemotePort = 70000 }, "bad remote port 70000"},
		{"no manage port", func(c *Config) { c.ManagePort = 0 }, "automanaged needs this member's HTTP port"},
		{"no peers", func(c *Config) { c.Peers = nil }, "automanaged needs the peers' HTTP addresses"},
		{"bad peer", func(c *Config) { c.Peers = []string{"127.0.0.1:7001", "nohost"} }, `bad peer "nohost"`},
		{"peer port", func(c *Config) { c.Peers = []string{"127.0.0.1:7001", "h:0"} }, `bad peer "h:0"`},
		{"self not in peers", func(c *Config) { c.Peers = []string{"127.0.0.1:7002"} }, "do not include this member's own 127.0.0.1:7001"},
		// localhost is not resolved to this member: it was taken as this
		// member at start, and its peers then disagreed with it forever.
		{"localhost peer", func(c *Config) { c.Peers = []string{"localhost:7001", "127.0.0.1:7002"} }, `bad peer "localhost:7001": write the IP, e.g. 127.0.0.1:7001`},
		{"unspecified host", func(c *Config) { c.Host = "0.0.0.0" }, `bad host "0.0.0.0": a member advertises this address to its peers`},
		{"unspecified host, IPv6", func(c *Config) { c.Host = "::" }, `bad host "::": a member advertises`},
		{"etcd without endpoints", func(c *Config) { c.Provider = ProviderEtcd }, "etcd needs at least one endpoint"},
		{"etcd empty endpoint", func(c *Config) { c.Provider = ProviderEtcd; c.EtcdEndpoints = []string{" "} }, "empty etcd endpoint"},
		{"etcd base key", func(c *Config) {
			c.Provider, c.EtcdEndpoints, c.EtcdBaseKey = ProviderEtcd, []string{"127.0.0.1:2379"}, "x"
		}, `bad etcd base key "x"`},
		{"evict-after too small", func(c *Config) { c.EvictAfter = time.Second }, "evict-after 1s must exceed the provider's detection bound 2.2s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validAutomanaged()
			tt.edit(&c)
			_, err := c.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("withDefaults error = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := validAutomanaged().withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Provider != ProviderAutomanaged || c.Host != "127.0.0.1" || c.Refresh != DefaultRefresh ||
		c.EvictAfter != 4200*time.Millisecond || c.CheckInterval != DefaultCheckInterval {
		t.Errorf("defaults: %+v", c)
	}
	e := Config{Cluster: "c", NodeName: "n", Provider: ProviderEtcd, EtcdEndpoints: []string{"127.0.0.1:2379"}}
	if e, err = e.withDefaults(); err != nil {
		t.Fatal(err)
	}
	if e.EvictAfter != 6*time.Second || e.EtcdBaseKey != DefaultEtcdBaseKey || e.DetectionBound() != 4*time.Second {
		t.Errorf("etcd defaults: %+v", e)
	}
}

func TestDiagnose(t *testing.T) {
	now := time.Unix(1000, 0)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const after = 4 * time.Second
	tests := []struct {
		name string
		ev   Evidence
		want string // "" or a substring of the reason
	}{
		{"healthy", Evidence{Since: map[string]time.Time{"b": ago(time.Minute)}, Heartbeats: map[string]time.Time{"b": ago(time.Second)}}, ""},
		{"own key deleted", Evidence{OwnKeyDeleted: true}, "etcd deleted this member's key: its 3s lease expired before this member renewed it (this member was paused, or could not reach etcd — etcd stopped, restarting, frozen or cut off from it — for longer than the lease)"},
		{"self blocked", Evidence{Blocked: map[string]bool{"a": true}}, "on its own block list"},
		{"a peer blocked it", Evidence{BlockedBy: []string{"127.0.0.1:2", "127.0.0.1:1"}}, "peers at 127.0.0.1:1,127.0.0.1:2 blocked this member's ID"},
		{"silent member", Evidence{Since: map[string]time.Time{"b": ago(time.Minute), "c": ago(time.Minute)},
			Heartbeats: map[string]time.Time{"b": ago(5 * time.Second), "c": ago(time.Second)}}, "no gossip for over 4s from b,"},
		{"silent member, etcd", Evidence{Etcd: true, Since: map[string]time.Time{"b": ago(time.Minute)},
			Heartbeats: map[string]time.Time{"b": ago(5 * time.Second)}}, "no gossip for over 4s from b, still in this member's view: they dropped this member (it was paused or cut off; its etcd key's lease has likely expired)"},
		{"never heard, long in view", Evidence{Since: map[string]time.Time{"b": ago(5 * time.Second)}}, "from b,"},
		{"never heard, just joined", Evidence{Since: map[string]time.Time{"b": ago(time.Second)}}, ""},
		{"silence not yet over the bound", Evidence{Since: map[string]time.Time{"b": ago(time.Minute)},
			Heartbeats: map[string]time.Time{"b": ago(after)}}, ""},
		{"alone, blocked peer alive", Evidence{LivePeers: []string{"a", "b"}, Blocked: map[string]bool{"b": true}}, "alone in its view while blocked peers b are alive"},
		{"alone, new peer alive (not blocked)", Evidence{LivePeers: []string{"a", "c"}, Blocked: map[string]bool{"b": true}}, ""},
		{"alone, nobody else alive", Evidence{LivePeers: []string{"a"}, Blocked: map[string]bool{"b": true}}, ""},
		{"provider missed a join", Evidence{Unseen: map[string]time.Time{"d": ago(5 * time.Second)}}, "the provider has listed live members d for over 4s"},
		{"join not yet in view", Evidence{Unseen: map[string]time.Time{"d": ago(time.Second)}}, ""},
		{"unseen but blocked (the other side of a split)", Evidence{Unseen: map[string]time.Time{"d": ago(time.Minute)}, Blocked: map[string]bool{"d": true}}, ""},
		{"not alone, blocked peer alive (the other side)", Evidence{Since: map[string]time.Time{"c": ago(time.Minute)},
			Heartbeats: map[string]time.Time{"c": ago(time.Second)}, LivePeers: []string{"a", "b", "c"}, Blocked: map[string]bool{"b": true}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			ev.Now, ev.Self, ev.EvictAfter = now, "a", after
			got := Diagnose(ev)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("Diagnose = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStateTransitions(t *testing.T) {
	legal := map[[2]State]bool{
		{Joining, Joined}: true, {Joining, Rejoining}: true, {Joining, Leaving}: true,
		{Joined, Rejoining}: true, {Joined, Leaving}: true,
		{Rejoining, Joining}: true, {Rejoining, Leaving}: true,
		{Leaving, Left}: true,
	}
	for from := State(0); from < numStates; from++ {
		for to := State(0); to < numStates; to++ {
			if got := canTransition(from, to); got != legal[[2]State{from, to}] {
				t.Errorf("canTransition(%s, %s) = %v", from, to, got)
			}
		}
	}
	for s := State(0); s < numStates; s++ {
		b, _ := json.Marshal(s)
		var back State
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("JSON round trip of %s: %s → %v (%v)", s, b, back, err)
		}
	}
	var s State
	if err := json.Unmarshal([]byte(`"dancing"`), &s); err == nil || !strings.Contains(err.Error(), `unknown membership state "dancing"`) {
		t.Errorf("bad state name: %v", err)
	}
}

func TestMemberDecoding(t *testing.T) {
	m := memberFrom(&cluster.Member{Id: "x", Host: "127.0.0.1", Port: 9000,
		Kinds: append(clusterKinds("gpu-a", []string{"tts", "llm"}, "127.0.0.1:7000"), cluster.TopicActorKind)})
	if m.ID != "x" || m.Address != "127.0.0.1:9000" || m.NodeName != "gpu-a" || strings.Join(m.Kinds, ",") != "llm,tts" || m.Gateway != "127.0.0.1:7000" {
		t.Fatalf("decoded %+v", m)
	}
	if !m.HasKind("llm") || m.HasKind("prototopic") {
		t.Errorf("HasKind wrong for %+v", m)
	}
	v := View{Members: membersFrom([]*cluster.Member{
		{Id: "b", Kinds: clusterKinds("n2", []string{"asr"}, "")}, {Id: "a", Kinds: clusterKinds("n1", []string{"llm", "asr"}, "")}})}
	if v.Members[0].ID != "a" || strings.Join(v.Kinds(), ",") != "asr,llm" || strings.Join(v.Nodes(), ",") != "n1,n2" {
		t.Errorf("view %+v kinds %v nodes %v", v, v.Kinds(), v.Nodes())
	}
	if _, ok := v.Member("b"); !ok {
		t.Error("Member(b) not found")
	}
}

// An unreachable etcd is an error naming the endpoint, returned before any
// member starts (protoactor's StartMember would hang forever).
func TestStartEtcdUnreachable(t *testing.T) {
	addr := testutil.DeadAddr(t) // nothing listens there
	host := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(time.Millisecond))
	defer host.Shutdown()
	start := time.Now()
	_, err := Start(host, Config{Cluster: "c", NodeName: "n", Provider: ProviderEtcd,
		EtcdEndpoints: []string{addr}, EtcdDialTimeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrEtcdUnreachable) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Start error = %v, want ErrEtcdUnreachable naming %s", err, addr)
	}
	t.Logf("refused after %s: %v", time.Since(start).Round(time.Millisecond), err)
}

// A new incarnation turns Joined only when its view holds every live,
// unblocked member the provider lists; missing ones are timed.
func TestCoverageAndUnseen(t *testing.T) {
	a := &memberActor{self: "a", members: []Member{{ID: "a"}, {ID: "b"}}}
	tests := []struct {
		live    []string
		blocked map[string]bool
		want    bool
	}{
		{nil, nil, true},
		{[]string{"a", "b"}, nil, true},
		{[]string{"a", "b", "c"}, nil, false},
		{[]string{"a", "b", "c"}, map[string]bool{"c": true}, true},
	}
	for _, tt := range tests {
		a.live, a.blocked = tt.live, tt.blocked
		if got := a.covered(); got != tt.want {
			t.Errorf("covered with live %v blocked %v = %v, want %v", tt.live, tt.blocked, got, tt.want)
		}
	}
	t0 := time.Unix(100, 0)
	a.trackUnseen(Evidence{Now: t0, Self: "a", LivePeers: []string{"a", "b", "c", "d"}, Blocked: map[string]bool{"d": true}})
	if len(a.unseen) != 1 || !a.unseen["c"].Equal(t0) {
		t.Fatalf("unseen = %v, want c since %v", a.unseen, t0)
	}
	a.trackUnseen(Evidence{Now: t0.Add(time.Second), Self: "a", LivePeers: []string{"c"}})
	if !a.unseen["c"].Equal(t0) {
		t.Errorf("unseen c moved: %v", a.unseen)
	}
	a.trackUnseen(Evidence{Now: t0.Add(2 * time.Second), Self: "a"})
	if len(a.unseen) != 0 {
		t.Errorf("unseen not cleared when c is gone: %v", a.unseen)
	}
}
