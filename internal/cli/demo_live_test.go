package cli

import (
	"bytes"
	"errors"
	exo "github.com/exo-actors/exo-actors/runtime"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/httpapi"
)

func TestParseLive(t *testing.T) {
	for _, c := range []struct {
		in   string
		want liveMode
		err  string
	}{
		{"auto", liveLines, ""}, // a buffer is no terminal
		{"table", liveTable, ""},
		{"lines", liveLines, ""},
		{"off", liveOff, ""},
		{"", liveOff, `--live "": want auto`},
		{"TABLE", liveOff, "table, lines or off"},
	} {
		got, err := parseLive(c.in, &bytes.Buffer{})
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) || got != c.want {
			t.Errorf("parseLive(%q) = %v, %v; want %v, error %q", c.in, got, err, c.want, c.err)
		}
		var ue *UsageError
		if err != nil && !errors.As(err, &ue) {
			t.Errorf("parseLive(%q): %v is not a usage error", c.in, err)
		}
	}
}

func TestProgressAndClip(t *testing.T) {
	for _, c := range []struct {
		done, total, n int
		want           string
	}{{3, 4, 4, "[███░]"}, {0, 0, 3, "[░░░]"}, {5, 5, 2, "[██]"}, {9, 4, 2, "[██]"}} {
		if got := progress(c.done, c.total, c.n); got != c.want {
			t.Errorf("progress(%d, %d, %d) = %q, want %q", c.done, c.total, c.n, got, c.want)
		}
	}
	if got := clip("héllo", 3); got != "hél" {
		t.Errorf("clip = %q", got)
	}
}

// In table mode, event lines go above the footer: the footer is erased
// before and drawn again after each whole line; a line's start waits for
// its end.
func TestLiveTableWrites(t *testing.T) {
	var out bytes.Buffer
	v := newLiveView(liveTable, &out, time.Now())
	w := &demoWatch{out: v, notify: make(chan struct{}, 1)}
	v.footer = []string{"F1", "F2"}
	_, _ = w.Write([]byte("a\n"))
	if got, want := out.String(), "a\nF1\x1b[K\nF2\x1b[K\n"; got != want {
		t.Fatalf("first line: %q, want %q", got, want)
	}
	out.Reset()
	_, _ = w.Write([]byte("b"))
	if out.Len() != 0 {
		t.Fatalf("a line's start was written before its end: %q", out.String())
	}
	_, _ = w.Write([]byte("c\nd"))
	if got, want := out.String(), "\r\x1b[2A\x1b[Jbc\nF1\x1b[K\nF2\x1b[K\n"; got != want {
		t.Fatalf("second line: %q, want %q", got, want)
	}
	out.Reset()
	v.Stop(w)
	if got, want := out.String(), "\r\x1b[2A\x1b[Jd"; got != want {
		t.Fatalf("stop: %q, want %q", got, want)
	}
	out.Reset()
	_, _ = w.Write([]byte("after\n"))
	v.Stop(w)
	if out.String() != "after\n" {
		t.Fatalf("after stop: %q", out.String())
	}
}

func TestLiveTableAndLine(t *testing.T) {
	start := time.Now()
	v := newLiveView(liveTable, &bytes.Buffer{}, start)
	v.observe(exo.TaskStatusChanged{TaskID: "t1", Status: exo.TaskPending})
	v.observe(exo.TaskStatusChanged{TaskID: "t2", Status: exo.TaskPending})
	v.observe(exo.TaskStatusChanged{TaskID: "t1", Status: exo.TaskComplete})
	doc := &httpapi.StatusDoc{Node: httpapi.NodeStatus{State: "running", Score: 0.9, Level: "healthy", Runners: 2, Ready: 1},
		Runners: []httpapi.RunnerStatus{
			{ID: "llama-aaaaaa", Status: "Ready", Score: 0.98, Level: "healthy", Restarts: 1, NextBackoffS: 0.4},
			{ID: "broken-bbbbbb", Status: "restarting in 800ms (attempt 2) and a long tail", Level: "unknown", Restarts: 2},
		}}
	v.refresh(doc, nil, start.Add(2*time.Second))
	table := strings.Join(v.footer, "\n")
	for _, want := range []string{"live   2.0s", "[██████████░░░░░░░░░░] tasks 1/2 ended", "events 2/s",
		"llama-aaaaaa       Ready", "0.98 ok", "400ms", "broken-bbbbbb      restarting in 800ms (attemp  —", "node running · score 0.90 healthy · 1/2 ready"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	v.refresh(nil, errors.New("node is shutting down"), start.Add(3*time.Second))
	if !strings.Contains(strings.Join(v.footer, "\n"), "llama-aaaaaa") || !strings.Contains(v.footer[len(v.footer)-1], "node: node is shutting down") {
		t.Errorf("table after a failed status keeps the last rows and names the error:\n%s", strings.Join(v.footer, "\n"))
	}
	var out bytes.Buffer
	l := newLiveView(liveLines, &out, start)
	l.refresh(doc, nil, start.Add(time.Second))
	if got := out.String(); !strings.Contains(got, "  1.00s  live: tasks 0/0 ended · tokens 0 · events 0/s · runners 1/2 ready · restarts 3 · node score 0.90 healthy\n") {
		t.Errorf("line: %q", got)
	}
}

// TestDemoPrintsLoadingLayers: the demo's status lines give Loading's layer
// counts, as the README's sequence does (a trial saw "status Loading" five
// times in a row, the counts dropped), and Failed's message, as
// docs/operations.md's worked example of --http does.
func TestDemoPrintsLoadingLayers(t *testing.T) {
	var out bytes.Buffer
	w := &demoWatch{out: &out, start: time.Now()}
	w.print(exo.StatusChanged{RunnerID: "llama-1", To: exo.StatusLoading, LayersLoaded: 2, TotalLayers: 4})
	w.print(exo.StatusChanged{RunnerID: "llama-1", To: exo.StatusLoaded})
	w.print(exo.StatusChanged{RunnerID: "llama-1", To: exo.StatusFailed, ErrorMessage: "runner died: signal=9 (killed)"})
	got := out.String()
	if !strings.Contains(got, "llama-1            status Loading(2/4)\n") || !strings.Contains(got, "llama-1            status Loaded\n") ||
		!strings.Contains(got, "llama-1            status Failed(runner died: signal=9 (killed))\n") {
		t.Errorf("output:\n%s", got)
	}
}
