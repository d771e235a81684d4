package testutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// EtcdBinary finds etcd (/usr/bin/etcd, else on PATH). Absent, the test
// skips with a clear message, unless CI is set: there it fails (.ci/run
// installs Debian's etcd-server).
func EtcdBinary(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/etcd"); err == nil {
		return "/usr/bin/etcd"
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("etcd not found and CI is set: install Debian's etcd-server (apt-get install -y etcd-server); .ci/run does")
	}
	t.Skip("etcd not found (/usr/bin/etcd or on PATH): install Debian's etcd-server to run this etcd test")
	return ""
}

// StartEtcd runs a single-node etcd (bin) on two reserved loopback ports
// with its data in a temporary directory, in a process group of its own
// that dies with the test process (Pdeathsig); the test's cleanup kills
// and reaps it. It returns etcd's client URL once etcd answered a Status
// call (within 20 s, else the test fails).
func StartEtcd(t testing.TB, bin string) string {
	t.Helper()
	ports := ReservePorts(t, 2)
	client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	cmd := exec.Command(bin, "--name", "exo-test", "--data-dir", filepath.Join(t.TempDir(), "etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "exo-test="+peer)
	if err := StartChild(t, cmd); err != nil { // its own group, dies with the test process
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 20 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// The client waits for the connection within the call's ctx: no poll.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cli.Status(ctx, client); err != nil {
		t.Fatalf("etcd did not answer at %s within 20s: %v", client, err)
	}
	return client
}

// EtcdPut writes each key (value "{}") to the etcd at endpoint, as
// protoactor's etcd provider keys a member (BASE/CLUSTER/ID): the tests of
// what is read back from etcd need no member process for it.
func EtcdPut(t testing.TB, endpoint string, keys ...string) {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range keys {
		if _, err := cli.Put(ctx, k, "{}"); err != nil {
			t.Fatal(err)
		}
	}
}
