package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/resources"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// ErrStopped: the node has shut down (Shutdown returned, Done is closed);
// its actors are gone and nothing answers any more. errors.Is(err,
// ErrShuttingDown) holds for it too, so a host that only tests for
// ErrShuttingDown treats both alike.
var ErrStopped error = stoppedError{}

type stoppedError struct{}

func (stoppedError) Error() string {
	return "node has shut down: nothing of it answers any more; start a new one for more work"
}

// Is makes errors.Is(ErrStopped, ErrShuttingDown) hold.
func (stoppedError) Is(target error) bool { return target == ErrShuttingDown }

// nodeState is the node's lifecycle. Transitions, all under Node.mu:
//
//	nodeRunning ──first Shutdown call (or a node-wide fault)──▶ nodeShuttingDown
//	nodeShuttingDown ──the tree, spawner and system stopped──▶ nodeStopped
//
// What each API call answers in each state is in Node's documentation
// (see "During and after Shutdown").
type nodeState int

const (
	nodeRunning      nodeState = iota // serving
	nodeShuttingDown                  // phases running; no new work
	nodeStopped                       // everything stopped; Done is closed
)

func (st nodeState) String() string {
	switch st {
	case nodeRunning:
		return "running"
	case nodeShuttingDown:
		return "shutting down"
	case nodeStopped:
		return "stopped"
	}
	return fmt.Sprintf("nodeState(%d)", int(st))
}

// beginShutdownLocked moves a running node to nodeShuttingDown and closes
// ShutdownBegan's channel; later calls do nothing. Called under n.mu.
func (n *Node) beginShutdownLocked() {
	if n.state != nodeRunning {
		return
	}
	n.state = nodeShuttingDown
	close(n.began) // sole sender: beginShutdownLocked, under n.mu, on the one nodeRunning → nodeShuttingDown transition
}

// ShutdownBegan is closed when the node's shutdown begins (nodeRunning →
// nodeShuttingDown), whoever started it: a Shutdown call, a stepped
// shutdown, a client's request, a node-wide fault. Done comes at its end.
func (n *Node) ShutdownBegan() <-chan struct{} { return n.began }

func (n *Node) lifecycle() nodeState {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.state
}

// RefuseWork returns the error SpawnRunner and Submit return before
// anything else once the node takes no new work (ErrShuttingDown, then
// ErrStopped), or nil: a caller that checks its own input first (the
// runtime's System) calls it before, so that a call after Shutdown says so
// whatever its input.
func (n *Node) RefuseWork() error { return n.refuseWork() }

// refuseWork returns the error for new work (spawns, tasks, resources):
// nil while running, ErrShuttingDown during the shutdown, ErrStopped after.
func (n *Node) refuseWork() error {
	switch n.lifecycle() {
	case nodeRunning:
		return nil
	case nodeShuttingDown:
		return ErrShuttingDown
	}
	return ErrStopped
}

// refuseIfStopped returns ErrStopped once the node has stopped: the calls
// that still work during the shutdown (StopRunner, Cancel, ForceKill,
// Resources) have nobody to ask afterwards.
func (n *Node) refuseIfStopped() error {
	if n.lifecycle() == nodeStopped {
		return ErrStopped
	}
	return nil
}

// stoppedErr turns a failed request into the node's sentinel when the node
// is no longer running: a dead letter (the actor stopped), a future that
// timed out because its message was dropped with a stopping mailbox, or the
// resource manager gone. It returns err unchanged while the node runs.
func (n *Node) stoppedErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	switch n.lifecycle() {
	case nodeRunning:
		return err
	case nodeShuttingDown:
		sentinel = ErrShuttingDown
	default:
		sentinel = ErrStopped
	}
	if errors.Is(err, actor.ErrDeadLetter) || errors.Is(err, actor.ErrTimeout) || errors.Is(err, resources.ErrManagerStopped) {
		if sentinel == ErrStopped {
			// The actor asked is gone with the node: which one, and
			// protoactor's "future: dead letter", say nothing to the
			// caller (a new user's trial: "ask node/health: node has
			// shut down (future: dead letter)").
			return ErrStopped
		}
		return fmt.Errorf("%s: %w (%v)", op, sentinel, err)
	}
	return err
}

// finalRunnersWait bounds the last Runners request made at the end of
// CLOSING: by then the supervisor is idle and answers at once.
const finalRunnersWait = 2 * time.Second

// keepFinalRunners asks the runner supervisor for every runner's state at
// the end of CLOSING, just before the tree stops, and keeps it: Runners
// returns it once the node has stopped. It does not depend on the caller's
// context (a cancelled Shutdown still keeps it).
func (n *Node) keepFinalRunners() {
	ctx, cancel := context.WithTimeout(context.Background(), min(finalRunnersWait, n.reqTimeout))
	defer cancel()
	res, err := n.request(ctx, n.supervisor, &listRunnersRequest{})
	infos, ok := res.([]RunnerInfo)
	if err != nil || !ok {
		n.cfg.logger.WithError(err).Warn("could not read the runners' final state before stopping the tree: Runners will return ErrStopped")
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.final, n.haveFinal = infos, true
}

// finalRunners returns a copy of the runners' final state, if it was kept.
func (n *Node) finalRunners() ([]RunnerInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.haveFinal {
		return nil, false
	}
	out := slices.Clone(n.final)
	for i := range out {
		if out[i].Status != nil {
			out[i].Status = proto.Clone(out[i].Status).(*exov1.RunnerStatus)
		}
	}
	return out, true
}

// trackRequest records a request's future until its answer is in; see
// failPending. A future tracked after failPending ran (its request was sent
// just before the tree stopped, tracked just after) is failed at once.
func (n *Node) trackRequest(future *actor.PID) (untrack func()) {
	n.mu.Lock()
	if n.pendingFailed {
		n.mu.Unlock()
		n.failFuture(future)
		return func() {}
	}
	if n.pending == nil {
		n.pending = map[string]*actor.PID{}
	}
	n.pending[future.Id] = future
	n.mu.Unlock()
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.pending, future.Id)
	}
}

// failPending ends every request still waiting once the tree has stopped:
// protoactor discards the messages left in a stopping actor's mailbox
// without a dead letter, so their futures would wait for their whole
// timeout. Each gets a dead-letter response, which the caller turns into
// ErrShuttingDown or ErrStopped; so does every request tracked from now on.
func (n *Node) failPending() {
	n.mu.Lock()
	n.pendingFailed = true
	futures := make([]*actor.PID, 0, len(n.pending))
	for _, f := range n.pending {
		futures = append(futures, f)
	}
	n.mu.Unlock()
	for _, f := range futures {
		n.failFuture(f)
	}
}

// failFuture completes a request's future with a dead letter, unless it
// was answered already.
func (n *Node) failFuture(f *actor.PID) {
	// A fresh PID, not the future's own: that one caches its process, and a
	// future already answered (it is untracked just after) would have its
	// result overwritten (a data race in protoactor). A fresh PID is looked
	// up in the registry, which a completed future has left: the response
	// then becomes a counted late reply.
	n.system.Root.Send(actor.NewPID(f.Address, f.Id), &actor.DeadLetterResponse{})
}

// resourcesClient is the resource manager's client for API calls, its
// requests tracked like the node's own.
func (n *Node) resourcesClient() *resources.Client {
	return resources.NewClient(n.system, n.cfg.resourcesPID).WithTracker(n.trackRequest)
}

// spawnChildren spawns the node root's children: streams and resources
// first (runners publish to the one and register with the other from their
// first moment), then the runner supervisor. It stops at the first failure
// and returns it; StartNode then stops the tree and fails.
func (r *nodeRoot) spawnChildren(ctx actor.Context) error {
	step := func(name string) error {
		if r.node.startFault != nil {
			return r.node.startFault(name)
		}
		return nil
	}
	if err := step("streams"); err != nil {
		return fmt.Errorf("spawn the event streams: %w", err)
	}
	sp, err := ctx.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &streamGroup{node: r.node} },
		actor.WithSupervisor(stopOnFailure{r.node.logger})), "streams")
	if err != nil {
		return fmt.Errorf("spawn the event streams: %w", err)
	}
	r.streams = sp
	if err := step("resources"); err != nil {
		return fmt.Errorf("spawn the resource manager: %w", err)
	}
	client, err := r.node.resources.Spawn(ctx, "resources")
	if err != nil {
		return fmt.Errorf("spawn the resource manager: %w", err)
	}
	r.node.resourcesPID = client.PID()
	if err := step("runners"); err != nil {
		return fmt.Errorf("spawn the runner supervisor: %w", err)
	}
	props := actor.PropsFromProducer(func() actor.Actor { return newRunnerSupervisor(r.node) },
		actor.WithSupervisor(stopOnFailure{r.node.logger}), r.node.dispatcher())
	pid, err := ctx.SpawnNamed(props, "runners")
	if err != nil {
		return fmt.Errorf("spawn the runner supervisor: %w", err)
	}
	r.supervisor = pid
	return nil
}

// awaitStarted asks the node root how its start went and returns the
// runner supervisor's PID.
func (n *Node) awaitStarted() (*actor.PID, error) {
	res, err := n.system.Root.RequestFuture(n.root, &supervisorQuery{}, n.reqTimeout).Result()
	if err != nil {
		return nil, fmt.Errorf("no answer from the node root within %s (NodeConfig.RequestTimeout): %w", n.reqTimeout, err)
	}
	st, ok := res.(*nodeStarted)
	switch {
	case !ok:
		return nil, fmt.Errorf("unexpected reply %T from the node root", res)
	case st.err != nil:
		return nil, st.err
	case st.supervisor == nil:
		return nil, errors.New("the node root has no runner supervisor")
	}
	if st.streams != nil {
		// The stream group spawns the streams in its Started, on its own
		// goroutine: answered, it has. Before, StartNode returned while
		// it spawned them, and a System.Serve right after (as
		// `exo-actors node` does) started protoactor remote, which writes
		// the process registry's address those spawns read: a data race
		// (-race in a node served by a test process).
		if _, err := n.system.Root.RequestFuture(st.streams, &streamsSpawnedQuery{}, n.reqTimeout).Result(); err != nil {
			return nil, fmt.Errorf("no answer from the event streams' group within %s (NodeConfig.RequestTimeout): %w", n.reqTimeout, err)
		}
	}
	return st.supervisor, nil
}

// abortStart releases what a failed StartNode started, in reverse order:
// the actor tree (if the root was spawned), the spawner thread, the actor
// system. Nothing of it is left when StartNode returns its error.
func (n *Node) abortStart() {
	if n.root != nil {
		if err := n.system.Root.StopFuture(n.root).Wait(); err != nil {
			n.cfg.logger.WithError(err).Warn("failed start: the node root did not stop in time")
		}
	}
	n.cfg.spawner.Close()
	n.system.Shutdown()
	n.cfg.hook.close()
	n.cfg.pool.close()
	n.mu.Lock()
	n.state = nodeStopped
	n.mu.Unlock()
}
