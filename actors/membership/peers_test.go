package membership

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestPeerMismatch(t *testing.T) {
	const a, b, c = "127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"
	all := []string{a, b, c}
	tests := []struct {
		name    string
		own     string
		peers   []string
		answers map[string]PeerConfig
		want    []string // "" entries: want no warning
	}{
		{"agree", a, all, map[string]PeerConfig{b: {"c", all}, c: {"c", all}}, nil},
		{"older members say nothing", a, all, map[string]PeerConfig{b: {}, c: {}}, nil},
		{"peer in another cluster", a, all, map[string]PeerConfig{b: {"trial", all}, c: {"c", all}},
			[]string{`127.0.0.1:7002 is in cluster "trial", not "c"`, "give every member the same --cluster and --cluster-peers"}},
		{"peer lacks this member", c, []string{a, c}, map[string]PeerConfig{a: {"c", []string{a, b}}},
			[]string{"the --cluster-peers of 127.0.0.1:7001 lack this member's 127.0.0.1:7003", "rejoins over and over",
				"peers list 127.0.0.1:7002, which this member's --cluster-peers lacks", "--cluster-peers 127.0.0.1:7001,127.0.0.1:7003"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PeerMismatch("c", tt.own, tt.peers, tt.answers)
			if len(tt.want) == 0 {
				if got != "" {
					t.Errorf("warning %q, want none", got)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("warning %q: want %q", got, w)
				}
			}
			if strings.Contains(got, "\n") {
				t.Errorf("warning %q is not one line", got)
			}
		})
	}
}

// TestPeerMismatchIsLogged: a member whose peer does not list it, and one
// started with another --cluster, each log at warn level what is wrong and
// what to do. Before, the first rejoined every 5 s saying only "no gossip
// for over 4.2s from …: they evicted this member", and the second silently
// formed a cluster of its own.
func TestPeerMismatchIsLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process membership test (about 5 s)")
	}
	bin := exoBinary(t)
	ports := testutil.ReservePorts(t, 3)
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	start := func(name, cluster string, port int, peers ...string) *bufio.Scanner {
		cmd := exec.Command(bin, "cluster-member", "--log-level", "info", "--name", name, "--cluster", cluster,
			"--cluster-port", strconv.Itoa(port), "--cluster-peers", strings.Join(peers, ","))
		cmd.Env = append(os.Environ(), markerKey+"="+t.Name())
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := testutil.StartChild(t, cmd); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		})
		return bufio.NewScanner(stderr)
	}
	start("pm-a", "pm", ports[0], addr(0)) // lists only itself
	lacks := start("pm-b", "pm", ports[1], addr(0), addr(1))
	other := start("pm-c", "pm-other", ports[2], addr(0), addr(2))
	for _, c := range []struct {
		name string
		sc   *bufio.Scanner
		want string
	}{
		{"pm-b", lacks, "the --cluster-peers of " + addr(0) + " lack this member's " + addr(1)},
		{"pm-c", other, addr(0) + ` is in cluster \"pm\", not \"pm-other\"`},
	} {
		found := make(chan string, 1)
		go func() { // owner: this test, which waits for found or the process's end (cleanup kills it)
			for c.sc.Scan() {
				if l := c.sc.Text(); strings.Contains(l, "level=warning") && strings.Contains(l, c.want) {
					found <- l
					return
				}
			}
			found <- ""
		}()
		select {
		case l := <-found:
			if l == "" {
				t.Fatalf("%s ended without warning %q", c.name, c.want)
			}
			t.Logf("%s: %s", c.name, l)
		case <-time.After(wait):
			t.Fatalf("%s: no warning %q within %s", c.name, c.want, wait)
		}
	}
}
