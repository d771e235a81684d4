package membership

import (
	"net"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// acceptAndClose listens on addr ("127.0.0.1:0" for any port) and closes
// every connection it accepts at once, as a port where etcd is not (yet)
// back makes the client try again; each try's time is sent on the
// returned channel. stop closes the listener and waits for its goroutine.
func acceptAndClose(t *testing.T, addr string) (lis net.Listener, tries <-chan time.Time, stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan time.Time, 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owner: stop waits for it
		defer wg.Done()
		defer close(ch) // sole sender: this accept loop
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			at := time.Now()
			c.Close()
			select {
			case ch <- at:
			default: // the test reads far fewer
			}
		}
	}()
	var once sync.Once
	return lis, ch, func() {
		once.Do(func() {
			lis.Close()
			wg.Wait()
		})
	}
}

// TestEtcdClientReconnectsWithinASecond: the etcd client a member makes
// tries its connection again at most about a second after the last try
// failed, however long etcd has been gone. With grpc's default backoff
// (1 s, growing by 1.6 up to 120 s) an operator's members, after an etcd
// restart, tried again 5–15 s after etcd was back, past their 3 s lease,
// and were evicted (docs/cluster.md, "etcd restarted").
func TestEtcdClientReconnectsWithinASecond(t *testing.T) {
	lis, tries, stop := acceptAndClose(t, "127.0.0.1:0")
	defer stop()
	cfg := Config{EtcdEndpoints: []string{lis.Addr().String()}, EtcdDialTimeout: DefaultEtcdDialTimeout}
	cli, err := clientv3.New(etcdClientConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// The client dials at once and, with no call made, goes on trying.
	// The bound: the backoff's MaxDelay with its jitter, and room for a
	// loaded 2-core machine. grpc's default reaches 1.6 s at the second
	// gap and 2.6 s at the third.
	bound := time.Duration(float64(etcdBackoff.MaxDelay)*(1+etcdBackoff.Jitter)) + 500*time.Millisecond
	const gaps = 8 // 100 ms growing by 1.6: the 6th gap reaches the 1 s cap
	timeout := time.NewTimer(time.Duration(gaps+2) * bound)
	defer timeout.Stop()
	var last time.Time
	var seen []time.Duration
	for len(seen) < gaps {
		select {
		case at, ok := <-tries:
			if !ok {
				t.Fatal("the listener ended")
			}
			if !last.IsZero() {
				gap := at.Sub(last)
				seen = append(seen, gap.Round(time.Millisecond))
				if gap > bound {
					t.Fatalf("the client tried again %s after its last try (gaps so far %v), want at most %s: etcd back after a restart would wait that long for this member, and its 3s lease would expire", gap.Round(time.Millisecond), seen, bound)
				}
			}
			last = at
		case <-timeout.C:
			t.Fatalf("no %d tries within %s (gaps %v)", gaps+1, time.Duration(gaps+2)*bound, seen)
		}
	}
	t.Logf("gaps between tries: %v", seen)
}
