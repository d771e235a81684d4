package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// A runner that fails before it is Ready (one that never says Hello within
// the handshake timeout, crashes while loading, ...) is restarted by its
// node again and again, and `remote run` saw nothing of it: it printed
// "spawned" and then, at --timeout, advised more time, which cannot help.
// So run follows each runner it spawned on its node's runner-status stream:
// it prints each failure as it comes (the node's own one-line text, with
// what to do), and at --timeout it says which runner is failing and how,
// instead of advising more time alone.

// runnerWatch is what run saw of the runner it spawned on one node. The
// watcher goroutine (watchRunner) writes it under nodeRun.watchMu; run
// reads a copy (watched), also while the watcher runs: its own stop makes
// the runner ShuttingDown, an event the watcher takes in meanwhile.
type runnerWatch struct {
	failures int    // RunnerFailed events seen
	last     string // the last failure's text (RunnerFailure.Error)
	ready    bool   // its last status seen was Ready or Running
	wasReady bool   // it was Ready or Running at some point
	stopping bool   // it went ShuttingDown: its node shuts down (or a stop): a failure then is not the runner's
	err      error  // why the watch ended early, if not the run's end
	// status is its last status seen (StatusUnknown: none yet), since
	// when (this process's clock: when its event came), and for Loading
	// its layers.
	status         exo.RunnerStatus
	statusAt       time.Time
	layers, totalL uint32
}

// maxFailureLines bounds the failure lines run prints per runner; later
// failures are counted, and the last one is reported at the end.
const maxFailureLines = 5

// syncWriter serialises writes to run's output: the watchers print
// failures while run prints its own lines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// watchRunner follows the runner nr spawned on sub (its node's
// runner-status stream, filtered to that runner) until ctx ends or the
// subscription does, and prints a line per failure to out.
func (nr *nodeRun) watchRunner(ctx context.Context, sub *exo.Subscription, out io.Writer) {
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				nr.watchMu.Lock()
				nr.watch.err = err
				nr.watchMu.Unlock()
			}
			return
		}
		if ev.RunnerID != nr.runner { // the node's other runners (and Gaps)
			continue
		}
		nr.watchMu.Lock()
		nr.takeIn(ev, out)
		nr.watchMu.Unlock()
		select {
		case nr.watchSeen <- struct{}{}:
		default: // rung already
		}
	}
}

// takeIn updates the watch with one event of the runner, under watchMu,
// and prints its failure line.
func (nr *nodeRun) takeIn(ev exo.StreamEvent, out io.Writer) {
	w := &nr.watch
	switch p := ev.Payload.(type) {
	case exo.StatusChanged:
		if p.To != w.status || p.To == exo.StatusLoading && p.LayersLoaded != w.layers {
			// When it came here, not the node's p.At: notReadyText
			// measures against this clock.
			w.statusAt = time.Now()
		}
		w.status, w.layers, w.totalL = p.To, p.LayersLoaded, p.TotalLayers
		w.ready = p.To == exo.StatusReady || p.To == exo.StatusRunning
		w.wasReady = w.wasReady || w.ready
		// Sticky through its stop's end (ShuttingDown, Shutdown,
		// Failed); a later status is a new process, which is
		// judged afresh.
		w.stopping = p.To == exo.StatusShuttingDown ||
			w.stopping && (p.To == exo.StatusShutdown || p.To == exo.StatusFailed)
	case exo.RunnerFailed:
		w.ready = false
		w.failures++
		text := failureText(p.Failure, nr.runner)
		same := w.last != "" && withoutGeneration(text) == withoutGeneration(w.last)
		w.last = text
		switch {
		case w.failures > maxFailureLines+1:
		case w.failures == maxFailureLines+1:
			fmt.Fprintf(out, "node %-8s runner %s failed again (%s); further failures are counted, the last is shown at the end\n", nr.c.NodeName(), nr.runner, ordinal(w.failures))
		case same:
			fmt.Fprintf(out, "node %-8s runner %s failed again, the same way (%s)\n", nr.c.NodeName(), nr.runner, ordinal(w.failures))
		default:
			fmt.Fprintf(out, "node %-8s runner failed (%s): %s\n", nr.c.NodeName(), ordinal(w.failures), text)
			io.WriteString(out, runnerDiagnostics(p.Failure))
		}
	case exo.RunnerStopped:
		w.ready = false
	}
}

// watched returns a copy of what the watcher saw so far.
func (nr *nodeRun) watched() runnerWatch {
	nr.watchMu.Lock()
	defer nr.watchMu.Unlock()
	return nr.watch
}

// catchUpBound bounds catchUpWatchers' wait for each watcher.
const catchUpBound = time.Second

// catchUpWatchers waits, for at most catchUpBound per node, until each
// runner's watcher has taken in the failures its node reports for it: the
// failure arrives on the runner-status stream, the tasks it ended on
// their own handles, so run's summary (or its cleanup) could be printed
// before the failure's line (a new user's trial: "0 tasks passed the
// check" above "runner failed (1st time)", in three runs of six).
func catchUpWatchers(ctx context.Context, runs []*nodeRun) {
	for _, nr := range runs {
		if nr == nil || nr.runner == "" || nr.watchSeen == nil {
			continue
		}
		want := nr.askRunner(ctx).failures
		if want == 0 || nr.watched().failures >= want {
			continue
		}
		timer := time.NewTimer(catchUpBound)
	wait:
		for nr.watched().failures < want {
			select {
			case <-nr.watchSeen:
			case <-timer.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		timer.Stop()
	}
}

// retiredRunner reports whether a stop's result and the watch say the
// node had given up on the runner (its error policy stopped restarting
// it): no process, a failure, which run saw, and never Ready since (a
// runner that failed once and came back, then was stopped, also answers
// with its old failure: a review).
func retiredRunner(res *exo.StopResult, w runnerWatch) bool {
	return res != nil && res.EndedBy == "not running" && res.Failure != nil && w.failures > 0 && !w.ready && !w.stopping
}

// gaveUpAfter says how the node gave up on a runner that failed n times:
// after one failure it never restarted it.
func gaveUpAfter(n int) string {
	if n <= 1 {
		return "the node's error policy did not restart it after its failure"
	}
	return fmt.Sprintf("the node stopped restarting it after %d failures", n)
}

// retiredLine is the cleanup's line for a runner its node had given up on;
// rest says what was left to do.
func retiredLine(nr *nodeRun, res *exo.StopResult, rest string) string {
	return fmt.Sprintf("node %-8s %s had failed for good: the node gave up on it (%s); %s",
		nr.c.NodeName(), res.RunnerID, oneLine(res.Failure.Error()), rest)
}

// notReadyText says, for runners of runs that were never Ready and are
// not failing, where they were when the run ended: "runner X on N was
// Connecting for 11.8s, never Ready"; stuck when one was Connecting, which
// no timeout of the node bounds (a runner may wait there for its peers:
// docs/protocol.md), so more time may not help it. Empty when every
// runner was Ready at some point.
func notReadyText(runs []*nodeRun, now time.Time) (text string, stuck bool) {
	var parts []string
	for _, nr := range runs {
		if nr == nil || nr.runner == "" {
			continue
		}
		w := nr.watched()
		if w.wasReady || w.failures > 0 || w.status == exo.StatusUnknown {
			continue
		}
		st := w.status.String()
		if w.status == exo.StatusLoading && w.totalL > 0 {
			st = fmt.Sprintf("Loading (%d of %d layers)", w.layers, w.totalL)
		}
		stuck = stuck || w.status == exo.StatusConnecting
		parts = append(parts, fmt.Sprintf("runner %s on %s was %s for %s, never Ready", nr.runner, nr.c.NodeName(), st, now.Sub(w.statusAt).Round(100*time.Millisecond)))
	}
	return strings.Join(parts, "; "), stuck
}

// failureText is a RunnerFailed event's one-line text.
func failureText(f *exo.RunnerFailure, runner string) string {
	if f == nil {
		return "runner " + runner + " failed (the event carried no details)"
	}
	return oneLine(f.Error())
}

// Bounds of the runner's own diagnostics a failure line is followed by.
const (
	diagnosticsLines   = 20
	diagnosticsLineMax = 200
)

// runnerDiagnostics is what the runner itself put in its Failed status's
// diagnostics (a traceback, say; docs/protocol.md), as indented lines under
// the failure's line, at most diagnosticsLines of diagnosticsLineMax
// characters; "" when it said none. Before, only a Go host saw them (a
// trial: "sha256 mismatch" reached no output of the CLI).
func runnerDiagnostics(f *exo.RunnerFailure) string {
	if f == nil || strings.TrimSpace(f.RunnerDiagnostics) == "" {
		return ""
	}
	lines := strings.Split(strings.TrimRight(f.RunnerDiagnostics, "\n"), "\n")
	var b strings.Builder
	b.WriteString("    the runner's diagnostics:\n")
	for i, l := range lines {
		if i == diagnosticsLines {
			fmt.Fprintf(&b, "    | … %d more lines\n", len(lines)-i)
			break
		}
		if r := []rune(l); len(r) > diagnosticsLineMax {
			l = string(r[:diagnosticsLineMax]) + "…"
		}
		b.WriteString("    | " + l + "\n")
	}
	return b.String()
}

// Parts of a failure's text that differ from one process to the next for
// the same failure: its generation, and measured durations as Go prints
// them ("2.002s", "255ms", "1m30s", "1h0m0s", "750µs"): one or more
// number-unit parts, so a compound duration is one match ("1m30s" is
// neither "1m" nor "30s" alone: a \b between m and 3 never matches).
var (
	generationRE = regexp.MustCompile(` gen [0-9]+: `)
	durationRE   = regexp.MustCompile(`\b(?:[0-9]+(?:\.[0-9]+)?(?:ns|µs|us|ms|s|m|h))+\b`)
)

// withoutGeneration is a failure's text without its generation and
// durations, to tell the same failure of the next process.
func withoutGeneration(s string) string {
	return durationRE.ReplaceAllString(generationRE.ReplaceAllString(s, ": "), "D")
}

// ordinal says "1st time", "2nd time", ….
func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s time", n, suffix)
}

// failingRunners says, for the runners run spawned that are failing and
// not Ready when the run ended early, how: e.g. "runner echo-1a2b3c on
// node-a never became Ready: it failed 4 times (the node restarted it
// between them); the last: runner echo-1a2b3c gen 4: handshake: never
// said Hello within 1s; …; if it only starts slowly, raise
// RunnerTimeouts.Handshake (node config: timeouts.handshake)". For a runner whose
// failures the stream did not show (the first ones can come before run
// subscribed), it asks the node, briefly. Empty when no runner is failing.
//
// A runner whose node shuts down (or shut down: the client says so) is not
// failing: a forced shutdown kills it, and that failure is the node's, not
// something to fix in the runner (trial9: "never became Ready … fix the
// runner" for a runner that had streamed for seconds before its node's
// forced shutdown killed it); abortReason names those nodes instead.
func failingRunners(ctx context.Context, runs []*nodeRun) []string {
	var out []string
	for _, nr := range runs {
		if nr == nil || nr.runner == "" || nr.stopped || runNodeDown(nr) {
			continue
		}
		w := nr.watched()
		if w.stopping {
			continue
		}
		if w.failures == 0 && !w.ready {
			asked := nr.askRunner(ctx)
			asked.wasReady = w.wasReady
			w = asked
		}
		if w.failures == 0 || w.ready {
			continue
		}
		state := "never became Ready"
		if w.wasReady {
			state = "is not Ready again"
		}
		restarts := ""
		if w.failures > 1 {
			restarts = " (the node restarted it between them)"
		}
		out = append(out, fmt.Sprintf("runner %s on %s %s: it failed %s%s; the last: %s",
			nr.runner, nr.c.NodeName(), state, times(w.failures), restarts, w.last))
	}
	return out
}

// runNodeDown reports whether nr's node shut down or is shutting down, as
// far as its client knows.
func runNodeDown(nr *nodeRun) bool {
	err := nr.c.Err()
	return err != nil && errors.Is(err, exo.ErrShuttingDown)
}

// times says "once", "twice", "4 times".
func times(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

// askRunner asks the node, for at most askRunnerBound, how the runner
// fares: a failure of a runner that is not Ready counts as one per
// process it ran (its generation).
func (nr *nodeRun) askRunner(ctx context.Context) runnerWatch {
	if nr.c.Err() != nil {
		return runnerWatch{}
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), askRunnerBound)
	defer cancel()
	infos, err := nr.c.Runners(qctx)
	if err != nil {
		return runnerWatch{}
	}
	for _, ri := range infos {
		if ri.ID != nr.runner {
			continue
		}
		if ri.LastError == "" || ri.Status == exo.StatusReady || ri.Status == exo.StatusRunning {
			return runnerWatch{ready: ri.Status == exo.StatusReady || ri.Status == exo.StatusRunning}
		}
		n := int(ri.Generation)
		if ri.Status != exo.StatusFailed && !ri.Restarting && n > 1 {
			n-- // its current process has not failed (yet)
		}
		return runnerWatch{failures: max(n, 1), last: oneLine(ri.LastError)}
	}
	return runnerWatch{}
}

// askRunnerBound bounds askRunner's call: run has ended already.
const askRunnerBound = 2 * time.Second

// failingAdvice ends run's timeout error when runners are failing: a
// longer --timeout cannot help them. It names --timeout, not "time": the
// failure it follows may itself advise more time for a node setting (e.g.
// "if it only starts slowly, raise … timeouts.handshake"), and the two must
// not read as a contradiction.
func failingAdvice(failing []string) string {
	return strings.Join(failing, "; ") + "; a longer --timeout will not help while it fails: fix the runner or the node config, as its failure says"
}

// stopSummary is a stop's summary for a line of remote run or remote stop,
// with what to do when the runner's own stop escalated: "ended by SIGTERM"
// alone left a trial's user with a runner that ignored its Shutdown frame
// and no word of it (the node's shutdown report said it; a single stop did
// not).
func stopSummary(res *exo.StopResult) string {
	framed := len(res.Steps) > 0 && res.Steps[0].Name == "shutdown frame"
	if !framed && (res.EndedBy == "SIGTERM" || res.EndedBy == "SIGKILL") {
		// No Shutdown frame to ignore: it had not said Hello (or stopped
		// reading) when the stop came; its failures say why.
		return res.Summary() + actors.StopNoteNoFrame
	}
	switch res.EndedBy {
	case "SIGTERM":
		return res.Summary() + " (the runner did not exit on its Shutdown frame within timeouts.stop_grace: make it exit when it reads the frame, or raise timeouts.stop_grace if it needs longer)"
	case "SIGKILL":
		return res.Summary() + " (the runner ignored its Shutdown frame and SIGTERM too, for timeouts.stop_grace and timeouts.term_wait: it hangs or blocks SIGTERM; fix the runner, a longer stop_grace cannot help)"
	}
	return res.Summary()
}
