package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/actorsys"
	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/internal/logbridge"
	"github.com/exo-actors/exo-actors/internal/proc"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// NodeConfig configures a node. Zero fields take the documented defaults.
type NodeConfig struct {
	// Logger receives every log line, the actor system's included; default:
	// a logrus logger at info level on stderr.
	Logger *logrus.Logger
	// Clock drives supervision: restart backoff, restart intensity, the stable
	// period that resets backoff, error records. Default clock.Real(). Tests
	// inject a fake one to step through backoff without sleeping.
	Clock clock.Clock
	// RunnerClock drives each runner's liveness timers: handshake, heartbeat
	// and progress watchdogs, stop escalation, task timeouts; also the
	// shutdown phases' deadlines and durations, the event streams' timers
	// and the health monitor (checks, heartbeat ages, recovery). Default
	// clock.Real(); it is separate from Clock so that stepping a fake
	// supervision clock does not make live runners look hung.
	RunnerClock clock.Clock
	// ErrorPolicy configures the error handler: user rules (consulted before
	// the defaults of docs/errors.md), backoff and restart intensity. Its
	// Clock is always Clock above.
	ErrorPolicy errhandler.Config
	// Timeouts of each runner's life.
	Timeouts RunnerTimeouts
	// Tasks bounds each runner's tasks.
	Tasks TaskLimits
	// Hook receives every event (may be nil). By default it is called on
	// the emitting actor, which waits for it; see HookQueue and HookSlow.
	// It must not call the Node (Shutdown least of all: the shutdown waits
	// for the hook, a synchronous one on the actors it stops, an
	// asynchronous one's goroutine at its end: a deadlock); a Subscription
	// is the way to react to events with calls, or start the call on a
	// goroutine of your own.
	Hook EventHook
	// HookQueue > 0 runs Hook on a goroutine of its own behind a queue of
	// that many events: a slow hook then never stalls the actor that emits;
	// when the queue is full the event is dropped for the hook (not for the
	// streams) and counted (Node.HookStats). 0 (default): synchronous.
	HookQueue int
	// HookSlow: a hook call longer than this is counted and logged
	// (throttled); default DefaultHookSlow (10ms).
	HookSlow time.Duration
	// BuiltinBinary is the exo-actors binary that built-in runners run;
	// default os.Executable().
	BuiltinBinary string
	// Env is the base environment of runner processes; nil means the node's.
	Env []string
	// MaxFrameSize is the largest frame either way: a runner's, and a
	// task's frame to its runner (Submit refuses a larger task with
	// ErrInvalidTask); default 4 MiB.
	MaxFrameSize int
	// DeadLetterThrottle is protoactor's dead-letter log throttle interval;
	// default 1s (tests set it short so its goroutine ends quickly).
	DeadLetterThrottle time.Duration
	// StreamBuffer is each subscriber's buffer in a stream (events beyond the
	// subscriber's credit); when full, the oldest is dropped and a Gap event
	// says how many. Default 1024.
	StreamBuffer int
	// Shutdown sets each phase's deadline.
	Shutdown ShutdownDeadlines
	// Retention bounds what the node remembers of removed runners.
	Retention RetentionLimits
	// Deprecated: SkipRegistryPrewarm has no effect. The node used to
	// touch all of protoactor's process registry at its start (35–60 ms,
	// and about 13 MiB of live heap for good) so that it would not fill
	// over weeks; it now makes the registry small instead
	// (internal/actorsys), which needs neither.
	SkipRegistryPrewarm bool
	// ReadWindow and ReadBatch bound each runner's stdout hand-off:
	// batches of frames in flight between its reader and its actor, and
	// frames per batch (proc.Options; defaults proc.DefaultReadWindow 4,
	// proc.DefaultReadBatch 256).
	ReadWindow, ReadBatch int
	// RequestTimeout bounds a request to an actor when the caller's context
	// has no deadline; default 1 minute.
	RequestTimeout time.Duration
	// Health configures the health monitor, its alerts and the HTTP
	// endpoints (actors/health.go, package health).
	Health HealthConfig
}

// ShutdownDeadlines bound each shutdown phase; zero fields take the defaults.
type ShutdownDeadlines struct {
	Signaling time.Duration // default 2s
	Draining  time.Duration // default 30s: in-flight tasks finish or end TimedOut
	// Closing: past it, runners are SIGKILLed (FORCE_CLEANUP). Default 15s,
	// or StopGrace + TermWait + Drain of the runners' timeouts when that is
	// longer; a Closing set below StopGrace + TermWait is refused
	// (ErrConflictingTimeouts).
	Closing time.Duration
}

func (d ShutdownDeadlines) withDefaults() ShutdownDeadlines {
	if d.Signaling <= 0 {
		d.Signaling = 2 * time.Second
	}
	if d.Draining <= 0 {
		d.Draining = 30 * time.Second
	}
	if d.Closing <= 0 {
		d.Closing = 15 * time.Second
	}
	return d
}

func (d ShutdownDeadlines) of(p Phase) time.Duration {
	switch p {
	case PhaseSignaling:
		return d.Signaling
	case PhaseDraining:
		return d.Draining
	}
	return d.Closing
}

// nodeConfig is what every actor of a node shares; read-only after start.
type nodeConfig struct {
	logger      *logrus.Logger
	clock       clock.Clock // supervision
	runnerClock clock.Clock // runner liveness
	policy      *errhandler.Handler
	spawner     *proc.Spawner
	timeouts    RunnerTimeouts
	limits      TaskLimits
	hook        *hookRunner // nil without a hook
	pool        *workerPool // the hot actors' dispatcher (dispatch.go)
	// observe, when set (health.go), sees every event before the host's
	// hook, on the emitting actor: the node's metrics and health history.
	observe       func(Event)
	builtinBinary string
	baseEnv       []string
	procOpts      proc.Options
	retention     RetentionLimits
	// streams are the node's event streams by topic; their state outlives
	// any incarnation of their actors.
	streams map[string]*streams.Stream
	// resources is the resource manager; resourcesPID its actor (set by the
	// node root before it spawns the runner supervisor).
	resources    *resources.Manager
	resourcesPID *actor.PID
	// nodeFault is called (once per fault) when a node-wide fault reached the
	// node root; it starts a graceful shutdown of the node.
	nodeFault func(reason error)
	// startFault, when set (tests), fails the named start step.
	startFault func(step string) error
	// fwd counts and classifies what could not be forwarded (forwarding.go);
	// shuttingDown says whether the node's shutdown has begun.
	fwd          forwarding
	departed     departedClients // clients whose session ended: goodbye or loss (departed.go)
	shuttingDown func() bool
	// Health monitor (health.go): its configuration, the metrics and the
	// history fed by emit, and its actor (set by the node root).
	healthCfg HealthConfig
	metrics   *nodeMetrics
	history   *healthHistory
	healthPID *actor.PID
	// routes are the runner actors Submit may address directly (direct.go).
	routes directRoutes
}

// Node is one running actor system with its supervision tree.
//
// # During and after Shutdown
//
// Once Shutdown has begun (or a node-wide fault began it), and once it has
// finished (Done is closed), the API answers with documented sentinels,
// never with the actor system's internals (dead letters, "does not exist"):
//
//	call                        shutting down               stopped
//	SpawnRunner, Submit,        ErrShuttingDown             ErrStopped
//	RegisterResources
//	StopRunner, Cancel,         answered as usual, or       ErrStopped
//	ForceKill, Resources        ErrShuttingDown once the
//	                            tree stopped under the call
//	Runners                     answered as usual           the final state of every
//	                                                        runner (end of CLOSING)
//	Subscribe                   a Subscription that ends with ErrEndOfStream
//	StreamStats, Policy         answered as usual (final accounting after)
//	Shutdown                    the same report, once the first call is done
//
// errors.Is(ErrStopped, ErrShuttingDown) holds, so testing for
// ErrShuttingDown covers both.
type Node struct {
	cfg        *nodeConfig
	system     *actor.ActorSystem
	root       *actor.PID
	supervisor *actor.PID
	reqTimeout time.Duration

	deadlines ShutdownDeadlines

	mu      sync.Mutex
	state   nodeState     // under mu; transitions in node_lifecycle.go
	done    chan struct{} // sole sender: finishShutdown, run once by the holder of shutSem
	began   chan struct{} // closed by beginShutdownLocked (node_lifecycle.go) on nodeRunning → nodeShuttingDown
	report  ShutdownReport
	shutErr error
	// fault is the first node-wide fault (under mu): what made the node
	// shut itself down, nil when none came (Fault).
	fault error
	// forced: ForceKill was called during the shutdown (under mu;
	// ShutdownForced).
	forced bool
	// shutSem (capacity 1) is held by whoever runs shutdown phases, so the
	// phases run one at a time and in order; shut is their progress,
	// touched only by the holder (node_stepped.go).
	shutSem chan struct{}
	shut    *shutdownRun
	// final is every runner's state at the end of CLOSING (under mu), which
	// Runners returns once the node has stopped.
	final     []RunnerInfo
	haveFinal bool
	// pending are the futures of requests still waiting (under mu); the end
	// of the shutdown fails them (failPending).
	pending       map[string]*actor.PID
	pendingFailed bool // failPending ran: requests tracked from now on fail at once
	// faultRuns are the shutdown goroutines onNodeFault started: Add under
	// mu while the node has not stopped (so never after the Wait below
	// began); Shutdown waits for them once the node is done.
	faultRuns sync.WaitGroup
	// unansweredPhases (tests only: AbandonPhasesForTest) makes every
	// phase of the shutdown go unanswered, as a root that cannot answer
	// would: the tree is then stopped under live runners (finishShutdown),
	// the defensive path a test cannot reach otherwise.
	unansweredPhases atomic.Bool
}

// StartNode starts an actor system with the node root and runner supervisor.
// If it fails, it has released everything it started (the spawner thread,
// the actor tree, the actor system) before it returns the error.
// It first refuses timeouts its watchdogs would fight, with an error
// wrapping ErrConflictingTimeouts (checkTimeouts).
func StartNode(c NodeConfig) (*Node, error) {
	if err := checkTimeouts(c); err != nil {
		return nil, err
	}
	return startNode(c, nil)
}

// startNode is StartNode; startFault, when set, is asked before each child
// of the node root is spawned and fails that step with its error (tests).
func startNode(c NodeConfig, startFault func(step string) error) (*Node, error) {
	if c.Logger == nil {
		c.Logger = logrus.New()
	}
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	if c.RunnerClock == nil {
		c.RunnerClock = clock.Real()
	}
	pc := c.ErrorPolicy
	pc.Clock = c.Clock
	policy, err := errhandler.New(pc)
	if err != nil {
		// ErrInvalidConfig as for every field New refuses (a host's trial
		// found the rules' errors outside it).
		return nil, fmt.Errorf("%w: ErrorPolicy: %w", ErrInvalidConfig, err)
	}
	if c.BuiltinBinary == "" {
		if exe, err := os.Executable(); err == nil {
			c.BuiltinBinary = exe
		}
	} else if err := checkBuiltinBinary(c.BuiltinBinary); err != nil {
		// Named here, at start: a built-in runner's spawn only failed
		// later, with advice about the spec's command and PATH (a new
		// user's trial).
		return nil, err
	}
	if c.MaxFrameSize <= 0 {
		c.MaxFrameSize = DefaultMaxFrameSize // one value for the pipes and Submit's check
	}
	if c.DeadLetterThrottle <= 0 {
		c.DeadLetterThrottle = DefaultDeadLetterThrottle
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	nc := &nodeConfig{
		logger:        c.Logger,
		clock:         c.Clock,
		runnerClock:   c.RunnerClock,
		policy:        policy,
		spawner:       proc.NewSpawner(),
		timeouts:      c.Timeouts.withDefaults(),
		limits:        c.Tasks.withDefaults(),
		hook:          newHookRunner(c.Hook, c.HookQueue, c.HookSlow, c.Logger),
		pool:          newWorkerPool(),
		builtinBinary: c.BuiltinBinary,
		baseEnv:       c.Env,
		procOpts:      proc.Options{MaxFrameSize: c.MaxFrameSize, FrameStall: c.Timeouts.withDefaults().FrameStall, ReadWindow: c.ReadWindow, ReadBatch: c.ReadBatch},
		retention:     c.Retention.withDefaults(),
		streams:       map[string]*streams.Stream{},
		startFault:    startFault,
	}
	for _, topic := range streams.Topics() {
		nc.streams[topic] = streams.New(topic, streams.Config{Buffer: c.StreamBuffer, Clock: c.RunnerClock, Logger: nc.logger})
	}
	nc.resources = resources.NewManager(resources.Config{Clock: c.RunnerClock, Logger: c.Logger,
		OnFailure: func(f errhandler.Failure) {
			// A resource that did not close (in time) is an error record.
			rec := policy.Handle(f)
			nc.emit(&SupervisionDecision{RunnerID: f.RunnerID, Generation: f.Generation, Record: rec})
		}})
	system := actorsys.New(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logbridge.NewSlog(c.Logger) }),
		actor.WithDeadLetterThrottleInterval(c.DeadLetterThrottle),
	)
	n := &Node{cfg: nc, system: system, reqTimeout: c.RequestTimeout, done: make(chan struct{}), began: make(chan struct{}), shutSem: make(chan struct{}, 1), deadlines: shutdownDeadlines(c.Shutdown, nc.timeouts)}
	nc.nodeFault = n.onNodeFault
	if err := n.setupHealth(c); err != nil {
		nc.spawner.Close()
		system.Shutdown()
		nc.hook.close()
		nc.pool.close()
		return nil, err
	}
	nc.shuttingDown = func() bool { return n.lifecycle() != nodeRunning }
	system.EventStream.Subscribe(nc.onDeadLetter) // lives as long as the system
	rootProps := actor.PropsFromProducer(func() actor.Actor { return &nodeRoot{node: nc} },
		actor.WithGuardian(neverEscalate{nc.logger}),
		actor.WithSupervisor(neverEscalate{nc.logger}))
	root, err := system.Root.SpawnNamed(rootProps, "node")
	if err != nil {
		n.abortStart()
		return nil, fmt.Errorf("start node root: %w", err)
	}
	n.root = root
	if n.supervisor, err = n.awaitStarted(); err != nil {
		n.abortStart()
		return nil, fmt.Errorf("start node: %w", err)
	}
	return n, nil
}

// System returns the protoactor actor system (for hosts that add actors).
func (n *Node) System() *actor.ActorSystem { return n.system }

func (n *Node) timeout(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(time.Until(dl), time.Millisecond)
	}
	return n.reqTimeout
}

func (n *Node) request(ctx context.Context, pid *actor.PID, msg any) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fut := n.system.Root.RequestFuture(pid, msg, n.timeout(ctx))
	defer n.trackRequest(fut.PID())()
	res, err := fut.Result()
	if errors.Is(err, actor.ErrTimeout) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		err = fmt.Errorf("no answer from %s within %s: %w", pid.Id, n.timeout(ctx), err)
	}
	// Past the start of a shutdown a dead letter or a lost request means the
	// tree stopped under the request: say so with the node's sentinel.
	return res, n.stoppedErr("ask "+pid.Id, err)
}

// SpawnRunner starts a runner and returns its ID. The runner reports its way to
// Ready through events; a spec that cannot work is refused here.
func (n *Node) SpawnRunner(ctx context.Context, spec RunnerSpec) (string, error) {
	if err := n.refuseWork(); err != nil {
		return "", err
	}
	if err := spec.Validate(); err != nil {
		return "", err
	}
	res, err := n.request(ctx, n.supervisor, &spawnRunnerRequest{spec: spec})
	if err != nil {
		return "", err
	}
	r := res.(*spawnRunnerReply)
	return r.id, r.err
}

// StopRunner stops one runner (Shutdown frame → SIGTERM → SIGKILL to its
// group) and returns how the stop went.
func (n *Node) StopRunner(ctx context.Context, id string) (*StopResult, error) {
	if err := n.refuseIfStopped(); err != nil {
		return nil, err
	}
	res, err := n.request(ctx, n.supervisor, &stopRunnerRequest{id: id})
	if err != nil {
		return nil, err
	}
	switch r := res.(type) {
	case *StopResult:
		return r, nil
	case *stopRunnerReply:
		return r.result, r.err
	}
	return nil, fmt.Errorf("unexpected reply %T to stop", res)
}

// Submit queues a task on a runner and returns its handle. A task ID already
// known to that runner returns the first submission's handle.
func (n *Node) Submit(ctx context.Context, runnerID string, t TaskSpec) (*TaskHandle, error) {
	h, err := n.submitChecked(ctx, runnerID, t)
	if err != nil {
		n.cfg.metrics.reject(err) // exo_tasks_rejected_total
	}
	return h, err
}

func (n *Node) submitChecked(ctx context.Context, runnerID string, t TaskSpec) (*TaskHandle, error) {
	if err := n.refuseWork(); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := n.checkTaskFrame(t); err != nil {
		return nil, err
	}
	r, err := n.submit(ctx, runnerID, t)
	if err != nil {
		return nil, err
	}
	return r.handle, r.err
}

// checkTaskFrame refuses a task whose frame to the runner would exceed the
// frame size limit. Before, Submit took it, the write to the runner's
// stdin failed ("message exceeds the frame size limit"), and the node
// treated that as the runner closing its stdin: it killed the runner and
// its policy retired it for good (a new user's trial, a 5 MiB payload).
// MaxFrameSize is the largest frame a runner of the node may send (and so
// the largest chunk or event it can produce): NodeConfig.MaxFrameSize.
func (n *Node) MaxFrameSize() int { return n.cfg.procOpts.MaxFrameSize }

func (n *Node) checkTaskFrame(t TaskSpec) error {
	limit := n.cfg.procOpts.MaxFrameSize // defaulted in startNode
	if taskFrameBound(t) <= limit {
		return nil // the common case, without building the frame twice
	}
	if size := proto.Size(taskEnvelope(t)); size > limit {
		return fmt.Errorf("%w %q: its frame to the runner would be %d bytes (payload %d), over the frame size limit of %d (NodeConfig.MaxFrameSize, runtime Config.MaxFrameSize; default 4 MiB): send the runner a reference to large data (e.g. a path it reads) instead, or raise the limit on the node and in the runner",
			ErrInvalidTask, t.ID, size, len(t.Payload), limit)
	}
	return nil
}

// taskFrameBound is an upper bound of proto.Size(taskEnvelope(t)), cheap
// to take on Submit's path: the bytes of the fields, plus at most 7 bytes
// of tag and length per string field and 19 per params entry (an entry's
// own tag and length, its key's and its value's), plus 64 for the
// envelope, the Task message and Timeout.
func taskFrameBound(t TaskSpec) int {
	n := 64 + len(t.ID) + len(t.Kind) + len(t.Payload) + 3*7
	for k, v := range t.Params {
		n += len(k) + len(v) + 19
	}
	return n
}

// Cancel cancels one task (taskID) or, with taskID empty, every task of a
// runner, and returns how many it cancelled. The tasks end Cancelled once the
// runner confirms, or after TaskLimits.CancelWait if it never does. A task
// whose cancel is under way already, or that has ended (while the runner
// remembers it), is not counted: 0 and no error for such a taskID.
func (n *Node) Cancel(ctx context.Context, runnerID, taskID string) (int, error) {
	if err := n.refuseIfStopped(); err != nil {
		return 0, err
	}
	res, err := n.request(ctx, n.supervisor, &routeToRunner{id: runnerID, msg: &cancelTasks{taskID: taskID, all: taskID == ""}})
	if err != nil {
		return 0, err
	}
	r := res.(*cancelReply)
	return r.cancelled, r.err
}

// Runners lists every runner ever spawned on this node, in spawn order.
// Once the node has stopped it returns their final state, as it was at the
// end of CLOSING (ErrStopped if that could not be read).
func (n *Node) Runners(ctx context.Context) ([]RunnerInfo, error) {
	if n.lifecycle() == nodeStopped {
		if infos, ok := n.finalRunners(); ok {
			return infos, nil
		}
		return nil, ErrStopped
	}
	res, err := n.request(ctx, n.supervisor, &listRunnersRequest{})
	if err != nil {
		if infos, ok := n.finalRunners(); ok && errors.Is(err, ErrShuttingDown) {
			return infos, nil // the tree stopped under the request
		}
		return nil, err
	}
	return res.([]RunnerInfo), nil
}

// Shutdown shuts the node down in three phases that travel down the tree as
// messages, each acknowledged up once the children did: SIGNALING (no new
// work), DRAINING (in-flight tasks finish or time out; streams flush),
// CLOSING (runners exit, resources close, streams end, actors stop). Each
// phase has a deadline (ShutdownDeadlines); an actor past it is force-cleaned
// and named in the report. Calling Shutdown again, or concurrently, returns
// the same report once the first call is done. During a stepped shutdown
// (ShutdownPhase, a cluster-wide shutdown) it runs the phases not run yet.
//
// ctx bounds the shutdown of the call that runs the phases (a call while
// another runs them waits, until its ctx ends): phases that would outlast
// its deadline run with a share of the time left each (fitPhase), and when
// it ends while a phase runs, every runner's process group gets SIGKILL
// and the phases left run with a zero deadline (cutShortOnDone); the
// error then wraps ctx's error.
func (n *Node) Shutdown(ctx context.Context) (ShutdownReport, error) {
	n.mu.Lock()
	n.beginShutdownLocked()
	n.mu.Unlock()
	// The phases still to run (all of them, or those a stepped shutdown
	// has not run yet: node_stepped.go), then the end of the shutdown.
	rep, err := n.advance(ctx, PhaseClosing, 0, 0)
	select {
	case <-n.done:
		// A node that shut itself down (onNodeFault) ran its shutdown on
		// a goroutine of its own, which returns as soon as the node is
		// done: nothing of the node outlives this call.
		n.faultRuns.Wait()
	default: // ctx ended first: the shutdown goes on
	}
	return rep, err
}

// onNodeFault shuts the node down gracefully after a node-wide fault. It runs
// the shutdown on a goroutine of its own (the caller is an actor, which must
// not block on the tree it is part of); the goroutine ends when the shutdown
// does, and Done reports it; Shutdown waits for it (faultRuns). A fault
// once the node has stopped starts nothing.
//
// The fault is recorded as the shutdown's cause (Fault) only when it is what
// begins the shutdown (the node still running, under n.mu): a fault that
// comes after a client's (or a Shutdown call's) shutdown began is logged,
// and the shutdown stays the client's (a node that reads Fault after
// ShutdownBegan would call it "shut itself down").
func (n *Node) onNodeFault(reason error) {
	n.mu.Lock()
	began, stopped := n.state == nodeRunning, n.state == nodeStopped
	if began {
		n.fault = reason
		n.beginShutdownLocked()
	}
	if !stopped {
		n.faultRuns.Add(1) // under mu, before nodeStopped: before Shutdown's Wait
	}
	n.mu.Unlock()
	switch {
	case stopped:
		n.cfg.logger.WithField("reason", reason.Error()).Error("node-wide fault after the node's shutdown")
		return
	case !began:
		n.cfg.logger.WithField("reason", reason.Error()).Error("node-wide fault during the node's shutdown")
	default:
		n.cfg.logger.WithField("reason", reason.Error()).Error("node-wide fault: shutting the node down gracefully")
	}
	go func() {
		defer n.faultRuns.Done()
		_, _ = n.advance(context.Background(), PhaseClosing, 0, 0) // not Shutdown: that waits for faultRuns
		if h := faultRunEndHook; h != nil {
			h()
		}
	}()
}

// faultRunEndHook, when set (tests only, before the node starts), is called
// by onNodeFault's goroutine once the node is done, before it ends.
var faultRunEndHook func()

// ForceKill sends SIGKILL to every runner's process group at once (FORCE_CLEANUP
// for an operator who will not wait for a graceful shutdown). The runners then
// finish as usual once their processes are reaped; a Shutdown in progress goes
// on and reports them forced. It returns how many runners it signalled.
func (n *Node) ForceKill(ctx context.Context) (int, error) {
	if err := n.refuseIfStopped(); err != nil {
		return 0, err
	}
	cause := killForcedRunning
	select {
	case <-n.began:
		cause = killForced
		n.mu.Lock()
		n.forced = true // before any runner is killed: its tasks' ends and the shutdown note come after
		n.mu.Unlock()
	default:
	}
	res, err := n.request(ctx, n.supervisor, &forceKillAll{cause: cause})
	if err != nil {
		return 0, err
	}
	return res.(int), nil
}

// Done is closed when the node has shut down, whoever started the shutdown.
func (n *Node) Done() <-chan struct{} { return n.done }

// Fault returns the first node-wide fault (a runner that could not start
// because the node cannot fork or is out of file descriptors: the
// node_fault kind; or the health monitor's share of persistently failed
// runners), which made the node shut itself down, or nil when none came.
func (n *Node) Fault() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.fault
}

// ShutdownForced reports whether the node's shutdown was forced: ForceKill
// was called after it began (exo-actors node's second SIGINT/SIGTERM), so
// the tasks still running ended Failed with ReasonShutdownForced. The
// gateway's shutdown note says so, for a ClusterClient, which resubmits
// such a Retryable task as it does one the drain deadline cut.
func (n *Node) ShutdownForced() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.forced
}

// Policy returns the node's error handler (records, statistics).
func (n *Node) Policy() *errhandler.Handler { return n.cfg.policy }

// resourcesReport turns the resource manager's close report into the phase
// report of the "resources" stage, one child per resource, in close order.
func resourcesReport(req *phaseRequest, m *resources.CloseResult) *PhaseReport {
	ph := req.phase
	rep := m.Report
	r := &PhaseReport{Actor: "resources", Phase: ph, Start: rep.Started, Duration: rep.Duration, Outcome: OutcomeOK, id: req.id}
	for _, name := range rep.Order {
		e, ok := rep.Entry(name)
		if !ok {
			continue
		}
		c := &PhaseReport{Actor: name, Phase: ph, Start: e.Started, Duration: e.Duration, Outcome: OutcomeOK}
		switch e.Outcome {
		case resources.CloseFailed:
			c.Outcome, c.Note = OutcomeForced, fmt.Sprintf("close failed: %v (FORCE_CLEANUP: left in Error)", e.Err)
		case resources.CloseTimedOut:
			c.Outcome, c.Note = OutcomeForced, "close timed out (FORCE_CLEANUP: left in Error)"
		}
		// The stage summarises its children like any parent (the worst
		// of theirs): it read "timed out" above children "forced", and so
		// did the node's CLOSING (a host's trial).
		r.Outcome = WorseOutcome(r.Outcome, c.Outcome)
		r.Children = append(r.Children, c)
	}
	if m.Err != nil && len(r.Children) == 0 {
		r.Outcome, r.Note = OutcomeFailed, m.Err.Error()
	}
	return r
}

// Subscribe subscribes to a topic's event stream (TopicRunnerStatus,
// TopicTasks, TopicErrors, TopicAlerts): every matching event published from
// now on, in order, then EndOfStream when the node shuts down. It refuses
// what CheckSubscription refuses (an unknown topic, a kind the topic never
// carries, a negative option).
func (n *Node) Subscribe(topic string, f streams.Filter, o streams.SubscribeOptions) (*streams.Subscription, error) {
	if err := CheckSubscription(topic, f, o); err != nil { // subscribe_check.go
		return nil, err
	}
	return n.cfg.streams[topic].Subscribe(f, o), nil
}

// StreamStats returns the accounting of every stream, by topic.
func (n *Node) StreamStats() map[string]streams.Stats {
	out := map[string]streams.Stats{}
	for t, s := range n.cfg.streams {
		out[t] = s.Stats()
	}
	return out
}

// RegisterResources registers a host's resources (all or nothing). They close
// in CLOSING, in reverse dependency order, each bounded by its timeout.
func (n *Node) RegisterResources(ctx context.Context, specs ...resources.Spec) error {
	if err := n.refuseWork(); err != nil {
		return err
	}
	err := n.resourcesClient().Register(ctx, specs...)
	return n.stoppedErr("register resources", err)
}

// Resources returns a snapshot of the node's resources. Once the node has
// stopped it returns ErrStopped (the shutdown report holds how each closed).
func (n *Node) Resources(ctx context.Context) (resources.Snapshot, error) {
	if err := n.refuseIfStopped(); err != nil {
		return resources.Snapshot{}, err
	}
	snap, err := n.resourcesClient().Snapshot(ctx)
	return snap, n.stoppedErr("resources snapshot", err)
}

// supervisorQuery asks the node root how its start went: *nodeStarted.
type supervisorQuery struct{}

// nodeStarted answers supervisorQuery: the runner supervisor's PID and the
// stream group's, or why a child of the node root could not be spawned.
type nodeStarted struct {
	supervisor *actor.PID
	streams    *actor.PID
	err        error
}

// nodeRoot is the top of a node's tree.
type nodeRoot struct {
	node       *nodeConfig
	supervisor *actor.PID
	streams    *actor.PID
	faulted    bool
	startErr   error // why a child could not be spawned in Started

	// A shutdown phase in progress: its stages run one after the other
	// (runners first: they produce the events streams carry and hold the
	// resources), each answering before the next starts.
	phase    *collector
	req      *phaseRequest
	stage    int
	phaseSeq uint64
}

// stage is a child of the node root that takes part in shutdown phases.
type stage struct {
	name string
	pid  *actor.PID
}

func (r *nodeRoot) stages() []stage {
	return []stage{{"runners", r.supervisor}, {"resources", r.node.resourcesPID}, {"streams", r.streams}}
}

func (r *nodeRoot) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.startErr = r.spawnChildren(ctx)
		if r.startErr == nil {
			r.spawnHealth(ctx) // health.go
		}
	case *supervisorQuery:
		ctx.Respond(&nodeStarted{supervisor: r.supervisor, streams: r.streams, err: r.startErr})
	case *phaseRequest:
		now := r.node.runnerClock.Now()
		r.phase, r.req, r.stage = newCollector("node", m, ctx.Sender(), now), m, 0
		r.nextStage(ctx)
	case *PhaseReport:
		if r.phase != nil && r.phase.add(m) {
			r.stage++
			r.nextStage(ctx)
		}
	case *resources.CloseResult:
		if r.phase != nil && r.phase.add(resourcesReport(r.req, m)) {
			r.stage++
			r.nextStage(ctx)
		}
	case *phaseDeadline:
		if r.phase != nil && m.seq == r.phaseSeq {
			// The current stage did not answer in time: note it, go on.
			st := r.stages()[r.stage]
			r.phase.answerFor(&PhaseReport{Actor: st.name, Phase: r.req.phase, Start: r.phase.report.Start,
				Outcome: OutcomeTimedOut, Note: "no answer by the deadline"})
			r.phase.report.Outcome = OutcomeTimedOut
			r.stage++
			r.nextStage(ctx)
		}
	}
}

func (r *nodeRoot) nextStage(ctx actor.Context) {
	stages := r.stages()
	if r.stage < len(stages) {
		st := stages[r.stage]
		r.phase.pending[st.name] = true
		// Each stage gets its own timer: the phase deadline plus slack, or
		// at least the slack when an earlier stage used the deadline up.
		if r.phase.timer.t != nil {
			r.phase.timer.t.Stop()
		}
		r.phaseSeq++
		seq, self, system := r.phaseSeq, ctx.Self(), ctx.ActorSystem()
		wait := max(r.req.deadline.Sub(r.node.runnerClock.Now()), 0) + 2*phaseSlack
		r.phase.timer = timerSlot{seq: seq, t: r.node.runnerClock.AfterFunc(wait, func() {
			system.Root.Send(self, &phaseDeadline{seq: seq})
		})}
		if st.name == "resources" {
			if r.req.phase != PhaseClosing {
				// Resources have nothing to do before CLOSING.
				r.phase.add(&PhaseReport{Actor: st.name, Phase: r.req.phase, Start: r.node.runnerClock.Now(), Outcome: OutcomeOK, id: r.req.id})
				r.stage++
				r.nextStage(ctx)
				return
			}
			ctx.Request(st.pid, &resources.CloseAll{}) // reverse dependency order; answers *CloseResult
			return
		}
		ctx.Request(st.pid, r.req) // Request, not Send: the stage answers to the sender
		return
	}
	c := r.phase
	r.phase = nil
	c.finish(ctx, r.node.runnerClock.Now())
}

// HandleFailure implements actor.SupervisorStrategy for the node root's
// children: never escalate (the guardian would panic the process), never
// restart (a fresh supervisor would forget its runners); log and resume.
func (r *nodeRoot) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, _ interface{}) {
	sup.ResumeChildren(child)
	if f, ok := reason.(*RunnerFailure); ok && f.Kind.NodeWide() {
		if !r.faulted {
			r.faulted = true
			r.node.nodeFault(f)
		}
		return
	}
	r.node.logger.WithFields(logrus.Fields{"child": child.Id, "reason": fmt.Sprint(reason)}).
		Error("node-level actor failed: resumed it")
}

// neverEscalate is the guardian strategy of the node root: log and resume.
type neverEscalate struct{ logger *logrus.Logger }

func (g neverEscalate) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, _ interface{}) {
	g.logger.WithFields(logrus.Fields{"child": child.Id, "reason": fmt.Sprint(reason)}).Error("node root failed: resuming it")
	sup.ResumeChildren(child)
}

// checkBuiltinBinary refuses a configured BuiltinBinary that is not an
// executable file.
func checkBuiltinBinary(path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("BuiltinBinary %q: %w: give the path of an exo-actors binary (make build puts one in bin/exo-actors), or leave it empty for this program's own", path, err))
	case st.IsDir() || st.Mode().Perm()&0o111 == 0:
		return errjoin.Tag(ErrInvalidConfig, fmt.Errorf("BuiltinBinary %q is not an executable file: give the path of an exo-actors binary (make build puts one in bin/exo-actors), or leave it empty for this program's own", path))
	}
	return nil
}
