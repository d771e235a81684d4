package runtime_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestDialClusterFrozenEtcdEndsWithItsCtx: a DialCluster whose etcd
// accepts connections and answers nothing (frozen, SIGSTOP: the kernel
// still accepts) returns when its ctx ends. Each read of the membership
// made a new etcd client and gave its Status call EtcdDialTimeout (2 s),
// then looked at the endpoint for 1 s more, whatever the ctx: the dial
// returned after 3 s for a ctx of 300 ms, and a ClusterClient's poller
// (reads bounded by 500 ms) and Close were held as long.
func TestDialClusterFrozenEtcdEndsWithItsCtx(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn // the accept loop's until done is closed
	go func() {          // owner: this test's cleanup, which waits on done
		defer close(done) // sole sender: this accept loop
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "c", Provider: "etcd", EtcdEndpoints: []string{lis.Addr().String()}})
	took := time.Since(start)
	if err == nil {
		cc.Close()
		t.Fatal("DialCluster succeeded against a frozen etcd")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("DialCluster: %v; want an error wrapping its ctx's", err)
	}
	if took > 1500*time.Millisecond {
		t.Errorf("DialCluster with a ctx of 300ms returned after %s: %v", took.Round(time.Millisecond), err)
	}
	t.Logf("took %s: %v", took.Round(time.Millisecond), err)
}
