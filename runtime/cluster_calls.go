package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/actors/membership"
)

// The texts of a ClusterClient call whose caller's ctx ended, and the
// spawn that outlives a caller who gave up. A Client's own text for an
// ended ctx ("node X did not answer: context deadline exceeded") blames the
// node; through a ClusterClient the caller reads which of its own calls
// stopped waiting and what became of it, and the error wraps ctx.Err(),
// never ErrNoPlacement or ErrUnknownRunner.

// callerEnded reports whether err came from the caller's ctx ending (ctx
// ended, the client still open, err wraps the ctx's error) rather than from
// the member.
func (cc *ClusterClient) callerEnded(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && cc.ctx.Err() == nil && errors.Is(err, ctx.Err())
}

// ctxEndedError is the error of call (e.g. `StopRunner of runner X on node
// Y`) whose caller's ctx ended; outcome says what became of the request
// ("nothing was sent", "whether … is unknown: …"). It wraps ctx.Err().
func ctxEndedError(ctx context.Context, call, outcome string) error {
	return fmt.Errorf("%s: the caller's ctx ended (%w) before it was done; %s", call, ctx.Err(), outcome)
}

// beforeCall returns the error of call when the caller's ctx ended before
// anything was sent (nothing happened), or nil.
func beforeCall(ctx context.Context, call string) error {
	if ctx.Err() == nil {
		return nil
	}
	return ctxEndedError(ctx, call, "nothing was sent")
}

// pendingError marks a resolve error that is not final: the member of the
// runner is suspect or was lost and the failover has not decided yet.
// WaitReady waits through it; the other calls return it (it wraps
// ErrNodeLost).
type pendingError struct{ error }

func (e pendingError) Unwrap() error { return e.error }

// spawnAnswer is a member's answer to one placement's spawn.
type spawnAnswer struct {
	id  string
	err error
}

// spawnOn spawns a runner of kind on mc for a placement whose caller's
// context is ctx. The spawn itself runs on a goroutine owned by cc, bounded
// by placeSpawnTimeout and the client's life, not by ctx: when ctx ends
// first, spawnOn returns at once with an error wrapping ctx.Err(), and the
// goroutine stops the runner the member spawned for the abandoned call (the
// caller never learned its ID, so nobody else could). The handoff of an
// answer is synchronous: the caller either gets the ID, or the goroutine
// knows it did not.
//
// When the client closes during the spawn, the spawn's own context ends:
// the member's Client gives the call up, and a node that tracks spawns
// (its gateway's spawn settling) stops that runner itself.
func (cc *ClusterClient) spawnOn(ctx context.Context, mc *memberConn, kind string) (string, error) {
	cc.mu.Lock()
	if cc.closing {
		cc.mu.Unlock()
		return "", cc.closedErr()
	}
	cc.wg.Add(1) // under mu with closing unset: before Close waits
	cc.mu.Unlock()
	if cc.beforeSpawn != nil {
		cc.beforeSpawn(ctx)
	}
	answer := make(chan spawnAnswer) // unbuffered: a handoff, never a value nobody reads
	go func() {                      // owner: cc (wg added above); Close waits
		defer cc.wg.Done()
		sctx, cancel := context.WithTimeout(cc.ctx, placeSpawnTimeout)
		id, err := mc.c.SpawnRunner(sctx, RunnerSpec{Kind: kind})
		cancel()
		if cc.afterMemberSpawn != nil {
			cc.afterMemberSpawn(mc.m.ID)
		}
		if ctx.Err() == nil {
			select {
			case answer <- spawnAnswer{id, err}:
				return
			case <-ctx.Done():
			}
		}
		if err != nil {
			return // nothing spawned, or the client closed meanwhile (see above)
		}
		// The member spawned it and nobody will learn its ID: stop it,
		// also when the client closes meanwhile (Close waits for this
		// goroutine, and closes the member's Client only after it).
		stctx, cancel := context.WithTimeout(context.WithoutCancel(cc.ctx), abandonStopTimeout)
		defer cancel()
		_, serr := mc.c.StopRunner(stctx, id)
		cc.emit(ClusterEvent{Kind: ClusterSpawnAbandoned, Node: mc.m.NodeName, Member: mc.m.ID, RunnerID: id,
			Detail: abandonedDetail(serr)})
	}()
	select {
	case a := <-answer:
		if a.err != nil && cc.ctx.Err() != nil {
			return "", fmt.Errorf("%w: spawn a runner of kind %q on node %s given up as the client closed (%v); a node that settles spawns stops the runner it may have spawned",
				ErrClientClosed, kind, mc.m.NodeName, a.err)
		}
		return a.id, a.err
	case <-ctx.Done():
		if cc.ctx.Err() != nil {
			return "", cc.closedErr()
		}
		return "", fmt.Errorf("spawn a runner of kind %q on node %s: the caller's ctx ended (%w) before the node answered; no runner was placed, and the one the node may spawn for this call is stopped",
			kind, mc.m.NodeName, ctx.Err())
	}
}

// abandonStopTimeout bounds the stop of a runner spawned for an abandoned
// SpawnRunner (a Close waits for it at most this long).
const abandonStopTimeout = 5 * time.Second

func abandonedDetail(stopErr error) string {
	d := "stopped: spawned for a SpawnRunner whose caller's ctx ended before it learned the runner's ID"
	if stopErr != nil {
		d += " (stop failed: " + stopErr.Error() + ")"
	}
	return d
}

// waitDecision waits, for WaitReady, one Poll or until ctx ends; pending is
// the error that made it wait. It returns nil to look again, or the error
// to return: pending and ctx's error, both wrapped.
func (cc *ClusterClient) waitDecision(ctx context.Context, id string, pending error) error {
	t := time.NewTimer(cc.cfg.Poll)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-cc.ctx.Done():
		return cc.closedErr()
	case <-ctx.Done():
		return fmt.Errorf("wait for runner %s to be Ready: the caller's ctx ended (%w) while the cluster decided about its lost node: %w", id, ctx.Err(), pending)
	}
}

// ClusterSpawnAbandoned: a member spawned a runner for a SpawnRunner whose
// caller's ctx ended before it learned the runner's ID, or whose ID is that
// of another runner the client follows (IDs are unique per node only; the
// placement then tries the next member); the client stopped that runner
// (Detail says so, or why the stop failed).
const ClusterSpawnAbandoned ClusterEventKind = "spawn_abandoned"

// placeCtxEnded returns the error of a placement whose client closed or
// whose caller's ctx ended before anything was spawned, or nil.
func (cc *ClusterClient) placeCtxEnded(caller context.Context, kind string) error {
	if cc.ctx.Err() != nil {
		return cc.closedErr()
	}
	if caller.Err() != nil {
		return ctxEndedError(caller, fmt.Sprintf("spawn a runner of kind %q", kind), "no runner was spawned")
	}
	return nil
}

// goneError is resolve's error for a runner in runnerGone: stopped through
// this client, or lost with its node and not placed again. Both wrap
// ErrRunnerNotAvailable (it will not come back: spawn a new runner); a lost
// one wraps ErrNodeLost too.
func goneError(r *clusterRunner, id string) error {
	if r.stopAsked {
		return fmt.Errorf("%w: runner %s on node %s was stopped (StopRunner); spawn a new runner", ErrRunnerNotAvailable, id, r.node)
	}
	return fmt.Errorf("%w (%w): runner %s: its node %s was lost and it was not placed again (the error policy's decision, or no member could host it); spawn a new runner",
		ErrRunnerNotAvailable, ErrNodeLost, id, r.node)
}

// otherClusterError is a membership read where no answering peer is a
// joined member of the cluster because some (all: every peer) answered
// from another cluster: nodes started with another --cluster.
type otherClusterError struct {
	cluster, where string
	all            bool
}

func (e *otherClusterError) Error() string {
	if e.all {
		return fmt.Sprintf("every peer answered from another cluster than %q: %s; set ClusterConfig.Cluster to the nodes' --cluster, or list the peers of cluster %q",
			e.cluster, e.where, e.cluster)
	}
	return fmt.Sprintf("no peer that answered is a joined member of cluster %q (%s)", e.cluster, e.where)
}

// noVerdict returns why automanaged status st is no verdict on the members
// (no answering peer is a joined member of st.Cluster), or nil. A peer
// still joining (or rejoining) reports no members; one in another cluster
// is no member at all.
func noVerdict(st membership.Status) error {
	var states []string
	for _, pv := range st.Peers {
		switch {
		case pv.View == nil:
		case pv.View.Cluster != st.Cluster:
			states = append(states, fmt.Sprintf("%s is in cluster %q", pv.Peer, pv.View.Cluster))
		case pv.View.State == membership.Joined:
			return nil
		default:
			states = append(states, fmt.Sprintf("%s is %v", pv.Peer, pv.View.State))
		}
	}
	if len(st.OtherClusters()) > 0 {
		return &otherClusterError{cluster: st.Cluster, where: strings.Join(states, ", "), all: st.AllInOtherClusters()}
	}
	return fmt.Errorf("no peer that answered is a joined member of cluster %q yet (%s): no verdict on this read", st.Cluster, strings.Join(states, ", "))
}
