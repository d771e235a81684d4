package actors

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

// shutdownRun is the progress of a node's shutdown, run in one go (Shutdown)
// or one phase at a time (ShutdownPhase). Only the holder of Node.shutSem
// touches it. Its progress is a state value: next is the phase to run next
// (SIGNALING → DRAINING → CLOSING → numPhases, never backwards); finished
// turns true once, after CLOSING, when the tree has stopped.
type shutdownRun struct {
	rep      ShutdownReport
	errs     []error
	next     Phase
	t        time.Time // the clock reading that ended the last phase
	finished bool
	// goOn is armed after a stepped phase other than CLOSING: when no next
	// phase is asked for in time, the node goes on with the rest alone.
	goOn clock.Timer
	// goOnSeq numbers the arming of goOn; stopping it bumps the number, so
	// a callback that fired but waited for shutSem meanwhile finds it
	// stale and does nothing (it must not run CLOSING right after a
	// coordinator's DRAINING).
	goOnSeq uint64
}

// ShutdownPhase runs one phase of the node's shutdown, for a coordinator
// that runs the phases of several nodes in step (a cluster-wide shutdown:
// every node finishes SIGNALING before DRAINING starts anywhere). Phases
// run in order, each once: asking for a phase that already ran returns the
// report as it is; asking for a later one first runs those in between.
// deadline bounds the phase (zero: the node's ShutdownDeadlines). The first
// call stops the node taking new work, as Shutdown does.
//
// After a phase other than CLOSING, goOnAfter (when positive) arms a timer:
// if no later phase is asked for by then (the coordinator died or was cut
// off), the node goes on with the remaining phases alone, each with this
// call's deadline, so it never waits for ever. Shutdown during a stepped shutdown
// also runs the phases left.
//
// It returns the node's report so far (a copy; PhaseDuration and the
// phases of each actor filled up to this phase, Total the time since the
// shutdown began), with the errors of the phases this call ran (and of
// the shutdown's end, for the call that ran CLOSING); an earlier call's
// are not returned again. The whole shutdown's error is what Shutdown
// returns once it is over. After CLOSING the report is the final one and
// Done is closed.
func (n *Node) ShutdownPhase(ctx context.Context, ph Phase, deadline, goOnAfter time.Duration) (ShutdownReport, error) {
	if ph < PhaseSignaling || ph >= numPhases {
		return ShutdownReport{}, fmt.Errorf("shutdown phase %d: want SIGNALING (0), DRAINING (1) or CLOSING (2)", int(ph))
	}
	n.mu.Lock()
	n.beginShutdownLocked()
	n.mu.Unlock()
	return n.advanceIf(ctx, ph, deadline, goOnAfter, 0, true)
}

// advance runs the shutdown's phases up to and including last (deadline
// zero: the node's own per phase), then, after CLOSING, ends the shutdown.
// It returns a copy of the report so far.
func (n *Node) advance(ctx context.Context, last Phase, deadline, goOnAfter time.Duration) (ShutdownReport, error) {
	return n.advanceIf(ctx, last, deadline, goOnAfter, 0, false)
}

// advanceIf is advance for the go-on timer armed as number goOnSeq (0:
// unconditional): a stale timer's call returns without running a phase.
// With own (ShutdownPhase) its error is that of the phases this call ran
// (and of the shutdown's end, when it ran CLOSING); else (Shutdown) the
// whole shutdown's.
func (n *Node) advanceIf(ctx context.Context, last Phase, deadline, goOnAfter time.Duration, goOnSeq uint64, own bool) (ShutdownReport, error) {
	select {
	case <-n.done:
		return n.report, n.shutErr
	default:
	}
	select {
	case n.shutSem <- struct{}{}:
	default:
		// Another call runs the shutdown: wait for it, or for ctx (a call
		// with a ctx that has ended takes a free shutSem above first: its
		// shutdown runs, at once, instead of not at all).
		select {
		case n.shutSem <- struct{}{}:
		case <-n.done:
			return n.report, n.shutErr
		case <-ctx.Done():
			return ShutdownReport{}, ctx.Err()
		}
	}
	defer func() { <-n.shutSem }()
	sr := n.shut
	if sr == nil {
		start := n.cfg.runnerClock.Now()
		sr = &shutdownRun{rep: ShutdownReport{Start: start, Root: &ActorReport{Name: "node"}}, t: start}
		n.shut = sr
	}
	if sr.finished {
		return n.report, n.shutErr
	}
	first := len(sr.errs) // this call's errors follow (own)
	errsOf := func() error {
		if own {
			return OneLine(sr.errs[first:]...)
		}
		return OneLine(sr.errs...)
	}
	if goOnSeq != 0 && goOnSeq != sr.goOnSeq {
		return sr.rep.clone(), nil // a coordinator asked for a phase after this timer fired: it leads
	}
	if sr.next > PhaseSignaling && sr.next < numPhases {
		// A stepped shutdown waited for this call: the wait belongs to no
		// phase (it is in Total), and this phase's deadline runs from now.
		sr.t = n.cfg.runnerClock.Now()
	}
	if sr.goOn != nil {
		sr.goOn.Stop()
		sr.goOn = nil
		sr.goOnSeq++ // if it fired already, its call waits for shutSem and then finds itself stale
	}
	cut := false // this call's ctx ended before its phases did: said once, in sr.errs
	for ; sr.next <= last; sr.next++ {
		if err := ctx.Err(); err != nil && !cut {
			cut = true
			n.recordCut(sr, fmt.Errorf("%w: the context given to the shutdown ended before %s, so the phases it had left ran with a zero deadline; %s",
				err, sr.next, n.ctxAdvice(sr.next, last, deadline)))
		}
		d := n.fitPhase(ctx, sr.next, last, deadline)
		sr.rep.PhaseDeadline[sr.next], sr.rep.PhaseCoordinated[sr.next] = d, deadline > 0
		n.runPhase(ctx, sr, sr.next, last, deadline, d, &cut)
	}
	if sr.next < numPhases {
		if goOnAfter > 0 {
			next := sr.next
			sr.goOnSeq++
			seq := sr.goOnSeq
			sr.goOn = n.cfg.runnerClock.AfterFunc(goOnAfter, func() {
				n.cfg.logger.WithField("phase", next.String()).WithField("waited", goOnAfter.String()).
					Warn("stepped shutdown: no coordinator asked for the next phase in time; going on alone")
				// The phases left, each with the deadline the coordinator
				// gave the last one; it ends when the node has stopped
				// (Done reports it).
				_, _ = n.advanceIf(context.Background(), PhaseClosing, deadline, 0, seq, false)
			})
		}
		partial := sr.rep.clone()
		partial.Total = n.cfg.runnerClock.Now().Sub(partial.Start) // so far
		return partial, errsOf()
	}
	n.finishShutdown(sr)
	return n.report, errsOf()
}

// phaseMargin is what fitPhase keeps, per phase, between a phase's deadline
// and its answer: the stages of the tree answer up to 2 × phaseSlack each
// past the deadline.
const phaseMargin = 4 * phaseSlack

// finishMargin is what fitPhase keeps for the end of the shutdown
// (finishShutdown: the tree, the spawner and the system stop).
const finishMargin = 250 * time.Millisecond

// fitPhase returns the deadline phase ph runs with: given (a coordinator's)
// or the node's own, fitted into ctx's deadline. A caller's ctx bounds how
// long it waits for the shutdown; when the phases left (ph to last) would
// not end within it, each gets a share of the time left in proportion to
// its own deadline, less phaseMargin each (and finishMargin when the call
// ends the shutdown). The share is
// taken again at each phase's start, so time a phase did not use goes to
// the ones after it. A ctx that has ended already leaves every phase a
// zero deadline: what has not ended at once is force-cleaned (runners
// SIGKILLed in CLOSING), so that the shutdown still ends, with a report.
// Before, a phase whose ctx ended was abandoned half-way, the phases after
// it failed at once ("CLOSING: context deadline exceeded"), and the tree
// stopped under the runners: SIGKILL with no Shutdown frame, no report of
// DRAINING or CLOSING, tasks Failed "runner actor stopped" (a new user's
// 30 s context, trial of the tenth session).
func (n *Node) fitPhase(ctx context.Context, ph, last Phase, given time.Duration) time.Duration {
	of := func(p Phase) time.Duration {
		if given > 0 {
			return given
		}
		return n.deadlines.of(p)
	}
	d := of(ph)
	if ctx.Err() != nil {
		return 0
	}
	end, ok := ctx.Deadline()
	if !ok {
		return d
	}
	var sum time.Duration
	for p := ph; p <= last; p++ {
		sum += of(p)
	}
	left := time.Until(end) - time.Duration(last-ph+1)*phaseMargin
	if last == PhaseClosing {
		left -= finishMargin // a stepped call for an earlier phase ends no shutdown
	}
	if sum <= left {
		return d
	}
	if left <= 0 || sum <= 0 {
		return 0
	}
	return time.Duration(float64(left) * float64(d) / float64(sum))
}

// phaseAnswerMargin is how long, past the phase deadline and the tree's
// slack, Shutdown waits for the node root's phase report before it gives
// up on it. The root answers by its own timers, so this only bounds a root
// that cannot answer; it was 1 s, and a node starved of CPU for 2 s (load
// average 11 on 2 cores: TestCoreSemanticsStress saw its watchdog run 2 s
// late) answered after it: Shutdown returned "DRAINING: context deadline
// exceeded" and lost that phase's report although nothing had failed.
const phaseAnswerMargin = 10 * time.Second

// runPhase runs one phase down the tree and merges its report. last and
// given are the call's (advanceIf), for the advice of a ctx that ends
// during the phase; *cut says whether it ended before (no watch then).
func (n *Node) runPhase(ctx context.Context, sr *shutdownRun, ph, last Phase, given, d time.Duration, cut *bool) {
	clk := n.cfg.runnerClock
	deadline := sr.t.Add(d)
	// The root answers a little after the deadline even if children do not
	// (its stages' timers: deadline + 2×phaseSlack each); this bound is
	// only for a root that cannot answer at all.
	// Not ctx: a phase is never abandoned half-way (the tree would stop
	// under it). When ctx ends while the phase runs, its caller will wait
	// no longer: cutShortOnDone kills every runner's process group, so
	// that the runners' part of the phase ends at once (a resource's close
	// still ends by its CloseTimeout), and the phases after it run with a
	// zero deadline (fitPhase).
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d+4*phaseSlack+phaseAnswerMargin)
	stop := n.cutShortOnDone(ctx, sr, ph, last, given, cut)
	var res any
	var err error
	if n.unansweredPhases.Load() {
		err = fmt.Errorf("no answer from the node's root (AbandonPhasesForTest)")
	} else {
		res, err = n.request(pctx, n.root, &phaseRequest{phase: ph, deadline: deadline, id: uint64(ph) + 1}) // one shutdown per node: the phase names the request
	}
	stop()
	cancel()
	end := clk.Now() // one reading ends this phase and starts the next
	sr.rep.PhaseStart[ph], sr.rep.PhaseDuration[ph] = sr.t, end.Sub(sr.t)
	sr.t = end
	if err != nil {
		sr.errs = append(sr.errs, fmt.Errorf("%s: %w", ph, err))
		sr.rep.Errors = append(sr.rep.Errors, fmt.Sprintf("%s: %v", ph, err))
		return
	}
	sr.rep.Root.merge(res.(*PhaseReport))
}

// cutShortOnDone watches ctx while phase ph runs: when it ends first, it
// sends every runner's process group SIGKILL (killShutdownContext), so
// that the runners' part of the phase ends at once, and records why in
// the report's errors and the shutdown's error (which wraps ctx's). What
// else the phase waits for still ends by its own bound: a resource's
// Close by its CloseTimeout, an actor by the phase's deadline. stop ends
// the watch and waits for it; call it once the phase answered. A ctx that
// cannot end, or has ended already (*cut), starts nothing.
func (n *Node) cutShortOnDone(ctx context.Context, sr *shutdownRun, ph, last Phase, given time.Duration, cut *bool) (stop func()) {
	if ctx.Done() == nil || *cut {
		return func() {}
	}
	quit := make(chan struct{}) // sole sender: stop, once
	var killed = -1             // runners signalled (-1: the kill got no answer); written by the watcher, read after wg.Wait
	var ended error             // ctx's error when it ended during the phase; likewise
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-quit:
			return
		case <-ctx.Done():
		}
		ended = ctx.Err()
		n.cfg.logger.WithField("phase", ph.String()).Warn("shutdown: the caller's context ended during the phase: SIGKILL to every runner's process group, so that the runners' part of the phase ends now; the phases left run with a zero deadline")
		// Bounded: the supervisor answers at once; a wedged one is
		// force-cleaned by the phase's own deadline anyway.
		if res, err := n.system.Root.RequestFuture(n.supervisor, &forceKillAll{cause: killShutdownContext}, time.Second).Result(); err == nil {
			killed, _ = res.(int)
		}
	}()
	return func() {
		close(quit) // sole sender: this stop, called once by runPhase
		wg.Wait()
		if ended == nil {
			return
		}
		*cut = true
		what := fmt.Sprintf("SIGKILL went to every runner's process group (%d runners)", killed)
		switch killed {
		case 1:
			what = "SIGKILL went to the runner's process group"
		case -1:
			what = "the SIGKILL of the runners' process groups got no answer from the runner supervisor"
		case 0:
			what = "no runner was left to kill"
		}
		n.recordCut(sr, fmt.Errorf("%w: the context given to the shutdown ended during %s: %s, and the phases it had left ran with a zero deadline; %s",
			ended, ph, what, n.ctxAdvice(ph, last, given)))
	}
}

// recordCut adds the error of a ctx that ended before the phases did to
// the shutdown's errors and its report.
func (n *Node) recordCut(sr *shutdownRun, err error) {
	sr.errs = append(sr.errs, err)
	sr.rep.Errors = append(sr.rep.Errors, err.Error())
}

// ctxAdvice says what a caller whose ctx ended before the phases ph..last
// should give instead: their deadlines, added up with their margins.
func (n *Node) ctxAdvice(ph, last Phase, given time.Duration) string {
	var parts []string
	var sum time.Duration
	for p := ph; p <= last; p++ {
		d := given
		if d <= 0 {
			d = n.deadlines.of(p)
		}
		sum += d + phaseMargin
		parts = append(parts, fmt.Sprintf("%s %s", p, d))
	}
	src := "the node's shutdown deadlines"
	if given > 0 {
		src = "the coordinator's phase deadline"
	}
	return fmt.Sprintf("to let those phases run to their deadlines (%s: %s), give it a context of at least %s, or context.Background()",
		src, strings.Join(parts, ", "), (sum + finishMargin).Round(100*time.Millisecond))
}

// finishShutdown ends the shutdown once every phase ran: the report's
// totals, then the tree, the spawner and the system stop, and Done closes.
func (n *Node) finishShutdown(sr *shutdownRun) {
	rep := sr.rep
	rep.Total = n.cfg.runnerClock.Now().Sub(rep.Start) // its own reading, not a sum
	rep.Root.forced("", &rep.Forced)
	n.cfg.metrics.observeShutdown(rep)

	// A close that ignored its timeout still runs user code: give it a moment,
	// then say so (it is not waited for forever).
	wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Second)
	if err := n.cfg.resources.Wait(wctx); err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("resource closes still running after CLOSING: %v", err))
	}
	wcancel()
	// Every actor has answered CLOSING: keep the runners' final state, then
	// stop the tree, the spawner and the system.
	n.keepFinalRunners()
	if err := n.system.Root.StopFuture(n.root).Wait(); err != nil {
		sr.errs = append(sr.errs, fmt.Errorf("stop node root: %w", err))
	}
	n.failPending()
	n.cfg.spawner.Close()
	n.system.Shutdown()
	n.cfg.hook.close() // after the tree stopped: no actor emits any more
	n.cfg.pool.close() // after the tree stopped: no runner or stream actor runs
	sr.finished = true
	n.report, n.shutErr = rep, OneLine(sr.errs...)
	n.mu.Lock()
	n.state = nodeStopped
	n.mu.Unlock()
	close(n.done) // sole sender: finishShutdown, run once (sr.finished) by the holder of shutSem
}

// clone copies the report deeply enough that a later phase merging into
// the original does not touch the copy (PhaseReports are not changed once
// merged, so they are shared).
func (s ShutdownReport) clone() ShutdownReport {
	out := s
	out.Root = s.Root.clone()
	out.Forced = append([]string(nil), s.Forced...)
	out.Errors = append([]string(nil), s.Errors...)
	return out
}

func (r *ActorReport) clone() *ActorReport {
	if r == nil {
		return nil
	}
	out := &ActorReport{Name: r.Name, Phases: r.Phases}
	for _, c := range r.Children {
		out.Children = append(out.Children, c.clone())
	}
	return out
}
