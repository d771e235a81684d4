package resources

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// DefaultRequestTimeout bounds a Client call whose context has no deadline.
const DefaultRequestTimeout = time.Minute

// Client talks to a resource manager actor with requests. It is safe for
// concurrent use. Each call waits for the manager's answer until ctx's
// deadline, or DefaultRequestTimeout if ctx has none (a cancellation without
// deadline is noticed only then: protoactor futures cannot be cancelled). A
// cleanup or a reset that outlives the call goes on in the manager.
type Client struct {
	system *actor.ActorSystem
	pid    *actor.PID
	track  func(future *actor.PID) (untrack func())
}

// WithTracker returns a copy of c that hands each request's future PID to
// track before it waits for the answer, and calls the func track returned
// once it has the answer. A node uses it to end requests that its stopping
// tree dropped: a message still in the manager's mailbox when it stops is
// discarded without a dead letter, and its future would otherwise wait for
// its whole timeout. Sending *actor.DeadLetterResponse to the future ends the
// request with ErrManagerStopped.
func (c *Client) WithTracker(track func(future *actor.PID) (untrack func())) *Client {
	cp := *c
	cp.track = track
	return &cp
}

// NewClient returns a Client for the manager actor pid of system.
func NewClient(system *actor.ActorSystem, pid *actor.PID) *Client {
	return &Client{system: system, pid: pid}
}

// PID returns the manager actor's PID (to stop it, or to watch it).
func (c *Client) PID() *actor.PID { return c.pid }

// Register adds resources, all or none. Each dependency must be registered
// already or be in the same call, so a set of resources that depend on each
// other can be registered at once; a cycle among them is refused with a
// *CycleError naming it (a → b → c → a). A name already registered is
// refused (ErrDuplicate); by the same owner with a newer generation, with
// ErrStillRegistered: the owner's old resources must be closed first.
func (c *Client) Register(ctx context.Context, specs ...Spec) error {
	return c.errRequest(ctx, &registerRequest{specs: specs})
}

// Activate moves a resource from Registered to Active (it is in use). It is
// a no-op for an Active resource.
func (c *Client) Activate(ctx context.Context, name string) error {
	return c.errRequest(ctx, &activateRequest{name: name})
}

// ReportError records that a resource broke (cause may be nil): its error
// count goes up and, if it was Registered or Active, it goes to Error, from
// where Reset may recover it. A resource in error is still closed by
// cleanups.
func (c *Client) ReportError(ctx context.Context, name string, cause error) error {
	return c.errRequest(ctx, &reportErrorRequest{name: name, cause: cause})
}

// Reset runs the Reset function of a resource in Error and returns its
// outcome: nil and the resource is Active again, or the error (wrapping
// ErrTimeout if it timed out) and the resource stays in Error. The outcome is
// recorded in the resource's counts and LastReset. A second Reset while one
// runs shares its outcome.
func (c *Client) Reset(ctx context.Context, name string) error {
	return c.errRequest(ctx, &resetRequest{name: name})
}

// CloseOwner closes every resource of owner, each after all resources that
// depend on it (resources of other owners that depend on one of them
// included: they close first, marked Dependent), independent ones in
// parallel, each bounded by its timeout. The closed resources leave the
// graph, so the owner can register the same names again. The report is
// complete whenever the manager answered; err is report.Err() then (the
// failures of failed and timed-out closes), or why there is no answer.
func (c *Client) CloseOwner(ctx context.Context, owner string) (CloseReport, error) {
	return c.closeRequest(ctx, &closeRequest{owner: owner})
}

// CloseAll closes every registered resource, as CloseOwner does.
func (c *Client) CloseAll(ctx context.Context) (CloseReport, error) {
	return c.closeRequest(ctx, &closeRequest{all: true})
}

// Snapshot returns the resources, their states and the counts per owner and
// for the node.
func (c *Client) Snapshot(ctx context.Context) (Snapshot, error) {
	res, err := c.request(ctx, &snapshotRequest{})
	if err != nil {
		return Snapshot{}, err
	}
	s, ok := res.(*Snapshot)
	if !ok {
		return Snapshot{}, fmt.Errorf("unexpected reply %T to a snapshot request", res)
	}
	return *s, nil
}

func (c *Client) closeRequest(ctx context.Context, req *closeRequest) (CloseReport, error) {
	res, err := c.request(ctx, req)
	if err != nil {
		return CloseReport{}, err
	}
	r, ok := res.(*closeReply)
	if !ok {
		return CloseReport{}, fmt.Errorf("unexpected reply %T to a close request", res)
	}
	if r.err != nil {
		return r.report, r.err
	}
	return r.report, r.report.Err()
}

func (c *Client) errRequest(ctx context.Context, msg any) error {
	res, err := c.request(ctx, msg)
	if err != nil {
		return err
	}
	r, ok := res.(*errReply)
	if !ok {
		return fmt.Errorf("unexpected reply %T to %T", res, msg)
	}
	return r.err
}

func (c *Client) request(ctx context.Context, msg any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := DefaultRequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	fut := c.system.Root.RequestFuture(c.pid, msg, timeout)
	if c.track != nil {
		defer c.track(fut.PID())()
	}
	res, err := fut.Result()
	if errors.Is(err, actor.ErrTimeout) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("no answer from resource manager %s within %s: %w", c.pid.Id, timeout, err)
	}
	if errors.Is(err, actor.ErrDeadLetter) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrManagerStopped, c.pid.Id)
	}
	return res, err
}
