package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// clusterOptions are the flags of `exo-actors demo --nodes N` (N > 1): a
// local cluster of node processes under seeded faults (docs/operations.md).
type clusterOptions struct {
	nodes    int
	tasks    int
	chaos    string
	seed     int64
	duration time.Duration
	json     bool
	ui       uiOptions // --ui, --ui-actions, --ui-allow-remote: the page of the whole cluster (demo_cluster_ui.go)
	live     string    // --live: auto, table, lines or off (demo_cluster_view.go)
}

// demoPhaseTimeout is each node's deadline per phase of the demo's
// cluster-wide shutdown (a runner that ignores Shutdown is forced after
// it); demoAnswerGrace is how long past it the demo waits for a node's
// answer before it reports the node timed out (a problem: the invariants
// fail).
const (
	demoPhaseTimeout = 5 * time.Second
	demoAnswerGrace  = 5 * time.Second
)

// chaosKinds are the fault kinds --chaos accepts besides none and all.
// escalate crashes one runner again and again, past the restart intensity
// of the demo's node config, until the error handler escalates: the runner
// stops and a CRITICAL alert goes out.
var chaosKinds = []string{"crash", "hang", "garbage", "slow-shutdown", "node-kill", "escalate"}

func addClusterFlags(f *pflag.FlagSet, o *clusterOptions) {
	f.IntVar(&o.nodes, "nodes", 1, "node processes to start on 127.0.0.1 (1: everything in this process, the classic demo)")
	f.IntVar(&o.tasks, "tasks", 60, "with --nodes > 1: text-generation tasks to submit across the nodes (1-100000)")
	f.StringVar(&o.chaos, "chaos", "none", "with --nodes > 1: faults to inject: none, "+strings.Join(chaosKinds, ", ")+" or all")
	f.Int64Var(&o.seed, "seed", 1, "with --nodes > 1: seed of the fault plan (which runner, which node, when)")
	f.DurationVar(&o.duration, "duration", 12*time.Second, "with --nodes > 1: how long tasks are submitted and faults injected (at most 1h)")
	f.BoolVar(&o.json, "json", false, "with --nodes > 1: print the summary as one JSON object on stdout (progress goes to stderr)")
}

// check validates the cluster flags; runners is the runners per node the
// demo would use (--runners, or 2 when not given with --nodes > 1).
func (o *clusterOptions) check(f *pflag.FlagSet, runners int) error {
	if o.nodes < 1 || o.nodes > 16 {
		return usageErrorf("--nodes %d: want 1 (one process) to 16", o.nodes)
	}
	if o.nodes == 1 {
		for _, n := range []string{"tasks", "chaos", "seed", "duration", "json"} {
			if f.Changed(n) {
				return usageErrorf("--%s needs --nodes 2 or more (with --nodes 1 the demo runs its fixed scenario in one process)", n)
			}
		}
		return nil
	}
	if o.tasks < 1 || o.tasks > 100000 {
		return usageErrorf("--tasks %d: want 1 to 100000", o.tasks)
	}
	if _, err := chaosPlanKinds(o.chaos); err != nil {
		return err
	}
	if o.duration <= 0 || o.duration > time.Hour {
		return usageErrorf("--duration %s: want more than 0 and at most 1h", o.duration)
	}
	if runners < 1 || runners > 8 {
		return usageErrorf("--runners %d: with --nodes > 1 want 1 to 8 runners per node", runners)
	}
	for _, n := range []string{"http", "http-allow-remote", "http-allow-host", "hold", "runner-fault", "tokens", "layers", "token-delay", "layer-delay"} {
		if f.Changed(n) {
			if n == "hold" {
				// The cluster demo's page lives as long as the demo: say
				// how to keep it longer (a new user's trial).
				return usageErrorf("--hold works only with --nodes 1; the cluster demo (and its --ui page) runs for --duration (12s by default, e.g. --duration 5m) and then shuts down")
			}
			return usageErrorf("--%s works only with --nodes 1", n)
		}
	}
	return nil
}

// chaosPlanKinds returns the fault kinds of a --chaos value.
func chaosPlanKinds(chaos string) ([]string, error) {
	switch chaos {
	case "none":
		return nil, nil
	case "all":
		return chaosKinds, nil
	}
	for _, k := range chaosKinds {
		if k == chaos {
			return []string{k}, nil
		}
	}
	return nil, usageErrorf("--chaos %q: want none, %s or all", chaos, strings.Join(chaosKinds, ", "))
}

// demoMarkerKey marks every process of a cluster demo (nodes and, through
// their inherited environment, runners) so the orphan scan finds exactly them.
const demoMarkerKey = "EXO_ACTORS_DEMO_RUN"

// clusterSummary is the demo's summary; --json prints it as one object.
type clusterSummary struct {
	Seed                 int64            `json:"seed"`
	Nodes                int              `json:"nodes"`
	RunnersPerNode       int              `json:"runners_per_node"`
	Chaos                string           `json:"chaos"`
	TasksSubmitted       int              `json:"tasks_submitted"`
	TasksRejected        int              `json:"tasks_rejected"`
	TasksCompleted       int              `json:"tasks_completed"`
	TasksFailed          int              `json:"tasks_failed"`
	TasksFailedByReason  map[string]int   `json:"tasks_failed_by_reason"`
	TasksRetried         int              `json:"tasks_retried"`
	TasksLost            int              `json:"tasks_lost"`
	TasksBadTerminal     int              `json:"tasks_bad_terminal"`
	EventsPublished      uint64           `json:"events_published"`
	EventsDelivered      uint64           `json:"events_delivered"`
	EventsDroppedCounted uint64           `json:"events_dropped_counted"`
	EventsLost           uint64           `json:"events_lost"`
	Restarts             int              `json:"restarts"`
	RestartsByReason     map[string]int   `json:"restarts_by_reason"`
	Escalations          int              `json:"escalations"`
	Alerts               int              `json:"alerts"`
	FaultsInjected       map[string]int   `json:"faults_injected"`
	PageActions          map[string]int   `json:"page_actions"`
	NodesKilled          int              `json:"nodes_killed"`
	NodesRestarted       int              `json:"nodes_restarted"`
	OrphanProcesses      int              `json:"orphan_processes"`
	ShutdownMs           int64            `json:"shutdown_ms"`
	ShutdownByNodeMs     map[string]int64 `json:"shutdown_by_node_ms"`
	ElapsedMs            int64            `json:"elapsed_ms"`
	Problems             []string         `json:"problems"`
	InvariantsOK         bool             `json:"invariants_ok"`
}

// demoNodeState is where a node of the demo is. Transitions (under
// clusterDemo.mu): starting → serving once dialled with its runners
// spawned; serving → killed by a node-kill fault; serving → shutDown when
// the demo's shutdown asked it. killed and shutDown are final. A node that
// failed to start stays starting (the shutdown reaps it with SIGTERM).
type demoNodeState int

const (
	nodeStarting demoNodeState = iota
	nodeServing
	nodeKilled
	nodeShutDown
)

// demoNode is one node process of the cluster demo and its client.
type demoNode struct {
	name   string
	cmd    *exec.Cmd
	addr   string
	client *exo.Client
	state  demoNodeState       // under clusterDemo.mu
	lines  chan string         // the node's "listening on" line; capacity 1
	readr  sync.WaitGroup      // the stdout reader
	waited chan struct{}       // closed when the process was reaped
	err    error               // Wait's error, valid once waited is closed
	runner []string            // runner IDs spawned on it
	stderr *os.File            // its stderr, a file in the demo's directory
	subs   []*exo.Subscription // its topic subscriptions
	// endLine is its stdout's line of a shutdown that did not end well
	// ("node NAME: shut itself down: …", "…, not cleanly: …"), said there
	// only, not again on its stderr; readEnd is closed once the reader
	// has read stdout to its end.
	endLine atomic.Pointer[string]
	readEnd chan struct{}
}

// streamStats is what one subscription delivered.
type streamStats struct {
	node                              string // the node's name
	delivered, dropped, lastSeq, lost uint64
	dup                               uint64 // events at or below lastSeq: repeated or out of order
	end                               error  // Next's error that ended the stream (ErrEndOfStream expected)
}

// clusterDemo is one run of the cluster demo.
type clusterDemo struct {
	e       *env
	o       clusterOptions
	runners int
	log     io.Writer // progress lines: stdout, or stderr with --json
	start   time.Time
	dir     string
	config  string
	marker  string
	spawn   *spawner

	mu       sync.Mutex
	nodes    []*demoNode
	nextNode int
	streams  map[string]*streamStats // by node/topic
	terminal map[string]int          // terminal statuses seen on the tasks streams, by task ID
	tasks    []*tracked              // every submitted task, in order (bounded by --tasks and the fault plan)
	started  map[string]bool         // runners whose first process started, by node/runner ID
	// killed: runner pids a fault SIGKILLed or froze (SIGSTOP, until the
	// node kills it), at most one per fault and escalate kill. A node may
	// still report such a pid for a while; a hang sent to a dying one
	// froze nothing and was counted (seed 7).
	killed map[int]bool
	next   int // round-robin position of submit
	sum    clusterSummary
	// From the nodes' status documents (demo_cluster_view.go).
	docs            map[string]nodeDoc // the last document of each node, by name
	seenRecords     map[string]bool    // error records counted, by node/record ID (at most maxSeenRecords)
	recordsOverflow bool
	retriesByReason map[string]int // RETRY decisions by failure kind
	// The live view (demo_cluster_view.go): liveTable draws view's footer.
	liveMode   liveMode
	view       *liveView
	rate       float64 // events/s at rateAt
	rateAt     time.Time
	rateEvents uint64
	readers    sync.WaitGroup // every subscription reader
	waiters    sync.WaitGroup // every node process's reaper
	// dialVia, when set, gives the address to dial for a node instead of
	// the one it listens on (exo-actors chaos puts a TCP proxy it can cut
	// in between).
	dialVia func(name, addr string) (string, error)
	// dialOpts are added to every Dial of a node (exo-actors chaos sets a
	// more patient heartbeat).
	dialOpts []exo.DialOption
	// cluster names the run in the shutdown report ("demo" when empty;
	// exo-actors chaos says "chaos").
	cluster string
}

// lockedWriter writes through the demo's output under its mutex (the
// logger's path in table mode).
type lockedWriter struct{ d *clusterDemo }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	return w.d.log.Write(p)
}

func (d *clusterDemo) logf(format string, args ...any) {
	d.mu.Lock()
	fmt.Fprintf(d.log, "%6.2fs  "+format+"\n", append([]any{time.Since(d.start).Seconds()}, args...)...)
	d.mu.Unlock()
}

// runClusterDemo runs the multi-node demo and prints its summary. It returns
// an error (exit 1) unless every invariant held.
func runClusterDemo(parent context.Context, e *env, o clusterOptions, runners int) error {
	if parent == nil {
		parent = context.Background()
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("demo: cannot find the exo-actors binary to start nodes: %w", err)
	}
	dir, err := os.MkdirTemp("", "exo-actors-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(dir)
	d := &clusterDemo{e: e, o: o, runners: runners, log: e.stdout, start: time.Now(), dir: dir,
		marker:   fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()),
		streams:  map[string]*streamStats{},
		terminal: map[string]int{},
		started:  map[string]bool{},
		killed:   map[int]bool{},
		docs:     map[string]nodeDoc{}, seenRecords: map[string]bool{}, retriesByReason: map[string]int{},
	}
	if o.json {
		d.log = e.stderr
	}
	d.liveMode, _ = parseLive(orDefault(o.live, "auto"), d.log) // checked by the command
	if d.liveMode == liveTable {
		d.view = newLiveView(liveTable, d.log, d.start)
		d.log = d.view
		if terminalWidth(e.stderr) > 0 {
			// Log lines scroll above the table, not into it.
			e.logger.SetOutput(lockedWriter{d})
		}
	}
	d.sum = clusterSummary{Seed: o.seed, Nodes: o.nodes, RunnersPerNode: runners, Chaos: o.chaos,
		TasksFailedByReason: map[string]int{}, FaultsInjected: map[string]int{}, PageActions: map[string]int{},
		ShutdownByNodeMs: map[string]int64{}, Problems: []string{}, RestartsByReason: map[string]int{}}
	d.config = filepath.Join(dir, "node.json")
	// One built-in kind; fast loading so the demo spends its time serving.
	// Restarts: at most escalateAfter per runner within 30s (the
	// escalate fault goes past it), with short backoffs.
	cfg := `{"kinds": {"llama": {"builtin": true, "args": ["--layers", "2", "--layer-delay", "20ms", "--token-delay", "10ms"]}},` +
		` "tasks": {"in_flight": 2, "queue": 256},` +
		fmt.Sprintf(` "restarts": {"max": %d, "window": "30s", "backoff_base": "100ms", "backoff_max": "1s"}}`, escalateAfter)
	if err := os.WriteFile(d.config, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	d.spawn = newSpawner()
	defer d.spawn.stop()

	// SIGINT, SIGTERM or SIGHUP cuts the run short; the graceful shutdown, the
	// orphan scan and the summary still follow (exit 1: interrupted).
	sigCtx, stopSigs := d.watchSignals(parent)
	defer stopSigs()
	ctx, cancel := context.WithTimeout(sigCtx, o.duration+90*time.Second)
	defer cancel()
	ui, err := d.startUI() // demo_cluster_ui.go
	if err != nil {
		return err
	}
	stopStatus := d.startStatus(ctx)
	runErr := d.run(ctx, self)
	stopStatus()
	d.shutdown(self)
	d.finish(runErr)
	if o.json {
		b, _ := json.Marshal(d.sumSnapshot())
		fmt.Fprintln(e.stdout, string(b))
	} else {
		d.printSummary()
	}
	if err := stopUI(ui); err != nil {
		e.logger.WithError(err).Warn("demo: stopping the web page")
	}
	if !d.sum.InvariantsOK {
		return fmt.Errorf("demo: invariants failed: %s", strings.Join(d.sum.Problems, "; "))
	}
	return nil
}

// watchSignals returns a context that the first SIGINT, SIGTERM or SIGHUP cancels,
// saying so as the one-process demo does (a trial saw the phased shutdown
// start with no word of why), and a function that stops watching. A second
// signal is only acknowledged: every step of the shutdown is bounded, and
// if the demo itself is killed its nodes die with it.
func (d *clusterDemo) watchSignals(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2) // never closed; signal.Stop detaches it
	signal.Notify(sigs, shutdownSignals()...)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned by the returned function, which waits for it
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case sig := <-sigs:
				if n == 0 {
					d.logf("== %s: the run is cut short; graceful shutdown of every node, then the summary (exit 1)", sig)
					cancel()
				} else {
					d.logf("== %s again: the shutdown goes on (each of its steps is bounded; killing the demo kills its nodes)", sig)
				}
			case <-stop:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(stop) // sole sender: this function, deferred once by runClusterDemo
		wg.Wait()
		cancel()
	}
}

// progress starts the status poller and the live view (demo_cluster_view.go:
// startStatus; period is no longer used: lines come every liveLineEvery)
// until the returned function is called.
func (d *clusterDemo) progress(period time.Duration) func() {
	_ = period
	return d.startStatus(context.Background())
}

// run starts the nodes, submits the tasks, injects the faults and waits for
// every task's outcome.
func (d *clusterDemo) run(ctx context.Context, self string) error {
	kinds, _ := chaosPlanKinds(d.o.chaos)
	d.logf("== starting %d nodes (%s each), %d tasks, chaos %s, seed %d", d.o.nodes, plural(d.runners, "built-in runner"), d.o.tasks, d.o.chaos, d.o.seed)
	for i := 0; i < d.o.nodes; i++ {
		if _, err := d.startNode(ctx, self); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewSource(d.o.seed))
	// The fault plan: each kind once with --chaos all, twice when alone
	// (node-kill once), at moments in the first 70% of --duration.
	type fault struct {
		at   time.Duration
		kind string
	}
	var plan []fault
	for _, k := range kinds {
		n := 2 // crash: one SIGKILL, one exit
		if k != "crash" && (len(kinds) > 1 || k == "node-kill") {
			n = 1
		}
		for i := 0; i < n; i++ {
			at := time.Duration(float64(d.o.duration) * (0.1 + 0.6*rng.Float64()))
			plan = append(plan, fault{at, k})
		}
	}
	sort.Slice(plan, func(i, j int) bool { return plan[i].at < plan[j].at })

	every := d.o.duration / time.Duration(d.o.tasks)
	begin := time.Now()
	for i := 0; i < d.o.tasks; i++ {
		due := begin.Add(time.Duration(i) * every)
		for len(plan) > 0 && begin.Add(plan[0].at).Before(due) {
			if err := d.inject(ctx, self, rng, plan[0].kind); err != nil {
				return err
			}
			plan = plan[1:]
		}
		if err := sleepCtx(ctx, time.Until(due)); err != nil {
			return err
		}
		d.submit(ctx, exo.Task{ID: fmt.Sprintf("task-%04d", i+1), Kind: "text_generation", Retryable: true,
			Params: map[string]string{"max_tokens": strconv.Itoa(20 + rng.Intn(60))}})
	}
	for _, f := range plan {
		if err := d.inject(ctx, self, rng, f.kind); err != nil {
			return err
		}
	}
	d.mu.Lock()
	tasks := append([]*tracked(nil), d.tasks...)
	d.mu.Unlock()
	d.logf("== %d tasks submitted; waiting for every outcome", len(tasks))
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, t := range tasks {
		oc, err := t.h.Wait(wctx)
		if err == nil && oc.Status != exo.TaskComplete {
			d.logf("task %s on %s ended %s: %s", t.h.ID, t.n.name, taskStatus(oc.Status), oc.Reason)
		}
		d.mu.Lock()
		t.outcome, t.err = oc, err
		d.mu.Unlock()
	}
	return nil
}

// tracked is one submitted task: its handle, its node and, once it ended,
// its outcome.
type tracked struct {
	h       *exo.TaskHandle
	n       *demoNode
	outcome exo.TaskOutcome
	err     error // Wait's error: no outcome in time (a lost task)
}

// submit submits t to the next runner round-robin, trying the others when
// one refuses (its node lost, the runner escalated and stopped). A submit
// cut short by the run's end (Ctrl-C) is not a rejection: the task was
// never offered to every runner, and it is not counted.
func (d *clusterDemo) submit(ctx context.Context, t exo.Task) {
	targets := d.targets()
	var last error
	for try := 0; try < len(targets); try++ {
		tg := targets[(d.next+try)%len(targets)]
		h, err := tg.n.client.Submit(ctx, tg.runner, t)
		if err == nil {
			d.mu.Lock()
			d.next += try + 1
			d.tasks = append(d.tasks, &tracked{h: h, n: tg.n})
			d.mu.Unlock()
			return
		}
		if ctx.Err() != nil {
			return
		}
		last = err
	}
	d.mu.Lock()
	d.sum.TasksRejected++
	d.mu.Unlock()
	if last == nil {
		d.logf("task %s rejected: no runner to offer it to", t.ID)
		return
	}
	d.logf("task %s rejected by every runner (the last said: %v)", t.ID, last)
}

// failReason sums a failure's reason up for the by-reason counts.
func failReason(s exo.TaskStatus, reason string) string {
	switch {
	case strings.Contains(reason, "node lost"):
		return "node lost"
	case s != exo.TaskFailed:
		return taskStatus(s)
	}
	r := reason
	if i := strings.IndexAny(r, ":("); i > 0 {
		r = r[:i]
	}
	r = strings.TrimSpace(r)
	if len(r) > 48 {
		r = r[:48]
	}
	if r == "" {
		r = "failed"
	}
	return r
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("demo: %w", ctx.Err())
	}
}

type target struct {
	n      *demoNode
	runner string
}

// targets lists every runner of every live node.
func (d *clusterDemo) targets() []target {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []target
	for _, n := range d.nodes {
		if n.state != nodeServing || n.client.Err() != nil {
			continue
		}
		for _, r := range n.runner {
			out = append(out, target{n, r})
		}
	}
	return out
}

// runnerPid returns the pid of a runner's current process (0 when it has
// none: starting, restarting, stopped).
func (d *clusterDemo) runnerPid(ctx context.Context, tg target) int {
	infos, err := tg.n.client.Runners(ctx)
	if err != nil {
		return 0
	}
	for _, in := range infos {
		if in.ID == tg.runner && in.Pid > 0 && processAlive(in.Pid) {
			return in.Pid
		}
	}
	return 0
}

// noteKilled and wasKilled keep the pids a fault SIGKILLed (killed).
func (d *clusterDemo) noteKilled(pid int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.killed[pid] = true
}

func (d *clusterDemo) wasKilled(pid int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.killed[pid]
}

// inject injects one fault of kind, logged when injected.
func (d *clusterDemo) inject(ctx context.Context, self string, rng *rand.Rand, kind string) error {
	targets := d.targets()
	if len(targets) == 0 {
		return errors.New("demo: no live runner left to inject a fault into")
	}
	first := rng.Intn(len(targets))
	tg := targets[first]
	count := func() {
		d.mu.Lock()
		d.sum.FaultsInjected[kind]++
		d.mu.Unlock()
	}
	d.mu.Lock()
	exitNext := kind == "crash" && d.sum.FaultsInjected["crash"]%2 == 1
	d.mu.Unlock()
	if exitNext {
		kind = "crash-exit"
	}
	switch kind {
	case "crash", "hang":
		sig, what := syscall.SIGKILL, "SIGKILL"
		if kind == "hang" {
			// SIGSTOP freezes it whole: no frame, no heartbeat — the
			// node's hang detector must find it and kill it.
			sig, what = syscall.SIGSTOP, "SIGSTOP (a hang: no heartbeat until the node's detector kills it)"
		}
		// The seed's pick first; a runner between two processes (its pid
		// already gone) passes the fault to the next one.
		for i := range targets {
			tg = targets[(first+i)%len(targets)]
			pid := d.runnerPid(ctx, tg)
			if pid <= 0 || d.wasKilled(pid) || syscall.Kill(pid, sig) != nil {
				continue
			}
			d.noteKilled(pid) // killed, or frozen until the node kills it: no target for another fault
			count()
			d.logf("FAULT %-13s %s on %s: %s to pid %d", kind, tg.runner, tg.n.name, what, pid)
			return nil
		}
		d.logf("fault %s skipped: no runner has a live process now", kind)
	case "garbage", "slow-shutdown", "crash-exit":
		param := "garbage"
		what := "a task that makes it write bytes that are no frame"
		switch kind {
		case "slow-shutdown":
			param, what = "ignore-shutdown:1500ms", "a task that arms ignore-shutdown:1500ms for the final shutdown"
		case "crash-exit":
			param, what = "exit:3", "a task that makes it exit with code 3"
			kind = "crash"
		}
		id := fmt.Sprintf("fault-%s-%d", kind, time.Since(d.start).Milliseconds())
		// The seed's pick first; a runner that refuses (escalated and
		// stopped) passes the fault to the next one.
		for i := range targets {
			tg = targets[(first+i)%len(targets)]
			h, err := tg.n.client.Submit(ctx, tg.runner, exo.Task{ID: id,
				Kind: "text_generation", Retryable: true, Params: map[string]string{"max_tokens": "4", "fault": param}})
			if err != nil {
				continue
			}
			count()
			d.logf("FAULT %-13s %s on %s: %s (%s)", kind, tg.runner, tg.n.name, what, id)
			d.mu.Lock()
			d.tasks = append(d.tasks, &tracked{h: h, n: tg.n})
			d.mu.Unlock()
			return nil
		}
		d.logf("fault %s skipped: every runner refused its task", kind)
	case "escalate":
		// The seed's pick first; a runner with no live process passes the
		// fault to the next one.
		for i := range targets {
			tg = targets[(first+i)%len(targets)]
			if d.runnerPid(ctx, tg) <= 0 {
				continue
			}
			count()
			d.logf("FAULT %-13s %s on %s: SIGKILL to each of its next %d processes, past its restart intensity (%d in 30s): it must escalate",
				kind, tg.runner, tg.n.name, escalateAfter+1, escalateAfter)
			d.escalate(ctx, tg)
			return nil
		}
		d.logf("fault %s skipped: no runner has a live process now", kind)
	case "node-kill":
		// The victim: the live node with the most open tasks, so the
		// kill has tasks to fail (ties: the seed's pick).
		n, most := tg.n, -1
		for _, c := range targets {
			st, err := c.n.client.NodeStatus(ctx)
			if err == nil && st.OpenTasks > most {
				n, most = c.n, st.OpenTasks
			}
		}
		d.mu.Lock()
		n.state = nodeKilled
		d.mu.Unlock()
		if err := syscall.Kill(n.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return fmt.Errorf("demo: kill -9 node %s: %w", n.name, err)
		}
		count()
		d.mu.Lock()
		d.sum.NodesKilled++
		d.mu.Unlock()
		d.logf("FAULT %-13s kill -9 node %s (pid %d, %s): its tasks must end Failed (node lost)", kind, n.name, n.cmd.Process.Pid, n.addr)
		select {
		case <-n.client.Done():
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for node %s to count as lost: %w", n.name, ctx.Err())
		}
		d.logf("node %s lost: %v", n.name, n.client.Err())
		nn, err := d.startNode(ctx, self)
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.sum.NodesRestarted++
		d.mu.Unlock()
		d.logf("node %s back as %s on %s", n.name, nn.name, nn.addr)
	}
	return nil
}

// escalateAfter is the restart intensity of the demo's nodes: restarts
// allowed per runner within 30s; the escalate fault goes one past it.
const escalateAfter = 3

// escalate SIGKILLs runner tg's process once it is Ready (or Running),
// waits for its next generation to be Ready and kills that too,
// escalateAfter+1 times in all, or until no new generation is Ready within
// 3s (the runner escalated and stopped: other faults count against its
// restart intensity too). It waits for Ready because a process killed
// before its Hello counts as "not a runner", which escalates at once
// (docs/traps.md).
func (d *clusterDemo) escalate(ctx context.Context, tg target) {
	var gen uint64
	for kill := 1; kill <= escalateAfter+1; kill++ {
		pid := 0
		deadline := time.Now().Add(3 * time.Second)
		for pid == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
			infos, err := tg.n.client.Runners(ctx)
			if err != nil {
				return
			}
			for _, in := range infos {
				up := in.Status == exo.StatusReady || in.Status == exo.StatusRunning
				if in.ID == tg.runner && in.Generation > gen && up && in.Pid > 0 && processAlive(in.Pid) {
					pid, gen = in.Pid, in.Generation
				}
			}
			if pid == 0 {
				_ = sleepCtx(ctx, 50*time.Millisecond) // polling the node: no event says "the next process is Ready" over the wire
			}
		}
		if pid == 0 {
			d.logf("escalate: %s on %s has no new Ready process (before kill %d): it stopped", tg.runner, tg.n.name, kill)
			return
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			d.logf("escalate: SIGKILL to pid %d: %v", pid, err)
			continue
		}
		d.noteKilled(pid)
		d.logf("escalate: %s on %s generation %d: SIGKILL to pid %d (kill %d of %d)", tg.runner, tg.n.name, gen, pid, kill, escalateAfter+1)
	}
}

// spawner starts every node process from one goroutine locked to its OS
// thread for the whole demo: Pdeathsig fires when the thread that forked
// exits (go.dev/issue/27505), so the nodes die with the demo and not with
// some unrelated thread.
type spawner struct {
	reqs chan spawnReq // sole sender: the demo's goroutine; closed by stop
	done sync.WaitGroup
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error // capacity 1
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnReq)}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		goruntime.LockOSThread() // never unlocked: the thread ends with the goroutine
		for r := range s.reqs {
			r.err <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	s.reqs <- r
	return <-r.err
}

func (s *spawner) stop() {
	close(s.reqs) // sole sender: the demo's goroutine, once, after its last start
	s.done.Wait()
}

// startNode starts one node process, dials it, subscribes to its topics and
// spawns the runners.
func (d *clusterDemo) startNode(ctx context.Context, self string) (*demoNode, error) {
	d.mu.Lock()
	d.nextNode++
	name := fmt.Sprintf("node-%d", d.nextNode)
	d.mu.Unlock()
	errf, err := os.Create(filepath.Join(d.dir, name+".stderr"))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		errf.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	args := []string{"--log-level", "warn", "node", "--listen", "127.0.0.1:0", "--name", name, "--config", d.config}
	if d.o.ui.actions {
		// The page's buttons act through the nodes' gateways: only then
		// do the nodes let a client inject faults.
		args = append(args, "--allow-faults")
	}
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), demoMarkerKey+"="+d.marker)
	cmd.Stdout, cmd.Stderr = pw, errf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	n := &demoNode{name: name, cmd: cmd, lines: make(chan string, 1), waited: make(chan struct{}), readEnd: make(chan struct{}), stderr: errf}
	err = d.spawn.start(cmd)
	pw.Close()
	if err != nil {
		pr.Close()
		errf.Close()
		return nil, fmt.Errorf("demo: start node %s: %w", name, err)
	}
	d.mu.Lock()
	d.nodes = append(d.nodes, n)
	d.mu.Unlock()
	n.readr.Add(1)
	go func() { // owned by n: shutdown waits for it through n.readr
		defer n.readr.Done()
		defer close(n.readEnd) // sole sender: this reader, once, at stdout's end
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		first := true
		for sc.Scan() {
			if first && strings.Contains(sc.Text(), " listening on ") {
				first = false
				n.lines <- sc.Text()
			}
			if l := sc.Text(); strings.HasPrefix(l, "node "+name+": shut itself down: ") ||
				strings.HasPrefix(l, "node "+name+": shut down") && strings.Contains(l, ", not cleanly: ") {
				n.endLine.Store(&l)
			}
		}
	}()
	d.waiters.Add(1)
	go func() { // owned by d: shutdown waits through d.waiters
		defer d.waiters.Done()
		n.err = cmd.Wait()
		close(n.waited) // sole sender: this reaper, once
	}()
	var line string
	select {
	case line = <-n.lines:
	case <-n.waited:
		return nil, fmt.Errorf("demo: node %s exited before listening: %v; stderr: %s", name, n.err, tail(errf.Name()))
	case <-time.After(15 * time.Second):
		return nil, fmt.Errorf("demo: node %s did not listen within 15s; stderr: %s", name, tail(errf.Name()))
	}
	rest := line[strings.Index(line, " listening on ")+len(" listening on "):]
	n.addr, _, _ = strings.Cut(rest, " ")
	dial := n.addr
	if d.dialVia != nil {
		if dial, err = d.dialVia(name, n.addr); err != nil {
			return nil, fmt.Errorf("demo: node %s: %w", name, err)
		}
	}
	c, err := exo.Dial(ctx, dial, append([]exo.DialOption{exo.WithClientName("exo-actors demo")}, d.dialOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("demo: dial node %s at %s: %w", name, n.addr, err)
	}
	d.mu.Lock()
	n.client = c
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if n.state == nodeStarting && len(n.runner) == d.runners {
			n.state = nodeServing
		}
		d.mu.Unlock()
	}()
	for _, topic := range []string{exo.TopicTasks, exo.TopicRunnerStatus, exo.TopicAlerts} {
		sub, err := c.Subscribe(topic, exo.Filter{}, exo.SubscribeOptions{Buffer: 8192})
		if err != nil {
			return nil, fmt.Errorf("demo: subscribe to %s of node %s: %w", topic, name, err)
		}
		n.subs = append(n.subs, sub)
		st := &streamStats{node: name}
		d.mu.Lock()
		d.streams[name+"/"+topic] = st
		d.mu.Unlock()
		d.readers.Add(1)
		go func() { // owned by d: shutdown waits through d.readers
			defer d.readers.Done()
			d.read(sub, st)
		}()
	}
	for i := 0; i < d.runners; i++ {
		id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama"})
		if err != nil {
			return nil, fmt.Errorf("demo: spawn a runner on node %s: %w", name, err)
		}
		d.mu.Lock()
		n.runner = append(n.runner, id)
		d.mu.Unlock()
	}
	d.logf("node %s up on %s (pid %d): runners %s", name, n.addr, cmd.Process.Pid, strings.Join(n.runner, ", "))
	return n, nil
}

// exitText says why the exited node n ended, for a problem: the line its
// stdout ended on ("node N: shut itself down: …"), which its stderr does
// not repeat, else the last line of its stderr (an error main printed, a
// panic). It waits up to 2s for the stdout reader to reach the end.
func (n *demoNode) exitText() string {
	select {
	case <-n.readEnd:
	case <-time.After(2 * time.Second):
	}
	if l := n.endLine.Load(); l != nil {
		return *l
	}
	return tail(n.stderr.Name())
}

// tail returns the last line of a file, for an error message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// read follows one subscription to its end, counting what it delivered.
func (d *clusterDemo) read(sub *exo.Subscription, st *streamStats) {
	for {
		ev, err := sub.Next(context.Background())
		if err != nil {
			d.mu.Lock()
			st.end = err
			d.mu.Unlock()
			return // end of stream: shut down, node lost or closed
		}
		d.mu.Lock()
		if ev.Seq != 0 && ev.Seq <= st.lastSeq && ev.Gap == nil {
			st.dup++
		}
		if ev.Gap != nil {
			st.dropped += ev.Gap.ToSeq - ev.Gap.FromSeq + 1
			st.lastSeq = ev.Gap.ToSeq
			d.mu.Unlock()
			continue
		}
		if ev.Seq > st.lastSeq+1 {
			st.lost += ev.Seq - st.lastSeq - 1
		}
		if ev.Seq > st.lastSeq {
			st.lastSeq = ev.Seq
		}
		st.delivered++
		// Every event arrives typed over the gateway (docs/remote.md);
		// counting by Kind is all this summary needs.
		switch ev.Kind {
		case exo.KindTaskStatus:
			if p, ok := ev.Payload.(exo.TaskStatusChanged); ok && p.Status.Terminal() {
				d.terminal[p.TaskID]++
			}
		case exo.KindTaskRetried:
			d.sum.TasksRetried++
		case exo.KindProcessStarted:
			// The first process of a runner is its start; every later
			// one is a restart.
			// (Runner IDs repeat across nodes: keyed by node too.)
			if d.started[st.node+"/"+ev.RunnerID] {
				d.sum.Restarts++
			}
			d.started[st.node+"/"+ev.RunnerID] = true
		case exo.KindAlert:
			// An escalation stops the runner and raises a CRITICAL alert;
			// the escalations themselves are counted from the nodes'
			// error records (countRecords).
			d.sum.Alerts++
		case exo.KindHealthAlert:
			d.sum.Alerts++
		}
		d.mu.Unlock()
	}
}

// uncleanAfterShutdown says a node exited 4 (ExitUnclean) after a shutdown
// the demo asked for: its shutdown ran to its end but cut a task short or
// forced a runner, which the demo's faults (slow shutdowns, hung runners,
// short phase deadlines) do on purpose, and which the node's report already
// says. Any other exit of a node that was not killed is a problem.
func uncleanAfterShutdown(state demoNodeState, err error) bool {
	var ee *exec.ExitError
	return state == nodeShutDown && errors.As(err, &ee) && ee.ExitCode() == ExitUnclean
}

// shutdown shuts every live node down together, phase by phase
// (runtime.ShutdownCluster: every node finishes SIGNALING before DRAINING
// starts anywhere, then CLOSING), reaps every node process and closes the
// clients.
func (d *clusterDemo) shutdown(self string) {
	_ = self
	d.mu.Lock()
	nodes := append([]*demoNode(nil), d.nodes...)
	d.mu.Unlock()
	d.logf("== graceful shutdown of every node, phase by phase")
	start := time.Now()
	var members []exo.ShutdownMember
	var live []*demoNode
	for _, n := range nodes {
		d.mu.Lock()
		serving := n.state == nodeServing
		if serving {
			n.state = nodeShutDown
		}
		d.mu.Unlock()
		if !serving || n.client.Err() != nil {
			continue
		}
		members = append(members, exo.ShutdownMember{Name: n.name, Addr: n.addr, Node: n.client})
		live = append(live, n)
	}
	if len(members) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		name := d.cluster
		if name == "" {
			name = "demo"
		}
		rep, err := exo.ShutdownCluster(ctx, members, exo.ClusterShutdownOptions{Cluster: name,
			PhaseTimeout: demoPhaseTimeout, AnswerGrace: demoAnswerGrace,
			OnPhase: func(ph exo.Phase) { d.logf("== %s on every node", ph) }})
		cancel()
		for _, n := range live {
			n.client.Close() // the node waits for its client's goodbye before it exits
		}
		if err != nil {
			d.problem("cluster shutdown: %v", err)
		} else {
			d.mu.Lock()
			for _, ns := range rep.Nodes {
				var t time.Duration
				for _, a := range ns.Answer {
					t += a
				}
				d.sum.ShutdownByNodeMs[ns.Name] = t.Milliseconds()
			}
			d.mu.Unlock()
			for _, ns := range rep.Nodes {
				if len(ns.Missed) > 0 || len(ns.Errors) > 0 {
					d.problem("node %s: cluster shutdown: missed %v; %s", ns.Name, ns.Missed, strings.Join(ns.Errors, "; "))
				}
			}
			first, _, _ := strings.Cut(rep.String(), "\n")
			d.logf("%s", first)
		}
	}
	// Reap: a node shut down by its client exits by itself; one that does
	// not within 10s gets SIGTERM, then SIGKILL to its group.
	for _, n := range nodes {
		select {
		case <-n.waited:
		case <-time.After(10 * time.Second):
			d.problem("node %s did not exit after its shutdown: SIGTERM", n.name)
			_ = syscall.Kill(n.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-n.waited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
				<-n.waited
			}
		}
		if n.err != nil && n.state != nodeKilled && !uncleanAfterShutdown(n.state, n.err) {
			d.problem("node %s exited with %v: %s", n.name, n.err, n.exitText())
		}
	}
	d.mu.Lock()
	d.sum.ShutdownMs = time.Since(start).Milliseconds()
	d.mu.Unlock()
	// The streams end after the shutdown (end of stream) or with the node
	// lost; Close ends any reader still waiting.
	done := make(chan struct{})
	go func() { // owned by shutdown: waited just below
		d.readers.Wait()
		close(done) // sole sender: this goroutine, once
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		d.problem("a stream did not end within 5s of the shutdown")
	}
	for _, n := range nodes {
		if n.client != nil {
			n.client.Close()
		}
		for _, s := range n.subs {
			s.Close()
		}
	}
	<-done
	for _, n := range nodes {
		n.readr.Wait()
		n.stderr.Close()
	}
	d.waiters.Wait()
}

func (d *clusterDemo) problem(format string, args ...any) {
	d.mu.Lock()
	d.sum.Problems = append(d.sum.Problems, fmt.Sprintf(format, args...))
	d.mu.Unlock()
}

// finish counts the outcomes, the events and the orphans, and decides
// invariants_ok.
func (d *clusterDemo) finish(runErr error) {
	switch {
	case runErr != nil && errors.Is(runErr, context.Canceled):
		d.problem("interrupted (SIGINT, SIGTERM or SIGHUP): the run was cut short")
	case runErr != nil:
		d.problem("%v", runErr)
	}
	orphans := d.orphans()
	d.mu.Lock()
	defer d.mu.Unlock()
	s := &d.sum
	s.OrphanProcesses = len(orphans)
	for _, pid := range orphans {
		s.Problems = append(s.Problems, fmt.Sprintf("process %d of the demo left running", pid))
	}
	for _, t := range d.tasks {
		s.TasksSubmitted++
		seen := d.terminal[t.h.ID]
		if t.err == nil && !t.outcome.Status.Terminal() {
			// The run was cut short before it waited for this task: the
			// shutdown ended it, or nothing did (then it is lost).
			if oc := t.h.Outcome(); oc != nil {
				t.outcome = *oc
			} else {
				t.err = errors.New("no outcome after the shutdown")
			}
		}
		switch {
		case t.err != nil || !t.outcome.Status.Terminal():
			s.TasksLost++
			s.Problems = append(s.Problems, fmt.Sprintf("task %s on %s: no outcome: %v", t.h.ID, t.n.name, t.err))
			continue
		case t.outcome.Status == exo.TaskComplete:
			s.TasksCompleted++
		default:
			s.TasksFailed++
			s.TasksFailedByReason[failReason(t.outcome.Status, t.outcome.Reason)]++
		}
		// The node's tasks stream must carry exactly one terminal status;
		// a task whose node was killed may have ended by the node-lost
		// rule before its stream said anything.
		lostNode := t.n.state == nodeKilled && strings.Contains(t.outcome.Reason, "node")
		if seen > 1 || (seen == 0 && !lostNode) {
			s.TasksBadTerminal++
			s.Problems = append(s.Problems, fmt.Sprintf("task %s: %d terminal statuses on node %s's tasks stream", t.h.ID, seen, t.n.name))
		}
	}
	for _, st := range d.streams {
		s.EventsPublished += st.lastSeq
		s.EventsDelivered += st.delivered
		s.EventsDroppedCounted += st.dropped
		s.EventsLost += st.lost
	}
	if s.EventsLost > 0 {
		s.Problems = append(s.Problems, fmt.Sprintf("%d events missing from the streams with no gap event", s.EventsLost))
	}
	if len(s.Problems) > 20 {
		s.Problems = append(s.Problems[:20], fmt.Sprintf("... and %d more", len(s.Problems)-20))
	}
	s.RestartsByReason = d.restartReasons()
	s.ElapsedMs = time.Since(d.start).Milliseconds()
	s.InvariantsOK = s.TasksLost == 0 && s.EventsLost == 0 && s.OrphanProcesses == 0 && s.TasksBadTerminal == 0 && len(s.Problems) == 0
}

// orphans scans /proc for the demo's marked processes, giving a killed
// process up to 3s to be gone (it may linger briefly as a zombie).
func (d *clusterDemo) orphans() []int {
	deadline := time.Now().Add(3 * time.Second)
	for {
		pids := markedProcesses(demoMarkerKey, d.marker)
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(50 * time.Millisecond) // polling /proc: there is no event for "some process exited"
	}
}

// markedProcesses lists live (non-zombie) processes other than this one
// whose environment holds key=value (as internal/testutil.MarkedProcesses).
func markedProcesses(key, value string) []int {
	entries, _ := os.ReadDir("/proc")
	want := key + "=" + value + "\x00"
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !strings.Contains(string(env)+"\x00", want) {
			continue
		}
		if processAlive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// sumSnapshot is the summary, read under d.mu: the page's buttons may
// still count (page_actions) until the page stops, after the summary.
func (d *clusterDemo) sumSnapshot() clusterSummary {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sum
	s.PageActions = maps.Clone(d.sum.PageActions)
	return s
}

func (d *clusterDemo) printSummary() {
	s := d.sumSnapshot()
	out := d.e.stdout
	fmt.Fprintf(out, "\n== summary (seed %d, %d nodes × %d runners, chaos %s, %.1fs)\n", s.Seed, s.Nodes, s.RunnersPerNode, s.Chaos, float64(s.ElapsedMs)/1000)
	fmt.Fprintf(out, "tasks    submitted %d  completed %d  failed %d  retried %d  lost %d  rejected %d\n",
		s.TasksSubmitted, s.TasksCompleted, s.TasksFailed, s.TasksRetried, s.TasksLost, s.TasksRejected)
	for _, r := range sortedKeys(s.TasksFailedByReason) {
		fmt.Fprintf(out, "         failed: %-40s %d\n", r, s.TasksFailedByReason[r])
	}
	fmt.Fprintf(out, "events   published %d  delivered %d  dropped (counted) %d  lost %d\n",
		s.EventsPublished, s.EventsDelivered, s.EventsDroppedCounted, s.EventsLost)
	fmt.Fprintf(out, "runners  restarts %d  escalations %d  alerts %d\n", s.Restarts, s.Escalations, s.Alerts)
	if len(s.RestartsByReason) > 0 {
		fmt.Fprintf(out, "         restarts by reason: %s\n", sortedReasons(s.RestartsByReason))
	}
	faults := countsByKey(s.FaultsInjected)
	if faults == "" {
		faults = "none" // --chaos none: not an empty field before the separator
	}
	fmt.Fprintf(out, "faults   %s; nodes killed %d, restarted %d\n", faults, s.NodesKilled, s.NodesRestarted)
	if len(s.PageActions) > 0 {
		fmt.Fprintf(out, "page     %s (the web page's buttons: not in the counts above)\n", countsByKey(s.PageActions))
	}
	fmt.Fprintf(out, "shutdown %dms; orphan processes %d\n", s.ShutdownMs, s.OrphanProcesses)
	for _, p := range s.Problems {
		fmt.Fprintf(out, "PROBLEM  %s\n", p)
	}
	fmt.Fprintf(out, "invariants ok: %v\n", s.InvariantsOK)
}

// countsByKey is "k1 n1, k2 n2" in key order ("" for none).
func countsByKey(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
