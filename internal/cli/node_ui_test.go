package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/internal/webui"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// node --ui: the page's /api/status lists the runner a client placed on the
// node; SIGINT shuts the node down gracefully with the page already gone.
func TestNodeUI(t *testing.T) {
	bin := exoBinary(t)
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "1ms"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "node", "--name", "ui-a", "--listen", "127.0.0.1:0", "--config", conf,
		"--ui", "127.0.0.1:0", "--log-level", "warn")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // only if the test failed early
	})
	out := bufio.NewReader(pipe)
	head := readUntil(t, out, "web page of the supervision tree: ")
	var listen, url string
	for _, line := range strings.Split(head, "\n") {
		if rest, ok := strings.CutPrefix(line, "node ui-a listening on "); ok {
			listen = strings.Fields(rest)[0]
		}
		if _, rest, ok := strings.Cut(line, "web page of the supervision tree: "); ok {
			url = strings.Fields(rest)[0]
			if !strings.Contains(line, "buttons off") {
				t.Errorf("buttons should be off without --ui-actions: %q", line)
			}
		}
	}
	if listen == "" || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("no listen address or page URL in:\n%s", head)
	}

	// A client places a runner and leaves it running.
	client := exec.Command(bin, "remote", "--node", listen, "--timeout", "60s", "run", "--kind", "echo",
		"--tasks", "1", "--tokens", "1", "--keep-runners", "--log-level", "warn")
	cout, err := testutil.CombinedOutputChild(client)
	if err != nil {
		t.Fatalf("remote run: %v\n%s", err, cout)
	}
	var runner string
	for _, line := range strings.Split(string(cout), "\n") {
		if _, rest, ok := strings.Cut(line, " spawned "); ok {
			runner = strings.TrimSpace(rest)
		}
	}
	if runner == "" {
		t.Fatalf("no runner spawned:\n%s", cout)
	}

	resp, err := http.Get(url + "api/status")
	if err != nil {
		t.Fatal(err)
	}
	var snap webui.Snapshot
	err = json.NewDecoder(resp.Body).Decode(&snap)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if err != nil || snap.Status == nil {
		t.Fatalf("/api/status: %v (error %q)", err, snap.Error)
	}
	found := false
	for _, r := range snap.Status.Runners {
		found = found || r.ID == runner
	}
	if !found || snap.Actions {
		t.Fatalf("/api/status: runners %+v (want %s), actions %v", snap.Status.Runners, runner, snap.Actions)
	}

	_ = cmd.Process.Signal(syscall.SIGINT)
	rest := new(bytes.Buffer)
	_, _ = rest.ReadFrom(out)
	if code := waitExit(t, cmd); code != ExitOK || !strings.Contains(rest.String(), "node ui-a: shut down gracefully") {
		t.Fatalf("exit %d; stderr %s\n%s", code, stderr.String(), rest.String())
	}
	if _, err := http.Get(url + "api/status"); err == nil {
		t.Errorf("the page still answers after the node exited")
	}
}
