package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// nodeConfig is docs/remote.md's walkthrough node: one built-in kind.
const nodeConfig = `{"kinds": {"echo": {"builtin": true, "args": ["--layers", "2", "--layer-delay", "20ms", "--token-delay", "5ms"], "max_runners": 4}},
  "tasks": {"in_flight": 2, "queue": 64}, "cancel_tasks_on_client_loss": true}`

// TestNodeHeapOverSessions measures a node over client sessions (see the
// package comment). It asserts nothing: it is a measurement, run by hand.
func TestNodeHeapOverSessions(t *testing.T) {
	sessions, _ := strconv.Atoi(os.Getenv("EXO_NODEHEAP_SESSIONS"))
	if sessions <= 0 {
		t.Skip("a measurement run by hand: set EXO_NODEHEAP_SESSIONS (and EXO_NODEHEAP_POINTS, EXO_NODEHEAP_OUT)")
	}
	out := os.Getenv("EXO_NODEHEAP_OUT")
	if out == "" {
		t.Fatal("EXO_NODEHEAP_OUT: the directory for the profiles")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	points := map[int]bool{sessions: true}
	for _, p := range strings.Split(os.Getenv("EXO_NODEHEAP_POINTS"), ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(p)); err == nil {
			points[n] = true
		}
	}
	bin := filepath.Join(out, "nodeheap")
	goTool := filepath.Join(goruntime.GOROOT(), "bin", "go")
	if b, err := exec.Command(goTool, "build", "-o", bin, "github.com/exo-actors/exo-actors/internal/tools/nodeheap").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	ports := testutil.ReservePorts(t, 2)
	gw, pp := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])
	cfg := filepath.Join(out, "node.json")
	if err := os.WriteFile(cfg, []byte(nodeConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(out, "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	node := exec.Command(bin, "node", "--name", "heap", "--listen", gw, "--config", cfg, "--log-level", "warn")
	node.Env = append(os.Environ(), "EXO_PPROF_ADDR="+pp)
	node.Stdout, node.Stderr = pw, logf
	node.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	defer func() {
		syscall.Kill(-node.Process.Pid, syscall.SIGKILL)
		node.Wait()
		pr.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n') // the node's "listening" line: it serves
	if err != nil {
		t.Fatalf("node: %v (its log: %s)", err, logf.Name())
	}
	t.Log(strings.TrimSpace(line))
	t.Logf("%8s %10s %10s %10s %8s %10s %13s", "sessions", "live heap", "heap sys", "RSS", "GCs", "goroutines", "client maxRSS")
	measure := func(n int, clientRSS int64) {
		prof := filepath.Join(out, fmt.Sprintf("heap-%03d.prof", n))
		fetch(t, "http://"+pp+"/debug/pprof/heap?gc=1", prof)
		stats := fetchText(t, "http://"+pp+"/debug/pprof/heap?debug=1")
		gor := fetchText(t, "http://"+pp+"/debug/pprof/goroutine?debug=1")
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("goroutine-%03d.txt", n)), []byte(gor), 0o644); err != nil {
			t.Fatal(err)
		}
		g, _, _ := strings.Cut(strings.TrimPrefix(gor, "goroutine profile: total "), "\n")
		t.Logf("%8d %8.2fMB %8.2fMB %8.2fMB %8d %10s %11.2fMB", n, mb(memStat(stats, "HeapAlloc")), mb(memStat(stats, "HeapSys")),
			mb(rss(node.Process.Pid)), memStat(stats, "NumGC"), g, mb(clientRSS))
	}
	measure(0, 0)
	for i := 1; i <= sessions; i++ {
		c := exec.Command(bin, "remote", "--node", gw, "run", "--kind", "echo", "--tasks", "3", "--tokens", "8")
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if b, err := c.CombinedOutput(); err != nil {
			t.Fatalf("session %d: %v\n%s", i, err, b)
		}
		if points[i] {
			measure(i, c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss<<10)
		}
	}
}

func mb(b int64) float64 { return float64(b) / 1e6 }

func fetch(t *testing.T, url, file string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Fatal(err)
	}
}

func fetchText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// memStat reads "# Name = N" from a heap profile in text form.
func memStat(text, name string) int64 {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, "# "+name+" = "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return -1
}

// rss is the process's resident set in bytes (VmRSS).
func rss(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10
		}
	}
	return -1
}
