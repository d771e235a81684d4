package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// testDoc is a node's status document with two runners, one restarted and
// waiting in backoff, and one alert.
func testDoc() *httpapi.StatusDoc {
	return &httpapi.StatusDoc{
		Node: httpapi.NodeStatus{State: "running", Score: 0.8, Level: "degraded", Runners: 2, Ready: 1, Worst: "llama-b"},
		Tree: &httpapi.TreeNode{Name: "node", Kind: "node", Children: []*httpapi.TreeNode{
			{Name: "node/health", Kind: "health", State: "running"},
			{Name: "node/runners", Kind: "runners", Children: []*httpapi.TreeNode{
				{Name: "runner-llama-a", Kind: "runner", State: "Ready"},
				{Name: "runner-llama-b", Kind: "runner", State: "restarting in 0.2s (attempt 2)"}}}}},
		Runners: []httpapi.RunnerStatus{
			{ID: "llama-a", Status: "Ready", Score: 0.97, Level: "healthy", Tasks: httpapi.TaskStatus{Completed: 5, Ended: 6}},
			{ID: "llama-b", Status: "restarting in 0.2s (attempt 2)", Level: "unknown", Restarts: 2, NextBackoffS: 0.4,
				Errors: []httpapi.ErrorRecord{{ID: 7, Kind: "signal", Action: "RETRY"}, {ID: 9, Kind: "exit_nonzero", Action: "FORCE_CLEANUP then RETRY"}}},
		},
		Alerts: []health.ActiveAlert{{AlertKey: health.AlertKey{RunnerID: "llama-b", Condition: "restarts"}, Reason: "restarted"}},
	}
}

func testView() clusterView {
	return clusterView{Elapsed: 3500 * time.Millisecond, Submitted: 30, Planned: 60, Ended: 15, EventsPerSec: 250,
		Restarts: 2, Escalations: 1, Faults: 3, Nodes: []nodeView{
			{Name: "node-1", Addr: "127.0.0.1:4001", State: "serving", Doc: testDoc()},
			{Name: "node-2", Addr: "127.0.0.1:4002", State: "killed", Doc: testDoc()},
			{Name: "node-3", Addr: "127.0.0.1:4003", State: "serving", Err: "timeout"},
		}}
}

// TestClusterTable renders the live table from a fixed view: a head line
// with the progress bar and rates, a line per node, a row per runner of a
// serving node (none for the killed one), each clipped to the width.
func TestClusterTable(t *testing.T) {
	got := clusterTable(testView(), 0)
	want := []string{
		"\x1b[1m──   3.5s ── tasks [████░░░░░░░░░░░░] 15/60 · 250 ev/s · restarts 2 · escalations 1 · faults 3\x1b[0m",
		"    runner             status                   health    rst  backoff  tasks",
		"  node-1 127.0.0.1:4001 serving · 0.80 degraded · 1/2 ready · 1 alerts",
		"    llama-a            Ready                    0.97 ok     0        —    5/6",
		"    llama-b            restarting in 0.2s (atte —           2    400ms    0/0",
		"  node-2 127.0.0.1:4002 killed",
		"  node-3 127.0.0.1:4003 serving · status: timeout",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("table:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, l := range clusterTable(testView(), 30)[1:] {
		if n := len([]rune(l)); n > 29 {
			t.Errorf("line of %d runes at width 30: %q", n, l)
		}
	}
	line := clusterLine(testView())
	if want := "progress: tasks 30 submitted, 15 ended · events 0 (250/s) · restarts 2 · escalations 1 · nodes 2 live · runners 1/2 ready"; line != want {
		t.Errorf("line %q\nwant %q", line, want)
	}
}

// TestClusterTableRedraw: the cluster table is a footer like the
// single-process one: redraw erases the old one; end leaves the last frame
// on the screen, and plain output after it.
func TestClusterTableRedraw(t *testing.T) {
	var out bytes.Buffer
	v := newLiveView(liveTable, &out, time.Now())
	v.redraw([]string{"A", "B"})
	_, _ = v.Write([]byte("event\n"))
	v.end()
	_, _ = v.Write([]byte("after\n"))
	want := "A\x1b[K\nB\x1b[K\n" + "\r\x1b[2A\x1b[J" + "event\n" + "A\x1b[K\nB\x1b[K\n" + "after\n"
	if out.String() != want {
		t.Errorf("output %q\nwant   %q", out.String(), want)
	}
}

// TestMergeDocs: the cluster page's document has the cluster as the root,
// a child per node, runners and alerts named ID@NODE, and only serving
// nodes' runners.
func TestMergeDocs(t *testing.T) {
	doc := mergeDocs(testView().Nodes, time.Unix(0, 0))
	if doc.Schema != httpapi.Schema || doc.Tree.Kind != "cluster" || len(doc.Tree.Children) != 3 || doc.Tree.State != "2 of 3 nodes serving" {
		t.Fatalf("tree %+v", doc.Tree)
	}
	n1 := doc.Tree.Children[0]
	if n1.Name != "node-1" || n1.State != "serving · 127.0.0.1:4001" || len(n1.Children) != 2 || n1.Children[1].Name != "runners" ||
		n1.Children[1].Children[1].Name != "runner-llama-b@node-1" {
		t.Errorf("node-1 subtree %+v", n1)
	}
	if k := doc.Tree.Children[1]; k.State != "killed · 127.0.0.1:4002" || len(k.Children) != 0 {
		t.Errorf("killed node %+v", k)
	}
	if len(doc.Runners) != 2 || doc.Runners[0].ID != "llama-a@node-1" || doc.Runners[1].ID != "llama-b@node-1" {
		t.Errorf("runners %+v", doc.Runners)
	}
	if len(doc.Alerts) != 1 || doc.Alerts[0].RunnerID != "llama-b@node-1" {
		t.Errorf("alerts %+v", doc.Alerts)
	}
	if doc.Node.Runners != 2 || doc.Node.Ready != 1 || doc.Node.Score != 0.8 || doc.Node.Level != "degraded" || doc.Node.Worst != "llama-b@node-1" {
		t.Errorf("node summary %+v", doc.Node)
	}
	// The source documents are not changed.
	if testView().Nodes[0].Doc.Runners[0].ID != "llama-a" {
		t.Error("mergeDocs changed a node's document")
	}
	if empty := mergeDocs(nil, time.Unix(0, 0)); empty.Node.State != "shutting_down" || empty.Alerts == nil || empty.Runners == nil {
		t.Errorf("no nodes: %+v", empty)
	}
}

func TestSplitRunnerAt(t *testing.T) {
	for in, want := range map[string][2]string{"llama-a@node-1": {"llama-a", "node-1"}, "a@b@c": {"a@b", "c"}} {
		id, node, ok := splitRunnerAt(in)
		if !ok || id != want[0] || node != want[1] {
			t.Errorf("splitRunnerAt(%q) = %q, %q, %v", in, id, node, ok)
		}
	}
	for _, in := range []string{"", "x", "@n", "x@"} {
		if _, _, ok := splitRunnerAt(in); ok {
			t.Errorf("splitRunnerAt(%q): want not ok", in)
		}
	}
}

// TestRestartsByReason: each error record counts once however many polls
// see it: RETRY decisions by kind, ESCALATE as escalations; restarts seen
// on the streams with no record are unclassified; runners of a killed node
// are node_lost.
func TestRestartsByReason(t *testing.T) {
	d := &clusterDemo{seenRecords: map[string]bool{}, retriesByReason: map[string]int{}}
	doc := testDoc()
	d.countRecords("node-1", doc)
	d.countRecords("node-1", doc) // a second poll: nothing new
	doc.Runners[0].Errors = []httpapi.ErrorRecord{{ID: 11, Kind: "signal", Action: "ESCALATE"}}
	d.countRecords("node-1", doc)
	d.countRecords("node-2", testDoc()) // another node's records have their own IDs
	d.sum.Restarts = 5
	d.nodes = []*demoNode{{name: "node-2", state: nodeKilled, runner: []string{"x", "y"}}, {name: "node-1", state: nodeServing, runner: []string{"a"}}}
	got := d.restartReasons()
	want := map[string]int{"signal": 2, "exit_nonzero": 2, "unclassified": 1, "node_lost": 2}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	if d.sum.Escalations != 1 {
		t.Errorf("escalations %d, want 1", d.sum.Escalations)
	}
	if s := sortedReasons(got); s != "exit_nonzero 2, node_lost 2, signal 2, unclassified 1" {
		t.Errorf("sortedReasons = %q", s)
	}
}

// TestClusterViewRemoved: a node whose status still lists a removed runner
// (escalated, stopped) says so next to its Ready count, which counts only
// the others (a trial saw "1/1 ready" over two runner rows).
func TestClusterViewRemoved(t *testing.T) {
	v := testView()
	doc := testDoc()
	doc.Node.Runners, doc.Node.Removed = 1, 1
	v.Nodes[0].Doc = doc
	if got := clusterTable(v, 0)[2]; got != "  node-1 127.0.0.1:4001 serving · 0.80 degraded · 1/1 ready, 1 removed · 1 alerts" {
		t.Errorf("node line %q", got)
	}
	if got := clusterLine(v); !strings.HasSuffix(got, "· runners 1/1 ready, 1 removed") {
		t.Errorf("line %q", got)
	}
	// The one-process demo's live view too.
	var out bytes.Buffer
	l := newLiveView(liveLines, &out, time.Now())
	l.refresh(doc, nil, time.Now())
	if got := out.String(); !strings.Contains(got, "· runners 1/1 ready, 1 removed ·") {
		t.Errorf("one-process line %q", got)
	}
	l = newLiveView(liveTable, &bytes.Buffer{}, time.Now())
	l.refresh(doc, nil, time.Now())
	if got := l.footer[len(l.footer)-1]; !strings.Contains(got, "· 1/1 ready, 1 removed ·") {
		t.Errorf("one-process table foot %q", got)
	}
}

// TestClusterViewFirstRate: the first view's events/s is the rate since the
// start (the first plain line, at 2 s, said "0/s" after 497 events).
func TestClusterViewFirstRate(t *testing.T) {
	start := time.Unix(1000, 0)
	d := &clusterDemo{start: start, streams: map[string]*streamStats{"node-1/tasks": {delivered: 500}}}
	if v := d.snapshotView(start.Add(2 * time.Second)); v.EventsPerSec != 250 {
		t.Errorf("first view: %.0f events/s, want 250", v.EventsPerSec)
	}
	d.streams["node-1/tasks"].delivered = 700
	if v := d.snapshotView(start.Add(4 * time.Second)); v.EventsPerSec != 100 {
		t.Errorf("second view: %.0f events/s, want 100 (since the first)", v.EventsPerSec)
	}
}

// TestLineClock: plain lines come every 2 s on the schedule from the
// start, at the first 500 ms tick at or after each slot, however late each
// tick comes (the poll before it takes time); slots missed altogether give
// one line, not one each. Before, each line waited 2 s from the previous
// one, and a line printed late pushed the next one a tick later: 2.0, 4.5,
// 6.5, 9.0 s.
func TestLineClock(t *testing.T) {
	start := time.Unix(1000, 0)
	c := newLineClock(start, 2*time.Second)
	var got []time.Duration
	for i := 1; i <= 30; i++ {
		late := time.Duration(i%3) * 40 * time.Millisecond // each tick up to 80 ms late
		tick := start.Add(time.Duration(i)*500*time.Millisecond + late)
		if i >= 19 && i <= 26 {
			continue // a slow poll: the ticks of 9.5 s to 13 s never came
		}
		if c.due(tick) {
			got = append(got, tick.Sub(start).Round(500*time.Millisecond))
		}
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 6 * time.Second, 8 * time.Second, 13500 * time.Millisecond, 14 * time.Second}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lines at %v, want %v", got, want)
	}
}

// TestClusterFinalView: after the last poll the view is shown once more,
// so its last frame has the final counts, and stays: a table's last frame
// is not erased (it said "tasks 60/63" when all 63 had ended: a poll old,
// and counting only the terminal statuses the lagging streams had
// delivered); plain lines end with a last line.
func TestClusterFinalView(t *testing.T) {
	start := time.Now()
	var out bytes.Buffer
	// task-2's outcome came through its handle; its node's stream has not
	// said so yet.
	d := &clusterDemo{start: start, liveMode: liveTable, o: clusterOptions{tasks: 2}, streams: map[string]*streamStats{},
		terminal: map[string]int{"task-1": 1}, tasks: []*tracked{
			{h: &exo.TaskHandle{ID: "task-1"}, outcome: exo.TaskOutcome{Status: exo.TaskComplete}},
			{h: &exo.TaskHandle{ID: "task-2"}, outcome: exo.TaskOutcome{Status: exo.TaskFailed}}}}
	d.view = newLiveView(liveTable, &out, start)
	d.log = d.view
	d.view.redraw([]string{"old frame"})
	d.startStatus(context.Background())() // the poller, stopped at once: its stop shows the final view
	_, _ = d.log.Write([]byte("after\n"))
	if got := out.String(); !strings.Contains(got, "tasks [████████████████] 2/2") || !strings.HasSuffix(got, "\x1b[K\nafter\n") {
		t.Errorf("table mode: %q", got)
	}
	out.Reset()
	d = &clusterDemo{start: start, liveMode: liveLines, log: &out, streams: map[string]*streamStats{}, terminal: map[string]int{"task-1": 1}}
	d.startStatus(context.Background())()
	if got := out.String(); !strings.Contains(got, "s  progress: tasks 0 submitted, 1 ended") {
		t.Errorf("lines mode: %q", got)
	}
}
