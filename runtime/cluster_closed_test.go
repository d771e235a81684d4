package runtime_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestClientsClosedSayWhichAndWhatToDo: every call on a closed Client or
// ClusterClient wraps ErrClientClosed and names the client (its node and
// address, or its cluster) and what to do; they said "client closed" and
// nothing else (a new user's trial). Also the empty Kind: ErrInvalidSpec
// and ErrInvalidRequest on both, as a malformed kind is ErrInvalidSpec
// (it was ErrInvalidRequest only on a ClusterClient, ErrInvalidSpec only
// on a Client).
func TestClientsClosedSayWhichAndWhatToDo(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 3 s)")
	}
	peers, _ := apiCluster(t, "closed-test", "closed-a")
	cc, _ := dialAPICluster(t, exo.ClusterConfig{Cluster: "closed-test", Peers: peers}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := exo.Dial(ctx, cc.Members()[0].Gateway)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]exo.Node{"ClusterClient": cc, "Client": c} {
		_, err := n.SpawnRunner(ctx, exo.RunnerSpec{})
		if !errors.Is(err, exo.ErrInvalidSpec) || !errors.Is(err, exo.ErrInvalidRequest) || err == nil || !strings.Contains(err.Error(), "RunnerSpec.Kind is empty") {
			t.Errorf("%s.SpawnRunner with an empty Kind: %v; want ErrInvalidSpec and ErrInvalidRequest, naming RunnerSpec.Kind", name, err)
		}
	}
	id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if c2, err := exo.Dial(ctx, cc.Members()[0].Gateway); err == nil {
			_, _ = c2.StopRunner(ctx, id)
			c2.Close()
		}
	}()
	cc.Close()
	c.Close()
	check := func(who, what string, err error, want ...string) {
		t.Helper()
		if !errors.Is(err, exo.ErrClientClosed) || err == nil {
			t.Errorf("%s.%s after Close: %v; want ErrClientClosed", who, what, err)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s.%s after Close: %q; want %q", who, what, err, w)
			}
		}
	}
	nodeName := "closed-a"
	for name, n := range map[string]exo.Node{"ClusterClient": cc, "Client": c} {
		want := []string{"cluster closed-test", "dial the cluster again (DialCluster)"}
		if name == "Client" {
			want = []string{"client of node " + nodeName + " (" + c.Addr() + ")", "dial the node again (Dial)"}
		}
		_, err := n.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
		check(name, "SpawnRunner", err, want...)
		_, err = n.Submit(ctx, id, exo.Task{ID: "t", Kind: "text_generation"})
		check(name, "Submit", err, want...)
		check(name, "WaitReady", n.WaitReady(ctx, id), want...)
		_, err = n.Cancel(ctx, id, "t")
		check(name, "Cancel", err, want...)
		_, err = n.StopRunner(ctx, id)
		check(name, "StopRunner", err, want...)
		_, err = n.Runners(ctx)
		check(name, "Runners", err, want...)
		_, err = n.Subscribe(exo.TopicTasks, exo.Filter{RunnerID: id}, exo.SubscribeOptions{})
		check(name, "Subscribe", err, want...)
	}
}
