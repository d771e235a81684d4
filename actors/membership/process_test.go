package membership

// Multi-process tests: every member is an `exo-actors cluster-member`
// process (one protoactor Remote per process, loopback only) printing its
// membership changes as JSON lines. Every process is in its own process
// group, killed and reaped at the end of its test.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// exoBinary builds exo-actors once (without -race) for the member processes.
func exoBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "exo-actors-membership-test-")
		if buildErr != nil {
			return
		}
		binPath, buildErr = testutil.BuildExo(binDir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// markerKey tags the test's child processes so a scan of /proc finds them.
const markerKey = "EXO_MEMBERSHIP_TEST"

// wait bounds every wait for a membership change in these tests.
const wait = 30 * time.Second

// line is one JSON line of `exo-actors cluster-member`.
type line struct {
	Time        time.Time `json:"time"`
	State       State     `json:"state"`
	Self        string    `json:"self"`
	Incarnation int       `json:"incarnation"`
	Members     []Member  `json:"members"`
	Reason      string    `json:"reason"`
	at          time.Time // when the test read it
}

func (l line) nodes() []string {
	var out []string
	for _, m := range l.Members {
		out = append(out, m.NodeName)
	}
	slices.Sort(out)
	return out
}

// member is one running member process.
type member struct {
	name  string
	cmd   *exec.Cmd
	lines chan line // sole sender: the stdout reader goroutine, which closes it at EOF
	seen  []line    // every line the test has read, in order
	last  line
	done  chan struct{} // closed when the process was reaped
	// errPath is the file of the process's stderr (its log).
	errPath string
}

// memberSet starts and owns the member processes of one test.
type memberSet struct {
	t      *testing.T
	bin    string
	marker string
	common []string
}

func newMemberSet(t *testing.T, common ...string) *memberSet {
	s := &memberSet{t: t, bin: exoBinary(t), marker: fmt.Sprintf("%s-%d", t.Name(), os.Getpid()), common: common}
	// Registered first, so it runs after every member's own cleanup.
	t.Cleanup(func() {
		for _, p := range testutil.MarkedProcesses(markerKey, s.marker) {
			if st := testutil.ProcessState(p); st != "Z" && st != "" {
				t.Errorf("member process %d left behind (state %s)", p, st)
			}
		}
	})
	return s
}

func (s *memberSet) start(name string, args ...string) *member {
	t := s.t
	t.Helper()
	all := append([]string{"cluster-member", "--log-level", "info", "--name", name}, s.common...)
	cmd := exec.Command(s.bin, append(all, args...)...)
	cmd.Env = append(os.Environ(), markerKey+"="+s.marker)
	errPath := filepath.Join(t.TempDir(), name+".stderr")
	stderr, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.StartChild(t, cmd); err != nil { // its own group, dies with the test process
		t.Fatal(err)
	}
	stderr.Close()
	m := &member{name: name, cmd: cmd, lines: make(chan line, 1024), done: make(chan struct{}), errPath: errPath}
	var readerDone sync.WaitGroup
	readerDone.Add(1)
	go func() { // owner: this member; the reaper waits for it
		defer readerDone.Done()
		defer close(m.lines) // sole sender: this reader, at EOF
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("%s printed a bad line %q: %v", name, sc.Text(), err)
				continue
			}
			l.at = time.Now()
			m.lines <- l
		}
	}()
	go func() { // owner: this member; cleanup waits on done
		readerDone.Wait() // all reads before Wait (os/exec)
		_ = cmd.Wait()
		close(m.done) // sole sender: this reaper, once
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
		for range m.lines { // let the reader finish
		}
		<-m.done
		if t.Failed() {
			if dir := os.Getenv("EXO_KEEP_LOGS"); dir != "" {
				b, _ := os.ReadFile(errPath)
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%d.stderr", name, cmd.Process.Pid)), b, 0o644)
			}
		}
	})
	return m
}

// kill9 kills m's process group and waits until it is reaped.
func (m *member) kill9(t *testing.T) {
	t.Helper()
	_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
	for l := range m.lines {
		m.record(l)
	}
	<-m.done
}

func (m *member) record(l line) {
	m.seen = append(m.seen, l)
	m.last = l
}

// until reads m's lines until ok holds for the latest one (or already does)
// and returns that line; it fails the test after wait.
func (m *member) until(t *testing.T, what string, ok func(line) bool) line {
	t.Helper()
	if len(m.seen) > 0 && ok(m.last) {
		return m.last
	}
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		select {
		case l, open := <-m.lines:
			if !open {
				t.Fatalf("%s exited while waiting for %s; last line %+v", m.name, what, m.last)
			}
			m.record(l)
			if ok(l) {
				return l
			}
		case <-timeout.C:
			t.Fatalf("%s: no %s within %s; last line %+v", m.name, what, wait, m.last)
		}
	}
}

// drain records the lines m has printed so far without waiting.
func (m *member) drain() {
	for {
		select {
		case l, open := <-m.lines:
			if !open {
				return
			}
			m.record(l)
		default:
			return
		}
	}
}

func joinedWith(nodes ...string) func(line) bool {
	slices.Sort(nodes)
	want := strings.Join(nodes, ",")
	return func(l line) bool { return l.State == Joined && strings.Join(l.nodes(), ",") == want }
}

// noLoneMember checks that no line of ms after index from[m] shows a member
// joined in a one-member cluster: while the others run, nobody acts alone.
func noLoneMember(t *testing.T, from map[*member]int, ms ...*member) {
	t.Helper()
	for _, m := range ms {
		m.drain()
		for _, l := range m.seen[from[m]:] {
			if l.State == Joined && len(l.Members) == 1 {
				t.Errorf("%s reported itself as a one-member cluster at %s while the others ran: %+v", m.name, l.Time.Format(time.RFC3339Nano), l)
			}
		}
	}
}

// scenario is the test of issue 21 on one provider: three members converge;
// one is killed (-9) and the others see it gone (measured against the
// documented bound); it comes back under a new member ID; another is frozen
// (SIGSTOP) for 5 s and, resumed, rejoins under a new member ID, and no
// member ever reports a one-member cluster while the others run.
func scenario(t *testing.T, s *memberSet, bound time.Duration, args map[string][]string, statusArgs ...string) {
	names := []string{"n1", "n2", "n3"}
	t.Logf("scenario starts at %s", time.Now().Format("15:04:05.000"))
	ms := map[string]*member{}
	for _, n := range names {
		ms[n] = s.start(n, args[n]...)
	}
	t0 := time.Now()
	for _, n := range names {
		ms[n].until(t, "a view of n1,n2,n3", joinedWith(names...))
	}
	t.Logf("3 members converged in %s", time.Since(t0).Round(time.Millisecond))
	n1, n2, n3 := ms["n1"], ms["n2"], ms["n3"]
	for _, m := range []*member{n1, n2} {
		if l := m.last; len(l.Members) != 3 || !l.Members[0].HasKind("shared") {
			t.Fatalf("%s's view lacks the kinds: %+v", m.name, l)
		}
	}
	if n, _ := n1.last.Member(n1.last.Self); n.NodeName != "n1" || !n.HasKind("k1") || (slices.Contains(args["n1"], "--gateway-address") && n.Gateway != "127.0.0.1:9000") {
		t.Fatalf("n1 does not see itself with its kinds: %+v", n1.last)
	}
	checkStatus(t, s.bin, statusArgs, names...)

	// kill -9 n3: the others see it gone within the documented bound.
	oldN3 := n3.last.Self
	killed := time.Now()
	n3.kill9(t)
	var worst time.Duration
	for _, m := range []*member{n1, n2} {
		l := m.until(t, "n3 gone", joinedWith("n1", "n2"))
		d := l.at.Sub(killed)
		worst = max(worst, d)
		t.Logf("%s saw n3 gone %s after kill -9 (bound %s)", m.name, d.Round(time.Millisecond), bound)
	}
	// The bound is the documented claim (docs/cluster.md); 1 s covers the
	// line's trip through stdout on a loaded 2-core machine.
	if worst > bound+time.Second {
		t.Errorf("kill -9 detected after %s, documented bound %s", worst, bound)
	}

	// n3 comes back: a new process, a new member ID, and everybody agrees.
	n3 = s.start("n3", args["n3"]...)
	back := time.Now()
	for _, m := range []*member{n1, n2, n3} {
		m.until(t, "n3 back", joinedWith(names...))
	}
	if n3.last.Self == oldN3 {
		t.Fatalf("n3 came back with its old member ID %s", oldN3)
	}
	t.Logf("n3 rejoined as %s in %s", n3.last.Self, time.Since(back).Round(time.Millisecond))

	// SIGSTOP n2 for 5 s, then SIGCONT: it must end up a member again under a
	// new member ID, and nobody may act alone meanwhile.
	from := map[*member]int{}
	for _, m := range []*member{n1, n2, n3} {
		from[m] = len(m.seen)
	}
	oldN2 := n2.last.Self
	if err := syscall.Kill(-n2.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	for _, m := range []*member{n1, n3} {
		l := m.until(t, "frozen n2 gone", joinedWith("n1", "n3"))
		t.Logf("%s dropped frozen n2 after %s", m.name, l.at.Sub(stopped).Round(time.Millisecond))
	}
	// The freeze lasts 5 s by definition of the scenario: this waits out the
	// input, not for an event.
	time.Sleep(time.Until(stopped.Add(5 * time.Second)))
	if err := syscall.Kill(-n2.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	l := n2.until(t, "n2 rejoined under a new ID", func(l line) bool {
		return l.State == Joined && l.Self != oldN2 && len(l.Members) == 3
	})
	t.Logf("n2 resumed; rejoined as %s (incarnation %d) %s after SIGCONT", l.Self, l.Incarnation, l.at.Sub(resumed).Round(time.Millisecond))
	for _, m := range []*member{n1, n3} {
		m.until(t, "n2's new ID", func(x line) bool {
			_, ok := x.Member(l.Self)
			return x.State == Joined && ok && len(x.Members) == 3
		})
	}
	t.Logf("n1 and n3 see n2's new ID %s after SIGCONT", time.Since(resumed).Round(time.Millisecond))
	var reason string
	for _, x := range n2.seen[from[n2]:] {
		if x.State == Rejoining {
			reason = x.Reason
		}
	}
	if reason == "" {
		t.Errorf("n2 rejoined without a Rejoining line naming the eviction sign")
	}
	t.Logf("n2's eviction sign: %s", reason)
	noLoneMember(t, from, n1, n2, n3)

	// n1 leaves gracefully (SIGTERM): a last "left" line, exit 0, and the
	// others see it gone.
	if err := n1.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	n1.until(t, "left", func(l line) bool { return l.State == Left })
	for range n1.lines {
	}
	<-n1.done
	if code := n1.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("n1 exited %d after SIGTERM, want 0", code)
	}
	for _, m := range []*member{n2, n3} {
		m.until(t, "n1 gone after it left", joinedWith("n2", "n3"))
	}
	t.Logf("scenario done at %s", time.Now().Format("15:04:05.000"))
}

// checkStatus runs `exo-actors cluster status --json` and checks it lists
// the nodes with their kinds.
func checkStatus(t *testing.T, bin string, args []string, nodes ...string) {
	t.Helper()
	var stdout bytes.Buffer
	cmd := exec.Command(bin, append([]string{"cluster", "status", "--json"}, args...)...)
	cmd.Stdout = &stdout
	err := testutil.RunChild(cmd)
	out := stdout.Bytes()
	if err != nil {
		t.Fatalf("cluster status: %v", err)
	}
	var st Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("cluster status printed %q: %v", out, err)
	}
	var got []string
	for _, m := range st.Members {
		if !m.HasKind("shared") {
			t.Errorf("status: %s lacks its kinds: %+v", m.NodeName, m)
		}
		got = append(got, m.NodeName)
	}
	slices.Sort(got)
	if !st.Agree || strings.Join(got, ",") != strings.Join(nodes, ",") {
		t.Errorf("cluster status = %s, want agreeing members %v", out, nodes)
	}
}

// Member returns the member with id in the line's view.
func (l line) Member(id string) (Member, bool) { return View{Members: l.Members}.Member(id) }

func TestAutomanagedMembersConvergeDetectKillAndRejoin(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 15 s)")
	}
	ports := testutil.ReservePorts(t, 3)
	var peers []string
	for _, p := range ports {
		peers = append(peers, fmt.Sprintf("127.0.0.1:%d", p))
	}
	s := newMemberSet(t, "--cluster", "amtest", "--cluster-provider", "automanaged", "--cluster-peers", strings.Join(peers, ","))
	args := map[string][]string{}
	for i, n := range []string{"n1", "n2", "n3"} {
		args[n] = []string{"--cluster-port", fmt.Sprint(ports[i]), "--kinds", fmt.Sprintf("k%d,shared", i+1),
			"--gateway-address", fmt.Sprintf("127.0.0.1:%d", 9000+i)}
	}
	scenario(t, s, Config{Provider: ProviderAutomanaged}.DetectionBound(), args,
		"--cluster", "amtest", "--cluster-peers", strings.Join(peers, ","))
}

// etcdBinary finds etcd: absent, the test skips with a clear message unless
// CI is set, where it fails (.ci/run installs Debian's etcd-server).
func etcdBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/etcd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("etcd not found and CI is set: install Debian's etcd-server (apt-get install -y etcd-server); .ci/run does")
	}
	t.Skip("etcd not found (/usr/bin/etcd or on PATH): install Debian's etcd-server to run the etcd cluster test")
	return ""
}

// startEtcd runs a single-node etcd on loopback ports with its data in a
// temporary directory, killed and reaped at the end of the test.
func startEtcd(t *testing.T, bin string) string {
	t.Helper()
	client, _ := startEtcdProc(t, bin)
	return client
}

// startEtcdProc is startEtcd, also returning etcd's process.
func startEtcdProc(t *testing.T, bin string) (string, *os.Process) {
	t.Helper()
	e := newTestEtcd(t, bin)
	e.start(t)
	return e.client, e.cmd.Process
}

// testEtcd is a single-node etcd on reserved loopback ports with its data
// in a temporary directory, which a test may stop and start again on the
// same ports and data (an etcd restart). Whatever runs of it at the end of
// the test is killed and reaped.
type testEtcd struct {
	bin, dir, client, peer string
	cmd                    *exec.Cmd // the running etcd; nil once stopped
}

func newTestEtcd(t *testing.T, bin string) *testEtcd {
	t.Helper()
	ports := testutil.ReservePorts(t, 2)
	e := &testEtcd{bin: bin, dir: filepath.Join(t.TempDir(), "etcd"),
		client: fmt.Sprintf("http://127.0.0.1:%d", ports[0]), peer: fmt.Sprintf("http://127.0.0.1:%d", ports[1])}
	t.Cleanup(func() {
		if e.cmd != nil {
			e.stop(t, syscall.SIGKILL)
			t.Logf("etcd reaped at %s", time.Now().Format("15:04:05.000"))
		}
	})
	return e
}

// start runs etcd and returns once it answers a Status call.
func (e *testEtcd) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command(e.bin, "--name", "exo-test", "--data-dir", e.dir,
		"--listen-client-urls", e.client, "--advertise-client-urls", e.client,
		"--listen-peer-urls", e.peer, "--initial-advertise-peer-urls", e.peer,
		"--initial-cluster", "exo-test="+e.peer)
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(e.dir), "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	err = testutil.StartChild(t, cmd) // its own group, dies with the test process (it had no Pdeathsig: an orphan if the test binary died)
	logf.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.cmd = cmd
	cfg := Config{EtcdEndpoints: []string{e.client}, EtcdDialTimeout: 500 * time.Millisecond}
	deadline := time.Now().Add(wait)
	for {
		cli, err := checkEtcd(cfg) // each try is bounded by the dial timeout
		if err == nil {
			cli.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd did not answer at %s within %s: %v", e.client, wait, err)
		}
	}
}

// stop sends sig to etcd's process group and reaps it (SIGCONT too, in case
// a test froze it).
func (e *testEtcd) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	_ = syscall.Kill(-e.cmd.Process.Pid, sig)
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGCONT)
	_ = e.cmd.Wait()
	e.cmd = nil
}

func TestEtcdMembersConvergeDetectKillAndRejoin(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test with etcd (about 15 s)")
	}
	endpoint := startEtcd(t, etcdBinary(t))
	s := newMemberSet(t, "--cluster", "etcdtest", "--cluster-provider", "etcd", "--etcd-endpoints", endpoint)
	args := map[string][]string{}
	for i, n := range []string{"n1", "n2", "n3"} {
		args[n] = []string{"--kinds", fmt.Sprintf("k%d,shared", i+1)}
	}
	scenario(t, s, Config{Provider: ProviderEtcd}.DetectionBound(), args,
		"--cluster", "etcdtest", "--cluster-provider", "etcd", "--etcd-endpoints", endpoint)
}
