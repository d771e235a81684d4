package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// chaosMaxStopped bounds the driver's record of stopped runners. A run
// stops a few runners a second for at most 2 h (about 10,000 on a 30-minute
// soak); past the bound new stops are not recorded (counted in the final
// line), so the check covers the first chaosMaxStopped stops.
const chaosMaxStopped = 1 << 16

// chaosRunners is what the driver knows of the runners it spawned and
// stopped, for the "a stopped runner stays stopped" invariant and the
// end-of-run count of live runners per node. Guarded by chaosRun.mu.
type chaosRunners struct {
	stopped    map[string]stopMark // node/runner → the StopRunner that returned
	reported   map[string]bool     // node/runner reported live after its stop
	origin     map[string]string   // node/runner → step kind that spawned it
	left       map[string]string   // node/runner → why it left the driver's targets
	unrecorded int                 // stops not recorded (chaosMaxStopped reached)
	// seq orders stops and runner listings: a stop is marked with the next
	// value when its StopRunner returned, a listing takes the current value
	// before it asks (listingMark). Only a listing asked for after the stop
	// returned can show the runner revived: one asked for before (steps run
	// concurrently) may still show it waiting to restart, as it was then.
	seq uint64
}

// stopMark is one recorded stop: the step, and its place in seq.
type stopMark struct {
	step int
	seq  uint64
}

// listingMark is taken before a runner listing is asked for; checkStopped
// judges that listing only against the stops that returned before it.
func (r *chaosRun) listingMark() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.runners.seq
}

func runnerKey(n *demoNode, id string) string { return n.name + "/" + id }

// noteSpawned records which step kind spawned a runner (for the final
// count's breakdown of untracked runners).
func (r *chaosRun) noteSpawned(n *demoNode, id, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runners.origin == nil {
		r.runners.origin = map[string]string{}
	}
	if len(r.runners.origin) < chaosMaxStopped {
		r.runners.origin[runnerKey(n, id)] = kind
	}
}

// noteLeft records why a runner left n's targets (a stop, its error, or
// prune), for the final count's breakdown.
func (r *chaosRun) noteLeft(n *demoNode, id, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runners.left == nil {
		r.runners.left = map[string]string{}
	}
	if len(r.runners.left) < chaosMaxStopped {
		r.runners.left[runnerKey(n, id)] = why
	}
}

// noteStopped records that StopRunner(id) on n returned without error at
// step: from now on the runner must never be live again.
func (r *chaosRun) noteStopped(n *demoNode, id string, step int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.runners.stopped == nil {
		r.runners.stopped = map[string]stopMark{}
		r.runners.reported = map[string]bool{}
	}
	key := runnerKey(n, id)
	if _, again := r.runners.stopped[key]; again {
		return // stopped since its first stop: that one's mark stands (two steps may stop one runner)
	}
	if len(r.runners.stopped) >= chaosMaxStopped {
		r.runners.unrecorded++
		return
	}
	r.runners.seq++
	r.runners.stopped[key] = stopMark{step: step, seq: r.runners.seq}
}

// runnerLive: the runner may serve again: not Shutdown, and not Failed
// for good (a Failed runner waiting to restart is live).
func runnerLive(in exo.RunnerInfo) bool {
	if in.Restarting {
		return true
	}
	return in.Status != exo.StatusShutdown && in.Status != exo.StatusFailed
}

// checkStopped: a runner whose StopRunner returned is never live (Ready,
// starting, or waiting to restart) again. in comes from a listing asked for
// at mark asked (listingMark); stops that returned after that are not
// judged by it. Reported once per runner.
func (r *chaosRun) checkStopped(n *demoNode, in exo.RunnerInfo, asked uint64) {
	if !runnerLive(in) {
		return
	}
	key := runnerKey(n, in.ID)
	r.mu.Lock()
	mark, stopped := r.runners.stopped[key]
	step := mark.step
	first := stopped && mark.seq <= asked && !r.runners.reported[key]
	if first {
		r.runners.reported[key] = true
	}
	r.mu.Unlock()
	if first {
		r.violate(0, "a stopped runner stays stopped", "runner %s on %s is %s (restarting %v, generation %d) after its StopRunner returned at step %d",
			in.ID, n.name, in.Status, in.Restarting, in.Generation, step)
	}
}

// countRunners compares, at the end of the run, each serving node's live
// runners with the runners the driver believes it has there (its targets).
// Untracked live runners are listed with the step kind that spawned them
// and whether they were stopped (then the invariant above already broke).
func (r *chaosRun) countRunners() {
	for _, n := range r.servingNodes() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		asked := r.listingMark()
		infos, err := n.client.Runners(ctx)
		cancel()
		if err != nil {
			r.logf("runners of %s at the end: %v", n.name, err)
			continue
		}
		r.d.mu.Lock()
		targets := map[string]bool{}
		for _, id := range n.runner {
			targets[id] = true
		}
		r.d.mu.Unlock()
		live := 0
		var untracked []string
		for _, in := range infos {
			r.checkLifecycle(n, in)
			r.checkStopped(n, in, asked)
			if !runnerLive(in) {
				continue
			}
			live++
			if targets[in.ID] {
				continue
			}
			key := runnerKey(n, in.ID)
			r.mu.Lock()
			origin := r.runners.origin[key]
			_, stopped := r.runners.stopped[key]
			left := r.runners.left[key]
			r.mu.Unlock()
			if origin == "" {
				origin = "not spawned by a recorded step"
			}
			if left == "" {
				left = "never a target"
			}
			untracked = append(untracked, fmt.Sprintf("%s (%s, spawned by %s, stopped %v, left the targets: %s)", in.ID, in.Status, origin, stopped, left))
		}
		sort.Strings(untracked)
		r.logf("runners of %s at the end: %d live, the driver's targets %d, %d listed in all; live outside the targets: %d %s",
			n.name, live, len(targets), len(infos), len(untracked), strings.Join(untracked, ", "))
	}
	r.mu.Lock()
	stops, unrecorded := len(r.runners.stopped), r.runners.unrecorded
	r.mu.Unlock()
	r.logf("stopped runners checked to stay stopped: %d (not recorded past the bound: %d)", stops, unrecorded)
}
