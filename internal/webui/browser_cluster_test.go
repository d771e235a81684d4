package webui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// clusterScreenshotEnv names a file: the cluster browser test then saves a
// PNG of the cluster demo's page with the restarted runner there
// (docs/ui.png is made this way).
const clusterScreenshotEnv = "EXO_ACTORS_CLUSTER_SCREENSHOT"

// TestClusterDemoBrowser runs `exo-actors demo --nodes 2 --ui ...
// --ui-actions` and drives its page in headless Chromium: the page lists
// the runners of both nodes, a press on a crash button (which goes through
// the runner's node's gateway) shows that runner restarted, and the demo
// still ends with every invariant held, the restart counted by its reason.
func TestClusterDemoBrowser(t *testing.T) {
	browserPath := chromium(t)
	bin := exoBinary(t)

	// Chromium first: the demo's scenario lasts --duration, and a cold
	// Chromium on a loaded machine took longer than that to start, so the
	// page was gone when it loaded (ERR_CONNECTION_REFUSED, twice in
	// clean-clone CI runs).
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browserPath), chromedp.WindowSize(1480, 900),
		chromedp.Env("TMPDIR="+t.TempDir(), markerKey+"="+marker))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	cmd := exec.Command(bin, "demo", "--nodes", "2", "--chaos", "none", "--tasks", "16", "--duration", "8s", "--seed", "3",
		"--json", "--ui", "127.0.0.1:0", "--ui-actions")
	cmd.Env = append(os.Environ(), markerKey+"="+marker)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := testutil.StartChild(t, cmd); err != nil {
		t.Fatal(err)
	}
	// The reader owns the pipe and collects stderr; it hands the page's
	// address over once. Wait (below, or in the cleanup) follows it.
	var (
		mu     sync.Mutex
		stderr strings.Builder
		readWG sync.WaitGroup
	)
	urls := make(chan string, 1) // never closed: one address, or none
	readWG.Add(1)
	go func() {
		defer readWG.Done()
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			stderr.WriteString(line + "\n")
			mu.Unlock()
			if i := strings.Index(line, "supervision trees: http://"); i >= 0 {
				u, _, _ := strings.Cut(line[i+len("supervision trees: "):], " ")
				select {
				case urls <- u:
				default:
				}
			}
		}
	}()
	exited := false
	t.Cleanup(func() {
		if !exited {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			readWG.Wait()
			_ = cmd.Wait()
		}
	})
	logs := func() string {
		mu.Lock()
		defer mu.Unlock()
		return stderr.String()
	}
	var url string
	select {
	case url = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatalf("the demo printed no page address in 30s; stderr:\n%s", logs())
	}

	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\ndemo's stderr:\n%s", what, err, logs())
		}
	}
	poll := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](js, chromedp.WithPollingInterval(50*time.Millisecond))
	}

	step("the page loads and lists the runners of both nodes",
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS(`#runners tr[data-runner$="@node-1"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#runners tr[data-runner$="@node-2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tree li.runner[data-runner$="@node-2"]`)),
		// A runner of node-2 with a live process: its crash button on.
		poll(`[...document.querySelectorAll('#runners tr[data-runner$="@node-2"]')].some(r =>
			r.dataset.generation === "1" && r.querySelector('button[data-action="crash"]:not([disabled])'))`))
	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	summary, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#summary")))
	cancel()
	if err != nil || !strings.Contains(summary, "cluster 2 of 2 nodes serving") {
		t.Errorf("summary %q, %v: want the cluster's", summary, err)
	}
	ctx, cancel = context.WithTimeout(browser, 30*time.Second)
	victim, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#runners tr[data-runner$="@node-2"]')].find(r =>
			r.dataset.generation === "1" && r.querySelector('button[data-action="crash"]:not([disabled])')).dataset.runner`))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	row := `#runners tr[data-runner="` + victim + `"]`
	step("press crash on "+victim, chromedp.Click(chromedp.CSS(row+` button[data-action="crash"]`)))
	step("the page shows the restart", poll(`(() => { const r = document.querySelector('`+row+`');
		return r && r.dataset.generation === "2" && /^(Ready|Running)/.test(r.dataset.status) &&
			r.querySelector("td.restarts").textContent === "1"; })()`))
	ctx, cancel = context.WithTimeout(browser, 30*time.Second)
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#flash")))
	cancel()
	if err != nil || !strings.Contains(flash, "node node-2: SIGKILL sent to pid") {
		t.Errorf("flash after the crash: %q, %v", flash, err)
	}
	// At 1480 px both panes hold what they show: a runner ID of 12 hex
	// digits with its node pushed the table's buttons past its pane, and
	// resource names past the tree's (docs/ui.png showed both).
	ctx, cancel = context.WithTimeout(browser, 30*time.Second)
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[".main-pane", ".tree-pane"].map(s => {
			const p = document.querySelector(s); return p.scrollWidth > p.clientWidth ? s + " " + p.scrollWidth + " > " + p.clientWidth : ""; }).join(" ").trim()`))
	cancel()
	if err != nil || overflow != "" {
		t.Errorf("panes wider than the page shows them (scrollWidth > clientWidth): %q, %v", overflow, err)
	}
	if path := os.Getenv(clusterScreenshotEnv); path != "" {
		step("the restarted runner healthy", poll(`document.querySelector('`+row+`').dataset.level === "healthy"`))
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		abs, _ := filepath.Abs(path)
		t.Logf("screenshot of the cluster page: %s (%d bytes)", abs, len(png))
	}
	cancelBrowser()

	// The demo ends by itself after --duration, its summary counting the
	// page's crash as a restart by signal.
	done := make(chan error, 1) // never closed; one result
	go func() {
		readWG.Wait()
		done <- cmd.Wait()
	}()
	select {
	case err = <-done:
		exited = true
	case <-time.After(90 * time.Second):
		t.Fatalf("the demo did not end within 90s; stderr:\n%s", logs())
	}
	if err != nil {
		t.Fatalf("demo: %v; stderr:\n%s", err, logs())
	}
	var sum struct {
		InvariantsOK     bool           `json:"invariants_ok"`
		Restarts         int            `json:"restarts"`
		RestartsByReason map[string]int `json:"restarts_by_reason"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("summary: %v: %s", err, stdout.String())
	}
	if !sum.InvariantsOK || sum.Restarts < 1 || sum.RestartsByReason["signal"] < 1 {
		t.Errorf("summary %s", stdout.String())
	}
	if !strings.Contains(logs(), "PAGE  fault crash on "+victim) {
		t.Errorf("the demo did not log the page's fault; stderr:\n%s", logs())
	}
}
