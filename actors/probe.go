package actors

import (
	"context"
	"fmt"
	"time"
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
