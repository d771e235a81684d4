package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// localSystem runs one in-process System through the step's scenario: the
// faults that live in the host process (resources, hooks) and Shutdown at
// the moments the issue names (during startup, during restart backoff,
// during another shutdown). Its runner processes carry the run's marker,
// so the orphan scan sees them; its log goes to a file the panic scan reads.
// chaosLocalWhat says what each in-process step does, for its FAULT line
// (docs/reliability.md, "What runs").
var chaosLocalWhat = map[string]string{
	stepResCloseFail: "a resource whose Close fails and one depending on it, a runner, tasks, then Shutdown",
	stepResCloseHang: "a resource whose Close ignores its 150ms deadline, a runner, tasks, then Shutdown",
	stepHookSlow:     "a host hook that sleeps on every event, a runner, tasks, then Shutdown",
	stepShutStartup:  "Shutdown right after SpawnRunner, a task queued before Ready",
	stepShutBackoff:  "SIGKILL of its runner, then StopRunner and Shutdown during the restart backoff",
	stepShutTwice:    "three concurrent Shutdowns at random moments",
	stepShutDeadline: "two 2,000-token tasks, then Shutdown with a short context",
}

func (r *chaosRun) localSystem(st chaosStep, rng *rand.Rand) {
	r.mu.Lock()
	r.localSystems++
	idx := r.localSystems
	r.mu.Unlock()
	logf, err := os.Create(filepath.Join(r.d.dir, fmt.Sprintf("local-%d.log", idx)))
	if err != nil {
		r.violate(st.n, "in-process system", "log file: %v", err)
		return
	}
	defer logf.Close()
	lg := logrus.New()
	lg.SetOutput(logf)
	lg.SetLevel(logrus.WarnLevel)
	cfg := exo.Config{Logger: lg, Env: append(os.Environ(), demoMarkerKey+"="+r.d.marker),
		DeadLetterThrottle: 50 * time.Millisecond,
		Timeouts:           exo.RunnerTimeouts{StopGrace: 300 * time.Millisecond, TermWait: 300 * time.Millisecond},
		Shutdown:           exo.ShutdownDeadlines{Signaling: time.Second, Draining: 3 * time.Second, Closing: 5 * time.Second},
		ErrorPolicy:        exo.ErrorPolicy{Backoff: exo.BackoffConfig{Base: 400 * time.Millisecond, Max: 2 * time.Second}},
	}
	if st.kind == stepHookSlow {
		delay := time.Duration(5+rng.Intn(40)) * time.Millisecond
		cfg.HookSlow = 2 * time.Millisecond
		if rng.Intn(2) == 0 {
			cfg.HookQueue = 8 // async: a full queue drops for the hook, counted
		}
		cfg.Hook = func(exo.Event) { time.Sleep(delay) }
	}
	sys, err := exo.New(cfg)
	if err != nil {
		r.violate(st.n, "in-process system", "New: %v", err)
		return
	}
	shutdown := func(what string) (exo.ShutdownReport, error) {
		var rep exo.ShutdownReport
		err := r.boundedCall(st.n, what, 40*time.Second, func(ctx context.Context) error {
			var err error
			rep, err = sys.Shutdown(ctx)
			return err
		})
		return rep, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Resources: the close-fail scenario has one that fails and one that
	// depends on it; close-hang one whose Close ignores its deadline.
	closed := make(chan string, 4)
	var lingering sync.WaitGroup
	defer lingering.Wait()
	switch st.kind {
	case stepResCloseFail:
		err = sys.RegisterResources(ctx,
			exo.ResourceSpec{Name: "db", Kind: "chaos", Close: func(context.Context) error {
				closed <- "db"
				return errors.New("chaos: close failed")
			}},
			exo.ResourceSpec{Name: "cache", Kind: "chaos", DependsOn: []string{"db"}, Close: func(context.Context) error {
				closed <- "cache"
				return nil
			}})
	case stepResCloseHang:
		hang := time.Duration(100+rng.Intn(400)) * time.Millisecond
		lingering.Add(1)
		err = sys.RegisterResources(ctx, exo.ResourceSpec{Name: "socket", Kind: "chaos", CloseTimeout: 150 * time.Millisecond,
			Close: func(ctx context.Context) error {
				defer lingering.Done()
				<-ctx.Done()
				time.Sleep(hang) // past its deadline: it lingers, then finishes late
				closed <- "socket"
				return ctx.Err()
			}})
	}
	if err != nil {
		r.violate(st.n, "in-process system", "RegisterResources: %v", err)
	}
	sub, err := sys.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: 4096})
	if err != nil {
		r.violate(st.n, "in-process system", "Subscribe: %v", err)
	}
	subDone := make(chan struct{})
	go func() { // owned by localSystem: waited below
		defer close(subDone) // sole sender: this goroutine
		if sub != nil {
			r.follow(st, fmt.Sprintf("local-%d/tasks", idx), sub, time.Minute, 0)
		}
	}()
	r.fault(st, "in-process system local-%d (%s)", idx, chaosLocalWhat[st.kind])
	id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama", Builtin: true,
		Args: []string{"--layers", "3", "--layer-delay", "30ms", "--token-delay", "5ms"}})
	if err != nil {
		r.violate(st.n, "in-process system", "SpawnRunner: %v", err)
	}
	var handles []*exo.TaskHandle
	submit := func(n int) {
		for i := 0; i < n && id != ""; i++ {
			h, err := sys.Submit(ctx, id, exo.Task{ID: fmt.Sprintf("l%06d-%d", st.n, len(handles)), Kind: "text_generation",
				Params: map[string]string{"max_tokens": fmt.Sprint(5 + rng.Intn(30))}})
			if err == nil {
				handles = append(handles, h)
			}
		}
	}
	var rep exo.ShutdownReport
	switch st.kind {
	case stepShutStartup:
		submit(1) // before Ready: it queues, and the shutdown must end it
		time.Sleep(time.Duration(rng.Intn(150)) * time.Millisecond)
		rep, _ = shutdown("Shutdown during startup")
	case stepShutBackoff:
		if err := sys.WaitReady(ctx, id); err == nil {
			submit(1)
			pid := localPid(ctx, sys, id)
			if pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				waitRestarting(ctx, sys, id, pid)
			}
		}
		time.Sleep(time.Duration(rng.Intn(100)) * time.Millisecond)
		if rng.Intn(2) == 0 && id != "" {
			// StopRunner during the backoff: it must return, and the
			// runner must not come back.
			_ = r.boundedCall(st.n, "StopRunner during restart backoff", 20*time.Second, func(ctx context.Context) error {
				_, err := sys.StopRunner(ctx, id)
				if errors.Is(err, exo.ErrUnknownRunner) {
					return nil
				}
				return err
			})
		}
		rep, _ = shutdown("Shutdown during restart backoff")
		// The runner must not come back after the shutdown.
		if infos, err := sys.Runners(context.Background()); err == nil {
			for _, in := range infos {
				if in.Pid > 0 && processAlive(in.Pid) {
					r.violate(st.n, "no child process left", "runner %s has live pid %d after a shutdown in backoff", in.ID, in.Pid)
				}
			}
		}
	case stepShutTwice:
		if rng.Intn(2) == 0 {
			_ = sys.WaitReady(ctx, id)
		}
		submit(2)
		time.Sleep(time.Duration(rng.Intn(200)) * time.Millisecond)
		var wg sync.WaitGroup
		reps := make([]exo.ShutdownReport, 3)
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() { // owned by this step: waited just below
				defer wg.Done()
				if i > 0 {
					time.Sleep(time.Duration(i*rng.Intn(50)) * time.Millisecond)
				}
				reps[i], _ = shutdown(fmt.Sprintf("Shutdown #%d during another", i+1))
			}()
		}
		wg.Wait()
		rep = reps[0]
		for i := 1; i < 3; i++ {
			if reps[i].Total != reps[0].Total || !reps[i].Start.Equal(reps[0].Start) {
				r.violate(st.n, "Shutdown twice returns the same report", "report %d: total %s start %s, report 1: total %s start %s",
					i+1, reps[i].Total, reps[i].Start, reps[0].Total, reps[0].Start)
			}
		}
	case stepShutDeadline:
		// A host whose context is shorter than the phases' deadlines (1 +
		// 3 + 5 s here), or that cancels it mid-shutdown: the phases are
		// fitted into it, or cut short when it ends (SIGKILL to the
		// runners, the phases left at once); every task still ends once,
		// the report has every phase, no process is left.
		if err := sys.WaitReady(ctx, id); err == nil {
			for i := 0; i < 2; i++ { // long enough that DRAINING waits for them
				h, err := sys.Submit(ctx, id, exo.Task{ID: fmt.Sprintf("l%06d-%d", st.n, len(handles)), Kind: "text_generation",
					Params: map[string]string{"max_tokens": "2000"}})
				if err == nil {
					handles = append(handles, h)
				}
			}
		}
		time.Sleep(time.Duration(rng.Intn(200)) * time.Millisecond)
		budget := time.Duration(200+rng.Intn(2800)) * time.Millisecond
		cancelAt := time.Duration(0)
		if rng.Intn(3) == 0 {
			cancelAt = budget / 2 // cancelled mid-shutdown, before its deadline
		}
		_ = r.boundedCall(st.n, fmt.Sprintf("Shutdown with a %s context (cancelled at %s)", budget, cancelAt), 40*time.Second, func(bctx context.Context) error {
			sctx, scancel := context.WithTimeout(bctx, budget)
			defer scancel()
			if cancelAt > 0 {
				t := time.AfterFunc(cancelAt, scancel)
				defer t.Stop()
			}
			var err error
			rep, err = sys.Shutdown(sctx)
			if err != nil && sctx.Err() != nil && bctx.Err() == nil {
				return nil // the short context's own end, said in the error: a cut, not a hang
			}
			return err
		})
		for ph := exo.PhaseSignaling; ph <= exo.PhaseClosing; ph++ {
			if rep.Root == nil || rep.Root.Phases[ph] == nil {
				r.violate(st.n, "Shutdown returns its report", "Shutdown with a %s context (cancelled at %s): the report has no %s:\n%s", budget, cancelAt, ph, rep)
				break
			}
		}
	default: // resources and hooks: work, one crash and its recovery, then shutdown
		err := sys.WaitReady(ctx, id)
		if err != nil && id != "" {
			// A runner that never serves makes every scenario here a crash
			// loop, which no other check flags (a wrong spec did exactly
			// that for the first soak: docs/reliability.md).
			r.violate(st.n, "in-process system", "runner %s never Ready: %v", id, err)
		}
		if err == nil {
			submit(3)
			if pid := localPid(ctx, sys, id); pid > 0 && rng.Intn(2) == 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				waitRestarting(ctx, sys, id, pid)
				if err := sys.WaitReady(ctx, id); err == nil {
					r.checkRecordsResolved(st, sys, id)
				}
				submit(2)
			}
		}
		time.Sleep(time.Duration(rng.Intn(300)) * time.Millisecond)
		rep, _ = shutdown("Shutdown with " + st.kind)
	}
	for _, h := range handles {
		wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		oc, err := h.Wait(wctx)
		cancel()
		r.mu.Lock()
		r.localTasks++
		r.mu.Unlock()
		if err != nil || !oc.Status.Terminal() {
			r.mu.Lock()
			r.rep.TasksWithoutTerminalStatus++
			r.mu.Unlock()
			r.violate(st.n, "exactly one terminal status", "local task %s: no outcome after the shutdown: %v", h.ID, err)
		}
	}
	select {
	case <-subDone:
	case <-time.After(10 * time.Second):
		r.violate(st.n, "EndOfStream last", "local-%d: the tasks subscription did not end within 10s of the shutdown", idx)
		sub.Close()
		<-subDone
	}
	if sub != nil {
		sub.Close()
	}
	r.checkLocalAfter(st, sys, rep, closed)
	select {
	case <-sys.Done():
	case <-time.After(10 * time.Second):
		r.violate(st.n, "every call returns", "local-%d: Done not closed 10s after Shutdown returned", idx)
	}
}

// localPid returns the pid of the runner's current process (0: none).
func localPid(ctx context.Context, sys *exo.System, id string) int {
	infos, err := sys.Runners(ctx)
	if err != nil {
		return 0
	}
	for _, in := range infos {
		if in.ID == id {
			return in.Pid
		}
	}
	return 0
}

// waitRestarting waits (briefly) until the runner no longer shows pid: the
// supervisor saw the death and is in its restart backoff.
func waitRestarting(ctx context.Context, sys *exo.System, id string, pid int) {
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if p := localPid(ctx, sys, id); p != pid {
			return
		}
		time.Sleep(10 * time.Millisecond) // polling Runners: the driver has no event for "the supervisor saw the exit"
	}
}

// checkRecordsResolved: a runner that is Ready again after a crash has
// every earlier error record resolved (or escalated or skipped).
func (r *chaosRun) checkRecordsResolved(st chaosStep, sys *exo.System, id string) {
	// The resolution is recorded when Ready is seen; give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for {
		var open []string
		for _, rec := range sys.ErrorRecords() {
			if rec.RunnerID == id && rec.Resolution == exo.Unresolved {
				open = append(open, fmt.Sprintf("#%d %s (%s)", rec.ID, rec.Kind, rec.Decision))
			}
		}
		if len(open) == 0 {
			return
		}
		if time.Now().After(deadline) {
			r.violate(st.n, "error records resolved or escalated", "runner %s Ready again but records %v unresolved", id, open)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkLocalAfter checks an in-process system after its shutdown: stream
// accounting, resources closed or reported, error records, hooks counted.
func (r *chaosRun) checkLocalAfter(st chaosStep, sys *exo.System, rep exo.ShutdownReport, closed chan string) {
	for topic, ss := range sys.StreamStats() {
		if ss.Matched != ss.Delivered+ss.GapDropped+ss.Buffered+ss.Discarded {
			r.violate(st.n, "stream accounting", "stream %s: matched %d != delivered %d + gap-dropped %d + buffered %d + discarded %d",
				topic, ss.Matched, ss.Delivered, ss.GapDropped, ss.Buffered, ss.Discarded)
		}
		if ss.InFlight != 0 {
			r.violate(st.n, "stream accounting", "stream %s: %d events in flight after shutdown", topic, ss.InFlight)
		}
	}
	snap, err := sys.Resources(context.Background())
	if err == nil {
		want := 0
		switch st.kind {
		case stepResCloseFail:
			want = 2
			if snap.Node.CloseFailed < 1 {
				r.violate(st.n, "resources closed or reported", "a failing close was not reported: %+v", snap.Node)
			}
		case stepResCloseHang:
			want = 1
			if snap.Node.TimedOut < 1 {
				r.violate(st.n, "resources closed or reported", "a hanging close was not reported timed out: %+v", snap.Node)
			}
		}
		if got := snap.Node.Closed + snap.Node.CloseFailed; got != want {
			r.violate(st.n, "resources closed or reported", "%d resources closed or failed, want %d: %+v", got, want, snap.Node)
		}
	}
	for _, rec := range sys.ErrorRecords() {
		// Unresolved is allowed only for a restart the shutdown overtook
		// ("the runner was stopped before it came back").
		if rec.Resolution == exo.Unresolved && rec.Decision.Action != exo.ActionRetry && rec.Decision.Then != exo.ActionRetry {
			r.violate(st.n, "error records resolved or escalated", "record #%d %s (%s) unresolved after shutdown", rec.ID, rec.Kind, rec.Decision)
		}
	}
	if st.kind == stepHookSlow {
		if hs := sys.HookStats(); hs.Calls > 0 && hs.Slow == 0 && hs.Dropped == 0 {
			r.violate(st.n, "hook slowness counted", "a slow hook made %d calls, none counted slow", hs.Calls)
		}
	}
	_ = rep
}
