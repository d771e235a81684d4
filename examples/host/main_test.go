package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

const markerKey = "EXO_HOST_EXAMPLE_TEST_MARKER"

var (
	exoBin, hostBin string
	marker          = fmt.Sprintf("host-example-%d", os.Getpid())
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "exo-host-example-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if exoBin, err = testutil.BuildExo(dir); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	hostBin = filepath.Join(dir, "host")
	goTool := filepath.Join(goruntime.GOROOT(), "bin", "go")
	if out, err := exec.Command(goTool, "build", "-o", hostBin, "github.com/exo-actors/exo-actors/examples/host").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "TestMain: go build examples/host: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if left := testutil.MarkedProcesses(markerKey, marker); len(left) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "processes left behind: %v\n", left)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}

// TestHostEndToEnd builds the example host, starts it, streams a
// generation over HTTP, and stops it with SIGTERM: it must exit 0 after a
// clean shutdown report, leaving no runner behind.
func TestHostEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, hostBin, "--addr", "127.0.0.1:0", "--exo", exoBin)
	cmd.Env = append(os.Environ(), markerKey+"="+marker)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	defer func() {
		if !exited {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the host's first line: %v; stderr:\n%s", err, stderr.String())
	}
	base, _, ok := strings.Cut(strings.TrimPrefix(line, "listening on "), " ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	client := &http.Client{Timeout: 30 * time.Second}

	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Ready") {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}

	resp, err = client.Post(base+"/generate?max_tokens=5", "text/plain", strings.NewReader("Hello"))
	if err != nil {
		t.Fatal(err)
	}
	// Read the first token before the rest: the tokens are streamed.
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString(' ')
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	resp.Body.Close()
	if got := first + string(rest); resp.StatusCode != http.StatusOK || got != "tok0 tok1 tok2 tok3 tok4 " {
		t.Errorf("generate: %d %q", resp.StatusCode, got)
	}
	if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" || resp.Header.Get("X-Task-ID") == "" {
		t.Errorf("generate: transfer encoding %v, task %q", resp.TransferEncoding, resp.Header.Get("X-Task-ID"))
	}

	resp, err = client.Post(base+"/generate?max_tokens=lots", "text/plain", strings.NewReader("Hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad max_tokens: %d", resp.StatusCode)
	}
	client.CloseIdleConnections()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	exited = true
	out := stderr.String()
	if err != nil {
		t.Fatalf("host exited: %v\n%s", err, out)
	}
	if !strings.Contains(out, "shutdown report") || strings.Contains(out, "timed out") || strings.Contains(out, "forced") {
		t.Errorf("shutdown report:\n%s", out)
	}
}
