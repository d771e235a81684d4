package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/internal/builtinrunner"
	exo "github.com/exo-actors/exo-actors/runtime"
)

type demoOptions struct {
	fault    string // passed to the healthy runners, e.g. ignore-shutdown:forever
	runners  int
	tokens   int
	layers   int
	tokDelay time.Duration
	layDelay time.Duration
	http     string         // --http: serve the endpoints and run the hang scenario (demo_health.go)
	httpAny  bool           // --http-allow-remote: allow a non-loopback --http host (node_http.go)
	httpHost []string       // --http-allow-host: Host names answered on loopback (node_http.go)
	hold     time.Duration  // --hold: keep serving this long after the scenario
	ui       uiOptions      // --ui: the web page of the tree (demo_ui.go)
	live     string         // --live: auto, table, lines, off (demo_live.go)
	cluster  clusterOptions // --nodes and the flags of the multi-node demo (demo_cluster.go)
}

func newDemoCommand(e *env) *cobra.Command {
	o := demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local demo cluster of runners, inject faults, shut down",
		Long: "demo starts built-in runners under the actor system and shows their status\n" +
			"sequences as they load, streams tokens from tasks, kills one runner with SIGKILL\n" +
			"mid-task to show the detection and the task outcomes, then shuts down.\n" +
			"It exits 0 only if every task ended exactly once and no runner process is left.\n\n" +
			"With --nodes N (N > 1) it runs the cluster demo instead: N node processes with\n" +
			"--runners each (1-8, default 2), --tasks tasks and the faults --chaos names at\n" +
			"moments drawn from --seed (make demo: --nodes 3 --chaos all --seed 1); it exits 0\n" +
			"only when no task and no event was lost and no process was left\n" +
			"(docs/operations.md, \"The cluster demo\").",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			runners := o.runners
			if o.cluster.nodes > 1 && !cmd.Flags().Changed("runners") {
				runners = 2 // per node
			}
			if err := o.cluster.check(cmd.Flags(), runners); err != nil {
				return err
			}
			if o.cluster.nodes > 1 {
				if err := o.ui.check(); err != nil {
					return err
				}
				if _, err := parseLive(o.live, e.stdout); err != nil {
					return err
				}
				o.cluster.ui, o.cluster.live = o.ui, o.live
				return runClusterDemo(cmd.Context(), e, o.cluster, runners)
			}
			if o.runners < 2 || o.runners > 32 {
				return usageErrorf("--runners %d: want 2 to 32 (one is killed, the others keep serving)", o.runners)
			}
			if err := o.checkScenarioFlags(); err != nil {
				return err
			}
			if o.fault != "" {
				if _, err := builtinrunner.ParseFault(o.fault); err != nil {
					return usageErrorf("--runner-fault: %v", err)
				}
			}
			if err := o.checkHealthFlags(); err != nil {
				return err
			}
			if err := o.ui.check(); err != nil {
				return err
			}
			if _, err := parseLive(o.live, e.stdout); err != nil {
				return err
			}
			return runDemo(cmd.Context(), e, o)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.runners, "runners", 3, "how many built-in runners to start (2-32); with --nodes > 1, per node (1-8), and 2 unless set")
	f.IntVar(&o.tokens, "tokens", 24, "tokens per task (1-100000)")
	f.IntVar(&o.layers, "layers", 4, "model layers each runner loads (1-1000)")
	f.DurationVar(&o.tokDelay, "token-delay", 25*time.Millisecond, "delay per generated token")
	f.DurationVar(&o.layDelay, "layer-delay", 60*time.Millisecond, "delay per loaded layer")
	f.StringVar(&o.fault, "runner-fault", "", "a fault for the healthy runners (e.g. ignore-shutdown:forever, to see a forced shutdown)")
	f.StringVar(&o.http, "http", "", "serve /healthz /readyz /metrics /status on `ADDR` (loopback, e.g. 127.0.0.1:9464; see --http-allow-remote) and add a scenario: a runner made to hang, recovered by the health monitor")
	addHTTPAllowFlags(f, &o.httpAny, &o.httpHost)
	f.DurationVar(&o.hold, "hold", 0, "with --http or --ui: keep serving this long after the scenario, before the shutdown (Ctrl-C ends it; with --ui the default is until Ctrl-C)")
	addUIFlags(f, &o.ui)
	addClusterFlags(f, &o.cluster)
	f.StringVar(&o.live, "live", "auto", "live view of the runners while the demo runs: auto (a table redrawn under the events on a terminal, a plain line every 2s otherwise), table, lines or off")
	return cmd
}

// Bounds of the one-node scenario's sizes: above them the demo would load
// or stream for hours (--layers 1000000 was taken: 17 h of loading).
const (
	maxDemoTokens = 100000
	maxDemoLayers = 1000
)

// checkScenarioFlags names the first flag of the one-node scenario that is
// out of range and what it wants.
func (o *demoOptions) checkScenarioFlags() error {
	switch {
	case o.tokens < 1 || o.tokens > maxDemoTokens:
		return usageErrorf("--tokens %d: want 1 to %d tokens per task", o.tokens, maxDemoTokens)
	case o.layers < 1 || o.layers > maxDemoLayers:
		return usageErrorf("--layers %d: want 1 to %d layers per runner", o.layers, maxDemoLayers)
	case o.tokDelay < 0:
		return usageErrorf("--token-delay %s: want 0 or more (e.g. 25ms)", o.tokDelay)
	case o.layDelay < 0:
		return usageErrorf("--layer-delay %s: want 0 or more (e.g. 60ms)", o.layDelay)
	}
	return nil
}

// demoWatch prints events as they happen and lets the demo wait for them.
type demoWatch struct {
	out    io.Writer
	start  time.Time
	mu     sync.Mutex
	events []exo.Event
	notify chan struct{} // capacity 1, never closed
	health string        // under mu: print the health events of this runner (demo_health.go)
	live   *liveView     // counts the events for the live view (demo_live.go); nil when off
}

// printf prints a line among the events, never inside one.
func (w *demoWatch) printf(format string, args ...any) {
	w.mu.Lock()
	fmt.Fprintf(w.out, format, args...)
	w.mu.Unlock()
}

// Write lets the scenario print through the same lock as the events.
func (w *demoWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

func (w *demoWatch) hook(ev exo.Event) {
	w.mu.Lock()
	w.events = append(w.events, ev)
	if w.live != nil {
		w.live.observe(ev)
	}
	w.print(ev)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *demoWatch) print(ev exo.Event) {
	ts := fmt.Sprintf("%6.2fs", time.Since(w.start).Seconds())
	switch e := ev.(type) {
	case exo.ProcessStarted:
		fmt.Fprintf(w.out, "%s  %-18s process started (pid %d, generation %d)\n", ts, e.RunnerID, e.Pid, e.Generation)
	case exo.StatusChanged:
		fmt.Fprintf(w.out, "%s  %-18s status %s\n", ts, e.RunnerID, statusChangeText(e))
	case exo.ProcessExited:
		fmt.Fprintf(w.out, "%s  %-18s process exited: %s\n", ts, e.RunnerID, e.Status)
	case exo.RunnerFailed:
		fmt.Fprintf(w.out, "%s  %-18s FAILURE detected by %s: %s\n", ts, e.Failure.RunnerID, e.Failure.Source, e.Failure.Message)
	case exo.RunnerStopped:
		fmt.Fprintf(w.out, "%s  %-18s stopped: %s after %s\n", ts, e.Result.RunnerID, e.Result.Summary(), e.Result.Total.Round(time.Millisecond))
	case exo.TaskStatusChanged:
		if e.Status != exo.TaskPending {
			r := ""
			if e.Reason != "" {
				r = " (" + e.Reason + ")"
			}
			fmt.Fprintf(w.out, "%s  %-18s task %s %s%s\n", ts, e.RunnerID, e.TaskID, taskStatus(e.Status), r)
		}
	case exo.SupervisionDecision:
		r := e.Record
		what := r.Decision.Action.String()
		if r.Decision.Then != 0 {
			what += " then " + r.Decision.Then.String()
		}
		if r.Delay > 0 || r.Attempt > 0 {
			what += fmt.Sprintf(" in %s (attempt %d)", r.Delay.Round(time.Millisecond), r.Attempt)
		}
		note := ""
		if r.Note != "" {
			note = " — " + r.Note
		}
		fmt.Fprintf(w.out, "%s  %-18s decision: %s %s%s\n", ts, e.RunnerID, r.Decision.Severity, what, note)
	case exo.Alert:
		fmt.Fprintf(w.out, "%s  %-18s ALERT %s: %s\n", ts, e.RunnerID, e.Severity, e.Message)
	case exo.HealthChanged, exo.HealthAlert:
		w.printHealth(ts, ev)
	case exo.TaskChunk:
		if e.Chunk.Error != "" {
			fmt.Fprintf(w.out, "%s  %-18s task %s error chunk: %s\n", ts, e.RunnerID, e.TaskID, e.Chunk.Error)
		}
	}
}

// statusChangeText is the status a StatusChanged moved to, with its data
// as the README and docs/operations.md show it: Loading's layer counts
// ("Loading(2/4)": a bare "Loading" repeated once per layer says nothing)
// and Failed's message.
func statusChangeText(e exo.StatusChanged) string {
	switch {
	case e.To == exo.StatusLoading:
		return fmt.Sprintf("%s(%d/%d)", e.To, e.LayersLoaded, e.TotalLayers)
	case e.To == exo.StatusFailed && e.ErrorMessage != "":
		return fmt.Sprintf("%s(%s)", e.To, e.ErrorMessage)
	}
	return e.To.String()
}

func taskStatus(s exo.TaskStatus) string {
	return strings.ToLower(s.String())
}

func (w *demoWatch) waitFor(ctx context.Context, what string, cond func([]exo.Event) bool) error {
	for {
		w.mu.Lock()
		ok := cond(w.events)
		w.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-w.notify:
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for %s: %w", what, ctx.Err())
		}
	}
}

func statusReached(id string, k exo.RunnerStatus) func([]exo.Event) bool {
	return func(evs []exo.Event) bool {
		for _, ev := range evs {
			if s, ok := ev.(exo.StatusChanged); ok && s.RunnerID == id && s.To == k {
				return true
			}
		}
		return false
	}
}

// runDemo runs the demo scenario, then shuts down and prints the report. A
// SIGINT, SIGTERM or SIGHUP during the scenario cuts it short and starts the graceful
// shutdown; a second one forces it (SIGKILL to every runner's group).
func runDemo(parent context.Context, e *env, o demoOptions) error {
	if parent == nil {
		parent = context.Background()
	}
	// Signals: the first cuts the scenario short, the second forces. Caught
	// from the start (the watcher below reads them once the System is up):
	// a Ctrl-C right after the first lines (the endpoints', the page's)
	// killed the demo outright.
	sigs := make(chan os.Signal, 2) // never closed; signal.Stop detaches it
	signal.Notify(sigs, shutdownSignals()...)
	defer signal.Stop(sigs)
	out := e.stdout
	w := &demoWatch{out: out, start: time.Now(), notify: make(chan struct{}, 1)}
	// Keep the log quiet unless asked: the demo prints the events itself.
	if e.logLevel == "info" {
		e.logger.SetLevel(logrus.WarnLevel)
	}
	live := w.startLive(e, o) // demo_live.go
	sys, err := exo.New(exo.Config{Logger: e.logger, Hook: w.hook, ErrorPolicy: exo.ErrorPolicy{
		Backoff:   exo.BackoffConfig{Base: 200 * time.Millisecond, Max: 5 * time.Second},
		Intensity: exo.Intensity{MaxRestarts: 3, Window: time.Minute},
	}, Health: o.healthConfig()})
	if err != nil {
		return httpStartError("", o.http, err) // node_http.go
	}
	// holdCtx ends at the first signal; the scenario also has a time limit.
	holdCtx, cancelHold := context.WithCancel(parent)
	defer cancelHold()
	scenarioCtx, cancelScenario := context.WithTimeout(holdCtx, 2*time.Minute+o.hold)
	defer cancelScenario()
	if o.http != "" {
		// First, before the scenario: the endpoints serve from now on, and
		// whoever scrapes them wants to see the SIGKILL and the escalation
		// too, not only the hang at the end (a trial got this line at 4 s).
		w.printf("== HTTP endpoints on http://%s (/healthz /readyz /metrics /status; exo-actors status --addr %s)\n", sys.HTTPAddr(), sys.HTTPAddr())
	}
	ui, err := startUI(e, w, sys, o.ui) // demo_ui.go
	if err != nil {
		_, _ = sys.Shutdown(context.Background())
		return err
	}
	live.Start(w, sys)
	defer live.Stop(w)

	stopWatch := make(chan struct{})
	var interrupted, forced atomic.Bool
	var watchers sync.WaitGroup
	watchers.Add(1)
	go func() {
		defer watchers.Done()
		for {
			select {
			case sig := <-sigs:
				if !interrupted.Swap(true) {
					w.printf("\n%s", firstSignalLine(sig))
					cancelHold()
					continue
				}
				if !forces(sig) {
					w.printf("%s", unforcingLine(sig))
					continue
				}
				forced.Store(true)
				w.printf("== second %s: forcing — SIGKILL to every runner's process group\n", sig)
				fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, _ = sys.ForceKill(fctx)
				cancel()
			case <-stopWatch:
				return
			}
		}
	}()
	defer func() {
		close(stopWatch) // sole sender: runDemo, once, after the scenario and the shutdown
		watchers.Wait()
	}()

	handles, scenarioErr := demoScenario(scenarioCtx, w, sys, o)
	if scenarioErr == nil && o.http != "" {
		var more []*exo.TaskHandle
		more, scenarioErr = demoHang(scenarioCtx, w, sys, o) // demo_health.go
		handles = append(handles, more...)
	}
	heldUntilSignal := false // the signal ended an open-ended --ui hold: no failure
	if scenarioErr == nil {
		heldUntilSignal = holdUI(holdCtx, w, ui, o.hold) // demo_ui.go
	}

	w.printf("\n== shutdown\n")
	report, err := sys.Shutdown(context.Background())
	live.Stop(w)
	if err != nil {
		return fmt.Errorf("demo: shutdown: %w", err)
	}
	w.printf("\n%s", report)
	if err := stopUI(ui); err != nil {
		return fmt.Errorf("demo: web page: %w", err)
	}
	var alive []string
	w.mu.Lock()
	for _, ev := range w.events { // every process of every generation
		if p, ok := ev.(exo.ProcessStarted); ok && processAlive(p.Pid) {
			alive = append(alive, fmt.Sprintf("%s generation %d (pid %d)", p.RunnerID, p.Generation, p.Pid))
		}
	}
	w.mu.Unlock()
	sort.Strings(alive)
	if len(alive) > 0 {
		return fmt.Errorf("demo: runner processes left running: %s", strings.Join(alive, ", "))
	}
	if forced.Load() || interrupted.Load() && !heldUntilSignal || scenarioErr != nil {
		// The check ran, interrupted or not: say what it found (the
		// error that follows is about the scenario, not about this).
		w.printf("\nno runner process left running (%.2fs)\n", time.Since(w.start).Seconds())
	}
	switch {
	case forced.Load():
		return &interruptedError{msg: "demo interrupted twice: shutdown forced (SIGKILL to every runner's process group)"}
	case interrupted.Load() && !heldUntilSignal:
		if cut := shutdownCutShort(report); cut != "" { // shutdown_clean.go
			return errors.New("demo interrupted: shut down, not cleanly: " + cut)
		}
		return errors.New("demo interrupted: shut down gracefully")
	case scenarioErr != nil:
		return scenarioErr
	}
	w.printf("\nall %d tasks ended exactly once; no runner process left running (%.2fs)\n", len(handles), time.Since(w.start).Seconds())
	return nil
}

// notReadyError is the demo's error for runner id that did not become
// Ready (WaitReady's err), given the System's node-wide fault so far. A
// runner that failed with a node-wide fault shuts the node down, but its
// failure can reach WaitReady before the escalation reaches the node root
// (fault still nil): that failure names the fault then.
func notReadyError(fault error, id string, err error) error {
	var rf *exo.RunnerFailure
	switch {
	case fault != nil:
		return fmt.Errorf("demo: the node shut itself down after a node-wide fault: %w", fault)
	case errors.As(err, &rf) && rf.Kind == exo.FailureNodeFault:
		return fmt.Errorf("demo: the node shut itself down after a node-wide fault: %w", err)
	}
	return fmt.Errorf("demo: runner %s did not become Ready: %w", id, err)
}

// spawnError is the demo's error for a SpawnRunner that failed, given the
// System's node-wide fault so far: a spawn refused because the node is
// shutting down after an earlier runner's node-wide fault names that fault
// (it said "node is shutting down and accepts no new work", with ulimit -n
// 40 and 20 runners, about one run in thirty).
func spawnError(fault, err error) error {
	if fault != nil && errors.Is(err, exo.ErrShuttingDown) {
		return fmt.Errorf("demo: the node shut itself down after a node-wide fault: %w", fault)
	}
	return err
}

// demoScenario is the demo proper; it returns the handles of every task.
func demoScenario(ctx context.Context, w *demoWatch, sys *exo.System, o demoOptions) ([]*exo.TaskHandle, error) {
	out := w
	var handles []*exo.TaskHandle
	fmt.Fprintf(out, "== starting %d built-in runners (%d layers each)\n", o.runners, o.layers)
	args := []string{"--layers", fmt.Sprint(o.layers), "--layer-delay", o.layDelay.String(), "--token-delay", o.tokDelay.String()}
	healthy := args
	if o.fault != "" {
		healthy = append(append([]string(nil), args...), "--fault", o.fault)
	}
	var ids []string
	for i := 0; i < o.runners; i++ {
		id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama", Builtin: true, Args: healthy})
		if err != nil {
			return handles, spawnError(sys.Fault(), err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		// WaitReady, not an event: a runner that fails before Ready (it
		// cannot start, or crashes while loading) ends the wait with its
		// failure instead of leaving the demo waiting for good.
		if err := sys.WaitReady(ctx, id); err != nil {
			return handles, notReadyError(sys.Fault(), id, err)
		}
	}

	fmt.Fprintf(out, "\n== every runner Ready; one text-generation task each (%d tokens)\n", o.tokens)
	for i, id := range ids {
		h, err := sys.Submit(ctx, id, exo.Task{ID: fmt.Sprintf("gen-%d", i+1), Kind: "text_generation",
			Params: map[string]string{"max_tokens": fmt.Sprint(o.tokens)}})
		if err != nil {
			return handles, err
		}
		handles = append(handles, h)
	}
	victim := ids[0]
	// A second, retryable task waits behind the first on the victim: it must
	// survive the crash and run on the restarted process.
	queued, err := sys.Submit(ctx, victim, exo.Task{ID: "gen-queued", Kind: "text_generation", Retryable: true,
		Params: map[string]string{"max_tokens": fmt.Sprint(o.tokens)}})
	if err != nil {
		return handles, err
	}
	handles = append(handles, queued)
	// Stream the first task's tokens; kill its runner a third of the way in.
	killAt := max(1, o.tokens/3)
	var text strings.Builder
	for i := 0; i < killAt; i++ {
		c, err := handles[0].Chunk(ctx, i)
		if err != nil {
			return handles, fmt.Errorf("demo: chunk %d of %s: %w", i, handles[0].ID, err)
		}
		text.WriteString(c.Text)
	}
	fmt.Fprintf(out, "%6.2fs  %-18s streamed so far: %q\n", time.Since(w.start).Seconds(), victim, text.String())
	infos, err := sys.Runners(ctx)
	if err != nil {
		return handles, err
	}
	pids := map[string]int{}
	for _, in := range infos {
		pids[in.ID] = in.Pid
	}
	fmt.Fprintf(out, "\n== SIGKILL to %s (pid %d) mid-task\n", victim, pids[victim])
	if err := syscall.Kill(pids[victim], syscall.SIGKILL); err != nil {
		return handles, fmt.Errorf("demo: kill %d: %w", pids[victim], err)
	}
	for _, h := range handles {
		if _, err := h.Wait(ctx); err != nil {
			return handles, err
		}
	}
	fmt.Fprintf(out, "%6.2fs  %-18s restarted (same ID, new process and generation); the queued task ran on it\n", time.Since(w.start).Seconds(), victim)

	fmt.Fprintln(out, "\n== a runner that crashes on every start (while loading): growing backoff, then escalation")
	broken, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "broken", Builtin: true, Args: append(args, "--fault", "crash-loading:2")})
	if err != nil {
		return handles, err
	}
	// Meanwhile the healthy runners keep serving.
	var serving []*exo.TaskHandle
	for i, id := range ids[1:] {
		h, err := sys.Submit(ctx, id, exo.Task{ID: fmt.Sprintf("serve-%d", i+1), Kind: "text_generation",
			Params: map[string]string{"max_tokens": fmt.Sprint(4 * o.tokens)}})
		if err != nil {
			return handles, err
		}
		serving = append(serving, h)
	}
	if err := w.waitFor(ctx, broken+" escalation", func(evs []exo.Event) bool {
		for _, ev := range evs {
			if a, ok := ev.(exo.Alert); ok && a.RunnerID == broken {
				return true
			}
		}
		return false
	}); err != nil {
		return handles, err
	}
	for _, h := range serving {
		if _, err := h.Wait(ctx); err != nil {
			return handles, err
		}
	}
	handles = append(handles, serving...)
	infos, err = sys.Runners(ctx)
	if err != nil {
		return handles, err
	}
	fmt.Fprintln(out, "\n== runners")
	for _, in := range infos {
		last := ""
		if in.LastRecord != nil {
			last = fmt.Sprintf("  last error: %s → %s", in.LastRecord.Kind, in.LastRecord.Resolution)
		}
		fmt.Fprintf(out, "  %-18s generation %d  %-12s%s\n", in.ID, in.Generation, in.StatusText(), last)
	}
	for _, h := range handles[1:] {
		var b strings.Builder
		for _, c := range h.Chunks() {
			b.WriteString(c.Text)
		}
		txt := b.String()
		if len(txt) > 60 {
			txt = txt[:60] + "…"
		}
		fmt.Fprintf(out, "  %-18s task %-10s text: %q\n", h.RunnerID, h.ID, txt)
	}

	fmt.Fprintln(out, "\n== task outcomes (every task must end exactly once)")
	ended := map[string]int{}
	w.mu.Lock()
	for _, ev := range w.events {
		if s, ok := ev.(exo.TaskStatusChanged); ok && s.Status != exo.TaskPending && s.Status != exo.TaskRunning {
			ended[s.TaskID]++
		}
	}
	w.mu.Unlock()
	bad := 0
	for _, h := range handles {
		oc := h.Outcome()
		fmt.Fprintf(out, "  %-10s on %-18s %-9s chunks=%-3d terminal statuses=%d  %s\n", h.ID, h.RunnerID, taskStatus(oc.Status), oc.Chunks, ended[h.ID], oc.Reason)
		if ended[h.ID] != 1 {
			bad++
		}
	}

	if bad > 0 {
		return handles, fmt.Errorf("demo: %d tasks did not end exactly once", bad)
	}
	return handles, nil
}

// processAlive reports whether pid is a live process (not a zombie).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}
