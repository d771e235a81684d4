package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestNodeClusterUsageErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "node.json")
	if err := os.WriteFile(good, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"node", "--name", "a", "--config", good}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--cluster-peers", "127.0.0.1:7001"}, "--cluster-peers needs --cluster NAME"},
		{[]string{"--cluster-provider", "etcd"}, "--cluster-provider needs --cluster NAME"},
		{[]string{"--etcd-endpoints", "127.0.0.1:2379"}, "--etcd-endpoints needs --cluster NAME"},
		{[]string{"--cluster", ""}, "--cluster is empty"},
		{[]string{"--cluster", "c", "--cluster-provider", "zookeeper"}, `unknown cluster provider "zookeeper"`},
		{[]string{"--cluster", "c"}, "automanaged needs this member's HTTP port (--cluster-port)"},
		{[]string{"--cluster", "c", "--cluster-port", "7001"}, "automanaged needs the peers' HTTP addresses"},
		{[]string{"--cluster", "c", "--cluster-port", "7001", "--cluster-peers", "127.0.0.1:7002"}, "do not include this member's own 127.0.0.1:7001"},
		{[]string{"--cluster", "bad name", "--cluster-port", "7001", "--cluster-peers", "127.0.0.1:7001"}, `bad cluster name "bad name"`},
		{[]string{"--cluster", "c", "--cluster-provider", "etcd"}, "etcd needs at least one endpoint"},
		// etcd ignores the automanaged flags: refused, not silently ignored.
		{[]string{"--cluster", "c", "--cluster-provider", "etcd", "--etcd-endpoints", "127.0.0.1:2379", "--cluster-port", "7001"},
			"--cluster-port is for --cluster-provider automanaged"},
		{[]string{"--cluster", "c", "--cluster-provider", "etcd", "--etcd-endpoints", "127.0.0.1:2379", "--cluster-peers", "127.0.0.1:7001"},
			"--cluster-peers is for --cluster-provider automanaged"},
		{[]string{"--cluster", "c", "--cluster-port", "7001", "--cluster-peers", "127.0.0.1:7001", "--etcd-endpoints", "127.0.0.1:2379"},
			"--etcd-endpoints is for --cluster-provider etcd"},
		// A member advertises its gateway: "every interface" is no address.
		{[]string{"--listen", "0.0.0.0:0", "--cluster", "c", "--cluster-port", "7001", "--cluster-peers", "127.0.0.1:7001"},
			"--listen 0.0.0.0:0 with --cluster: a member advertises its gateway address"},
		{[]string{"--listen", "[::]:7101", "--cluster", "c", "--cluster-port", "7001", "--cluster-peers", "127.0.0.1:7001"},
			"and :: is no address to dial"},
	}
	for _, tt := range tests {
		args := append(append([]string(nil), base...), tt.args...)
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(args, strings.NewReader(""), &stdout, &stderr)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, ExitUsage, stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "exo-actors: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr.String(), tt.want)
			}
		})
	}
}

// nodeEvent is one line a cluster node process wrote that the test waits
// on: its gateway address, a change of its cluster view, or its end.
type nodeEvent struct {
	node    string
	at      time.Time
	gateway string // "node X listening on ADDR"
	members string // "cluster view changed": member node names, comma-separated
	left    string
	state   string
}

// clusterNode is one `exo-actors node --cluster` process.
type clusterNode struct {
	name    string
	cmd     *exec.Cmd
	stdout  bytes.Buffer // written only by the stdout reader
	readers sync.WaitGroup
	done    bool
}

// startClusterNode starts a node process; its stdout and stderr readers
// deliver the lines the test waits on to events. When events is full a line
// is dropped (it holds 256; the test produces about 20).
func startClusterNode(t *testing.T, name, config, marker string, clusterArgs []string, events chan<- nodeEvent) *clusterNode {
	t.Helper()
	args := append([]string{"node", "--name", name, "--listen", "127.0.0.1:0", "--config", config, "--log-format", "json"}, clusterArgs...)
	n := &clusterNode{name: name, cmd: exec.Command(exoBinary(t), args...)}
	n.cmd.Env = append(os.Environ(), "EXO_ACTORS_TEST_MARK="+marker)
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.StartChild(t, n.cmd); err != nil {
		t.Fatal(err)
	}
	send := func(ev nodeEvent) {
		select {
		case events <- ev:
		default:
		}
	}
	n.readers.Add(2)
	go func() { // owner: the node; waited by stop before cmd.Wait
		defer n.readers.Done()
		sc := bufio.NewScanner(io.TeeReader(stdout, &n.stdout))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "node "+name+" listening on "); ok {
				send(nodeEvent{node: name, at: time.Now(), gateway: strings.Fields(rest)[0]})
			}
		}
	}()
	go func() { // owner: the node; waited by stop before cmd.Wait
		defer n.readers.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			var l map[string]any
			if json.Unmarshal(sc.Bytes(), &l) != nil || l["msg"] != "cluster view changed" {
				continue
			}
			str := func(k string) string { s, _ := l[k].(string); return s }
			send(nodeEvent{node: name, at: time.Now(), members: str("members"), left: str("left"), state: str("state")})
		}
	}()
	t.Cleanup(func() {
		if !n.done {
			_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			n.wait()
		}
	})
	return n
}

// wait reaps the node after its readers saw EOF and returns its exit code
// (-1 for a death by signal).
func (n *clusterNode) wait() int {
	n.readers.Wait()
	n.done = true
	err := n.cmd.Wait()
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1
		}
		return ee.ExitCode()
	}
	return -2
}

// awaitEvents reads events until want returned true for each of nodes, or
// the timeout passed. It returns the matching event of each node.
func awaitEvents(t *testing.T, events <-chan nodeEvent, nodes []string, timeout time.Duration, what string,
	want func(nodeEvent) bool) map[string]nodeEvent {
	t.Helper()
	got := map[string]nodeEvent{}
	deadline := time.After(timeout)
	for len(got) < len(nodes) {
		select {
		case ev := <-events:
			if _, seen := got[ev.node]; !seen && want(ev) && strings.Contains(","+strings.Join(nodes, ",")+",", ","+ev.node+",") {
				got[ev.node] = ev
			}
		case <-deadline:
			t.Fatalf("after %s, %s: only %v", timeout, what, got)
		}
	}
	return got
}

// TestNodeClusterProcesses runs three `exo-actors node --cluster` processes
// (automanaged, loopback), checks `cluster status --json` lists the three
// with their kinds and gateway addresses, kill -9s one and checks the other
// two drop it within the documented detection bound, then SIGTERMs them and
// checks they leave and exit 0, leaving no process behind.
func TestNodeClusterProcesses(t *testing.T) {
	marker := fmt.Sprintf("node-cluster-%d-%d", os.Getpid(), time.Now().UnixNano())
	dir := t.TempDir()
	configs := map[string]string{
		"gpu-a": `{"kinds": {"llama": {"builtin": true}, "embed": {"builtin": true}}}`,
		"gpu-b": `{"kinds": {"llama": {"builtin": true}}}`,
		"cpu-c": `{"kinds": {"embed": {"builtin": true}}}`,
	}
	wantKinds := map[string]string{"gpu-a": "embed,llama", "gpu-b": "llama", "cpu-c": "embed"}
	c := startThreeNodes(t, dir, marker, "demo-test", configs)
	nodes, events, gateways, peerList, start := c.nodes, c.events, c.gateways, c.peerList, c.start

	out, err := exec.Command(exoBinary(t), "cluster", "status", "--json", "--cluster", "demo-test", "--cluster-peers", peerList).Output()
	if err != nil {
		t.Fatalf("cluster status: %v", err)
	}
	var st membership.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("cluster status --json: %v\n%s", err, out)
	}
	if !st.Agree || len(st.Members) != 3 {
		t.Fatalf("cluster status: agree %v, %d members:\n%s", st.Agree, len(st.Members), out)
	}
	for _, m := range st.Members {
		if got := strings.Join(m.Kinds, ","); got != wantKinds[m.NodeName] || m.Gateway != gateways[m.NodeName] {
			t.Errorf("member %s: kinds %q gateway %q, want %q and %q", m.NodeName, got, m.Gateway, wantKinds[m.NodeName], gateways[m.NodeName])
		}
	}
	t.Logf("cluster status --json: %d members, agree %v", len(st.Members), st.Agree)

	// kill -9 of cpu-c: gpu-a and gpu-b drop it within the bound.
	bound := membership.Config{Provider: membership.ProviderAutomanaged}.DetectionBound()
	killed := time.Now()
	if err := syscall.Kill(-nodes["cpu-c"].cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := nodes["cpu-c"].wait(); code != -1 {
		t.Errorf("cpu-c: exit %d after SIGKILL", code)
	}
	drop := awaitEvents(t, events, []string{"gpu-a", "gpu-b"}, bound+10*time.Second, "both survivors dropping cpu-c", func(ev nodeEvent) bool {
		return ev.members == "gpu-a,gpu-b" && strings.Contains(ev.left, "cpu-c")
	})
	for _, name := range []string{"gpu-a", "gpu-b"} {
		d := drop[name].at.Sub(killed)
		t.Logf("%s dropped cpu-c %v after kill -9 (documented bound %v)", name, d.Round(time.Millisecond), bound)
		if d > bound {
			t.Errorf("%s dropped cpu-c after %v, beyond the documented bound %v", name, d, bound)
		}
	}

	// SIGTERM: each leaves the cluster, shuts down and exits 0.
	for _, name := range []string{"gpu-a", "gpu-b"} {
		if err := nodes[name].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"gpu-a", "gpu-b"} {
		n := nodes[name]
		code := n.wait()
		if code != 0 {
			t.Errorf("%s: exit %d after SIGTERM, want 0; stdout:\n%s", name, code, n.stdout.String())
		}
		if !strings.Contains(n.stdout.String(), "node "+name+" left cluster demo-test") ||
			!strings.Contains(n.stdout.String(), "node "+name+": shut down gracefully") {
			t.Errorf("%s: stdout lacks the leave and the graceful shutdown:\n%s", name, n.stdout.String())
		}
		// The member ID is printed even when the view has not settled yet
		// (it was empty in 4 of 5 starts a new user made).
		if m := regexp.MustCompile(`as member (\S*)`).FindStringSubmatch(n.stdout.String()); m == nil || m[1] == "" {
			t.Errorf("%s: the joined line names no member ID:\n%s", name, n.stdout.String())
		}
	}
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}

// threeNodes is a running three-node automanaged cluster of `exo-actors
// node` processes on loopback: gpu-a, gpu-b and cpu-c.
type threeNodes struct {
	nodes    map[string]*clusterNode
	events   chan nodeEvent    // what the nodes print, parsed; never closed: the readers only send
	names    []string          // gpu-a, gpu-b, cpu-c
	gateways map[string]string // node name → gateway address
	peerList string            // the cluster's peers, comma-separated
	start    time.Time
}

// startThreeNodes starts gpu-a, gpu-b and cpu-c as one cluster named
// cluster, each with its config from configs, and waits until every node
// listens and sees all three members. A cleanup fails the test (and kills
// them) if any process marked with marker is left.
func startThreeNodes(t *testing.T, dir, marker, cluster string, configs map[string]string) *threeNodes {
	t.Helper()
	return startThreeNodesArgs(t, dir, marker, cluster, configs, nil)
}

// startThreeNodesArgs is startThreeNodes with more arguments for some
// nodes, by name.
func startThreeNodesArgs(t *testing.T, dir, marker, cluster string, configs map[string]string, extra map[string][]string) *threeNodes {
	t.Helper()
	names := []string{"gpu-a", "gpu-b", "cpu-c"}
	ports := testutil.ReservePorts(t, 3)
	var peers []string
	for _, p := range ports {
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(p))
	}
	c := &threeNodes{names: names, nodes: map[string]*clusterNode{}, events: make(chan nodeEvent, 256), gateways: map[string]string{},
		peerList: strings.Join(peers, ","), start: time.Now()}
	for i, name := range names {
		cfg := filepath.Join(dir, name+".json")
		if err := os.WriteFile(cfg, []byte(configs[name]), 0o600); err != nil {
			t.Fatal(err)
		}
		c.nodes[name] = startClusterNode(t, name, cfg, marker, append([]string{"--cluster", cluster, "--cluster-provider", "automanaged",
			"--cluster-port", strconv.Itoa(ports[i]), "--cluster-peers", c.peerList}, extra[name]...), c.events)
	}
	t.Cleanup(func() {
		if left := testutil.MarkedProcesses("EXO_ACTORS_TEST_MARK", marker); len(left) > 0 {
			t.Errorf("processes left running: %v", left)
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGCONT) // a test may have stopped it
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	// The gateway line (stdout) and the view line (stderr) come through
	// different pipes, in either order.
	sawAll := map[string]bool{}
	awaitEvents(t, c.events, names, 20*time.Second, "every node listening and seeing 3 members", func(ev nodeEvent) bool {
		if ev.gateway != "" {
			c.gateways[ev.node] = ev.gateway
		}
		if ev.members == "cpu-c,gpu-a,gpu-b" {
			sawAll[ev.node] = true
		}
		return sawAll[ev.node] && c.gateways[ev.node] != ""
	})
	t.Logf("3 nodes joined, every view holds all 3, %v after start", time.Since(c.start).Round(time.Millisecond))
	return c
}

// TestListenShown: the listening line of a node on every interface names
// the --listen host with the port, and an address to dial; before, it
// printed protoactor's "[::]:P".
func TestListenShown(t *testing.T) {
	for _, tt := range []struct{ listen, addr, want string }{
		{"127.0.0.1:7101", "127.0.0.1:7101", "127.0.0.1:7101"},
		{"0.0.0.0:0", "[::]:41234", "0.0.0.0:41234 (every interface: clients dial one of this host's IP addresses, e.g. 127.0.0.1:41234)"},
		{"[::]:7101", "[::]:7101", "[::]:7101 (every interface: clients dial one of this host's IP addresses, e.g. 127.0.0.1:7101)"},
	} {
		if got := listenShown(tt.listen, tt.addr); got != tt.want {
			t.Errorf("listenShown(%q, %q) = %q, want %q", tt.listen, tt.addr, got, tt.want)
		}
	}
}
