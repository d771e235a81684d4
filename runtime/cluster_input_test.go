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
}
