package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// Errors the System returns; test them with errors.Is. Every error text
// names what it is about and says what to do.
var (
	// ErrInvalidSpec: SpawnRunner refused the spec (RunnerSpec.Validate), or
	// its Command does not exist or is not executable.
	ErrInvalidSpec = actors.ErrInvalidSpec
	// ErrConflictingTimeouts: New refused timeouts that each look fine but
	// that the watchdogs would fight (docs/operations.md, "Timeouts that
	// must fit together"): Timeouts.HeartbeatTimeout, ProgressTimeout or
	// LoadingStall below 2 × Timeouts.HeartbeatInterval, Timeouts.FrameStall
	// not below HeartbeatTimeout, Health.HeartbeatGrace below the interval
	// or Health.HeartbeatLimit below 2 × the interval or at or below the
	// grace in force (its default included), a Shutdown.Closing
	// below Timeouts.StopGrace + TermWait. The text names both settings,
	// their values and what to change.
	ErrConflictingTimeouts = actors.ErrConflictingTimeouts
	// ErrUnknownRunner: no runner with that ID was ever spawned here, or
	// it was removed long enough ago that Config.Retention forgot it.
	ErrUnknownRunner = actors.ErrUnknownRunner
	// ErrShuttingDown: Shutdown has begun; the System takes no new work.
	// SpawnRunner, Submit and RegisterResources return it during the
	// shutdown; StopRunner, Cancel, ForceKill and Resources return it if
	// the supervision tree stopped under the call.
	ErrShuttingDown = actors.ErrShuttingDown
	// ErrStopped: Shutdown has finished (Done is closed). Every call that
	// would need an actor returns it, except Runners, which returns each
	// runner's final state. errors.Is(ErrStopped, ErrShuttingDown) holds.
	ErrStopped = actors.ErrStopped
	// ErrQueueFull: the runner's task queue (TaskLimits.Queue) is full.
	ErrQueueFull = actors.ErrQueueFull
	// ErrRunnerNotAvailable: the runner cannot take tasks (stopping, failed,
	// stopped, or its actor panicked: then StopRunner, PingRunner and Cancel
	// get it too). A runner not Ready yet takes them: they queue until it is.
	ErrRunnerNotAvailable = actors.ErrRunnerNotAvailable
	// ErrTaskNotFound: Cancel named a task the runner does not know.
	ErrTaskNotFound = actors.ErrTaskNotFound
	// ErrInvalidTask: Submit refused the task before sending it (empty or
	// too long ID, empty Kind, negative Timeout: Task.Validate; a frame
	// over Config.MaxFrameSize), or the runner knows its ID as a task of
	// another Kind; the text names the field. System, Client and
	// ClusterClient alike.
	ErrInvalidTask = actors.ErrInvalidTask
	// ErrTaskRetried: TaskHandle.Next says, once, that the task was retried
	// as a new attempt; what was read of the earlier attempt is void. The
	// error is a *RetryError.
	ErrTaskRetried = actors.ErrTaskRetried
	// ErrChunkDropped: chunks of a task were dropped from its TaskHandle
	// before they were read (it keeps the latest TaskLimits.HandleChunks).
	// TaskHandle.Next returns a *ChunksDroppedError wrapping it and goes on
	// with the oldest chunk still held; Chunk(i) of a dropped chunk returns
	// an error wrapping it. The outcome still counts every chunk.
	ErrChunkDropped = actors.ErrChunkDropped
)

// System is one embedded exo-actors node: a supervision tree of runners,
// their resources and event streams. Its methods are safe for concurrent
// use. Methods that ask the tree something take a context; one without a
// deadline is bounded by Config.RequestTimeout.
type System struct {
	node *actors.Node
	http *httpapi.Server // nil unless Config.Health.HTTP.Addr is set (health.go)
	// served is where this System is in serving (serve.go); guarded by
	// processServe.mu.
	served serveState
}

// New starts a System: the actor system, the supervision tree and the
// event streams. Options apply to cfg in order; a nil Option is skipped. It fails only for a Config
// that cannot work, saying which: a negative value where 0 takes the
// default (ErrInvalidConfig), timeouts the watchdogs would fight
// (ErrConflictingTimeouts), a malformed Rule or health setting.
func New(cfg Config, opts ...Option) (*System, error) {
	for _, o := range opts {
		if o != nil { // a host's conditional option left unset (it panicked: a host's trial)
			o(&cfg)
		}
	}
	if err := cfg.checkNegatives(); err != nil { // config_check.go
		return nil, err
	}
	if err := cfg.Health.Webhook.check(); err != nil { // webhook.go
		return nil, err
	}
	n, err := actors.StartNode(toNodeConfig(cfg))
	if err != nil {
		return nil, err
	}
	s := &System{node: n}
	if err := s.startHTTP(cfg); err != nil {
		_, _ = n.Shutdown(context.Background())
		return nil, err
	}
	return s, nil
}

// SpawnRunner starts a runner and returns its ID ("<kind>-<12 hex>") at
// once; the runner then works its way to Ready (WaitReady waits for that).
// A spec that cannot work — invalid, or a Command that does not exist or is
// not executable — is refused here with an error wrapping ErrInvalidSpec
// that names it. After Shutdown began it returns ErrShuttingDown.
func (s *System) SpawnRunner(ctx context.Context, spec RunnerSpec) (string, error) {
	if err := s.node.RefuseWork(); err != nil { // before the spec: a trial got ErrInvalidSpec after Shutdown
		return "", err
	}
	as := toRunnerSpec(spec)
	if err := as.Validate(); err != nil {
		return "", err
	}
	if err := as.CheckCommand(); err != nil {
		return "", err
	}
	return s.node.SpawnRunner(ctx, as)
}

// WaitReady waits until runner id is Ready (or Running) and returns nil. If
// the runner fails first, it returns the failure: an error for which
// errors.Is(err, ErrRunnerFailed) holds and errors.As finds the
// *RunnerFailure, whether it fails while WaitReady waits or had failed
// before the call. If the runner is stopped first, or
// the System shuts down, the error wraps ErrRunnerNotAvailable or
// ErrShuttingDown; an unknown ID gives ErrUnknownRunner; ctx ending gives
// an error wrapping ctx.Err() that names the runner's status (asked for at
// most a second more; "unknown" if the node did not answer by then).
//
// Under a RETRY policy a failed runner restarts on its own; WaitReady
// returns at the first failure it sees nonetheless, so call it again to wait
// for the restarted runner (a runner already waiting to restart when
// WaitReady is called is waited for). Called for a runner that failed, it
// waits for the error policy's decision (bounded by ctx only): when that
// restarts nothing (ESCALATE, SKIP), the error wraps both ErrRunnerFailed
// and ErrRunnerNotAvailable (the runner will not come back: spawn
// another). A runner whose actor panicked (a bug in exo-actors: kind
// FailureActorPanic) is decided the same way; by default it is escalated.
// Client.WaitReady has the same semantics for a remote node's runner.
func (s *System) WaitReady(ctx context.Context, id string) error {
	select {
	case <-s.node.Done():
		// Not "runner X is Shutdown; spawn a new runner", which a
		// stopped System cannot (a new user's trial).
		return fmt.Errorf("wait for runner %s: %w", id, ErrStopped)
	default:
	}
	// Subscribe first, then look: a change between the two is in the stream.
	sub, err := s.node.Subscribe(actors.TopicRunnerStatus, filterFor(id), subscribeDefaults())
	if err != nil {
		return err
	}
	defer sub.Close()
	if decided, err := s.readyOrFailed(ctx, id); decided || err != nil {
		return err
	}
	for {
		e, err := sub.Next(ctx)
		switch {
		case errors.Is(err, ErrEndOfStream):
			return fmt.Errorf("runner %s: %w: the System shut down before the runner was Ready", id, ErrShuttingDown)
		case err != nil:
			// The status only names the state in the error: asked
			// briefly, so a busy supervisor does not hold the caller past
			// its ctx (RequestTimeout would bound it, a minute by default).
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), describeWait)
			info, derr := s.runner(sctx, id)
			cancel()
			status := info.StatusText()
			if derr != nil {
				status = "unknown"
			}
			return fmt.Errorf("runner %s is not Ready (status %s): %w", id, status, err)
		}
		if e.Gap != nil { // events were lost: look again
			if decided, err := s.readyOrFailed(ctx, id); decided || err != nil {
				return err
			}
			continue
		}
		ae, _ := e.Payload.(actors.Event)
		switch ev := fromEvent(ae).(type) {
		case StatusChanged:
			if ev.To == StatusReady || ev.To == StatusRunning {
				return nil
			}
		case RunnerFailed:
			return ev.Failure
		case RunnerStopped:
			return fmt.Errorf("%w: runner %s was stopped (%s) before it was Ready", ErrRunnerNotAvailable, id, ev.Result.EndedBy)
		}
	}
}

// describeWait bounds WaitReady's look at the runner's status once its ctx
// has ended (the status goes into the error).
const describeWait = time.Second

// readyOrFailed looks at the runner now: decided when WaitReady can return
// (a nil error: Ready).
func (s *System) readyOrFailed(ctx context.Context, id string) (bool, error) {
	info, err := s.runner(ctx, id)
	if err != nil {
		return true, err
	}
	if info.Status == StatusFailed && !info.Restarting && !failureDecided(info) {
		subscribe := func() (func(context.Context) error, func(), error) {
			sub, err := s.node.Subscribe(actors.TopicErrors, streams.Filter{RunnerID: id, Kinds: []string{actors.KindSupervisionDecision}}, subscribeDefaults())
			if err != nil {
				return nil, nil, err
			}
			return func(ctx context.Context) error { _, err := sub.Next(ctx); return err }, sub.Close, nil
		}
		return awaitDecision(ctx, subscribe, func(ctx context.Context) (RunnerInfo, error) { return s.runner(ctx, id) },
			func(info RunnerInfo, err error) error {
				if errors.Is(err, ErrEndOfStream) {
					return fmt.Errorf("runner %s: %w: the System shut down before the runner was Ready", id, ErrShuttingDown)
				}
				return fmt.Errorf("runner %s failed (%s) and WaitReady stopped waiting for the error policy's decision: %w", id, info.LastError, err)
			})
	}
	return readyDecision(info)
}

// awaitDecision waits until the error policy has decided on a failed
// runner's failure (its SupervisionDecision), so that WaitReady tells
// "will restart" (it then waits on) from "will not come back"
// (ErrRunnerNotAvailable) instead of guessing between the two; for System
// and Client alike, which differ only in these parameters. subscribe
// subscribes to the runner's decision events (next waits for one; stop
// ends the subscription); look reads the runner's info. It looks until
// the policy has decided, waiting for the next decision in between (the
// subscription is made before the first look, so a decision between the
// two is in it). ended makes the error when next fails (ctx ended, stream
// ended, node lost).
func awaitDecision(ctx context.Context, subscribe func() (next func(context.Context) error, stop func(), err error),
	look func(context.Context) (RunnerInfo, error), ended func(RunnerInfo, error) error) (bool, error) {
	next, stop, err := subscribe()
	if err != nil {
		return true, err
	}
	defer stop()
	for {
		info, err := look(ctx)
		if err != nil {
			return true, err
		}
		if info.Status != StatusFailed || info.Restarting || failureDecided(info) {
			return readyDecision(info)
		}
		if err := next(ctx); err != nil {
			return true, ended(info, err)
		}
	}
}

// readyDecision is WaitReady's look at a runner's info, for System and
// Client alike: decided when it can return (a nil error: Ready); a runner
// waiting to restart is not decided.
func readyDecision(info RunnerInfo) (bool, error) {
	st := info.Status
	switch {
	case info.Restarting:
		return false, nil
	case st == StatusReady || st == StatusRunning:
		return true, nil
	case st == StatusFailed && failureDecided(info):
		// The error policy decided on this failure and restarts nothing
		// (a restart would show as Restarting or a new generation).
		why := "the error policy decided " + info.LastRecord.Decision.String()
		if d := info.LastRecord.Decision; d.Action == ActionRetry || d.Action == ActionForceCleanup && d.Then == ActionRetry {
			// The policy planned a restart that did not happen: a
			// StopRunner (or the node's shutdown) cancelled it.
			why = "its restart (" + d.String() + ") was cancelled: the runner was stopped, or the node is shutting down"
		}
		return true, fmt.Errorf("%w: runner %s failed and will not come back (%w: %s): %w; fix what failed, then spawn a new runner",
			ErrRunnerFailed, info.ID, ErrRunnerNotAvailable, why, lastFailure(info))
	case st == StatusFailed:
		return true, fmt.Errorf("%w: runner %s failed and is not Ready: %w (the error policy's decision is not known yet: call WaitReady again to wait for a restart)", ErrRunnerFailed, info.ID, lastFailure(info))
	case st == StatusShutdown || st == StatusShuttingDown:
		return true, fmt.Errorf("%w: runner %s is %s; spawn a new runner", ErrRunnerNotAvailable, info.ID, st)
	}
	return false, nil
}

// lastFailure is the failure WaitReady returns for a runner that had
// failed before it looked: the *RunnerFailure itself, as WaitReady returns
// when it sees the failure happen, so errors.As finds it and the text
// (the advice included) is the same whichever way WaitReady learnt of it.
// Before, the look after the fact said a text only: the status's message
// (without the advice: a built-in runner that is no runner, a clean-clone
// CI), then the record's, and errors.As found nothing
// (TestWaitReadyReturnsTheFailure when the runner failed first). A
// node too old to send the failure leaves its record's text.
func lastFailure(info RunnerInfo) error {
	if f := info.LastFailure; f != nil && f.Generation == info.Generation {
		return f
	}
	what := info.LastError
	if r := info.LastRecord; r != nil && r.Message != "" {
		what = r.Message
	}
	return errors.New(what)
}

// failureDecided: the runner's last error record is about its current
// generation, so the error policy has decided on its failure.
func failureDecided(info RunnerInfo) bool {
	return info.LastRecord != nil && info.LastRecord.Generation == info.Generation
}

func (s *System) runner(ctx context.Context, id string) (RunnerInfo, error) {
	infos, err := s.Runners(ctx)
	if err != nil {
		return RunnerInfo{}, err
	}
	for _, in := range infos {
		if in.ID == id {
			return in, nil
		}
	}
	return RunnerInfo{}, fmt.Errorf("%w %q: list runners (System.Runners) to see the IDs", ErrUnknownRunner, id)
}

// StopRunner stops one runner — Shutdown frame, then SIGTERM, then SIGKILL
// to its process group (RunnerTimeouts.StopGrace, TermWait) after its
// in-flight tasks finished or StopDrain passed — and says which step ended
// it. Stopping a runner twice, or one that already failed, is safe: calls
// made while the stop is under way all get its StopResult; a call after it
// returned gets a StopResult with EndedBy "not running".
func (s *System) StopRunner(ctx context.Context, id string) (*StopResult, error) {
	r, err := s.node.StopRunner(ctx, id)
	return fromStopResult(r), err
}

// Runners lists every runner spawned on this System, in spawn order, but
// for removed runners that Config.Retention has forgotten. After
// Shutdown it still returns every runner, in its final state (as at the end
// of CLOSING), so a host can log what ended how.
func (s *System) Runners(ctx context.Context) ([]RunnerInfo, error) {
	infos, err := s.node.Runners(ctx)
	out := make([]RunnerInfo, len(infos))
	for i, in := range infos {
		out[i] = fromRunnerInfo(in)
	}
	return out, err
}

// Submit queues a task on a runner and returns its handle. The handle
// streams the task's chunks in order and ends with exactly one outcome
// (Complete, TimedOut, Failed with a reason, or Cancelled); Wait returns it
// even when the runner crashes. A task ID the runner already knows returns
// a handle on the first submission's task while it runs (another
// *TaskHandle value reading the same chunks, sharing Next's cursor); once it ended, a
// handle that holds its outcome (not its chunks: TaskLimits.DedupMemory
// outcomes are remembered per runner); the same ID with another Kind is
// refused (ErrInvalidTask). Errors: an invalid Task, ErrQueueFull,
// ErrRunnerNotAvailable, ErrUnknownRunner, ErrShuttingDown.
func (s *System) Submit(ctx context.Context, runnerID string, t Task) (*TaskHandle, error) {
	h, err := s.node.Submit(ctx, runnerID, toTaskSpec(t))
	if err != nil {
		return nil, err
	}
	return &TaskHandle{ID: h.ID, RunnerID: h.RunnerID, h: h}, nil
}

// Cancel cancels one task, or every task of the runner when taskID is
// empty, and returns how many it cancelled. The tasks end Cancelled once
// the runner confirms, or after TaskLimits.CancelWait. An unknown task
// gives ErrTaskNotFound. A task that has ended (while the runner still
// remembers its outcome, TaskLimits.DedupMemory), or whose cancel is
// already under way, returns 0 and no error: nothing more to cancel, and
// its handle's outcome stands.
func (s *System) Cancel(ctx context.Context, runnerID, taskID string) (int, error) {
	return s.node.Cancel(ctx, runnerID, taskID)
}

// Subscribe subscribes to a topic's events (TopicRunnerStatus, TopicTasks,
// TopicErrors, TopicAlerts) from now on, in order, then EndOfStream when
// the System shuts down. A slow subscriber whose buffer fills loses the
// oldest events and receives one Gap event saying how many; nothing is
// dropped silently. Close the subscription when done. An unknown topic
// gives ErrUnknownTopic; a Filter kind the topic never carries (e.g.
// KindTaskChunk on TopicRunnerStatus) or a negative option gives
// ErrInvalidRequest, the text naming the topic that carries the kind.
func (s *System) Subscribe(topic string, f Filter, o SubscribeOptions) (*Subscription, error) {
	sub, err := s.node.Subscribe(topic, toFilter(f), toSubscribeOptions(o))
	if err != nil {
		return nil, err
	}
	return &Subscription{s: sub}, nil
}

// PingRunner times a control message to runner id through the path a stop
// takes (the supervisor, then the runner's mailbox): how long supervision
// waits behind a runner's traffic.
func (s *System) PingRunner(ctx context.Context, id string) (time.Duration, error) {
	return s.node.PingRunner(ctx, id)
}

// HookStats returns the accounting of the event hook (calls, slow calls,
// drops of an asynchronous hook, panics recovered).
func (s *System) HookStats() HookStats { return HookStats(s.node.HookStats()) }

// ForwardStats returns the System's forwarding counters: events a stream
// refused (classified stream_closed) and messages sent to stopped actors
// (dead letters, classified send_to_stopped), with how many error records
// were made for them (at most one per kind per second).
func (s *System) ForwardStats() ForwardStats { return ForwardStats(s.node.ForwardStats()) }

// StreamStats returns every stream's accounting, by topic.
func (s *System) StreamStats() map[string]StreamStats {
	out := map[string]StreamStats{}
	for k, v := range s.node.StreamStats() {
		out[k] = fromStreamStats(v)
	}
	return out
}

// RegisterResources registers the host's resources, all or nothing: a
// missing dependency, a duplicate name or a cycle is refused, naming it
// (ErrMissingDependency, ErrDuplicateResource, ErrDependencyCycle). They
// close during Shutdown's CLOSING phase in reverse dependency order, each
// bounded by its CloseTimeout.
func (s *System) RegisterResources(ctx context.Context, specs ...ResourceSpec) error {
	rs := make([]resourceSpec, len(specs))
	for i, sp := range specs {
		rs[i] = resourceSpec(sp)
	}
	return s.node.RegisterResources(ctx, rs...)
}

// Resources returns the node's resources with their states and counts.
func (s *System) Resources(ctx context.Context) (ResourceSnapshot, error) {
	snap, err := s.node.Resources(ctx)
	return fromSnapshot(snap), err
}

// ErrorRecords returns the error handler's bounded history, oldest first.
func (s *System) ErrorRecords() []ErrorRecord {
	recs := s.node.Policy().Records()
	out := make([]ErrorRecord, len(recs))
	for i, r := range recs {
		out[i] = fromRecord(r)
	}
	return out
}

// ErrorStats returns the error handler's statistics.
func (s *System) ErrorStats() ErrorStats { return fromStats(s.node.Policy().Stats()) }

// Shutdown shuts the System down in three phases that travel down the
// supervision tree — SIGNALING (SpawnRunner and Submit return
// ErrShuttingDown), DRAINING (in-flight tasks finish or time out; streams
// flush), CLOSING (runners exit: Shutdown frame, SIGTERM, SIGKILL to the
// group; resources close; every subscription ends) — each bounded by its
// deadline (Config.Shutdown), and returns the report. It blocks until done;
// a second or concurrent call returns the same report. The report's runners
// are those alive when Shutdown began: a runner whose StopRunner returned
// before it is not in it (its StopResult is its record). The error joins
// what went wrong on the way (also listed in the report).
//
// ctx bounds how long the shutdown may take, for the call that runs its
// phases (a call while another runs them waits for it, or until its own
// ctx ends); context.Background() lets every phase run to its deadline.
// When the phases' deadlines would outlast ctx's deadline, each phase left
// runs with a share of the time left, in proportion to its own deadline (a
// DRAINING cut short ends its tasks TimedOut as its own deadline would;
// the report's PhaseDeadline says what each phase ran with). When ctx ends
// while a phase runs (cancelled, or a starved machine overran the shares),
// every runner's process group gets SIGKILL and the phases left run with a
// zero deadline; the phase running still waits for its resources' closes
// (each bounded by its CloseTimeout). The shutdown still ends, nothing is
// left running, the report has every phase, and the error wraps ctx's
// error and says how long a ctx the phases needed.
func (s *System) Shutdown(ctx context.Context) (ShutdownReport, error) {
	r, err := s.node.Shutdown(ctx)
	return fromShutdownReport(r), errjoin.OneLine(err, s.stopHTTP(ctx))
}

// ForceKill sends SIGKILL to every runner's process group now and returns
// how many it signalled. A Shutdown in progress goes on and reports those
// runners forced (in CLOSING) or failed (before it); a runner that was not
// stopping fails with SourceNodeKill, its reason and its tasks' naming the
// node's kill, not the runner. During a shutdown (a forced shutdown) the
// tasks still running end Failed with the reason "runner killed by the
// node's forced shutdown: …" (actors.ReasonShutdownForced), which a
// ClusterClient resubmits once when the task is Retryable, and the
// gateway's shutdown note says the shutdown was forced. Outside a shutdown
// the error policy decides what follows.
func (s *System) ForceKill(ctx context.Context) (int, error) { return s.node.ForceKill(ctx) }

// Done is closed once the System has shut down, whoever started it (a
// node-wide fault makes it shut itself down).
func (s *System) Done() <-chan struct{} { return s.node.Done() }

// ShutdownBegan is closed when the System's shutdown begins, whoever
// started it (Shutdown, a client's ShutdownNode, a cluster-wide shutdown,
// a node-wide fault); Done is closed at its end. A node that is a cluster
// member leaves its cluster then (exo-actors node).
func (s *System) ShutdownBegan() <-chan struct{} { return s.node.ShutdownBegan() }

// Fault returns the node-wide fault that made the System shut itself down
// (a runner could not start because the node cannot fork or is out of file
// descriptors: the node_fault kind, docs/errors.md; or the health monitor
// found too many runners persistently failed, HealthSettings's
// NodeShutdownShare), or nil when none came.
// After such a fault every call answers ErrShuttingDown, then ErrStopped;
// Fault says why.
func (s *System) Fault() error { return s.node.Fault() }

// ForwardStats counts what the System could not forward. Each failure is
// counted; at most one error record (and log line) per kind per second is
// made, and the next record says how many were only counted.
type ForwardStats struct {
	// Published counts events handed to their topic's stream.
	Published uint64
	// StreamClosed counts events refused because their stream was closed
	// or stopped (they come after CLOSING). Kind stream_closed.
	StreamClosed uint64
	// StreamNotSpawned counts events refused because their stream had no
	// actor (it could not be spawned). Kind stream_closed.
	StreamNotSpawned uint64
	// Unrouted counts events of a type that no topic carries (a bug; the
	// first is logged).
	Unrouted uint64
	// DeadLetters counts messages sent to an actor that had stopped (a pipe
	// goroutine's frame to a runner gone, a request to a stopped actor).
	// Kind send_to_stopped.
	DeadLetters uint64
	// LateReplies counts answers to requests whose caller had stopped
	// waiting: counted, not classified.
	LateReplies uint64
	// SystemDeadLetters counts protoactor system messages (Watch, Stop,
	// Terminated, ...) to stopped actors: expected while actors stop,
	// counted, not classified.
	SystemDeadLetters uint64
	// Records counts the error records made for the failures above;
	// Suppressed those only counted because a record of the same kind was
	// made less than a second before.
	Records, Suppressed uint64
	// ToDeparted counts messages to remote clients that had said goodbye
	// (late replies and events): expected, logged at debug, not
	// classified.
	ToDeparted uint64
}
