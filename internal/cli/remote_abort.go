package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// cleanupTimeout is --cleanup-timeout's default: it bounds what `remote
// run` does after it ended abnormally: cancel its open tasks and stop its
// runners, every node in parallel.
const cleanupTimeout = 15 * time.Second

// runInterrupted is the cause `remote run`'s ctx ends with on SIGINT or
// SIGTERM.
type runInterrupted struct{ sig os.Signal }

func (e *runInterrupted) Error() string { return "interrupted by " + signalName(e.sig) }

func signalName(s os.Signal) string {
	if s == syscall.SIGINT {
		return "SIGINT"
	}
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return s.String()
}

// watchSignals ends the run (cancel, with a *runInterrupted cause) on the
// first SIGINT or SIGTERM; a second one exits the process at once, with
// exit code 3 and a line on stderr naming what may be left behind: with
// leased runners, nothing the nodes will not stop. stop ends the watch and
// waits for its goroutine.
func watchSignals(cancel context.CancelCauseFunc, stderr io.Writer, nodes []string, leased bool) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case s := <-sigs:
			cancel(&runInterrupted{sig: s})
		case <-done:
			return
		}
		select {
		case s := <-sigs:
			if leased {
				fmt.Fprintf(stderr, "exo-actors: second %s: exiting at once, without the cleanup; each node stops the runners it spawned for this run (leased to its session) as soon as it sees the run gone: `exo-actors remote status --node %s` shows them end\n",
					signalName(s), strings.Join(nodes, ","))
			} else {
				fmt.Fprintf(stderr, "exo-actors: second %s: exiting at once, without the cleanup; runners it spawned may still run (--keep-runners): list them with `exo-actors remote status --node %s`, stop them with `exo-actors remote stop --node ADDR RUNNER_ID…`\n",
					signalName(s), strings.Join(nodes, ","))
			}
			os.Exit(ExitInterrupted)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done) // sole sender: the stop func, called once by the run's RunE
		wg.Wait()
	}
}

// abortRun cleans up after a run that ended before its normal end (ctx
// ended: --timeout or a signal; or a call failed): on every node where it
// spawned a runner it has not stopped yet, it cancels the runner's open
// tasks and stops the runner (unless --keep-runners), within bound
// (--cleanup-timeout), nodes in parallel, and prints one line per node.
func abortRun(ctx context.Context, out io.Writer, runs []*nodeRun, keep bool, bound time.Duration, why string) {
	var todo []*nodeRun
	for _, nr := range runs {
		if nr != nil && nr.runner != "" && !nr.stopped {
			todo = append(todo, nr)
		}
	}
	if len(todo) == 0 {
		return
	}
	what := "cancelling its open tasks and stopping the runners it spawned"
	if keep {
		what = "cancelling its open tasks (--keep-runners: the runners stay)"
	}
	fmt.Fprintf(out, "== %s: %s (at most %s)\n", why, what, bound)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bound)
	defer cancel()
	lines := make([]string, len(todo))
	var wg sync.WaitGroup
	for i, nr := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lines[i] = nr.abort(cctx, keep, bound)
		}()
	}
	wg.Wait()
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
}

// abort cancels the runner's open tasks and stops it (unless keep), within
// ctx (the cleanup's bound); it returns the line saying what it did.
func (nr *nodeRun) abort(ctx context.Context, keep bool, bound time.Duration) string {
	head := fmt.Sprintf("node %-8s", nr.c.NodeName())
	if err := nr.c.Err(); err != nil {
		if line, ok := shutDownLine(nr, err); ok {
			nr.stopped = true
			return line
		}
		return fmt.Sprintf("%s %v: cannot clean up %s there", head, err, nr.runner)
	}
	open := 0
	for _, h := range nr.handles {
		if h.Outcome() == nil {
			open++
		}
	}
	var parts []string
	n, err := nr.c.Cancel(ctx, nr.runner, "")
	var cancelErr error // a runner its node gave up on cannot take a cancel: said below if so
	switch {
	case err != nil && errors.Is(err, exo.ErrRunnerNotAvailable) && !keep:
		cancelErr = err
	case err != nil:
		parts = append(parts, fmt.Sprintf("cancel of the tasks of %s failed: %v", nr.runner, err))
	case n > 0 || open > 0:
		text := fmt.Sprintf("cancelled %s", plural(n, "open task"))
		if open > n {
			// Cancel counts only what it cancelled: the others were being
			// cancelled already (--cancel-after) or ended meanwhile.
			text += fmt.Sprintf(" (%d more already being cancelled or ending)", open-n)
		}
		parts = append(parts, text)
	}
	if keep {
		parts = append(parts, fmt.Sprintf("kept %s (--keep-runners)", nr.runner))
		return head + " " + strings.Join(parts, "; ")
	}
	res, err := nr.c.StopRunner(ctx, nr.runner)
	if line, ok := shutDownLine(nr, err); ok {
		nr.stopped = true
		return line
	}
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
		// The request went out: the node goes on with the stop whatever
		// becomes of this call (it drains the runner first).
		parts = append(parts, stopGoesOn(nr.runner, bound, nr.c.Addr()))
	case err != nil:
		parts = append(parts, fmt.Sprintf("stop of %s failed: %v; stop it with `exo-actors remote stop --node %s %s`", nr.runner, oneLine(err.Error()), nr.c.Addr(), nr.runner))
	case retiredRunner(res, nr.watched()):
		// Not "cancel … failed: … no restart is planned; stopped ID: was
		// not running" (a new user's trial: a kind whose command was
		// gone): the node had given up on it, there was nothing to do.
		nr.stopped = true
		return retiredLine(nr, res, "nothing to cancel or stop")
	default:
		nr.stopped = true
		parts = append(parts, fmt.Sprintf("stopped %s: %s", res.RunnerID, stopSummary(res)))
	}
	if cancelErr != nil {
		parts = append([]string{fmt.Sprintf("cancel of the tasks of %s failed: %v", nr.runner, cancelErr)}, parts...)
	}
	return head + " " + strings.Join(parts, "; ")
}

// runEnded reports whether the run's ctx ended. A call bounded by the
// ctx's deadline through its own timer (a connection deadline: the dial's
// silent-node probe) can return just before the ctx's timer fires, with
// ctx.Err() still nil: once the deadline has passed, Done comes at once.
func runEnded(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		<-ctx.Done()
		return true
	}
	return false
}

// abortReason is the run's error once its ctx ended, and the header of
// the cleanup: what ended it and what the user can do. cause is the error
// the call in progress returned when ctx ended (a dial that got no
// answer names its node and why): kept when no runner was spawned yet.
func abortReason(ctx context.Context, r remoteRun, runs []*nodeRun, cause error) (header string, err error) {
	ended, total, spawned := 0, 0, 0
	for _, nr := range runs {
		if nr == nil {
			continue
		}
		if nr.runner != "" {
			spawned++
		}
		for _, h := range nr.handles {
			total++
			if h.Outcome() != nil {
				ended++
			}
		}
	}
	done := "its tasks were cancelled and its runners stopped as printed above"
	if r.noStop {
		done = "its tasks were cancelled as printed above, its runners kept (--keep-runners)"
	}
	if down := nodesDown(runs); len(down) > 0 {
		done = fmt.Sprintf("%s shut down during the run (%s); %s", nodesText(down), shutdownCutText(len(down), "cut %s tasks there short and stopped %s runner"), done)
	}
	var ri *runInterrupted
	interrupted := errors.As(context.Cause(ctx), &ri)
	// A spawn still in flight when ctx ended: the node stops the runner
	// once the client says it gave up (runtime's SpawnRunner; docs/remote.md,
	// "Runners a client never learned of").
	const inFlight = "nothing to clean up (a node that spawns a runner for a request still in flight stops it)"
	switch {
	case spawned == 0 && interrupted:
		return ri.Error(), &interruptedError{msg: ri.Error() + " before any runner was spawned: " + inFlight}
	case spawned == 0 && cause != nil:
		return "", fmt.Errorf("--timeout %s reached before any runner was spawned: %w; %s; if the node is only slow, allow more time with --timeout (e.g. --timeout %s)", r.timeout, cause, inFlight, 4*r.timeout)
	case spawned == 0:
		return "", fmt.Errorf("--timeout %s reached before any runner was spawned (while dialing the nodes or spawning): %s; allow more time with --timeout (e.g. --timeout %s)", r.timeout, inFlight, 4*r.timeout)
	case interrupted:
		return ri.Error(), &interruptedError{msg: fmt.Sprintf("%s after %d of %d tasks ended; %s", ri.Error(), ended, r.tasks, done)}
	}
	if failing := failingRunners(ctx, runs); len(failing) > 0 { // remote_watch.go
		return fmt.Sprintf("--timeout %s reached", r.timeout), fmt.Errorf("--timeout %s reached before the run ended (%d of %d tasks had ended, %d submitted): %s; %s",
			r.timeout, ended, r.tasks, total, failingAdvice(failing), done)
	}
	progress, suggest := runProgress(r, runs)
	if suggest == 0 { // a runner stuck where no timeout bounds it: more time is no advice
		return fmt.Sprintf("--timeout %s reached", r.timeout), fmt.Errorf("--timeout %s reached before the run ended (%d of %d tasks had ended, %d submitted%s); %s",
			r.timeout, ended, r.tasks, total, progress, done)
	}
	return fmt.Sprintf("--timeout %s reached", r.timeout), fmt.Errorf("--timeout %s reached before the run ended (%d of %d tasks had ended, %d submitted%s); %s; allow more time with --timeout (e.g. --timeout %s), or run fewer or shorter tasks (--tasks, --tokens)",
		r.timeout, ended, r.tasks, total, progress, done, suggest)
}

// runProgress says how far the run's open tasks had streamed when
// --timeout ended it, and the --timeout to suggest (0: none, for a runner
// stuck Connecting, which more time does not help): at the rate so far (a
// task still queued counts as none streamed), with a quarter more. Without
// a chunk count to go by (a task kind other than text_generation, or no
// chunk yet) it suggests 4 × --timeout, and says so. Before, it always
// suggested 4 × --timeout: a run that needed 10 s after --timeout 2s was
// told 8s, then 32s (a new user's trial).
func runProgress(r remoteRun, runs []*nodeRun) (progress string, suggest time.Duration) {
	if r.taskKind != "" && r.taskKind != "text_generation" || r.tokens <= 0 || r.timeout <= 0 {
		return "", 4 * r.timeout
	}
	var streamed, want uint64
	open := 0
	for _, nr := range runs {
		if nr == nil {
			continue
		}
		for _, h := range nr.handles {
			if h.Outcome() != nil {
				continue // ended: nothing more to wait for
			}
			open++
			want += uint64(r.tokens)
			if cs := h.Chunks(); len(cs) > 0 {
				streamed += min(cs[len(cs)-1].Index+1, uint64(r.tokens))
			}
		}
	}
	if open == 0 {
		return "", 4 * r.timeout
	}
	if streamed == 0 {
		switch waiting, stuck := notReadyText(runs, time.Now()); { // remote_watch.go
		case stuck:
			// More time cannot help a runner the node watches with no
			// timeout (a new user's trial: a Python runner whose load
			// stopped after Connecting was advised --timeout 48s).
			return "; no open task had streamed a chunk yet: " + waiting + "; the node bounds no runner's time in Connecting (it may wait there for its peers: docs/protocol.md), so more time helps only if it gets further: look at what its load waits for (its log lines on the node's stderr)", 0
		case waiting != "":
			return "; no open task had streamed a chunk yet: " + waiting, 4 * r.timeout
		}
		return "; no open task had streamed a chunk yet (the runners may still have been loading)", 4 * r.timeout
	}
	need := time.Duration(float64(r.timeout) * float64(want) / float64(streamed))
	suggest = (need + need/4 + time.Second - 1).Truncate(time.Second)
	return fmt.Sprintf("; its %s had streamed %d of %d chunks: at that rate they need about %s", plural(open, "open task"), streamed, want, need.Round(time.Second)),
		max(suggest, r.timeout+time.Second)
}

// nodesDown names the nodes of runs that shut down (or shut down now), as
// their clients know.
func nodesDown(runs []*nodeRun) []string {
	var down []string
	for _, nr := range runs {
		if nr != nil && runNodeDown(nr) {
			down = append(down, nr.c.NodeName())
		}
	}
	return down
}

// stopGoesOn is abort's text for a stop the cleanup's bound ended before
// the node confirmed it: the node goes on with it (it drains the runner's
// tasks, then the Shutdown frame, SIGTERM, SIGKILL), so "failed" would be
// false; it says how to see the end.
func stopGoesOn(runner string, bound time.Duration, addr string) string {
	return fmt.Sprintf("%s still stopping when the cleanup's %s ended: the node goes on with the stop (it drains the runner's tasks for up to its timeouts.stop_drain, 30s by default, then sends the Shutdown frame, SIGTERM, SIGKILL); check with `exo-actors remote status --node %s` (the runner leaves its live runners once stopped), or allow more time with --cleanup-timeout",
		runner, bound, addr)
}
