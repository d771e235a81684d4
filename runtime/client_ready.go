package runtime

import (
	"context"
	"fmt"
	"time"
)

// WaitReady waits until runner id of the node is Ready (or Running) and
// returns nil, watching the runner's status events as System.WaitReady
// does: the failure (errors.Is(err, ErrRunnerFailed), errors.As finds the
// *RunnerFailure the node sent, whether it failed while WaitReady waited
// or before the call) if it fails first, ErrRunnerNotAvailable if
// it is stopped first, ErrUnknownRunner for an ID the node does not have,
// an error wrapping ErrNodeLost if the node goes away, and ctx.Err()
// (naming the runner's status) if ctx ends. A runner waiting to restart
// under a RETRY policy is waited for.
//
// Called for a runner that failed, it waits, as System.WaitReady does, for
// the node's error policy's decision (its SupervisionDecision on the
// node's TopicErrors), bounded by ctx and the node's loss: then for the
// restarted runner, or, when the policy restarts nothing, it returns an
// error for which both ErrRunnerFailed and ErrRunnerNotAvailable hold
// (the runner will not come back: spawn another).
func (c *Client) WaitReady(ctx context.Context, id string) error {
	// Subscribe first, then look: a change between the two is in the stream.
	sub, err := c.subscribe(ctx, TopicRunnerStatus, Filter{RunnerID: id}, SubscribeOptions{})
	if err != nil {
		return err
	}
	defer sub.Close()
	if decided, err := c.readyOrFailed(ctx, id); decided || err != nil {
		return err
	}
	for {
		e, err := sub.Next(ctx)
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				// The status only names the state in the error: asked
				// briefly, so a frozen node does not hold the caller
				// past its own deadline.
				sctx, cancel := context.WithTimeout(context.Background(), time.Second)
				info, _ := c.runner(sctx, id)
				cancel()
				return fmt.Errorf("runner %s of node %s is not Ready (status %s): %w", id, c.NodeName(), info.StatusText(), cerr)
			}
			return fmt.Errorf("runner %s of node %s is not Ready: %w", id, c.NodeName(), err)
		}
		if e.Gap != nil { // events were lost: look again
			if decided, err := c.readyOrFailed(ctx, id); decided || err != nil {
				return err
			}
			continue
		}
		switch ev := e.Payload.(type) {
		case StatusChanged:
			if ev.To == StatusReady || ev.To == StatusRunning {
				return nil
			}
		case RunnerFailed:
			if ev.Failure == nil { // a wire event without its failure: never a nil *RunnerFailure as an error
				return fmt.Errorf("%w: runner %s failed before it was Ready", ErrRunnerFailed, id)
			}
			return ev.Failure
		case RunnerStopped:
			return fmt.Errorf("%w: runner %s was stopped (%s) before it was Ready", ErrRunnerNotAvailable, id, ev.Result.EndedBy)
		}
	}
}

// readyOrFailed looks at the runner now: decided when WaitReady can
// return (a nil error: Ready). For a runner that failed it waits for the
// error policy's decision, as System.readyOrFailed does.
func (c *Client) readyOrFailed(ctx context.Context, id string) (bool, error) {
	info, err := c.runner(ctx, id)
	if err != nil {
		return true, err
	}
	if info.Status == StatusFailed && !info.Restarting && !failureDecided(info) {
		// The node's SupervisionDecision on its errors topic, bounded by
		// ctx and the node's loss. (Before, Client.WaitReady returned
		// ErrRunnerFailed alone, "the error policy's decision is not known
		// yet", when it looked before the node's supervisor had decided.)
		subscribe := func() (func(context.Context) error, func(), error) {
			sub, err := c.subscribe(ctx, TopicErrors, Filter{RunnerID: id, Kinds: []string{KindSupervisionDecision}}, SubscribeOptions{})
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) error { _, err := sub.Next(ctx); return err }, sub.Close, nil
		}
		return awaitDecision(ctx, subscribe, func(ctx context.Context) (RunnerInfo, error) { return c.runner(ctx, id) },
			func(info RunnerInfo, err error) error {
				return fmt.Errorf("runner %s of node %s failed (%s) and WaitReady stopped waiting for the error policy's decision: %w", id, c.NodeName(), info.LastError, err)
			})
	}
	return readyDecision(info)
}

func (c *Client) runner(ctx context.Context, id string) (RunnerInfo, error) {
	infos, err := c.Runners(ctx)
	if err != nil {
		return RunnerInfo{}, err
	}
	for _, in := range infos {
		if in.ID == id {
			return in, nil
		}
	}
	return RunnerInfo{}, fmt.Errorf("%w %q: node %s has no such runner; list them with Client.Runners", ErrUnknownRunner, id, c.NodeName())
}
