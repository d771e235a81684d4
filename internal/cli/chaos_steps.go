package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"syscall"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// inject carries out one step. Quick steps run inline; those that take
// seconds run asynchronously under their semaphore.
func (r *chaosRun) inject(ctx context.Context, st chaosStep, rng *rand.Rand) {
	switch st.kind {
	case stepRunnerKill, stepRunnerHang:
		r.signalRunner(ctx, st, rng)
	case stepRunnerExit, stepRunnerGarbage:
		param := "exit:3"
		if st.kind == stepRunnerGarbage {
			param = "garbage"
		}
		r.faultTask(ctx, st, rng, param)
	case stepIgnoreShutdown:
		// A runner that ignores Shutdown, then stopped: the stop must
		// escalate to SIGTERM/SIGKILL and still return.
		tg, ok := r.pickTarget(rng)
		if !ok {
			return
		}
		param := "ignore-shutdown:forever"
		if rng.Intn(2) == 0 {
			param = fmt.Sprintf("ignore-shutdown:%dms", 200+rng.Intn(1500))
		}
		if !r.submitFault(ctx, st, tg, param) {
			return
		}
		r.goAsync(ctx, r.loadOp, st.kind, 500*time.Millisecond, func() {
			time.Sleep(time.Duration(50+rng.Intn(200)) * time.Millisecond) // let the task arm the fault
			r.replaceRunner(ctx, st, tg)
		})
	case stepSlowLoading:
		r.slowLoading(ctx, st, rng)
	case stepSpawnRunner:
		n := r.fewestRunners()
		if n == nil {
			return
		}
		r.goAsync(ctx, r.loadOp, st.kind, 500*time.Millisecond, func() { r.spawnRunner(ctx, st, n, "llama", true, true) })
	case stepStopRunner:
		tg, ok := r.pickTarget(rng)
		if !ok || r.runnerCount(tg.n) <= 1 {
			return // keep one runner per node; a spawn step adds more
		}
		r.goAsync(ctx, r.loadOp, st.kind, 500*time.Millisecond, func() { _ = r.stopRunner(st, tg) })
	case stepCancelOne, stepCancelAll:
		r.cancel(ctx, st, rng)
	case stepSubLeave, stepSubReconnect, stepSubSlow:
		n := r.pickNode(rng)
		if n == nil {
			return
		}
		topic := []string{exo.TopicTasks, exo.TopicRunnerStatus, exo.TopicAlerts}[rng.Intn(3)]
		if st.kind != stepSubLeave {
			topic = exo.TopicTasks // the busy one
		}
		r.goAsync(ctx, r.subOp, st.kind, 500*time.Millisecond, func() {
			r.fault(st, "a subscriber of %s on %s", topic, n.name)
			r.subscriber(st, n, topic, rng)
		})
	case stepNodeKill, stepNetCut, stepNodeShutdown:
		r.goAsync(ctx, r.nodeOp, st.kind, 0, func() {
			switch st.kind {
			case stepNodeKill:
				r.nodeKill(ctx, st, rng)
			case stepNetCut:
				r.netCut(ctx, st, rng)
			default:
				r.nodeShutdown(ctx, st, rng)
			}
		})
	case stepResCloseFail, stepResCloseHang, stepHookSlow, stepShutStartup, stepShutBackoff, stepShutTwice, stepShutDeadline:
		r.goAsync(ctx, r.localOp, st.kind, time.Second, func() { r.localSystem(st, rng) })
	}
}

// pickTarget picks a runner of a serving node with the step's rng.
func (r *chaosRun) pickTarget(rng *rand.Rand) (target, bool) {
	ts := r.d.targets()
	if len(ts) == 0 {
		return target{}, false
	}
	return ts[rng.Intn(len(ts))], true
}

func (r *chaosRun) pickNode(rng *rand.Rand) *demoNode {
	ns := r.servingNodes()
	if len(ns) == 0 {
		return nil
	}
	return ns[rng.Intn(len(ns))]
}

func (r *chaosRun) runnerCount(n *demoNode) int {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	return len(n.runner)
}

// fewestRunners is the serving node with the fewest runners, if below the
// bound.
func (r *chaosRun) fewestRunners() *demoNode {
	var best *demoNode
	for _, n := range r.servingNodes() {
		r.prune(n)
		if c := r.runnerCount(n); c < chaosMaxRunners && (best == nil || c < r.runnerCount(best)) {
			best = n
		}
	}
	return best
}

// signalRunner SIGKILLs or SIGSTOPs the current process of a runner (the
// node's hang detector must find a stopped one and kill it).
func (r *chaosRun) signalRunner(ctx context.Context, st chaosStep, rng *rand.Rand) {
	ts := r.d.targets()
	if len(ts) == 0 {
		return
	}
	first := rng.Intn(len(ts))
	sig := syscall.SIGKILL
	if st.kind == stepRunnerHang {
		sig = syscall.SIGSTOP
	}
	for i := range ts {
		tg := ts[(first+i)%len(ts)]
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		pid := r.d.runnerPid(cctx, tg)
		cancel()
		if pid <= 0 || terminate(pid, sig) != nil {
			continue
		}
		what := "SIGKILL"
		if sig == syscall.SIGSTOP {
			what = "SIGSTOP (a hang: the node's hang detector must kill it)"
		}
		r.fault(st, "%s to runner %s on %s (pid %d)", what, tg.runner, tg.n.name, pid)
		// A third of the time the runner is then stopped at once: during
		// its restart backoff (SIGKILL) or while frozen (SIGSTOP: the stop
		// must escalate to SIGKILL), and a new one takes its place.
		if rng.Intn(3) == 0 && r.runnerCount(tg.n) > 1 {
			after := time.Duration(rng.Intn(300)) * time.Millisecond
			r.goAsync(ctx, r.loadOp, st.kind, 500*time.Millisecond, func() {
				time.Sleep(after)
				r.replaceRunner(ctx, st, tg)
			})
		}
		return
	}
}

// faultTask submits a task that makes a runner misbehave (built-in runner
// fault modes, internal/builtinrunner).
func (r *chaosRun) faultTask(ctx context.Context, st chaosStep, rng *rand.Rand, param string) {
	tg, ok := r.pickTarget(rng)
	if !ok {
		return
	}
	r.submitFault(ctx, st, tg, param)
}

func (r *chaosRun) submitFault(ctx context.Context, st chaosStep, tg target, param string) bool {
	id := fmt.Sprintf("f%06d-%s", st.n, st.kind)
	h, err := tg.n.client.Submit(ctx, tg.runner, exo.Task{ID: id, Kind: "text_generation", Retryable: true,
		Params: map[string]string{"max_tokens": "4", "fault": param}})
	if err != nil {
		return false // the runner or node is gone: the fault has no target
	}
	r.fault(st, "task %s with fault %s on runner %s on %s", id, param, tg.runner, tg.n.name)
	r.track(h, tg.n)
	return true
}

func (r *chaosRun) track(h *exo.TaskHandle, n *demoNode) {
	r.d.mu.Lock()
	r.d.tasks = append(r.d.tasks, &tracked{h: h, n: n})
	r.d.mu.Unlock()
}

// spawnRunner spawns a runner of kind on n; with keep it joins n's
// targets once spawned.
func (r *chaosRun) spawnRunner(ctx context.Context, st chaosStep, n *demoNode, kind string, count, keep bool) string {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	id, err := n.client.SpawnRunner(cctx, exo.RunnerSpec{Kind: kind})
	if err != nil {
		return ""
	}
	if count {
		r.fault(st, "runner %s (%s) spawned on %s", id, kind, n.name)
	}
	r.noteSpawned(n, id, st.kind)
	r.d.mu.Lock()
	if keep && n.state == nodeServing {
		n.runner = append(n.runner, id)
	}
	r.d.mu.Unlock()
	return id
}

// stopRunner takes a runner out of the targets and stops it; the call must
// return within its deadline.
// It reports whether the runner was still one of the node's targets (a
// replacement is due only then).
func (r *chaosRun) stopRunner(st chaosStep, tg target) bool {
	r.d.mu.Lock()
	was := false
	for i, id := range tg.n.runner {
		if id == tg.runner {
			tg.n.runner = append(tg.n.runner[:i:i], tg.n.runner[i+1:]...)
			was = true
			break
		}
	}
	r.d.mu.Unlock()
	if st.kind == stepStopRunner {
		r.fault(st, "stop of runner %s on %s", tg.runner, tg.n.name)
	}
	err := r.boundedCall(st.n, fmt.Sprintf("StopRunner(%s) on %s", tg.runner, tg.n.name), 45*time.Second, func(ctx context.Context) error {
		_, err := tg.n.client.StopRunner(ctx, tg.runner)
		return err
	})
	// A lost node or an already stopped runner is an answer too; a runner
	// whose stop returned must never be live again (checkStopped).
	if err == nil {
		r.noteStopped(tg.n, tg.runner, st.n)
		if was {
			r.noteLeft(tg.n, tg.runner, fmt.Sprintf("stopped by %s at step %d", st.kind, st.n))
		}
	} else if was {
		r.noteLeft(tg.n, tg.runner, fmt.Sprintf("StopRunner by %s at step %d failed: %v", st.kind, st.n, err))
	}
	return was
}

// slowLoading spawns a runner that loads slowly, submits a task before it is
// ready (it queues) and stops it half of the time while it still loads.
func (r *chaosRun) slowLoading(ctx context.Context, st chaosStep, rng *rand.Rand) {
	n := r.pickNode(rng)
	if n == nil {
		return
	}
	stopAfter := time.Duration(rng.Intn(2500)) * time.Millisecond
	stop := rng.Intn(2) == 0
	r.goAsync(ctx, r.loadOp, st.kind, 500*time.Millisecond, func() {
		id := r.spawnRunner(ctx, st, n, "slowload", false, false)
		if id == "" {
			return
		}
		stopWhen := "after 2s"
		if stop {
			stopWhen = fmt.Sprintf("%s after its spawn, while it loads", stopAfter)
		}
		r.fault(st, "slowload runner %s on %s with a task queued before Ready, stopped %s", id, n.name, stopWhen)
		if h, err := n.client.Submit(ctx, id, exo.Task{ID: fmt.Sprintf("s%06d", st.n), Kind: "text_generation",
			Params: map[string]string{"max_tokens": "5"}}); err == nil {
			r.track(h, n)
		}
		if stop {
			time.Sleep(stopAfter)
		} else {
			time.Sleep(2 * time.Second)
		}
		_ = r.stopRunner(st, target{n: n, runner: id})
	})
}

// cancel cancels one task (a long one submitted for it, after a random
// moment) or every task of a runner.
func (r *chaosRun) cancel(ctx context.Context, st chaosStep, rng *rand.Rand) {
	tg, ok := r.pickTarget(rng)
	if !ok {
		return
	}
	if st.kind == stepCancelAll {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := tg.n.client.Cancel(cctx, tg.runner, "")
		cancel()
		if err == nil {
			r.fault(st, "Cancel of every task of runner %s on %s", tg.runner, tg.n.name)
		}
		return
	}
	id := fmt.Sprintf("c%06d", st.n)
	h, err := tg.n.client.Submit(ctx, tg.runner, exo.Task{ID: id, Kind: "text_generation",
		Params: map[string]string{"max_tokens": "300"}})
	if err != nil {
		return
	}
	r.track(h, tg.n)
	after := time.Duration(rng.Intn(400)) * time.Millisecond
	r.fault(st, "task %s (300 tokens) on runner %s on %s, cancelled %s after its submit", id, tg.runner, tg.n.name, after)
	r.goAsync(ctx, r.cancelOp, st.kind, 500*time.Millisecond, func() {
		time.Sleep(after)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, _ = tg.n.client.Cancel(cctx, tg.runner, id) // a task that ended already gives ErrTaskNotFound
	})
}

// subscriber is a chaos subscriber: it checks every event (sequence numbers
// increase by one, gaps are explicit) and leaves, reconnects or reads
// slowly.
func (r *chaosRun) subscriber(st chaosStep, n *demoNode, topic string, rng *rand.Rand) {
	rounds := 1
	if st.kind == stepSubReconnect {
		rounds = 2 + rng.Intn(2)
	}
	for i := 0; i < rounds; i++ {
		o := exo.SubscribeOptions{Buffer: 256}
		slow := time.Duration(0)
		if st.kind == stepSubSlow {
			o = exo.SubscribeOptions{Buffer: 8, Window: 2}
			slow = time.Duration(20+rng.Intn(40)) * time.Millisecond
		}
		sub, err := n.client.Subscribe(topic, exo.Filter{}, o)
		if err != nil {
			return // node lost or cut
		}
		life := time.Duration(300+rng.Intn(2500)) * time.Millisecond
		r.follow(st, n.name+"/"+topic, sub, life, slow)
		sub.Close()
	}
}

// follow reads sub for life (or to its end), checking each event.
func (r *chaosRun) follow(st chaosStep, name string, sub *exo.Subscription, life, slow time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), life)
	defer cancel()
	var last uint64
	var delivered uint64
	defer func() {
		r.mu.Lock()
		r.subEvents += delivered
		r.mu.Unlock()
	}()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, exo.ErrEndOfStream) {
				r.violate(st.n, "EndOfStream last", "subscriber %s ended with %v, not EndOfStream", name, err)
			}
			return
		}
		if ev.Gap != nil {
			if last != 0 && ev.Gap.FromSeq != last+1 {
				r.lostOrDup(st, name, last, ev.Gap.FromSeq)
			}
			last = ev.Gap.ToSeq
			continue
		}
		delivered++
		if last != 0 && ev.Seq != last+1 {
			r.lostOrDup(st, name, last, ev.Seq)
		}
		if ev.Seq > last {
			last = ev.Seq
		}
		if slow > 0 {
			time.Sleep(slow)
		}
	}
}

func (r *chaosRun) lostOrDup(st chaosStep, name string, last, got uint64) {
	r.mu.Lock()
	if got <= last {
		r.rep.DuplicateEvents++
	} else {
		r.rep.LostEvents += got - last - 1
	}
	r.mu.Unlock()
	r.violate(st.n, "increasing sequence numbers, no silent gap", "subscriber %s: seq %d after %d", name, got, last)
}

// nodeKill kills a node (never the anchor) with -9 and starts a
// replacement: its tasks must end Failed (node lost), its subscriptions
// with EndOfStream, and nothing of it may be left.
func (r *chaosRun) nodeKill(ctx context.Context, st chaosStep, rng *rand.Rand) {
	n := r.pickVictim(rng)
	if n == nil {
		return
	}
	r.d.mu.Lock()
	n.state = nodeKilled
	r.d.sum.NodesKilled++
	r.d.mu.Unlock()
	if err := syscall.Kill(n.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		r.violate(st.n, "node returns", "kill -9 node %s: %v", n.name, err)
		return
	}
	r.fault(st, "kill -9 node %s (pid %d)", n.name, n.cmd.Process.Pid)
	select {
	case <-n.client.Done():
	case <-time.After(chaosLostAfter + 10*time.Second):
		r.violate(st.n, "lost node detected", "node %s killed but its client did not count it lost within %s", n.name, chaosLostAfter+10*time.Second)
	case <-ctx.Done():
		return
	}
	nn, err := r.d.startNode(ctx, r.self)
	if err != nil {
		if ctx.Err() == nil {
			r.violate(st.n, "node returns", "replacement of killed node %s: %v", n.name, err)
		}
		return
	}
	r.logf("node %s back as %s on %s", n.name, nn.name, nn.addr)
}

// pickVictim picks a serving node for a node-level fault: never the
// anchor (the long-lived node whose memory and goroutines are bounded).
func (r *chaosRun) pickVictim(rng *rand.Rand) *demoNode {
	var ns []*demoNode
	for _, n := range r.servingNodes() {
		if n != r.anchorNode() {
			ns = append(ns, n)
		}
	}
	if len(ns) == 0 {
		return nil
	}
	return ns[rng.Intn(len(ns))]
}

func (r *chaosRun) anchorNode() *demoNode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.anchor
}

// netCut cuts a node's traffic at its proxy: the client must count the node
// lost (heartbeat) although the process runs on; then the cut heals, a new
// client reaches the node, shuts it down, and a replacement node starts.
func (r *chaosRun) netCut(ctx context.Context, st chaosStep, rng *rand.Rand) {
	n := r.pickVictim(rng)
	if n == nil {
		return
	}
	r.mu.Lock()
	p := r.proxies[n.name]
	r.mu.Unlock()
	if p == nil {
		return
	}
	r.d.mu.Lock()
	n.state = nodeKilled // lost to the driver: its tasks may end by the node-lost rule
	r.d.mu.Unlock()
	p.Cut()
	r.fault(st, "traffic of node %s cut at its proxy %s (the process runs on)", n.name, p.Addr())
	select {
	case <-n.client.Done():
	case <-time.After(15 * time.Second):
		r.violate(st.n, "lost node detected", "node %s cut for 15s but its client did not count it lost", n.name)
	case <-ctx.Done():
	}
	time.Sleep(time.Duration(rng.Intn(1000)) * time.Millisecond) // the partition lasts a little longer
	p.Heal()
	r.redialShutdown(ctx, st.n, n, p)
	nn, err := r.d.startNode(ctx, r.self)
	if err != nil {
		if ctx.Err() == nil {
			r.violate(st.n, "node returns", "replacement of cut node %s: %v", n.name, err)
		}
		return
	}
	r.logf("node %s replaced by %s on %s", n.name, nn.name, nn.addr)
}

// redialShutdown reaches a node the driver lost (cut, or a heartbeat that
// timed out under load) through its healed proxy with a new client and
// shuts it down gracefully; a node that cannot be reached gets SIGTERM
// (the demo's reaper then waits for it).
func (r *chaosRun) redialShutdown(ctx context.Context, step int, n *demoNode, p *cutProxy) {
	var c *exo.Client
	var err error
	for try := 0; try < 20; try++ {
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, err = exo.Dial(dctx, p.Addr(), exo.WithClientName("exo-actors chaos"))
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond) // the node's side of the old session may still be ending
	}
	if err != nil {
		if ctx.Err() == nil {
			r.violate(step, "node returns", "node %s unreachable after the cut healed: %v", n.name, err)
		}
		_ = syscall.Kill(n.cmd.Process.Pid, syscall.SIGTERM)
		return
	}
	r.logf("node %s reachable again: shutting it down", n.name)
	_ = r.boundedCall(step, fmt.Sprintf("ShutdownNode(%s) after it was lost", n.name), 45*time.Second, func(ctx context.Context) error {
		_, err := c.ShutdownNode(ctx)
		return err
	})
	c.Close()
}

// takeLost marks the serving nodes whose client counted them lost (none
// of the run's faults did it) as killed and returns them: whoever takes
// them shuts them down or replaces them.
func (r *chaosRun) takeLost() []*demoNode {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	var lost []*demoNode
	for _, n := range r.d.nodes {
		if n.state == nodeServing && n.client != nil && n.client.Err() != nil {
			n.state = nodeKilled
			lost = append(lost, n)
		}
	}
	return lost
}

// shutdownLost shuts down, at the end of the run, the nodes whose client
// counted them lost although nobody killed or cut them (a heartbeat that
// timed out on a starved machine): they still run, and the demo's
// shutdown only asks nodes it can reach.
func (r *chaosRun) shutdownLost() {
	lost := r.takeLost()
	for _, n := range lost {
		r.logf("node %s was lost without a fault (%v): reaching it again to shut it down", n.name, n.client.Err())
		r.mu.Lock()
		p := r.proxies[n.name]
		r.mu.Unlock()
		if p != nil {
			r.redialShutdown(context.Background(), int(r.step.Load()), n, p)
		}
	}
}

// recoverLost finds serving nodes whose client counted them lost although
// no step killed or cut them (a heartbeat missed on a starved machine),
// and replaces them as after a cut: reach the node again, shut it down
// (a node that does not answer then is a violation), start another. It
// runs from the monitor; the replacement runs asynchronously, one node
// operation at a time. ctx ends with the schedule.
func (r *chaosRun) recoverLost() {
	lost := r.takeLost()
	for _, n := range lost {
		r.mu.Lock()
		if n == r.anchor {
			r.anchor = nil // replaced: its growth is no longer measured
		}
		r.unplanned++
		p := r.proxies[n.name]
		r.mu.Unlock()
		r.logf("node %s lost without a fault (%v): reaching it again, then a replacement", n.name, n.client.Err())
		step := int(r.step.Load())
		r.goAsync(r.runCtx, r.nodeOp, "replace-lost-node", time.Minute, func() {
			if p != nil {
				r.redialShutdown(r.runCtx, step, n, p)
			}
			if r.runCtx.Err() != nil {
				return
			}
			if nn, err := r.d.startNode(r.runCtx, r.self); err == nil {
				r.logf("node %s replaced by %s on %s", n.name, nn.name, nn.addr)
			} else if r.runCtx.Err() == nil {
				r.violate(step, "node returns", "replacement of lost node %s: %v", n.name, err)
			}
		})
	}
}

// nodeShutdown shuts a serving node down gracefully at a random moment: a
// runner may be starting (half of the time one is spawned just before),
// tasks run, and a second ShutdownNode comes during the first. Both calls
// must return; every task of the node must end with exactly one terminal
// status on its stream, then EndOfStream. A replacement node follows.
func (r *chaosRun) nodeShutdown(ctx context.Context, st chaosStep, rng *rand.Rand) {
	n := r.pickVictim(rng)
	if n == nil {
		return
	}
	if rng.Intn(2) == 0 {
		kind := []string{"llama", "slowload"}[rng.Intn(2)]
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, _ = n.client.SpawnRunner(sctx, exo.RunnerSpec{Kind: kind})
		cancel()
	}
	r.d.mu.Lock()
	n.state = nodeShutDown
	r.d.mu.Unlock()
	r.fault(st, "graceful shutdown of node %s, and a second one during it", n.name)
	second := time.Duration(rng.Intn(200)) * time.Millisecond
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { // owned by this step: waited below
			defer wg.Done()
			if i == 1 {
				time.Sleep(second)
			}
			err := r.boundedCall(st.n, fmt.Sprintf("ShutdownNode(%s) #%d", n.name, i+1), 45*time.Second, func(ctx context.Context) error {
				_, err := n.client.ShutdownNode(ctx)
				return err
			})
			if err != nil && i == 0 && !errors.Is(err, context.DeadlineExceeded) {
				r.violate(st.n, "every call returns", "ShutdownNode(%s): %v", n.name, err)
			}
		}()
	}
	wg.Wait()
	n.client.Close() // the node waits for its client's goodbye before it exits
	nn, err := r.d.startNode(ctx, r.self)
	if err != nil {
		if ctx.Err() == nil {
			r.violate(st.n, "node returns", "replacement of shut-down node %s: %v", n.name, err)
		}
		return
	}
	r.logf("node %s replaced by %s on %s", n.name, nn.name, nn.addr)
}

// prune drops from n's targets the runners that ended for good (stopped,
// or escalated and stopped): a spawn step then sees room for a new one.
func (r *chaosRun) prune(n *demoNode) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	asked := r.listingMark()
	infos, err := n.client.Runners(ctx)
	cancel()
	if err != nil {
		return
	}
	gone := map[string]string{}
	for _, in := range infos {
		r.checkLifecycle(n, in)
		r.checkStopped(n, in, asked)
		if runnerEnded(in) {
			gone[in.ID] = fmt.Sprintf("pruned as ended: %s since %s ago, restarting %v, generation %d",
				in.Status, time.Since(in.StatusSince).Round(time.Millisecond), in.Restarting, in.Generation)
		}
	}
	r.d.mu.Lock()
	kept := n.runner[:0:0]
	var pruned []string
	for _, id := range n.runner {
		if gone[id] == "" {
			kept = append(kept, id)
		} else {
			pruned = append(pruned, id)
		}
	}
	n.runner = kept
	r.d.mu.Unlock()
	for _, id := range pruned {
		r.noteLeft(n, id, gone[id])
	}
}

// liveRunners counts n's runners that have not ended for good.
func (r *chaosRun) liveRunners(ctx context.Context, n *demoNode) (int, error) {
	c := n.client
	asked := r.listingMark()
	infos, err := c.Runners(ctx)
	if err != nil {
		return 0, err
	}
	live := 0
	for _, in := range infos {
		r.checkLifecycle(n, in)
		r.checkStopped(n, in, asked)
		if !runnerEnded(in) {
			live++
		}
	}
	return live, nil
}

// runnerEnded: the runner ended for good: stopped (Shutdown), or Failed and
// not waiting for a restart for a while (escalated: stopped after its
// failure).
func runnerEnded(in exo.RunnerInfo) bool {
	return in.Status == exo.StatusShutdown ||
		(in.Status == exo.StatusFailed && !in.Restarting && time.Since(in.StatusSince) > 5*time.Second)
}

// checkLifecycle reports a runner whose lifecycle state machine refused a
// transition (RunnerInfo.LifecycleErrors: always 0 unless exo-actors has
// a bug), once per runner.
func (r *chaosRun) checkLifecycle(n *demoNode, in exo.RunnerInfo) {
	if in.LifecycleErrors == 0 {
		return
	}
	key := n.name + "/" + in.ID
	r.mu.Lock()
	seen := r.lifecycle[key]
	r.lifecycle[key] = true
	r.mu.Unlock()
	if !seen {
		r.violate(0, "runner lifecycle", "runner %s on %s: %d illegal lifecycle transitions (last error %q)", in.ID, n.name, in.LifecycleErrors, in.LastError)
	}
}

// replaceRunner stops a runner and, if it was still one of its node's
// targets and the node is below chaosMaxRunners, spawns another in its
// place. (The 30-minute soak of docs/reliability.md ran before this rule:
// a replacement for a runner already pruned let the anchor's live runners
// drift up to 97 by its end.)
func (r *chaosRun) replaceRunner(ctx context.Context, st chaosStep, tg target) {
	if r.stopRunner(st, tg) && r.runnerCount(tg.n) < chaosMaxRunners {
		r.spawnRunner(ctx, st, tg.n, "llama", false, true)
	}
}
