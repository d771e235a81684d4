package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestDialClusterBadInput checks that each bad ClusterConfig gets one line
// naming what is wrong, at once (no waiting for a cluster).
func TestDialClusterBadInput(t *testing.T) {
	tests := []struct {
		name string
		cfg  exo.ClusterConfig
		want string
	}{
		{"no cluster", exo.ClusterConfig{Peers: []string{"127.0.0.1:7001"}}, "ClusterConfig.Cluster is empty"},
		{"bad provider", exo.ClusterConfig{Cluster: "c", Provider: "zookeeper"}, `unknown cluster provider "zookeeper"`},
		{"no peers", exo.ClusterConfig{Cluster: "c"}, "automanaged needs the peers' HTTP addresses"},
		{"bad peer", exo.ClusterConfig{Cluster: "c", Peers: []string{"localhost"}}, `bad peer "localhost"`},
		{"no etcd endpoint", exo.ClusterConfig{Cluster: "c", Provider: "etcd"}, "etcd needs at least one endpoint"},
		{"bad cluster name", exo.ClusterConfig{Cluster: "a b", Peers: []string{"127.0.0.1:7001"}}, `bad cluster name "a b"`},
		// What every member's Dial would fail on, on this side: at once
		// (it waited out the ctx, "no member with a gateway yet").
		{"bad dial option", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
			Dial: []exo.DialOption{exo.WithHeartbeat(time.Second, time.Second)}}, "ClusterConfig.Dial: heartbeat 1s, lost after 1s"},
		{"bad policy rule", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
			Policy: exo.ErrorPolicy{Rules: []exo.Rule{{Name: "r", Action: exo.ActionRetry}}}}, `ClusterConfig.Policy: invalid error policy rule "r": Severity is not set`},
		// A new user's trial: each of these was taken (the values in
		// silence, the listen address and the rule's kind failing only as
		// the whole ctx ran out, or never).
		{"client listen not an IP", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
			Dial: []exo.DialOption{exo.WithClientListen("localhost:0")}},
			`ClusterConfig.Dial: WithClientListen: listen address "localhost:0": the host must be an IP address, e.g. 127.0.0.1`},
		{"negative max message", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
			Dial: []exo.DialOption{exo.WithMaxMessage(-5)}}, "ClusterConfig.Dial: WithMaxMessage(-5): a message limit must not be negative"},
		{"negative call timeout", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
			Dial: []exo.DialOption{exo.WithCallTimeout(-time.Second)}}, "ClusterConfig.Dial: WithCallTimeout(-1s): a call timeout must not be negative"},
		{"negative poll and reconcile", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"}, Poll: -time.Second, Reconcile: -1},
			"ClusterConfig.Poll is -1s: it must not be negative; set 0 for its default (ClusterConfig's and ErrorPolicy's field comments name it); ClusterConfig.Reconcile is -1ns"},
		{"negative intensity window", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
			Policy: exo.ErrorPolicy{Intensity: exo.Intensity{MaxRestarts: 3, Window: -time.Second}}}, "ClusterConfig.Policy.Intensity.Window is -1s: it must not be negative"},
		{"negative backoff base", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
			Policy: exo.ErrorPolicy{Backoff: exo.BackoffConfig{Base: -time.Second}}}, "ClusterConfig.Policy.Backoff.Base is -1s: a negative base means nothing; set NoDelay"},
		{"misspelt rule kind", exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
			Policy: exo.ErrorPolicy{Rules: []exo.Rule{{Name: "x", Kind: "node-lost", Severity: exo.SeverityMedium, Action: exo.ActionSkip}}}},
			`ClusterConfig.Policy: invalid error policy rule "x": Kind "node-lost" is no failure kind, so the rule would never match (did you mean "node_lost"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			cc, err := exo.DialCluster(context.Background(), tt.cfg)
			if err == nil {
				cc.Close()
				t.Fatal("DialCluster accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line containing %q", err, tt.want)
			}
			// A host tells its own mistake from a cluster down by the
			// sentinel, as New's and Dial's errors let it (a review: they
			// wrapped none).
			if !errors.Is(err, exo.ErrInvalidConfig) {
				t.Errorf("error %q: want it to wrap ErrInvalidConfig", err)
			}
			if len(tt.cfg.Dial) > 0 && !errors.Is(err, exo.ErrInvalidRequest) {
				t.Errorf("error %q: a bad Dial option wraps ErrInvalidRequest, as Dial's error does", err)
			}
			// A config that passed the checks would wait out DialCluster's
			// 10 s default for an answer: 5 s tells the two apart and leaves
			// room for a starved machine's stall of a second or two.
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v: a bad config should fail at once", d)
			}
		})
	}
}

// TestDialClusterNobodyAnswers: peers that do not answer fail the dial
// when its context ends, naming the peers.
func TestDialClusterNobodyAnswers(t *testing.T) {
	addr := testutil.DeadAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "c", Peers: []string{addr}})
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster succeeded with nobody there")
	}
	if !strings.Contains(err.Error(), "dial cluster c") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q: want it to name the cluster and the peer %s", err, addr)
	}
}

// TestDialClusterNobodyAnswersSaysEachOnce: with several peers and none
// answering, the dial's error names each peer's failure once. Before, each
// peer's part nested a whole "no member of cluster … answered" sentence
// (a review of the eleventh session).
func TestDialClusterNobodyAnswersSaysEachOnce(t *testing.T) {
	a, b := testutil.DeadAddr(t), testutil.DeadAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "c", Peers: []string{a, b}})
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster succeeded with nobody there")
	}
	want := "no member of cluster c answered at " + a + "," + b + " (" + a + ": connection refused; " + b + ": connection refused)"
	if !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "no member of cluster") != 1 {
		t.Errorf("error %q: want %q, once", err, want)
	}
}

// TestDialClusterEndpointMismatch: Dial options that the process's client
// endpoint (one per process, started by its first Dial) cannot serve fail
// DialCluster at once with the endpoint's reason. A new user's trial got,
// after the whole ctx, "cluster trial3 has no member with a gateway yet"
// from a healthy cluster.
func TestDialClusterEndpointMismatch(t *testing.T) {
	node := startNode(t, "mismatch", writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, ""))
	ctx := remoteCtx(t, 30*time.Second)
	c, err := dial(ctx, node.addr) // the endpoint runs, on 127.0.0.1:0
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"},
		Dial: []exo.DialOption{exo.WithClientListen("127.0.0.1:1")}})
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster accepted a listen address the process's endpoint does not have")
	}
	if want := "ClusterConfig.Dial: this process's client endpoint, started by its first Dial, runs with other settings: it listens on 127.0.0.1:0, this Dial asks for 127.0.0.1:1 (WithClientListen)"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q: want %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v: want at once", d)
	}
	// A value no endpoint could have is said as such, not as other
	// settings than the endpoint's ("its message limit is 4194304 bytes,
	// this Dial asks for -5", a new user's trial); for Dial as for
	// DialCluster.
	for _, tc := range []struct {
		opt  exo.DialOption
		want string
	}{
		{exo.WithMaxMessage(-5), "WithMaxMessage(-5): a message limit must not be negative"},
		{exo.WithClientListen("localhost:0"), `WithClientListen: listen address "localhost:0": the host must be an IP address`},
	} {
		cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "c", Peers: []string{"127.0.0.1:7001"}, Dial: []exo.DialOption{tc.opt}})
		if err == nil {
			cc.Close()
			t.Fatalf("DialCluster accepted the option of %q", tc.want)
		}
		c, derr := exo.Dial(ctx, node.addr, tc.opt)
		if derr == nil {
			c.Close()
			t.Fatalf("Dial accepted the option of %q", tc.want)
		}
		for _, e := range []error{err, derr} {
			if !strings.Contains(e.Error(), tc.want) || strings.Contains(e.Error(), "runs with other settings") || !errors.Is(e, exo.ErrInvalidRequest) {
				t.Errorf("error %q: want %q wrapping ErrInvalidRequest, not a settings conflict", e, tc.want)
			}
		}
	}
}

// TestDialBadClientOptions: Dial refuses at once, wrapping
// ErrInvalidRequest as docs/remote.md says bad options do, a client listen
// address whose host is a name (it failed once the endpoint started, with
// no sentinel) and a negative message limit or call timeout (taken in
// silence; a new user's trial). No node is needed: nothing is dialed.
func TestDialBadClientOptions(t *testing.T) {
	addr := testutil.DeadAddr(t)
	for _, tc := range []struct {
		opt  exo.DialOption
		want string
	}{
		{exo.WithClientListen("localhost:0"), `WithClientListen: listen address "localhost:0": the host must be an IP address, e.g. 127.0.0.1`},
		{exo.WithMaxMessage(-5), "WithMaxMessage(-5): a message limit must not be negative; give the largest request in bytes, or 0 (or leave the option out) for the default"},
		{exo.WithCallTimeout(-time.Second), "WithCallTimeout(-1s): a call timeout must not be negative"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		c, err := exo.Dial(ctx, addr, tc.opt)
		cancel()
		if err == nil {
			c.Close()
			t.Fatalf("Dial accepted the option of %q", tc.want)
		}
		if !errors.Is(err, exo.ErrInvalidRequest) || !strings.Contains(err.Error(), tc.want) || errors.Is(err, exo.ErrNodeLost) {
			t.Errorf("error %q: want %q, wrapping ErrInvalidRequest (not ErrNodeLost: nothing was dialed)", err, tc.want)
		}
	}
}

// TestDialClusterCtxEnded: a DialCluster whose ctx ended before it began,
// or before its first read of the membership was done, says the caller's
// ctx ended and wraps its error; it does not blame the members ("no member
// of cluster trial answered at … is a member running there?" for a
// healthy cluster and a 1 ns ctx, a new user's trial).
func TestDialClusterCtxEnded(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := exo.DialCluster(gone, exo.ClusterConfig{Cluster: "c", Peers: []string{testutil.DeadAddr(t)}})
	want := "dial cluster c: the caller's ctx ended (context canceled) before the dial began; nothing was read or dialed"
	if !errors.Is(err, context.Canceled) || err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ctx cancelled before: error %v; want %q, wrapping context.Canceled", err, want)
	}
	before := err
	// A peer that takes the connection and never answers (a frozen
	// member) holds the first read past the dial's short ctx.
	short, cancelShort := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancelShort()
	_, err = exo.DialCluster(short, exo.ClusterConfig{Cluster: "c", Peers: []string{testutil.AcceptAndHold(t)}})
	want = "before its first read of the membership was done (a peer or etcd that accepts and does not answer, a frozen one, holds a read up to 2s); no member was dialed: give DialCluster more time"
	if !errors.Is(err, context.DeadlineExceeded) || err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "the caller's ctx ended") {
		t.Errorf("ctx ended during the first read: error %v; want the caller's ctx ended %q, wrapping context.DeadlineExceeded", err, want)
	}
	for _, e := range []error{before, err} {
		if e != nil && (strings.Contains(e.Error(), "is a member running there") || strings.Contains(e.Error(), "no member of cluster")) {
			t.Errorf("error %q blames the members", e)
		}
	}
}

// TestDialClusterOwnListenInUse: a ClusterConfig.Dial listen address that
// another process holds fails DialCluster at once with plain Dial's text,
// naming the field: every member's Dial fails there on this process's
// side. Before, each member's Dial failed in silence at every poll until
// the ctx ended, with "cluster … has no member with a gateway yet" from a
// healthy cluster (a new user's trial). A process of its own: the test
// process's client endpoint already runs.
func TestDialClusterOwnListenInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 3 s)")
	}
	peers, _ := apiCluster(t, "own-listen", "own-a")
	dialAPICluster(t, exo.ClusterConfig{Cluster: "own-listen", Peers: peers}, 1) // the member serves
	held := testutil.AcceptAndHold(t)                                            // this process listens there
	h := startHelper(t, "dial-cluster", "EXO_CLUSTER=own-listen", "EXO_PEERS="+strings.Join(peers, ","), "EXO_LISTEN="+held)
	line := h.line(t, 30*time.Second)
	h.wait(t)
	t.Log(line)
	want := "dial cluster own-listen: ClusterConfig.Dial: cannot listen on " + held + ": another process (another node?) listens there; pick another port or stop that process"
	// ErrInvalidRequest too, as Dial's own error (a re-trial: a busy
	// listen port matched no sentinel on Dial).
	if !strings.HasPrefix(line, "error after ") || !strings.Contains(line, want) || !strings.Contains(line, "(invalid config: true, invalid request: true)") {
		t.Fatalf("helper said %q; want an error wrapping ErrInvalidConfig and ErrInvalidRequest with %q", line, want)
	}
	// The helper's ctx is 20 s; at once is a poll or two after the
	// member's connection check, on a starved machine a few seconds.
	after, _, _ := strings.Cut(strings.TrimPrefix(line, "error after "), " ")
	if d, err := time.ParseDuration(after); err != nil || d > 8*time.Second {
		t.Errorf("DialCluster failed after %s: want at once, not at the end of its ctx", after)
	}
}
