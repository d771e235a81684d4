package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/webui"
)

func TestUIUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"demo", "--ui", "0.0.0.0:8080"}, "is not loopback"},
		{[]string{"demo", "--ui", "8080"}, "want host:port"},
		{[]string{"demo", "--ui-actions"}, "need --ui ADDR"},
		{[]string{"demo", "--ui-allow-remote"}, "need --ui ADDR"},
		{[]string{"demo", "--hold", "1s"}, "--hold needs --http or --ui"},
	} {
		var stdout, stderr bytes.Buffer
		if code := Main(c.args, strings.NewReader(""), &stdout, &stderr); code != ExitUsage || !strings.Contains(stderr.String(), c.says) {
			t.Errorf("%v: exit %d, stderr %q; want %d saying %q", c.args, code, stderr.String(), ExitUsage, c.says)
		}
	}
}

// demo --ui --ui-actions: the page's API lists the demo's runners; a crash
// through it restarts a runner; Ctrl-C ends the open-ended hold normally.
func TestDemoUI(t *testing.T) {
	cmd, out, stderr := runDemoProcess(t, "--layer-delay", "0s", "--token-delay", "1ms", "--ui", "127.0.0.1:0", "--ui-actions")
	head := readUntil(t, out, "== web page of the supervision tree: ")
	i := strings.Index(head, "http://")
	if i < 0 || !strings.Contains(head, "buttons on") {
		t.Fatalf("no page address in:\n%s", head)
	}
	url := strings.Fields(head[i:])[0]
	readUntil(t, out, "== the page stays up at "+url+" until Ctrl-C")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	defer http.DefaultClient.CloseIdleConnections()
	events := bufio.NewReader(resp.Body)
	next := func() webui.Snapshot {
		t.Helper()
		for {
			line, err := events.ReadString('\n')
			if err != nil {
				t.Fatalf("event stream: %v", err)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var s webui.Snapshot
				if err := json.Unmarshal([]byte(data), &s); err != nil || s.Status == nil {
					t.Fatalf("snapshot %q: %v", data, err)
				}
				return s
			}
		}
	}
	snap := next()
	// The scenario's victim restarted once; the broken runner escalated.
	var victim string
	var gen uint64
	restarted := 0
	for _, r := range snap.Status.Runners {
		if r.Restarts > 0 {
			restarted++
		}
		if r.Status == "Ready" && victim == "" {
			victim, gen = r.ID, r.Generation
		}
	}
	if len(snap.Status.Runners) != 4 || restarted < 2 || victim == "" || !snap.Actions {
		t.Fatalf("page snapshot: %d runners, %d restarted, a Ready one %q, actions %v", len(snap.Status.Runners), restarted, victim, snap.Actions)
	}
	body := fmt.Sprintf(`{"kind":"crash","generation":%d}`, gen)
	pr, err := http.Post(url+"api/runners/"+victim+"/fault", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct{ OK bool }
	_ = json.NewDecoder(pr.Body).Decode(&answer)
	pr.Body.Close()
	if pr.StatusCode != 200 || !answer.OK {
		t.Fatalf("crash through the page: %d", pr.StatusCode)
	}
	for back := false; !back; {
		for _, r := range next().Status.Runners {
			back = back || (r.ID == victim && r.Generation == gen+1 && r.Status == "Ready")
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT) // the normal end of an open-ended hold
	rest := new(bytes.Buffer)
	_, _ = rest.ReadFrom(out)
	// stdout is a pipe: --live auto prints plain lines, the last one at the end.
	if code := waitExit(t, cmd); code != ExitOK || !strings.Contains(rest.String(), "no runner process left running") ||
		!strings.Contains(rest.String(), "live: tasks ") {
		t.Errorf("exit %d; stderr %s\n%s", code, stderr.String(), rest.String())
	}
}

// TestDemoUIActionsOff: with the buttons off, an action's refusal names the
// demo's own flag, not the node's ("start the node with --ui-actions", a
// trial got on `demo --ui`).
func TestDemoUIActionsOff(t *testing.T) {
	cmd, out, _ := runDemoProcess(t, "--layer-delay", "0s", "--ui", "127.0.0.1:0")
	head := readUntil(t, out, "== web page of the supervision tree: ")
	i := strings.Index(head, "http://")
	if i < 0 {
		t.Fatalf("no page address in:\n%s", head)
	}
	url := strings.Fields(head[i:])[0]
	pr, err := http.Post(url+"api/runners/any/fault", "application/json", strings.NewReader(`{"kind":"crash","generation":1}`))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct{ Error string }
	_ = json.NewDecoder(pr.Body).Decode(&answer)
	pr.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if pr.StatusCode != http.StatusForbidden || answer.Error != "actions are off: start the demo with --ui-actions to enable the fault and stop buttons" {
		t.Errorf("action with the buttons off: %d %q", pr.StatusCode, answer.Error)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	_, _ = io.Copy(io.Discard, out)
	if code := waitExit(t, cmd); code != ExitFailure {
		t.Errorf("exit %d after an interrupt, want %d", code, ExitFailure)
	}
}
