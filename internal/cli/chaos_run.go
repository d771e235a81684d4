package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/goleak"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// chaosLostAfter is how long the driver's clients wait for a word from a
// node before they count it lost.
const chaosLostAfter = 3 * time.Second

// chaosMaxRunners bounds the runners of one node (--runners and spawn steps).
const chaosMaxRunners = 6

// The step kinds of exo-actors chaos. docs/reliability.md says what each
// does and which invariant it stresses.
const (
	stepSpawnRunner    = "spawn-runner"
	stepStopRunner     = "stop-runner"
	stepRunnerExit     = "runner-exit"
	stepRunnerKill     = "runner-sigkill"
	stepRunnerHang     = "runner-hang"
	stepRunnerGarbage  = "runner-garbage"
	stepIgnoreShutdown = "ignore-shutdown"
	stepSlowLoading    = "slow-loading"
	stepCancelOne      = "cancel-one"
	stepCancelAll      = "cancel-all"
	stepSubLeave       = "sub-leave"
	stepSubReconnect   = "sub-reconnect"
	stepSubSlow        = "sub-slow"
	stepNodeKill       = "node-kill"
	stepNetCut         = "net-cut"
	stepNodeShutdown   = "node-shutdown"
	stepResCloseFail   = "resource-close-fail"
	stepResCloseHang   = "resource-close-hang"
	stepHookSlow       = "hook-slow"
	stepShutStartup    = "shutdown-startup"
	stepShutBackoff    = "shutdown-backoff"
	stepShutTwice      = "shutdown-twice"
	stepShutDeadline   = "shutdown-deadline"
)

// chaosWeights is the step mix: kind and relative weight. Cheap faults
// weigh more; node-level faults (a few seconds each, one at a time) and
// in-process systems (a process and an actor system each) less.
var chaosWeights = []struct {
	kind   string
	weight int
}{
	{stepRunnerKill, 4}, {stepRunnerExit, 3}, {stepRunnerGarbage, 3}, {stepRunnerHang, 2},
	{stepCancelOne, 4}, {stepCancelAll, 2},
	{stepSubLeave, 3}, {stepSubReconnect, 2}, {stepSubSlow, 2},
	{stepSpawnRunner, 3}, {stepStopRunner, 2}, {stepIgnoreShutdown, 2}, {stepSlowLoading, 2},
	{stepNodeKill, 1}, {stepNetCut, 1}, {stepNodeShutdown, 1},
	{stepResCloseFail, 1}, {stepResCloseHang, 1}, {stepHookSlow, 1},
	{stepShutStartup, 1}, {stepShutBackoff, 1}, {stepShutTwice, 1}, {stepShutDeadline, 1},
}

// chaosStep is one step of the schedule: its number, kind and the seed of
// its own choices. The schedule depends on --seed alone.
type chaosStep struct {
	n    int
	kind string
	seed int64
}

// chaosSchedule returns the first n steps of the schedule of seed.
func chaosSchedule(seed int64, n int) []chaosStep {
	rng := rand.New(rand.NewSource(seed))
	total := 0
	for _, w := range chaosWeights {
		total += w.weight
	}
	out := make([]chaosStep, n)
	for i := range out {
		x := rng.Intn(total)
		kind := ""
		for _, w := range chaosWeights {
			if x < w.weight {
				kind = w.kind
				break
			}
			x -= w.weight
		}
		out[i] = chaosStep{n: i + 1, kind: kind, seed: rng.Int63()}
	}
	return out
}

// chaosRun is one run of exo-actors chaos. It drives a clusterDemo (the
// node processes, their clients, the task and stream bookkeeping) and adds
// the steps the demo has not, the proxies and the invariant checks.
type chaosRun struct {
	e    *env
	o    chaosOptions
	log  io.Writer
	self string
	d    *clusterDemo

	step atomic.Int64 // the step being injected (0 before the first)

	mu           sync.Mutex
	rep          chaosReport
	proxies      map[string]*cutProxy // by node name
	scanned      map[string]int64     // stderr bytes scanned, by file
	subEvents    uint64               // events delivered to chaos subscribers
	maxHeap      uint64
	localSystems int             // in-process systems started
	localTasks   int             // tasks submitted to them
	unplanned    int             // nodes lost without a fault (heartbeat missed under load)
	skipped      map[string]int  // steps skipped because their kind's slots were busy, by kind
	lifecycle    map[string]bool // runners reported for lifecycle errors, by node/runner
	runCtx       context.Context // ends when the run is interrupted
	anchor       *demoNode       // the first node: no node-level fault hits it
	anchorBase   exo.NodeStatus  // its status once started
	anchorLive   int             // its live runners once started
	runners      chaosRunners    // spawned and stopped runners (chaos_stopped.go)

	async    sync.WaitGroup // every asynchronous step
	nodeOp   chan struct{}  // capacity 1: one node-level fault at a time
	localOp  chan struct{}  // capacity 3: in-process systems at once
	subOp    chan struct{}  // capacity 8: chaos subscribers at once
	loadOp   chan struct{}  // capacity 4: spawns, stops and slow-loading runners at once
	cancelOp chan struct{}  // capacity 8: delayed cancels at once
}

func newChaosRun(e *env, o chaosOptions, log io.Writer, self string) *chaosRun {
	return &chaosRun{e: e, o: o, log: log, self: self,
		proxies: map[string]*cutProxy{}, scanned: map[string]int64{}, skipped: map[string]int{}, lifecycle: map[string]bool{},
		nodeOp: make(chan struct{}, 1), localOp: make(chan struct{}, 3),
		subOp: make(chan struct{}, 8), loadOp: make(chan struct{}, 4), cancelOp: make(chan struct{}, 8),
		rep: chaosReport{Seed: o.seed, Faults: map[string]int{}, Violations: []chaosViolation{}}}
}

func (r *chaosRun) logf(format string, args ...any) { r.d.logf(format, args...) }

// violate records a broken invariant at the current step (or at step, if
// positive).
func (r *chaosRun) violate(step int, invariant, format string, args ...any) {
	if step <= 0 {
		step = int(r.step.Load())
	}
	v := chaosViolation{Seed: r.o.seed, Step: step, Invariant: invariant, Detail: oneLine(fmt.Sprintf(format, args...))}
	r.mu.Lock()
	if len(r.rep.Violations) < 200 {
		r.rep.Violations = append(r.rep.Violations, v)
	}
	r.mu.Unlock()
	fmt.Fprintf(r.e.stderr, "VIOLATION %s\n", v)
}

// fault counts a fault of st's kind as injected and logs it, each one
// (docs/reliability.md: "every fault as it is injected"; only the
// node-level ones were logged, 9 of 180 faults in a 30 s run).
func (r *chaosRun) fault(st chaosStep, format string, args ...any) {
	r.mu.Lock()
	r.rep.Faults[st.kind]++
	r.mu.Unlock()
	r.logf("FAULT %-13s %s (step %d)", st.kind, fmt.Sprintf(format, args...), st.n)
}

// chaosConfig is the node configuration: the demo's fast kind and a kind
// that loads slowly (5 layers of 300ms) for the slow-loading step.
const chaosConfig = `{"kinds": {` +
	`"llama": {"builtin": true, "args": ["--layers", "2", "--layer-delay", "20ms", "--token-delay", "5ms"]},` +
	`"slowload": {"builtin": true, "args": ["--layers", "5", "--layer-delay", "300ms", "--token-delay", "5ms"]}},` +
	` "tasks": {"in_flight": 2, "queue": 256}, "cancel_tasks_on_client_loss": true, "session_timeout": "2s"}`

// run runs the whole chaos run and returns its report.
func (r *chaosRun) run(parent context.Context) (*chaosReport, error) {
	// Goroutines of this process before the run: the leak check ignores them.
	baseline := goleak.IgnoreCurrent()
	dir, err := os.MkdirTemp("", "exo-actors-chaos-")
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	defer os.RemoveAll(dir)
	d := &clusterDemo{e: r.e, runners: r.o.runners, log: r.log, start: time.Now(), dir: dir, cluster: "chaos",
		o:        clusterOptions{nodes: r.o.nodes, seed: r.o.seed, duration: r.o.duration, json: r.o.json, chaos: "all"},
		marker:   fmt.Sprintf("chaos-%d-%d", os.Getpid(), time.Now().UnixNano()),
		streams:  map[string]*streamStats{},
		terminal: map[string]int{},
		started:  map[string]bool{},
		killed:   map[int]bool{},
	}
	d.sum = clusterSummary{Seed: r.o.seed, TasksFailedByReason: map[string]int{}, FaultsInjected: map[string]int{}, PageActions: map[string]int{},
		ShutdownByNodeMs: map[string]int64{}, Problems: []string{}}
	d.config = filepath.Join(dir, "node.json")
	if err := os.WriteFile(d.config, []byte(chaosConfig), 0o600); err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	d.dialVia = func(name, addr string) (string, error) {
		p, err := newCutProxy(addr)
		if err != nil {
			return "", err
		}
		r.mu.Lock()
		r.proxies[name] = p
		r.mu.Unlock()
		return p.Addr(), nil
	}
	// A heartbeat more patient than the default 1.5s: on a shared 2-core
	// machine a starved node can miss 1.5s without being gone
	// (docs/reliability.md); a cut is still found within 3.25s.
	d.dialOpts = []exo.DialOption{exo.WithHeartbeat(250*time.Millisecond, chaosLostAfter)}
	r.d = d
	d.spawn = newSpawner()

	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	r.runCtx = ctx
	runErr := r.drive(ctx)
	interrupted := parent.Err() != nil

	// The end: every asynchronous step, every task's outcome, the graceful
	// shutdown of every node, the proxies, then the final checks.
	r.waitAsync(2 * time.Minute)
	r.awaitTasks(90 * time.Second)
	r.countRunners()
	r.checkAnchor()
	r.step.Store(int64(r.rep.Steps) + 1) // violations of the shutdown: one step past the last
	r.shutdownLost()
	r.boundedCall(0, "Shutdown of the cluster", 3*time.Minute, func(context.Context) error { d.shutdown(r.self); return nil })
	r.mu.Lock()
	proxies := make([]*cutProxy, 0, len(r.proxies))
	for _, p := range r.proxies {
		proxies = append(proxies, p)
	}
	r.mu.Unlock()
	for _, p := range proxies {
		p.Close()
	}
	d.spawn.stop()
	r.scanStderr(dir)
	d.finish(nil)
	r.finalChecks(baseline, interrupted)
	if runErr != nil {
		r.violate(0, "run", "%v", runErr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.skipped) > 0 {
		r.logf("steps skipped because earlier steps of their kind still ran: %v", r.skipped)
	}
	if r.unplanned > 0 {
		r.logf("nodes lost without a fault (a heartbeat missed for %s, then reached again and shut down): %d", chaosLostAfter, r.unplanned)
	}
	rep := r.rep
	rep.OK = len(rep.Violations) == 0
	return &rep, nil
}

// drive starts the nodes and runs the schedule until --duration passed.
func (r *chaosRun) drive(ctx context.Context) error {
	d := r.d
	d.logf("== chaos: %s (%s each), seed %d, %s at %.1f steps/s", plural(r.o.nodes, "node"), plural(r.o.runners, "runner"), r.o.seed, r.o.duration, r.o.rate)
	for i := 0; i < r.o.nodes; i++ {
		n, err := d.startNode(ctx, r.self)
		if err != nil {
			return err
		}
		if i == 0 {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			st, err := n.client.NodeStatus(sctx)
			cancel()
			if err != nil {
				return fmt.Errorf("chaos: status of node %s: %w", n.name, err)
			}
			live, _ := r.liveRunners(ctx, n)
			r.mu.Lock()
			r.anchor, r.anchorBase, r.anchorLive = n, st, live
			r.mu.Unlock()
			d.logf("anchor node %s (never killed, cut or shut down before the end): %d goroutines, heap %.1f MiB, %d runners",
				n.name, st.Goroutines, float64(st.HeapBytes)/(1<<20), live)
		}
	}
	stopMon := r.monitor(time.Second)
	defer stopMon()
	stopProgress := r.progress(5 * time.Second)
	defer stopProgress()
	total := int(r.o.duration.Seconds()*r.o.rate) + 1
	sched := chaosSchedule(r.o.seed, total)
	every := time.Duration(float64(time.Second) / r.o.rate)
	begin := time.Now()
	end := begin.Add(r.o.duration)
	for i, st := range sched {
		due := begin.Add(time.Duration(i) * every)
		if due.After(end) || time.Now().After(end) {
			break // a starved machine runs fewer steps, never a longer run
		}
		if err := sleepCtx(ctx, time.Until(due)); err != nil {
			return nil // interrupted: the end still runs
		}
		r.step.Store(int64(st.n))
		r.mu.Lock()
		r.rep.Steps = st.n
		r.mu.Unlock()
		rng := rand.New(rand.NewSource(st.seed))
		// Every step also submits one ordinary task, so work flows.
		d.submit(ctx, exo.Task{ID: fmt.Sprintf("t%06d", st.n), Kind: "text_generation", Retryable: true,
			Params: map[string]string{"max_tokens": strconv.Itoa(10 + rng.Intn(40))}})
		r.inject(ctx, st, rng)
	}
	return nil
}

// progress prints a line every period until the returned function is called.
func (r *chaosRun) progress(period time.Duration) func() {
	return every(period, func() {
		r.mu.Lock()
		faults := 0
		for _, n := range r.rep.Faults {
			faults += n
		}
		line := fmt.Sprintf("progress: step %d, faults %d, violations %d, max heap %.1f MiB",
			r.rep.Steps, faults, len(r.rep.Violations), float64(r.maxHeap)/(1<<20))
		r.mu.Unlock()
		r.logf("%s", line)
	})
}

// monitor checks the continuous invariants every period: the nodes' heap
// and their stderr (panics). It stops when the returned function is called.
func (r *chaosRun) monitor(period time.Duration) func() {
	return every(period, func() {
		r.checkHeap()
		r.scanStderr(r.d.dir)
		r.recoverLost()
	})
}

// every runs f every period on a goroutine until the returned function is
// called; that function waits for the goroutine (and a run of f under way).
func every(period time.Duration, f func()) func() {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owned by the returned function, which waits for it
		defer wg.Done()
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			f()
		}
	}()
	return func() {
		close(stop) // sole sender: the returned function, called once by its owner
		wg.Wait()
	}
}

// checkHeap reads each serving node's live heap from its status.
func (r *chaosRun) checkHeap() {
	for _, n := range r.servingNodes() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := n.client.NodeStatus(ctx)
		cancel()
		if err != nil {
			continue // lost or cut: another step's business
		}
		r.mu.Lock()
		if st.HeapBytes > r.maxHeap {
			r.maxHeap = st.HeapBytes
		}
		r.mu.Unlock()
		if mib := float64(st.HeapBytes) / (1 << 20); mib > r.o.maxHeap {
			r.violate(0, "node heap bound", "node %s heap %.1f MiB above --max-heap-mib %g", n.name, mib, r.o.maxHeap)
		}
	}
}

// panicMarkers are the lines that mean a panic somewhere: in a node, in one
// of its runners (their stderr is the node's) or in an in-process system's
// log.
var panicMarkers = []string{"panic:", "send on closed channel", "fatal error:"}

// scanStderr reads what is new in every *.stderr and *.log file of dir and
// counts panic lines (each one a violation).
func (r *chaosRun) scanStderr(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.stderr"))
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, path := range append(files, logs...) {
		r.mu.Lock()
		off := r.scanned[path]
		r.mu.Unlock()
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			continue
		}
		br := bufio.NewReader(f)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				break // a partial last line is read again next time
			}
			off += int64(len(line))
			for _, m := range panicMarkers {
				if strings.Contains(line, m) {
					r.mu.Lock()
					r.rep.Panics++
					r.mu.Unlock()
					r.violate(0, "no panic", "%s: %s", filepath.Base(path), strings.TrimSpace(line))
					break
				}
			}
		}
		f.Close()
		r.mu.Lock()
		r.scanned[path] = off
		r.mu.Unlock()
	}
}

// servingNodes lists the nodes that serve now.
func (r *chaosRun) servingNodes() []*demoNode {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	var out []*demoNode
	for _, n := range r.d.nodes {
		if n.state == nodeServing && n.client != nil && n.client.Err() == nil {
			out = append(out, n)
		}
	}
	return out
}

// goAsync runs f as an asynchronous step once sem has room, waiting at
// most wait for it (the schedule stays in order but does not stall behind
// slow steps); a step that found no room is skipped and counted.
func (r *chaosRun) goAsync(ctx context.Context, sem chan struct{}, kind string, wait time.Duration, f func()) bool {
	select {
	case sem <- struct{}{}:
	default:
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case sem <- struct{}{}:
		case <-t.C:
			r.mu.Lock()
			r.skipped[kind]++
			r.mu.Unlock()
			return false
		case <-ctx.Done():
			return false
		}
	}
	r.async.Add(1)
	go func() { // owned by r: the end waits through r.async
		defer r.async.Done()
		defer func() { <-sem }()
		f()
	}()
	return true
}

// waitAsync waits for the asynchronous steps; one still running after
// limit is a violation (a call that never returned).
func (r *chaosRun) waitAsync(limit time.Duration) {
	done := make(chan struct{})
	go func() { // owned by waitAsync: it waits for it below, or reports it as leaked
		r.async.Wait()
		close(done) // sole sender: this goroutine, once
	}()
	select {
	case <-done:
	case <-time.After(limit):
		r.violate(0, "every call returns", "an asynchronous step still ran %s after the schedule ended", limit)
	}
}

// boundedCall runs f with a context of deadline d and waits up to d plus
// 10s: a call that has not returned by then is a violation ("every
// StopRunner/Shutdown call returns"); so is one that returns a deadline
// error. It returns f's error.
func (r *chaosRun) boundedCall(step int, what string, d time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	res := make(chan error, 1)
	go func() { // owned by boundedCall; if f never returns, the leak check reports it
		res <- f(ctx)
	}()
	select {
	case err := <-res:
		if errors.Is(err, context.DeadlineExceeded) {
			r.violate(step, "every call returns", "%s did not finish within %s: %v", what, d, err)
		}
		return err
	case <-time.After(d + 10*time.Second):
		r.violate(step, "every call returns", "%s did not return within %s", what, d+10*time.Second)
		return context.DeadlineExceeded
	}
}

// awaitTasks waits for every submitted task's outcome.
func (r *chaosRun) awaitTasks(limit time.Duration) {
	d := r.d
	d.mu.Lock()
	tasks := append([]*tracked(nil), d.tasks...)
	d.mu.Unlock()
	d.logf("== %d tasks submitted; waiting for every outcome", len(tasks))
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	var last *tracked
	var lastAt time.Duration
	for _, t := range tasks {
		oc, err := t.h.Wait(ctx)
		d.mu.Lock()
		t.outcome, t.err = oc, err
		d.mu.Unlock()
		if at := time.Since(start); at > lastAt {
			last, lastAt = t, at
		}
	}
	if last != nil {
		d.logf("every outcome in after %s; the last: task %s on %s, %s %q", lastAt.Round(time.Millisecond),
			last.h.ID, last.n.name, last.outcome.Status, last.outcome.Reason)
	}
}

// finalChecks turns the demo's end-of-run accounting and this process's
// state into the report: tasks, events, orphans, goroutines.
func (r *chaosRun) finalChecks(baseline goleak.Option, interrupted bool) {
	d := r.d
	step := int(r.step.Load())
	if interrupted {
		r.violate(step, "run", "interrupted (SIGINT or SIGTERM): the run was cut short")
	}
	d.mu.Lock()
	s := d.sum
	var events, lost, dup uint64
	var badEnd []string
	for name, st := range d.streams {
		events += st.delivered
		lost += st.lost
		dup += st.dup
		// A refused delivery also ends a subscription with ErrEndOfStream,
		// but its events were dropped: a bug, not an end.
		if st.end != nil && (!errors.Is(st.end, exo.ErrEndOfStream) || errors.Is(st.end, exo.ErrBadDelivery)) {
			badEnd = append(badEnd, fmt.Sprintf("%s: %v", name, st.end))
		}
	}
	noTerminal := 0
	var taskProblems []string
	for _, t := range d.tasks {
		seen := d.terminal[t.h.ID]
		// A node killed or cut is lost to the driver: its tasks stream ended
		// with the loss, so a task may have no terminal status on it (after
		// a cut the outcome itself may still arrive: replies travel on the
		// node's own connection to the client, which the cut leaves up).
		lostNode := t.n.state == nodeKilled
		switch {
		case t.err != nil || !t.outcome.Status.Terminal():
			noTerminal++
			taskProblems = append(taskProblems, fmt.Sprintf("task %s on %s: no outcome: %v", t.h.ID, t.n.name, t.err))
		case seen > 1:
			dup += uint64(seen - 1)
			taskProblems = append(taskProblems, fmt.Sprintf("task %s: %d terminal statuses on node %s's tasks stream", t.h.ID, seen, t.n.name))
		case seen == 0 && !lostNode:
			noTerminal++
			taskProblems = append(taskProblems, fmt.Sprintf("task %s (%s %q): no terminal status on node %s's tasks stream", t.h.ID, t.outcome.Status, t.outcome.Reason, t.n.name))
		}
	}
	tasks := len(d.tasks)
	d.mu.Unlock()
	sort.Strings(badEnd)
	if len(taskProblems) > 20 {
		taskProblems = append(taskProblems[:20], fmt.Sprintf("... and %d more", len(taskProblems)-20))
	}
	for _, b := range badEnd {
		r.violate(step, "EndOfStream last", "subscription %s ended without EndOfStream", b)
	}
	for _, p := range s.Problems {
		if strings.Contains(p, "terminal statuses on node") || strings.Contains(p, ": no outcome: ") || strings.HasPrefix(p, "... and ") {
			continue // counted above by the chaos rule (lost nodes included)
		}
		r.violate(step, "end of run", "%s", p)
	}
	for _, p := range taskProblems {
		r.violate(step, "exactly one terminal status", "%s", p)
	}
	r.mu.Lock()
	r.rep.Tasks = tasks + r.localTasks
	r.rep.Events = events + r.subEvents
	r.rep.LostEvents += lost
	r.rep.DuplicateEvents += dup
	r.rep.TasksWithoutTerminalStatus += noTerminal
	r.rep.OrphanProcesses = s.OrphanProcesses
	r.rep.MaxHeapMiB = float64(int(float64(r.maxHeap)/(1<<20)*10)) / 10
	r.mu.Unlock()
	// Goroutines: the client endpoint of protoactor remote lives as long as
	// the process (runtime/endpoint.go), so its goroutines are not leaks.
	leaks := goroutineLeaks(baseline)
	r.mu.Lock()
	r.rep.LeakedGoroutines = len(leaks)
	r.mu.Unlock()
	for i, g := range leaks {
		if i == 5 {
			r.violate(step, "no goroutine left", "... and %d more", len(leaks)-5)
			break
		}
		r.violate(step, "no goroutine left", "%s", g)
	}
}

// goroutineLeaks lists the goroutines left besides those of baseline and of
// the process-wide client endpoint, one line each.
func goroutineLeaks(baseline goleak.Option) []string {
	var err error
	for try := 0; try < 5; try++ { // goleak retries for ~1s each time; stragglers get ~5s in all
		if err = findLeaks(baseline); err == nil {
			return nil
		}
	}
	fmt.Fprintf(os.Stderr, "chaos: goroutines left after the run (full stacks):\n%v\n", err)
	var out []string
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "[")
		if strings.HasPrefix(l, "Goroutine ") {
			out = append(out, strings.TrimSuffix(l, ":"))
		}
	}
	if len(out) == 0 {
		out = []string{oneLine(err.Error())}
	}
	return out
}

func findLeaks(baseline goleak.Option) error {
	return goleak.Find(baseline,
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/remote.(*Remote).Start.func1"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc.(*Server).Serve"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc.(*Server).handleRawConn.func1"),
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/remote.(*EndpointManager).startActivator"),
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/actor.(*deadLetterProcess)"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.func1"),
		goleak.IgnoreAnyFunction("github.com/lithammer/shortuuid/v4.init"),
		goleak.IgnoreAnyFunction("os/signal.signal_recv"),
		goleak.IgnoreAnyFunction("github.com/exo-actors/exo-actors/runtime.acquireEndpoint"),
	)
}

// terminate is syscall.Kill, named for the reader.
func terminate(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }

// anchorGoroutinesPerRunner and anchorGoroutineSlack bound the anchor
// node's goroutines at the end, idle again: its count once started, plus
// this many for each runner it has beyond those it had then, plus slack.
const (
	anchorGoroutinesPerRunner = 12
	anchorGoroutineSlack      = 40
)

// checkAnchor compares the anchor node, idle after the run, with itself
// at the start: goroutines must not have grown with its history.
func (r *chaosRun) checkAnchor() {
	n := r.anchorNode()
	if n == nil || n.client.Err() != nil {
		r.logf("anchor node lost during the run: its goroutine growth is not measured")
		return
	}
	// The goroutines of runners and sessions that ended go within moments.
	var st exo.NodeStatus
	var err error
	var bound, live int
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err = n.client.NodeStatus(ctx)
		cancel()
		if err != nil {
			r.logf("anchor node status: %v", err)
			return
		}
		ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
		live, err = r.liveRunners(ctx, n)
		cancel()
		if err != nil {
			r.logf("anchor node runners: %v", err)
			return
		}
		bound = r.anchorBase.Goroutines + anchorGoroutineSlack + anchorGoroutinesPerRunner*max(0, live-r.anchorLive)
		if st.Goroutines <= bound || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond) // polling the node's count: no event says "its goroutines ended"
	}
	r.logf("anchor node %s after the run: %d goroutines (at the start %d; bound %d), heap %.1f MiB, %d live runners (%d ever), up %s",
		n.name, st.Goroutines, r.anchorBase.Goroutines, bound, float64(st.HeapBytes)/(1<<20), live, st.Runners, st.Uptime.Round(time.Second))
	if st.Goroutines > bound {
		r.violate(0, "no goroutine left", "anchor node %s has %d goroutines after the run, %d at the start (%d live runners then, %d now): bound %d",
			n.name, st.Goroutines, r.anchorBase.Goroutines, r.anchorLive, live, bound)
	}
}
