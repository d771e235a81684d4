package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/sysnode"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// liveMode is how the demo shows its runners while it runs (--live).
type liveMode int

// The live view's modes. auto picks liveTable on a terminal, else liveLines.
const (
	liveOff   liveMode = iota // only the event lines
	liveLines                 // a plain summary line every liveLineEvery
	liveTable                 // a table under the event lines, redrawn in place
)

// How often the live view redraws.
const (
	liveTableEvery = 250 * time.Millisecond
	liveLineEvery  = 2 * time.Second
)

// parseLive reads --live: auto, table, lines or off.
func parseLive(s string, out io.Writer) (liveMode, error) {
	switch s {
	case "auto":
		if terminalWidth(out) > 0 {
			return liveTable, nil
		}
		return liveLines, nil
	case "table":
		return liveTable, nil
	case "lines":
		return liveLines, nil
	case "off":
		return liveOff, nil
	}
	return liveOff, usageErrorf("--live %q: want auto (a table on a terminal, plain lines otherwise), table, lines or off", s)
}

// terminalWidth returns the width of the terminal w is, or 0 when w is no
// terminal.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	if ws.Col == 0 {
		return 80
	}
	return int(ws.Col)
}

// liveState is the live view's lifecycle: drawing (from newLiveView) →
// stopped (Stop: the footer is gone, writes pass through). Never back.
type liveState int

const (
	liveDrawing liveState = iota
	liveStopped
)

// liveView draws the demo's runners while it runs. In table mode it is a
// footer under the event lines: every write to the demo's output first
// erases the footer, writes whole lines, then draws the footer again, so
// the event lines scroll above a table that stays at the bottom. Plain ANSI
// escapes (cursor up, erase down): no terminal library is needed for one
// redrawn block.
//
// Everything but the goroutine's own fields is guarded by the demo watch's
// mutex (w.mu), under which every write to the output happens.
type liveView struct {
	mode  liveMode
	out   io.Writer // the real output
	term  io.Writer // for the terminal width (the table's truncation)
	start time.Time

	// under w.mu
	partial  []byte          // the start of a line not yet ended
	footer   []string        // the table as last drawn
	drawn    int             // lines of the footer on the screen
	events   uint64          // events seen
	tasks    map[string]bool // task IDs seen: as many as the demo submits
	ended    int
	tokens   uint64
	lastN    uint64
	lastT    time.Time
	rate     float64
	lastDoc  *httpapi.StatusDoc
	docError string
	state    liveState

	stop     chan struct{} // closed by Stop
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newLiveView(mode liveMode, out io.Writer, start time.Time) *liveView {
	return &liveView{mode: mode, out: out, term: out, start: start, lastT: start, tasks: map[string]bool{}, stop: make(chan struct{})}
}

// Write writes whole lines above the footer (called under w.mu). A line's
// start without its end waits for the end.
func (v *liveView) Write(p []byte) (int, error) {
	if v.mode != liveTable || v.state == liveStopped {
		return v.out.Write(p)
	}
	v.partial = append(v.partial, p...)
	i := bytes.LastIndexByte(v.partial, '\n')
	if i < 0 {
		return len(p), nil
	}
	var b bytes.Buffer
	v.erase(&b)
	b.Write(v.partial[:i+1])
	v.partial = append(v.partial[:0], v.partial[i+1:]...)
	v.draw(&b)
	_, err := v.out.Write(b.Bytes())
	return len(p), err
}

// erase moves up over the footer and clears to the end of the screen.
func (v *liveView) erase(b *bytes.Buffer) {
	if v.drawn > 0 {
		fmt.Fprintf(b, "\r\x1b[%dA\x1b[J", v.drawn)
		v.drawn = 0
	}
}

func (v *liveView) draw(b *bytes.Buffer) {
	width := terminalWidth(v.term)
	for _, l := range v.footer {
		if width > 0 {
			l = clip(l, width-1)
		}
		b.WriteString(l)
		b.WriteString("\x1b[K\n")
	}
	v.drawn = len(v.footer)
}

// clip cuts s to n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n, 0)])
}

// observe counts an event (called under w.mu).
func (v *liveView) observe(ev exo.Event) {
	v.events++
	switch e := ev.(type) {
	case exo.TaskStatusChanged:
		v.tasks[e.TaskID] = true
		if e.Status.Terminal() {
			v.ended++
		}
	case exo.TaskChunk:
		if e.Chunk.Error == "" {
			v.tokens++
		}
	}
}

// Start runs the redraw loop on a goroutine that Stop waits for.
func (v *liveView) Start(w *demoWatch, sys *exo.System) {
	if v.mode == liveOff {
		return
	}
	every := liveTableEvery
	if v.mode == liveLines {
		every = liveLineEvery
	}
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-v.stop:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			doc, err := httpapi.BuildStatus(ctx, sysnode.Of(sys))
			cancel()
			w.mu.Lock()
			v.refresh(doc, err, time.Now())
			w.mu.Unlock()
		}
	}()
}

// Stop ends the loop and leaves the output as plain lines: in table mode the
// footer is erased (the shutdown report follows), in lines mode a last line
// is printed.
// Calling it again does nothing.
func (v *liveView) Stop(w *demoWatch) {
	if v.mode == liveOff {
		return
	}
	first := false
	v.stopOnce.Do(func() {
		close(v.stop) // sole sender: Stop, once (stopOnce)
		first = true
	})
	if !first {
		return
	}
	v.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	v.sample(now)
	var b bytes.Buffer
	v.state = liveStopped
	if v.mode == liveTable {
		v.erase(&b)
		b.Write(v.partial)
		v.partial, v.footer = nil, nil
	} else {
		b.WriteString(v.line(now) + "\n")
	}
	_, _ = v.out.Write(b.Bytes())
}

func (v *liveView) sample(now time.Time) {
	if dt := now.Sub(v.lastT).Seconds(); dt > 0 {
		v.rate = float64(v.events-v.lastN) / dt
	}
	v.lastN, v.lastT = v.events, now
}

// refresh takes a new status document and redraws (called under w.mu).
func (v *liveView) refresh(doc *httpapi.StatusDoc, err error, now time.Time) {
	v.sample(now)
	if err != nil {
		v.docError = err.Error()
	} else {
		v.lastDoc, v.docError = doc, ""
	}
	if v.mode == liveLines {
		_, _ = io.WriteString(v.out, v.line(now)+"\n")
		return
	}
	v.footer = v.table(now)
	var b bytes.Buffer
	v.erase(&b)
	v.draw(&b)
	_, _ = v.out.Write(b.Bytes())
}

// progress draws a bar of width n filled done/total.
func progress(done, total, n int) string {
	fill := 0
	if total > 0 {
		fill = min(n, done*n/total)
	}
	return "[" + strings.Repeat("█", fill) + strings.Repeat("░", n-fill) + "]"
}

func (v *liveView) counts() string {
	return fmt.Sprintf("tasks %d/%d ended · tokens %d · events %.0f/s", v.ended, len(v.tasks), v.tokens, v.rate)
}

// line is the plain periodic line of lines mode.
func (v *liveView) line(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6.2fs  live: %s", now.Sub(v.start).Seconds(), v.counts())
	if d := v.lastDoc; d != nil {
		restarts := 0
		for _, r := range d.Runners {
			restarts += r.Restarts
		}
		fmt.Fprintf(&b, " · runners %s · restarts %d · node score %.2f %s", readyCount(d.Node.Ready, d.Node.Runners, d.Node.Removed), restarts, d.Node.Score, d.Node.Level)
	}
	if v.docError != "" {
		b.WriteString(" · node: " + v.docError)
	}
	return b.String()
}

// table is the footer of table mode.
func (v *liveView) table(now time.Time) []string {
	head := fmt.Sprintf("── live %5.1fs ── %s %s ──", now.Sub(v.start).Seconds(), progress(v.ended, len(v.tasks), 20), v.counts())
	out := []string{"\x1b[1m" + head + "\x1b[0m"}
	d := v.lastDoc
	if d == nil {
		return append(out, "  (waiting for the node's status)")
	}
	out = append(out, fmt.Sprintf("  %-18s %-28s %-10s %8s %12s %7s", "runner", "status", "health", "restarts", "next backoff", "tasks"))
	for _, r := range d.Runners {
		score := "—"
		if r.Level != "unknown" {
			score = fmt.Sprintf("%.2f %s", r.Score, levelMark(r.Level))
		}
		backoff := "—"
		if r.NextBackoffS > 0 {
			backoff = (time.Duration(r.NextBackoffS * float64(time.Second))).Round(time.Millisecond).String()
		}
		out = append(out, fmt.Sprintf("  %-18s %-28s %-10s %8d %12s %7s", r.ID, clip(r.Status, 27), score, r.Restarts, backoff,
			fmt.Sprintf("%d/%d", r.Tasks.Completed, r.Tasks.Ended)))
	}
	foot := fmt.Sprintf("  node %s · score %.2f %s · %s · %d alerts", d.Node.State, d.Node.Score, d.Node.Level, readyCount(d.Node.Ready, d.Node.Runners, d.Node.Removed), len(d.Alerts))
	if v.docError != "" {
		foot += " · node: " + v.docError
	}
	return append(out, foot)
}

func levelMark(level string) string {
	switch level {
	case "healthy":
		return "ok"
	case "degraded":
		return "deg"
	case "unhealthy":
		return "BAD"
	}
	return level
}

// startLive puts the live view between the demo's output and the terminal
// (--live); in table mode the logger writes through it too when stderr is
// the same terminal, so log lines scroll above the table instead of into it.
func (w *demoWatch) startLive(e *env, o demoOptions) *liveView {
	mode, _ := parseLive(o.live, e.stdout) // checked by the command
	v := newLiveView(mode, w.out, w.start)
	if mode == liveOff {
		return v
	}
	w.out, w.live = v, v
	if mode == liveTable && terminalWidth(e.stderr) > 0 {
		e.logger.SetOutput(w)
	}
	return v
}

// redraw replaces the footer with lines and draws it (table mode; the
// caller holds the lock its writes are under). The cluster demo draws its
// own table (clusterTable) through it.
func (v *liveView) redraw(lines []string) {
	if v.mode != liveTable || v.state == liveStopped {
		return
	}
	v.footer = lines
	var b bytes.Buffer
	v.erase(&b)
	v.draw(&b)
	_, _ = v.out.Write(b.Bytes())
}

// end leaves the footer as drawn, as plain lines above whatever comes
// next, and lets writes pass through from now on (the caller holds the
// lock its writes are under): the cluster demo's last frame, drawn after
// its last poll, is the runners' final state. Calling it again does
// nothing.
func (v *liveView) end() {
	if v.state == liveStopped {
		return
	}
	v.state = liveStopped
	if v.mode != liveTable {
		return
	}
	_, _ = v.out.Write(v.partial)
	v.partial, v.footer, v.drawn = nil, nil, 0
}
