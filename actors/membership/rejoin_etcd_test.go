package membership

// A rejoin must leave nothing of the old incarnation behind: not its etcd
// key (its lease kept alive from inside the process), not its etcd client
// (one more TCP connection to etcd per rejoin), not its goroutines.

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdConns counts pid's established TCP connections to port (etcd's client
// port): the sockets among pid's open files that /proc/pid/net/tcp{,6}
// lists as established with that remote port.
func etcdConns(t *testing.T, pid, port int) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("read the open files of %d: %v", pid, err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"tcp", "tcp6"} {
		f, err := os.Open(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "01" || !inodes[fs[9]] {
				continue
			}
			i := strings.LastIndexByte(fs[2], ':')
			if p, err := strconv.ParseUint(fs[2][i+1:], 16, 16); err == nil && int(p) == port {
				n++
			}
		}
		f.Close()
	}
	return n
}

// etcdMemberKeys returns the member IDs etcd holds keys for in cluster.
func etcdMemberKeys(t *testing.T, cli *clientv3.Client, cluster string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, DefaultEtcdBaseKey+"/"+cluster+"/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatalf("read the member keys: %v", err)
	}
	var ids []string
	for _, kv := range resp.Kvs {
		ids = append(ids, path.Base(string(kv.Key)))
	}
	slices.Sort(ids)
	return ids
}

// poll calls ok every 50 ms until it holds; after bound it fails the test
// with what(), the state it last saw.
func poll(t *testing.T, bound time.Duration, ok func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", bound, what())
		}
		<-tick.C
	}
}

// TestEtcdRejoinTearsTheOldIncarnationDown freezes n2 until etcd dropped its
// key (its lease expired), resumes it, and after each of three rejoins
// checks that etcd holds exactly one key per live member (the old
// incarnation's key is gone, not kept alive from inside n2) and that n2 has
// no more connections to etcd than before its first rejoin (the old
// incarnation's etcd clients are closed).
func TestEtcdRejoinTearsTheOldIncarnationDown(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test with etcd (about 25 s)")
	}
	endpoint := startEtcd(t, etcdBinary(t))
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	etcdPort, _ := strconv.Atoi(u.Port())
	cli, err := checkEtcd(Config{EtcdEndpoints: []string{endpoint}, EtcdDialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	const cluster = "rejoin"
	s := newMemberSet(t, "--cluster", cluster, "--cluster-provider", "etcd", "--etcd-endpoints", endpoint)
	names := []string{"n1", "n2", "n3"}
	ms := map[string]*member{}
	for _, n := range names {
		ms[n] = s.start(n)
	}
	for _, n := range names {
		ms[n].until(t, "a view of n1,n2,n3", joinedWith(names...))
	}
	n1, n2, n3 := ms["n1"], ms["n2"], ms["n3"]
	pid := n2.cmd.Process.Pid

	// keysAre waits until etcd holds exactly the live members' keys.
	keysAre := func(when string) {
		t.Helper()
		want := []string{n1.last.Self, n2.last.Self, n3.last.Self}
		slices.Sort(want)
		var got []string
		poll(t, 10*time.Second, func() bool {
			got = etcdMemberKeys(t, cli, cluster)
			return slices.Equal(got, want)
		}, func() string {
			return fmt.Sprintf("%s: etcd holds keys %v, want one per live member %v", when, got, want)
		})
	}
	keysAre("after the first join")
	base := etcdConns(t, pid, etcdPort)
	t.Logf("n2 (pid %d) holds %d connections to etcd after its first join", pid, base)

	for round := 1; round <= 3; round++ {
		old := n2.last.Self
		if err := syscall.Kill(-pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		// Frozen past its lease: the others drop n2 once etcd deleted its key.
		for _, m := range []*member{n1, n3} {
			m.until(t, "frozen n2 gone", joinedWith("n1", "n3"))
		}
		if err := syscall.Kill(-pid, syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		l := n2.until(t, "n2 rejoined under a new ID", func(l line) bool {
			return l.State == Joined && l.Self != old && len(l.Members) == 3
		})
		for _, m := range []*member{n1, n3} {
			m.until(t, "n2's new ID", func(x line) bool {
				_, ok := x.Member(l.Self)
				return x.State == Joined && ok && len(x.Members) == 3
			})
		}
		keysAre(fmt.Sprintf("rejoin %d", round))
		var conns int
		poll(t, 10*time.Second, func() bool {
			conns = etcdConns(t, pid, etcdPort)
			return conns <= base
		}, func() string {
			return fmt.Sprintf("rejoin %d: n2 holds %d connections to etcd, %d before its first rejoin: the old incarnations' etcd clients are still open", round, conns, base)
		})
		t.Logf("rejoin %d: n2 is %s (incarnation %d), etcd keys %v, n2's connections to etcd %d",
			round, l.Self, l.Incarnation, etcdMemberKeys(t, cli, cluster), conns)
	}
}

// TestEtcdOutageIsLogged: a member whose etcd stops answering says so, once,
// at warn (a new user's trial stopped etcd for 10 s and the members logged
// nothing until they were evicted after it came back); once etcd answers
// again the member says so, or, its lease gone meanwhile, that it was
// evicted and rejoins.
func TestEtcdOutageIsLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test with etcd (about 15 s)")
	}
	endpoint, etcd := startEtcdProc(t, etcdBinary(t))
	s := newMemberSet(t, "--cluster", "outage", "--cluster-provider", "etcd", "--etcd-endpoints", endpoint)
	n1 := s.start("n1")
	n1.until(t, "joined", joinedWith("n1"))
	logHas := func(what string, texts ...string) string {
		t.Helper()
		var log string
		poll(t, 30*time.Second, func() bool {
			b, _ := os.ReadFile(n1.errPath)
			log = string(b)
			return slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(log, s) })
		}, func() string { return fmt.Sprintf("n1 did not log %s (%q); its log:\n%s", what, texts, log) })
		return log
	}
	if err := syscall.Kill(-etcd.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := true
	defer func() {
		if frozen {
			_ = syscall.Kill(-etcd.Pid, syscall.SIGCONT)
		}
	}()
	log := logHas("the outage", "etcd does not answer: this member keeps its last view of the cluster")
	if !strings.Contains(log, "level=warning") {
		t.Errorf("the outage is not logged at warn:\n%s", log)
	}
	if err := syscall.Kill(-etcd.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	frozen = false
	log = logHas("etcd's return", "etcd answers again: this member had no answer from it for", "evicted from cluster outage: etcd deleted this member's key")
	if n := strings.Count(log, "etcd does not answer"); n != 1 {
		t.Errorf("the outage logged %d times, want once:\n%s", n, log)
	}
}
