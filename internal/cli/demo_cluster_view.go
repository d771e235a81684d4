package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// What the cluster demo knows of each node's state comes from the node's
// status document (Client.StatusJSON: the node's /status, typed as
// httpapi.StatusDoc): runners with status, health score, restarts, next
// backoff and error records; alerts; the tree. A poller reads every
// serving node's document every statusEvery. The live view draws from the
// last documents, the web page (demo_cluster_ui.go) serves them merged, and
// the error records give the restarts by reason and the escalations.

// statusEvery is how often the cluster demo reads each node's status.
const statusEvery = 500 * time.Millisecond

// maxSeenRecords bounds the error records the demo remembers having
// counted (by node and record ID). Past it, new records are still counted
// once per poll they appear in, and the summary says so (a problem): a
// demo run makes a few dozen.
const maxSeenRecords = 100000

// nodeDoc is the last status document of one node.
type nodeDoc struct {
	doc *httpapi.StatusDoc
	err string // the last poll's error, if it failed
}

// pollStatus reads the status documents of every serving node once and
// counts the new error records.
func (d *clusterDemo) pollStatus(ctx context.Context) {
	d.mu.Lock()
	var nodes []*demoNode
	for _, n := range d.nodes {
		if n.state == nodeServing && n.client != nil && n.client.Err() == nil {
			nodes = append(nodes, n)
		}
	}
	d.mu.Unlock()
	for _, n := range nodes {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		b, err := n.client.StatusJSON(pctx)
		cancel()
		var doc httpapi.StatusDoc
		if err == nil {
			err = json.Unmarshal(b, &doc)
		}
		d.mu.Lock()
		if err != nil {
			nd := d.docs[n.name]
			nd.err = err.Error()
			d.docs[n.name] = nd
		} else {
			d.docs[n.name] = nodeDoc{doc: &doc}
			d.countRecords(n.name, &doc)
		}
		d.mu.Unlock()
	}
}

// countRecords counts the error records of doc not counted before (called
// under d.mu): each RETRY decision is a restart with the record's kind as
// its reason, each ESCALATE an escalation.
func (d *clusterDemo) countRecords(node string, doc *httpapi.StatusDoc) {
	for _, r := range doc.Runners {
		for _, rec := range r.Errors {
			key := fmt.Sprintf("%s/%d", node, rec.ID)
			if d.seenRecords[key] {
				continue
			}
			if len(d.seenRecords) < maxSeenRecords {
				d.seenRecords[key] = true
			} else if !d.recordsOverflow {
				d.recordsOverflow = true
				d.sum.Problems = append(d.sum.Problems, fmt.Sprintf("more than %d error records: restarts by reason may count some twice", maxSeenRecords))
			}
			switch {
			case strings.Contains(rec.Action, "ESCALATE"):
				d.sum.Escalations++
			case strings.Contains(rec.Action, "RETRY"):
				d.retriesByReason[rec.Kind]++
			}
		}
	}
}

// startStatus polls the nodes' status every statusEvery and redraws the
// live view after each poll, until the returned function is called (it
// waits for the poller, polls a last time and ends the live view).
func (d *clusterDemo) startStatus(ctx context.Context) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned by the returned stop function, which waits for it
		defer wg.Done()
		t := time.NewTicker(statusEvery)
		defer t.Stop()
		lines := newLineClock(time.Now(), liveLineEvery)
		for {
			var tick time.Time
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case tick = <-t.C:
			}
			d.pollStatus(ctx)
			now := time.Now()
			switch d.liveMode {
			case liveTable:
				d.mu.Lock()
				d.view.redraw(clusterTable(d.snapshotView(now), terminalWidth(d.view.term)))
				d.mu.Unlock()
			case liveLines:
				if lines.due(tick) {
					d.mu.Lock()
					line := clusterLine(d.snapshotView(now))
					d.mu.Unlock()
					d.logf("%s", line)
				}
			}
		}
	}()
	return func() {
		close(stop) // sole sender: this function, called once by runClusterDemo
		wg.Wait()
		d.pollStatus(context.Background())
		d.finalView(time.Now())
	}
}

// finalView shows the view once more after the last poll, when every task
// has ended, and leaves it: the table's last frame stays above the shutdown
// lines (before, it was erased, and the frame drawn last was up to a poll
// old: "tasks 60/63" when all 63 had ended); plain lines get a last line,
// as the one-process demo's do.
func (d *clusterDemo) finalView(now time.Time) {
	d.mu.Lock()
	switch d.liveMode {
	case liveTable:
		d.view.redraw(clusterTable(d.snapshotView(now), terminalWidth(d.view.term)))
		d.view.end()
	case liveLines:
		line := clusterLine(d.snapshotView(now))
		d.mu.Unlock()
		d.logf("%s", line)
		return
	}
	d.mu.Unlock()
}

// lineClock paces the plain progress lines: one every `every` from start,
// on the schedule, whatever the ticks' delays (a line due at 4 s comes at
// the first tick at or after 4 s). Before, each line waited `every` from
// the time the previous one was printed, after a poll of the nodes, so the
// lines drifted: 2.0, 4.5, 6.5, 9.0 s.
type lineClock struct {
	next  time.Time
	every time.Duration
}

func newLineClock(start time.Time, every time.Duration) *lineClock {
	return &lineClock{next: start.Add(every), every: every}
}

// due reports whether a line is due at tick, and if so moves to the next
// slot after tick (a slot missed altogether is skipped, not caught up).
func (c *lineClock) due(tick time.Time) bool {
	if tick.Before(c.next) {
		return false
	}
	for !c.next.After(tick) {
		c.next = c.next.Add(c.every)
	}
	return true
}

// clusterView is what the live view shows, copied under d.mu so that
// rendering is a pure function of it.
type clusterView struct {
	Elapsed      time.Duration
	Submitted    int // tasks submitted so far
	Planned      int // --tasks
	Ended        int // tasks with a terminal status on their stream, or an outcome the run waited for
	Events       uint64
	EventsPerSec float64
	Restarts     int
	Escalations  int
	Faults       int
	Nodes        []nodeView
}

// nodeView is one node of the live view.
type nodeView struct {
	Name  string
	Addr  string
	State string // starting, serving, killed, shut down
	Doc   *httpapi.StatusDoc
	Err   string
}

func (s demoNodeState) String() string {
	switch s {
	case nodeStarting:
		return "starting"
	case nodeServing:
		return "serving"
	case nodeKilled:
		return "killed"
	case nodeShutDown:
		return "shut down"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// snapshotView copies what the live view shows (called under d.mu).
func (d *clusterDemo) snapshotView(now time.Time) clusterView {
	v := clusterView{Elapsed: now.Sub(d.start), Submitted: len(d.tasks), Planned: d.o.tasks, Ended: len(d.terminal),
		Restarts: d.sum.Restarts, Escalations: d.sum.Escalations}
	for _, t := range d.tasks {
		// Its handle's outcome, once the run waited for it, before its
		// node's tasks stream said so: the stream readers lag, and the
		// last view said "61 ended" of 63 when all 63 had.
		if t.outcome.Status.Terminal() && d.terminal[t.h.ID] == 0 {
			v.Ended++
		}
	}
	for _, st := range d.streams {
		v.Events += st.delivered
	}
	if d.rateAt.IsZero() {
		// The first view: the rate since the start (the first plain line,
		// at 2 s, said "0/s" after hundreds of events).
		d.rateAt = d.start
	}
	if dt := now.Sub(d.rateAt).Seconds(); dt > 0 {
		v.EventsPerSec = float64(v.Events-d.rateEvents) / dt
		if dt < 0.2 {
			v.EventsPerSec = d.rate
		}
	}
	if now.Sub(d.rateAt) >= 200*time.Millisecond {
		d.rate, d.rateAt, d.rateEvents = v.EventsPerSec, now, v.Events
	}
	for _, n := range d.sum.FaultsInjected {
		v.Faults += n
	}
	v.Nodes = d.nodeViews()
	return v
}

// nodeViews lists the nodes with their last status documents (called
// under d.mu).
func (d *clusterDemo) nodeViews() []nodeView {
	var out []nodeView
	for _, n := range d.nodes {
		nd := d.docs[n.name]
		out = append(out, nodeView{Name: n.name, Addr: n.addr, State: n.state.String(), Doc: nd.doc, Err: nd.err})
	}
	return out
}

// clusterLine is the plain periodic line when stdout is no terminal.
func clusterLine(v clusterView) string {
	live, runners, ready, removed := 0, 0, 0, 0
	for _, n := range v.Nodes {
		if n.State != "serving" {
			continue
		}
		live++
		if n.Doc != nil {
			runners += n.Doc.Node.Runners
			ready += n.Doc.Node.Ready
			removed += n.Doc.Node.Removed
		}
	}
	return fmt.Sprintf("progress: tasks %d submitted, %d ended · events %d (%.0f/s) · restarts %d · escalations %d · nodes %d live · runners %s",
		v.Submitted, v.Ended, v.Events, v.EventsPerSec, v.Restarts, v.Escalations, live, readyCount(ready, runners, removed))
}

// readyCount is "R/N ready", and ", K removed" when the node still lists K
// removed runners (escalated, stopped): N counts only the others, so a
// table that lists two runners under "1/1 ready" must say why.
func readyCount(ready, runners, removed int) string {
	s := fmt.Sprintf("%d/%d ready", ready, runners)
	if removed > 0 {
		s += fmt.Sprintf(", %d removed", removed)
	}
	return s
}

// clusterTable renders the live table of the cluster demo: a head line
// with the task progress bar and the rates, then per node a line and its
// runners (status, health score, restarts, next backoff, tasks). width
// (0: no limit) clips each line. A pure function of its input.
func clusterTable(v clusterView, width int) []string {
	total := max(v.Planned, v.Submitted)
	head := fmt.Sprintf("── %5.1fs ── tasks %s %d/%d · %.0f ev/s · restarts %d · escalations %d · faults %d",
		v.Elapsed.Seconds(), progress(v.Ended, total, 16), v.Ended, total, v.EventsPerSec, v.Restarts, v.Escalations, v.Faults)
	out := []string{"\x1b[1m" + head + "\x1b[0m",
		fmt.Sprintf("    %-18s %-24s %-9s %3s %8s %6s", "runner", "status", "health", "rst", "backoff", "tasks")}
	for _, n := range v.Nodes {
		line := "  " + strings.Join(strings.Fields(n.Name+" "+n.Addr+" "+n.State), " ")
		if d := n.Doc; d != nil && n.State == "serving" {
			line += fmt.Sprintf(" · %.2f %s · %s · %d alerts", d.Node.Score, d.Node.Level, readyCount(d.Node.Ready, d.Node.Runners, d.Node.Removed), len(d.Alerts))
		}
		if n.Err != "" && n.State == "serving" {
			line += " · status: " + n.Err
		}
		out = append(out, line)
		if n.Doc == nil || n.State == "killed" {
			continue
		}
		for _, r := range n.Doc.Runners {
			score := "—"
			if r.Level != "unknown" {
				score = fmt.Sprintf("%.2f %s", r.Score, levelMark(r.Level))
			}
			backoff := "—"
			if r.NextBackoffS > 0 {
				backoff = time.Duration(r.NextBackoffS * float64(time.Second)).Round(time.Millisecond).String()
			}
			out = append(out, fmt.Sprintf("    %-18s %-24s %-9s %3d %8s %6s", clip(r.ID, 18), clip(r.Status, 24), score, r.Restarts, backoff,
				fmt.Sprintf("%d/%d", r.Tasks.Completed, r.Tasks.Ended)))
		}
	}
	if width > 0 {
		for i, l := range out {
			if i > 0 {
				out[i] = clip(l, width-1)
			}
		}
	}
	return out
}

// restartReasons sums the restarts up by reason for the summary (called
// under d.mu, after the last poll): the error handler's RETRY decisions by
// failure kind, the runners lost with a killed node ("node_lost": started
// again on its replacement), and "unclassified" for restarts seen on the
// streams with no RETRY record read (a node killed before its next poll).
func (d *clusterDemo) restartReasons() map[string]int {
	out := map[string]int{}
	decided := 0
	for k, n := range d.retriesByReason {
		out[k] = n
		decided += n
	}
	if gap := d.sum.Restarts - decided; gap > 0 {
		out["unclassified"] = gap
	}
	lost := 0
	for _, n := range d.nodes {
		if n.state == nodeKilled {
			lost += len(n.runner)
		}
	}
	if lost > 0 {
		out["node_lost"] = lost
	}
	return out
}

// sortedReasons renders by-reason counts as "a 2, b 1", largest first.
func sortedReasons(m map[string]int) string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}
