package runtime_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// nodeProc is one `exo-actors node` process of a test.
type nodeProc struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	waited chan error // the Wait result; capacity 1, never closed
	out    *os.File   // the node's stdout and stderr, for failures
}

const echoKind = `{"builtin": true, "args": ["--layers", "1", "--layer-delay", "1ms", "--warmup-delay", "1ms", "--token-delay", "%s"]}`

// nodeConfig writes a node config with the kinds given as name → JSON.
func writeConfig(t *testing.T, kinds map[string]string, extra string) string {
	t.Helper()
	var parts []string
	for k, v := range kinds {
		parts = append(parts, fmt.Sprintf("%q: %s", k, v))
	}
	body := fmt.Sprintf(`{"kinds": {%s}%s}`, strings.Join(parts, ", "), extra)
	p := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startNode starts a node on 127.0.0.1 (any port) and waits for the line
// that says where it listens. The test's cleanup SIGKILLs its process
// group (if it still runs) and reaps it.
func startNode(t *testing.T, name, config string, flags ...string) *nodeProc {
	t.Helper()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"node", "--listen", "127.0.0.1:0", "--name", name, "--config", config, "--log-level", "warn"}, flags...)
	cmd := exec.Command(exoBinary(t), args...)
	cmd.Env = append(os.Environ(), markEnv()) // runners inherit it
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &nodeProc{name: name, cmd: cmd, waited: make(chan error, 1), out: logf}
	lines := make(chan string, 1) // capacity 1: the first line; never closed
	go func() {
		r := bufio.NewReader(stdout)
		first, _ := r.ReadString('\n')
		lines <- first
		_, _ = io.Copy(logf, r)
		n.waited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		n.kill()
		<-n.waited
		n.waited <- nil // for any later reader
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("node %s output:\n%s", name, b)
		}
		logf.Close()
	})
	select {
	case l := <-lines:
		// "node NAME listening on ADDR (...)"
		f := strings.Fields(l)
		if len(f) < 5 || f[2] != "listening" {
			t.Fatalf("node %s: unexpected first line %q", name, l)
		}
		n.addr = f[4]
	case <-time.After(20 * time.Second):
		t.Fatalf("node %s did not say where it listens within 20s", name)
	}
	return n
}

// kill SIGKILLs the node's process group (the node and its runners).
func (n *nodeProc) kill() {
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
}

// wait waits for the node process to exit.
func (n *nodeProc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-n.waited:
		n.waited <- err
		return err
	case <-time.After(d):
		t.Fatalf("node %s still runs after %s", n.name, d)
		return nil
	}
}

// dialNode starts a node process named name whose config has kinds, and
// dials it; the client closes at the end of the test (Close is idempotent).
// ctx is remoteCtx's, bounded by limit.
func dialNode(t *testing.T, name string, kinds map[string]string, limit time.Duration) (*nodeProc, *exo.Client, context.Context) {
	t.Helper()
	node := startNode(t, name, writeConfig(t, kinds, ""))
	ctx := remoteCtx(t, limit)
	c, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return node, c, ctx
}

// steadyHeartbeat is the heartbeat of a client in a test that is not about
// the heartbeat: the node counts as lost after 30 s without a word instead
// of the default 1.5 s, which a starved 2-core machine misses while the
// node is alive (TestRemoteConcurrentLargeSubmits, under load: "submit 0:
// node lost: … no answer to the heartbeat for 1.738s" while the node read
// 12 MiB of submits). A dead node is still found at once: its endpoint
// terminates. Tests of the heartbeat itself (TestRemoteFrozenNode) dial
// with the defaults.
var steadyHeartbeat = exo.WithHeartbeat(250*time.Millisecond, 30*time.Second)

// dial is exo.Dial with steadyHeartbeat; opts come after it and may set
// their own.
func dial(ctx context.Context, addr string, opts ...exo.DialOption) (*exo.Client, error) {
	return exo.Dial(ctx, addr, append([]exo.DialOption{steadyHeartbeat}, opts...)...)
}

func remoteCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitGone waits (on a pidfd, no polling) until process pid has exited.
func waitGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(d/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("process %d (state %q) still runs after %s", pid, testutil.ProcessState(pid), d)
		}
		return
	}
}

// markKey marks every process these tests start (nodes, their runners,
// helper clients), so TestMain can check that none is left.
const markKey = "EXO_REMOTE_TEST_MARK"

func markEnv() string { return fmt.Sprintf("%s=%d", markKey, os.Getpid()) }

// freeze stops process pid (SIGSTOP) and returns resume, which continues
// it (SIGCONT) once; the test's cleanup resumes it if the test ended
// first, so that a failed test does not leave a process stopped.
func freeze(t *testing.T, pid int) (resume func()) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	resume = func() {
		once.Do(func() {
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT to %d: %v", pid, err)
			}
		})
	}
	t.Cleanup(resume)
	return resume
}

// waitLive polls c's runner list (a node announces its stops to no client
// of the test's) until cond holds for the IDs of the live runners (not
// ShuttingDown, Shutdown or Failed), and returns them; it fails the test
// when ctx ends first.
func waitLive(ctx context.Context, t *testing.T, c *exo.Client, what string, cond func(live map[string]bool) bool) map[string]bool {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		runners, err := c.Runners(ctx)
		if err != nil {
			t.Fatal(err)
		}
		live := map[string]bool{}
		for _, r := range runners {
			if !r.Status.Terminal() && r.Status != exo.StatusShuttingDown {
				live[r.ID] = true
			}
		}
		if cond(live) {
			return live
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: not so within the test's time; runners %+v", what, runners)
		}
	}
}
