package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// PingRunner sends runner id a control message and returns how long its
// answer took. The message travels the path StopRunner takes (the runner
// supervisor, then the runner actor's mailbox, behind whatever is queued
// there) and the runner actor answers it at once, so the time is what a
// stop or a shutdown phase message waits before the runner acts on it:
// with a bounded stdout hand-off it stays small however fast the runner
// writes. exo-actors bench measures it during a flood (flood_probe_ms).
func (n *Node) PingRunner(ctx context.Context, id string) (time.Duration, error) {
	start := time.Now()
	res, err := n.request(ctx, n.supervisor, &routeToRunner{id: id, msg: &runnerInfoQuery{}})
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	switch r := res.(type) {
	case RunnerInfo:
		return d, nil
	case error:
		return d, r
	default:
		return d, fmt.Errorf("unexpected reply %T to a ping", res)
	}
}

// submit sends a Submit to the runner actor (directly while its route is
// open, else through the supervisor: direct.go) and waits for its one
// answer on a channel (see submitTask), the node's end, or the request
// timeout.
func (n *Node) submit(ctx context.Context, runnerID string, t TaskSpec) (*submitReply, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return n.awaitSubmit(ctx, n.postSubmit(runnerID, t))
}

// postSubmit posts a Submit and returns the channel its one answer comes on.
func (n *Node) postSubmit(runnerID string, t TaskSpec) chan *submitReply {
	reply := make(chan *submitReply, 1) // never closed: its one sender answers once
	msg := &submitTask{spec: t, reply: reply}
	if !n.cfg.routes.send(n.system, runnerID, msg) {
		n.system.Root.Send(n.supervisor, &routeToRunner{id: runnerID, msg: msg})
	}
	return reply
}

// awaitSubmit waits for a posted Submit's answer, the node's end, or the
// request timeout.
func (n *Node) awaitSubmit(ctx context.Context, reply chan *submitReply) (*submitReply, error) {
	wait := n.timeout(ctx)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case r := <-reply:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-n.done:
		return nil, ErrShuttingDown
	case <-timer.C:
		return nil, fmt.Errorf("no answer from %s within %s: %w", n.supervisor.Id, wait, actor.ErrTimeout)
	}
}
