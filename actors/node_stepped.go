package actors

import (
	"context"
	"fmt"
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
// shutdown began). After CLOSING the report is the final one and Done is
// closed.
func (n *Node) ShutdownPhase(ctx context.Context, ph Phase, deadline, goOnAfter time.Duration) (ShutdownReport, error) {
	if ph < PhaseSignaling || ph >= numPhases {
		return ShutdownReport{}, fmt.Errorf("shutdown phase %d: want SIGNALING (0), DRAINING (1) or CLOSING (2)", int(ph))
	}
	n.mu.Lock()
	n.beginShutdownLocked()
	n.mu.Unlock()
	return n.advance(ctx, ph, deadline, goOnAfter)
}

// advance runs the shutdown's phases up to and including last (deadline
// zero: the node's own per phase), then, after CLOSING, ends the shutdown.
// It returns a copy of the report so far.
func (n *Node) advance(ctx context.Context, last Phase, deadline, goOnAfter time.Duration) (ShutdownReport, error) {
	return n.advanceIf(ctx, last, deadline, goOnAfter, 0)
}

// advanceIf is advance for the go-on timer armed as number goOnSeq (0:
// unconditional): a stale timer's call returns without running a phase.
func (n *Node) advanceIf(ctx context.Context, last Phase, deadline, goOnAfter time.Duration, goOnSeq uint64) (ShutdownReport, error) {
	select {
	case <-n.done:
		return n.report, n.shutErr
	default:
	}
	select {
	case n.shutSem <- struct{}{}:
	case <-n.done:
		return n.report, n.shutErr
	case <-ctx.Done():
		return ShutdownReport{}, ctx.Err()
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
	for ; sr.next <= last; sr.next++ {
		d := deadline
		if d <= 0 {
			d = n.deadlines.of(sr.next)
		}
		sr.rep.PhaseDeadline[sr.next], sr.rep.PhaseCoordinated[sr.next] = d, deadline > 0
		n.runPhase(ctx, sr, sr.next, d)
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
				_, _ = n.advanceIf(context.Background(), PhaseClosing, deadline, 0, seq)
			})
		}
		partial := sr.rep.clone()
		partial.Total = n.cfg.runnerClock.Now().Sub(partial.Start) // so far
		return partial, OneLine(sr.errs...)
	}
	n.finishShutdown(ctx, sr)
	return n.report, n.shutErr
}

// phaseAnswerMargin is how long, past the phase deadline and the tree's
// slack, Shutdown waits for the node root's phase report before it gives
// up on it. The root answers by its own timers, so this only bounds a root
// that cannot answer; it was 1 s, and a node starved of CPU for 2 s (load
// average 11 on 2 cores: TestCoreSemanticsStress saw its watchdog run 2 s
// late) answered after it: Shutdown returned "DRAINING: context deadline
// exceeded" and lost that phase's report although nothing had failed.
const phaseAnswerMargin = 10 * time.Second

// runPhase runs one phase down the tree and merges its report.
func (n *Node) runPhase(ctx context.Context, sr *shutdownRun, ph Phase, d time.Duration) {
	clk := n.cfg.runnerClock
	deadline := sr.t.Add(d)
	// The root answers a little after the deadline even if children do not
	// (its stages' timers: deadline + 2×phaseSlack each); this bound is
	// only for a root that cannot answer at all.
	pctx, cancel := context.WithTimeout(ctx, d+4*phaseSlack+phaseAnswerMargin)
	res, err := n.request(pctx, n.root, &phaseRequest{phase: ph, deadline: deadline, id: uint64(ph) + 1}) // one shutdown per node: the phase names the request
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

// finishShutdown ends the shutdown once every phase ran: the report's
// totals, then the tree, the spawner and the system stop, and Done closes.
func (n *Node) finishShutdown(ctx context.Context, sr *shutdownRun) {
	rep := sr.rep
	errs := sr.errs
	rep.Total = n.cfg.runnerClock.Now().Sub(rep.Start) // its own reading, not a sum
	rep.Root.forced("", &rep.Forced)
	n.cfg.metrics.observeShutdown(rep)

	// A close that ignored its timeout still runs user code: give it a moment,
	// then say so (it is not waited for forever).
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
	if err := n.cfg.resources.Wait(wctx); err != nil {
		rep.Errors = append(rep.Errors, fmt.Sprintf("resource closes still running after CLOSING: %v", err))
	}
	wcancel()
	// Every actor has answered CLOSING: keep the runners' final state, then
	// stop the tree, the spawner and the system.
	n.keepFinalRunners()
	if err := n.system.Root.StopFuture(n.root).Wait(); err != nil {
		errs = append(errs, fmt.Errorf("stop node root: %w", err))
	}
	n.failPending()
	n.cfg.spawner.Close()
	n.system.Shutdown()
	n.cfg.hook.close() // after the tree stopped: no actor emits any more
	n.cfg.pool.close() // after the tree stopped: no runner or stream actor runs
	sr.finished = true
	n.report, n.shutErr = rep, OneLine(errs...)
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
