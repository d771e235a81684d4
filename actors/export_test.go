package actors

import (
	"context"
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/actors/resources"
)

// PanicInStoppingForTest arms runner id's actor to panic in its handler of
// protoactor's Stopping message (its next stop, whatever causes it), as a
// bug there would. It reports whether the runner had an actor.
func (n *Node) PanicInStoppingForTest(ctx context.Context, id string) (bool, error) {
	res, err := n.request(ctx, n.supervisor, &panicRunner{id: id, inStopping: true})
	if err != nil {
		return false, err
	}
	return res.(bool), nil
}

// ResourcesForTest returns a client of the node's resource manager.
func (n *Node) ResourcesForTest() *resources.Client {
	return resources.NewClient(n.system, n.cfg.resourcesPID)
}

// WaitResourceOpsForTest waits until no resource close or reset function
// of the node is running (resources.Manager.Wait). A test that steps a fake
// RunnerClock calls it before each step: a close's timeout is on that clock
// while its work (a pipe's reader seeing EOF) takes real time, so a clock
// stepped on while the close runs times it out however quick it is.
func (n *Node) WaitResourceOpsForTest(ctx context.Context) error {
	return n.cfg.resources.Wait(ctx)
}

// StartNodeFailingAt starts a node whose start fails at step ("streams",
// "resources" or "runners": before the node root spawns that child) with
// err, for tests of what a failed StartNode leaves behind.
func StartNodeFailingAt(c NodeConfig, step string, err error) (*Node, error) {
	return startNode(c, func(s string) error {
		if s == step {
			return err
		}
		return nil
	})
}

// DirectRouteForTest reports whether Submit would address runner id's actor
// directly (direct.go) rather than through the supervisor.
func (n *Node) DirectRouteForTest(id string) bool {
	v, ok := n.cfg.routes.m.Load(id)
	if !ok {
		return false
	}
	rt := v.(*directRoute)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.pid != nil
}

// PanicRunnerDirectForTest makes runner id's actor panic as a bug would,
// like PanicRunnerForTest, but sends the order straight to the actor on its
// direct route, past a supervisor that may be busy. It reports whether the
// route was open.
func (n *Node) PanicRunnerDirectForTest(id string) bool {
	return n.cfg.routes.send(n.system, id, &panicRunner{id: id})
}

// SubmitLaterForTest posts a Submit the way Submit does and returns without
// waiting for its answer: when it returns, the Submit is in the runner
// actor's mailbox (its route was open) or in the supervisor's. wait returns
// what Submit would have.
func (n *Node) SubmitLaterForTest(runnerID string, t TaskSpec) (wait func(context.Context) (*TaskHandle, error)) {
	reply := n.postSubmit(runnerID, t)
	return func(ctx context.Context) (*TaskHandle, error) {
		r, err := n.awaitSubmit(ctx, reply)
		if err != nil {
			return nil, err
		}
		return r.handle, r.err
	}
}

// AskLaterForTest posts to the runner supervisor what StopRunner ("stop"),
// PingRunner ("ping") or Cancel of every task ("cancel") sends for runner
// id, and returns without waiting: a later request to the supervisor is
// handled after it (so, once that one is answered, this one was forwarded to
// a live runner actor's mailbox). wait returns the answer: a *StopResult,
// a RunnerInfo or the number cancelled, or the error.
func (n *Node) AskLaterForTest(ctx context.Context, id, what string) (wait func() (any, error)) {
	var msg any
	switch what {
	case "stop":
		msg = &stopRunnerRequest{id: id}
	case "ping":
		msg = &routeToRunner{id: id, msg: &runnerInfoQuery{}}
	case "cancel":
		msg = &routeToRunner{id: id, msg: &cancelTasks{all: true}}
	default:
		panic("AskLaterForTest: want stop, ping or cancel, not " + what)
	}
	timeout := n.timeout(ctx)
	fut := n.system.Root.RequestFuture(n.supervisor, msg, timeout)
	return func() (any, error) {
		res, err := fut.Result()
		if err != nil {
			return nil, fmt.Errorf("%s of %s: no answer within %s: %w", what, id, timeout, err)
		}
		switch r := res.(type) {
		case *stopRunnerReply:
			return r.result, r.err
		case *cancelReply:
			return r.cancelled, r.err
		case error:
			return nil, r
		}
		return res, nil
	}
}

// SendToRunnerForTest posts m to runner id's actor mailbox, as one of its
// goroutines (the stdout reader, a timer) would. It reports whether the
// runner had an actor to address.
func (n *Node) SendToRunnerForTest(id string, m any) bool {
	v, ok := n.cfg.routes.m.Load(id)
	if !ok {
		return false
	}
	rt := v.(*directRoute)
	rt.mu.Lock()
	pid := rt.pid
	rt.mu.Unlock()
	if pid == nil {
		return false
	}
	n.system.Root.Send(pid, m)
	return true
}

// AwaitRunnerRemovedForTest returns once runner id's actor has stopped and
// the supervisor no longer lists the runner (with RetentionLimits that
// keep no removed runner, it is forgotten then). Its removal emits no
// event: a test waiting on events for it waited for whatever event came
// last, and timed out when the actor stopped after that. It watches the
// actor, then asks the supervisor: the supervisor's own Terminated (a
// system message, served before requests) is sent right after the
// watchers' and is in flight by then, so asking again until the runner is
// gone ends as soon as it is in (nearly always at the first answer).
// The runner must be one retention forgets at once, or it waits for ctx.
func (n *Node) AwaitRunnerRemovedForTest(ctx context.Context, id string) error {
	pid := actor.NewPID(n.system.Address(), n.supervisor.Id+"/runner-"+id)
	gone := make(chan struct{})
	watcher := n.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		switch m := c.Message().(type) {
		case *actor.Started:
			c.Watch(pid)
		case *actor.Terminated:
			if m.Who.Equal(pid) {
				close(gone) // sole sender: this watcher, on the one Terminated of the one PID it watches
			}
		}
	}))
	defer n.system.Root.Stop(watcher)
	select {
	case <-gone:
	case <-ctx.Done():
		return fmt.Errorf("runner %s's actor did not stop: %w", id, ctx.Err())
	}
	for {
		infos, err := n.Runners(ctx)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(infos, func(in RunnerInfo) bool { return in.ID == id }) {
			return nil
		}
	}
}

// StartNodeUncheckedForTest is StartNode without checkTimeouts: for tests
// that set a heartbeat interval the watchdog would fight on purpose (an
// hour, so that no heartbeat races a stepped clock).
func StartNodeUncheckedForTest(c NodeConfig) (*Node, error) { return startNode(c, nil) }

// WithProcReaderForTest makes the health monitor read each runner process's
// /proc stat with f instead of health.ReadProc (a test shows a process as a
// zombie at a chosen check).
func WithProcReaderForTest(f func(pid int) (health.ProcStat, error)) func(*NodeConfig) {
	return func(c *NodeConfig) { c.Health.readProc = f }
}

// SubmitViaSupervisorForTest posts a Submit to the runner supervisor's
// route, past the API's own refusal once the node shuts down and past the
// direct route: what a Submit that raced the start of a shutdown does.
func (n *Node) SubmitViaSupervisorForTest(ctx context.Context, runnerID string, t TaskSpec) (*TaskHandle, error) {
	reply := make(chan *submitReply, 1) // never closed: its one sender answers once
	n.system.Root.Send(n.supervisor, &routeToRunner{id: runnerID, msg: &submitTask{spec: t, reply: reply}})
	r, err := n.awaitSubmit(ctx, reply)
	if err != nil {
		return nil, err
	}
	return r.handle, r.err
}

// SetFaultRunEndHookForTest sets the hook onNodeFault's goroutine calls
// once the node is done; restore puts the old one back.
func SetFaultRunEndHookForTest(f func()) (restore func()) {
	old := faultRunEndHook
	faultRunEndHook = f
	return func() { faultRunEndHook = old }
}

// NodeFaultForTest reports a node-wide fault to the node, as a runner that
// could not start for the node's sake (or the health monitor) does.
func (n *Node) NodeFaultForTest(reason error) { n.onNodeFault(reason) }

// AbandonPhasesForTest makes every phase of n's shutdown go unanswered, as
// a node root that cannot answer would: Shutdown then stops the tree under
// live runners (the defensive path of finishShutdown). Before the
// shutdown's context fitted its phases (tenth session), a Shutdown with a
// context of 100 ms reached that path; now nothing but a wedged root does.
func (n *Node) AbandonPhasesForTest() { n.unansweredPhases.Store(true) }

// HealthHistoryRunnersForTest says how many runners the health history
// holds (it is fed by every event, whether the monitor runs or not).
func (n *Node) HealthHistoryRunnersForTest() int {
	n.cfg.history.mu.Lock()
	defer n.cfg.history.mu.Unlock()
	return len(n.cfg.history.runners)
}

// SetPhaseForwardedHookForTest makes f run on the runner supervisor's
// goroutine each time it has forwarded a shutdown phase to its runners,
// until the returned restore runs. Set it before the node starts and
// restore it after the node shut down.
func SetPhaseForwardedHookForTest(f func(Phase)) (restore func()) {
	testHookPhaseForwarded.Store(&f)
	return func() { testHookPhaseForwarded.Store(nil) }
}
