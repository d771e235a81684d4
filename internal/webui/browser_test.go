package webui_test

import (
	"context"
	"github.com/exo-actors/exo-actors/internal/testutil"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/sysnode"
	"github.com/exo-actors/exo-actors/internal/webui"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// The page is served for an embedded System as it is for the CLI.

// screenshotEnv names a file: the browser test then saves a PNG of the page
// with the restarted runner there (docs/ui.png is made this way).
const screenshotEnv = "EXO_ACTORS_SCREENSHOT"

// chromium returns the browser's path, or skips the test when it is absent
// and CI is unset (CI installs it: there the test must run).
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("chromium not found with CI set (.ci/run installs it: apt-get install -y chromium): %v", err)
	}
	t.Skip("chromium not installed: the browser test needs it (apt-get install -y chromium); CI runs it")
	return ""
}

func readyAt(id string, gen uint64) func([]exo.Event) bool {
	return func(evs []exo.Event) bool {
		for _, ev := range evs {
			if s, ok := ev.(exo.StatusChanged); ok && s.RunnerID == id && s.Generation == gen && s.To == exo.StatusReady {
				return true
			}
		}
		return false
	}
}

var runnerArgs = []string{"--layers", "2", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "0s", "--log-level", "error"}

// TestBrowser drives the page in headless Chromium: it loads, lists the
// runners, and after a press on a runner's crash button shows that runner
// restarted (generation 2, restarts 1, Ready again). A read-only page shows
// the buttons disabled.
func TestBrowser(t *testing.T) {
	browserPath := chromium(t)
	bin := exoBinary(t)

	ev := testutil.NewRecorder[exo.Event]()
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	sys, err := exo.New(exo.Config{Logger: logger, Hook: ev.Hook, BuiltinBinary: bin, Env: append(os.Environ(), markerKey+"="+marker),
		DeadLetterThrottle: time.Millisecond,
		ErrorPolicy:        exo.ErrorPolicy{Backoff: exo.BackoffConfig{Base: 50 * time.Millisecond, Max: 100 * time.Millisecond}},
		Health:             exo.HealthConfig{HealthSettings: exo.HealthSettings{Interval: 100 * time.Millisecond}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := sys.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ids []string
	for i := 0; i < 2; i++ {
		id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama", Builtin: true, Args: runnerArgs})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		ev.Wait(t, 30*time.Second, id+" Ready", readyAt(id, 1))
	}

	// The servers close after the tab (cleanups run last-registered first):
	// an open event stream would hold Close until the tab goes.
	live := httptest.NewServer(webui.Handler(webui.NodeOf(sysnode.Of(sys)), webui.Config{Actions: true, Interval: 100 * time.Millisecond}))
	t.Cleanup(live.Close)
	readOnly := httptest.NewServer(webui.Handler(webui.NodeOf(sysnode.Of(sys)), webui.Config{Interval: 100 * time.Millisecond}))
	t.Cleanup(readOnly.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browserPath), chromedp.WindowSize(1480, 760),
		chromedp.Env("TMPDIR="+t.TempDir(), markerKey+"="+marker))
	// The first Run's context owns the browser: no deadline on it.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Each step gets its own deadline.
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	get := func(what string, a chromedp.Action[string]) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}

	victim, other := ids[0], ids[1]
	row := func(id string) string { return `#runners tr[data-runner="` + id + `"]` }
	crash := chromedp.CSS(`button[data-action="crash"][data-runner="` + victim + `"]`)
	step("the page loads and lists the runners",
		chromedp.Navigate(live.URL),
		chromedp.WaitVisible(chromedp.CSS(row(victim))),
		chromedp.WaitVisible(chromedp.CSS(row(other))),
		chromedp.WaitVisible(chromedp.CSS(`#tree li.runner[data-runner="`+victim+`"]`)),
		chromedp.WaitEnabled(crash))
	body := get("runner table", chromedp.Text(chromedp.CSS("#runners tbody")))
	for _, id := range ids {
		if !strings.Contains(body, id) {
			t.Errorf("runner table lacks %s:\n%s", id, body)
		}
	}

	step("press crash on "+victim, chromedp.Click(crash))
	ev.Wait(t, 30*time.Second, victim+" Ready at generation 2", readyAt(victim, 2))
	step("the page shows the restart",
		chromedp.Poll[chromedp.Void](`(() => { const r = document.querySelector('`+row(victim)+`');
			return r && r.dataset.generation === "2" && r.dataset.status === "Ready" &&
				r.querySelector("td.restarts").textContent === "1" && r.querySelector(".score .bar") !== null; })()`,
			chromedp.WithPollingInterval(50*time.Millisecond)))
	flash := get("flash", chromedp.Text(chromedp.CSS("#flash")))
	restarts := get("restarts", chromedp.Text(chromedp.CSS(row(victim)+" td.restarts")))
	log := get("log", chromedp.Text(chromedp.CSS("#log")))
	if !strings.Contains(flash, "SIGKILL sent to pid") || restarts != "1" || !strings.Contains(log, victim+" fault crash (gen 1)") {
		t.Errorf("after the crash: flash %q, restarts %q, log %q", flash, restarts, log)
	}
	if path := os.Getenv(screenshotEnv); path != "" {
		// For the picture, let the health monitor see the new process
		// healthy again (the alerts of the crash stay listed a while).
		step("the restarted runner healthy", chromedp.Poll[chromedp.Void](`document.querySelector('`+row(victim)+`').dataset.level === "healthy"`,
			chromedp.WithPollingInterval(50*time.Millisecond)))
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
		t.Logf("screenshot of the page: %s (%d bytes)", abs, len(png))
	}

	// A runner failed for good with a long reason (its last stderr line)
	// stays listed: at 1480 px the panes still hold the table (an
	// operator's trial had the actions column cut off behind a scrollbar).
	failed, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama-3-1-70b-instruct-q4-broken-runner", Command: "/bin/sh", // 40 characters, the longest kind
		Args: []string{"-c", "echo 'loading weights from /models/llama-3-70b-instruct/consolidated.00.pth failed: CUDA out of memory while allocating tensor of shape (8192, 28672)' >&2; exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	ev.Wait(t, 30*time.Second, failed+" failed", func(evs []exo.Event) bool {
		for _, e := range evs {
			if f, ok := e.(exo.RunnerFailed); ok && f.Failure.RunnerID == failed {
				return true
			}
		}
		return false
	})
	step("the failed runner listed", chromedp.WaitVisible(chromedp.CSS(row(failed))))
	overflow := get("overflow", chromedp.Evaluate[string](`[".main-pane", ".tree-pane"].map(s => {
			const p = document.querySelector(s); return !p ? s + " missing" : p.scrollWidth > p.clientWidth ? s + " " + p.scrollWidth + " > " + p.clientWidth : ""; }).join(" ").trim()`))
	if overflow != "" {
		cells := get("cells", chromedp.Evaluate[string](`[...document.querySelectorAll('#runners tr td')].map(c => c.className + ":" + c.getBoundingClientRect().width.toFixed(0) + ":" + c.textContent.slice(0,60)).join(" | ")`))
		t.Errorf("panes wider than the page shows them (scrollWidth > clientWidth) with a failed runner listed: %q; the table's cells (class:width:text) %s", overflow, cells)
	}

	step("a read-only page", chromedp.Navigate(readOnly.URL), chromedp.WaitVisible(chromedp.CSS(row(other))))
	ctx2, cancel2 := context.WithTimeout(browser, 30*time.Second)
	defer cancel2()
	disabled, err := chromedp.Run(ctx2, chromedp.Evaluate[bool](`document.querySelector('button[data-action="crash"][data-runner="`+other+`"]').disabled`))
	if err != nil {
		t.Fatal(err)
	}
	banner := get("banner", chromedp.Text(chromedp.CSS("#banner")))
	if !disabled || !strings.Contains(banner, "--ui-actions") {
		t.Errorf("read-only page: crash button disabled %v, banner %q", disabled, banner)
	}
}
