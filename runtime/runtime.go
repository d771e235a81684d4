package runtime

import (
	"context"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/actors/streams"
)

// Types shared with the actors, re-exported.
type (
	// RunnerSpec says how to start a runner.
	RunnerSpec = actors.RunnerSpec
	// RunnerTimeouts are the waits of a runner's life.
	RunnerTimeouts = actors.RunnerTimeouts
	// RunnerInfo is a snapshot of one runner.
	RunnerInfo = actors.RunnerInfo
	// StopResult says how a runner's stop went.
	StopResult = actors.StopResult
	// StopStep is one step of a stop escalation.
	StopStep = actors.StopStep
	// RunnerFailure says how a runner failed.
	RunnerFailure = actors.RunnerFailure
	// DetectionSource says how a failure was noticed.
	DetectionSource = actors.DetectionSource
	// Event is something that happened to a runner.
	Event = actors.Event
	// EventHook receives every event; it must not block.
	EventHook = actors.EventHook
	// ProcessStarted is an Event.
	ProcessStarted = actors.ProcessStarted
	// StatusChanged is an Event.
	StatusChanged = actors.StatusChanged
	// ProcessExited is an Event.
	ProcessExited = actors.ProcessExited
	// RunnerFailed is an Event.
	RunnerFailed = actors.RunnerFailed
	// RunnerStopped is an Event.
	RunnerStopped = actors.RunnerStopped
	// Config configures a System; zero fields take documented defaults.
	Config = actors.NodeConfig
	// ShutdownReport is the result of Shutdown: the actor tree with phases.
	ShutdownReport = actors.ShutdownReport
	// ShutdownDeadlines bound each shutdown phase.
	ShutdownDeadlines = actors.ShutdownDeadlines
	// PhaseReport is one actor's account of one shutdown phase.
	PhaseReport = actors.PhaseReport
)

// Errors callers test with errors.Is.
var (
	ErrUnknownRunner = actors.ErrUnknownRunner
	ErrShuttingDown  = actors.ErrShuttingDown
)

// Option changes a Config before the System starts.
type Option func(*Config)

// WithEventHook sets the hook that receives every event.
func WithEventHook(h EventHook) Option { return func(c *Config) { c.Hook = h } }

// WithTimeouts sets the runner timeouts.
func WithTimeouts(t RunnerTimeouts) Option { return func(c *Config) { c.Timeouts = t } }

// System is one embedded exo-actors node.
type System struct {
	node *actors.Node
}

// New starts a System.
func New(cfg Config, opts ...Option) (*System, error) {
	for _, o := range opts {
		o(&cfg)
	}
	n, err := actors.StartNode(cfg)
	if err != nil {
		return nil, err
	}
	return &System{node: n}, nil
}

// SpawnRunner starts a runner and returns its ID ("<kind>-<6 hex>"). The
// runner then reports its way to Ready through events. A spec that cannot
// work is refused with an error saying what to fix.
func (s *System) SpawnRunner(ctx context.Context, spec RunnerSpec) (string, error) {
	return s.node.SpawnRunner(ctx, spec)
}

// StopRunner stops one runner: Shutdown frame, then SIGTERM, then SIGKILL to
// its process group, and says which step ended it. Stopping a runner twice,
// or one that already failed, is safe.
func (s *System) StopRunner(ctx context.Context, id string) (*StopResult, error) {
	return s.node.StopRunner(ctx, id)
}

// Runners lists every runner spawned on this System, in spawn order.
func (s *System) Runners(ctx context.Context) ([]RunnerInfo, error) {
	return s.node.Runners(ctx)
}

// Shutdown shuts the System down in three phases that travel down the
// supervision tree — SIGNALING (Submit returns ErrShuttingDown), DRAINING
// (in-flight tasks finish or time out; streams flush), CLOSING (runners exit:
// Shutdown frame, SIGTERM, SIGKILL to the group; resources close; streams
// end) — and returns the report tree. A second or concurrent call returns the
// same report.
func (s *System) Shutdown(ctx context.Context) (ShutdownReport, error) {
	return s.node.Shutdown(ctx)
}

// ForceKill sends SIGKILL to every runner's process group now. A Shutdown in
// progress goes on and reports those runners forced.
func (s *System) ForceKill(ctx context.Context) (int, error) { return s.node.ForceKill(ctx) }

// Done is closed once the System has shut down (also after a node-wide fault
// PingRunner times a control message to runner id through the path a stop
// takes (supervisor, then the runner's mailbox); see actors.Node.PingRunner.
func (s *System) PingRunner(ctx context.Context, id string) (time.Duration, error) {
	return s.node.PingRunner(ctx, id)
}

// HookStats returns the accounting of the event hook (calls, slow calls,
// drops of an asynchronous hook).
func (s *System) HookStats() actors.HookStats { return s.node.HookStats() }

// made it shut itself down).
func (s *System) Done() <-chan struct{} { return s.node.Done() }

// Task types, re-exported.
type (
	// Task is one unit of work for a runner.
	Task = actors.TaskSpec
	// TaskHandle follows one submitted task: chunks in order, then one outcome.
	TaskHandle = actors.TaskHandle
	// TaskOutcome is how a task ended.
	TaskOutcome = actors.TaskOutcome
	// TaskLimits bound the work a runner holds.
	TaskLimits = actors.TaskLimits
	// Chunk is one chunk of a task's output.
	Chunk = actors.Chunk
	// TaskStatusChanged is an Event.
	TaskStatusChanged = actors.TaskStatusChanged
	// TaskChunk is an Event.
	TaskChunk = actors.TaskChunk
)

// Task errors.
var (
	ErrQueueFull          = actors.ErrQueueFull
	ErrRunnerNotAvailable = actors.ErrRunnerNotAvailable
	ErrTaskNotFound       = actors.ErrTaskNotFound
)

// Submit queues a task on a runner and returns its handle. The handle streams
// the task's chunks in order and ends with exactly one outcome (Complete,
// TimedOut, Failed with a reason, or Cancelled); Wait returns it even when
// the runner crashes. A task ID the runner already knows returns the first
// submission's handle. After Shutdown began, Submit returns ErrShuttingDown.
func (s *System) Submit(ctx context.Context, runnerID string, t Task) (*TaskHandle, error) {
	return s.node.Submit(ctx, runnerID, t)
}

// Cancel cancels one task, or every task of the runner when taskID is empty.
func (s *System) Cancel(ctx context.Context, runnerID, taskID string) (int, error) {
	return s.node.Cancel(ctx, runnerID, taskID)
}

// Supervision types, re-exported.
type (
	// ErrorPolicy configures the error handler (rules, backoff, intensity).
	ErrorPolicy = errhandler.Config
	// BackoffConfig shapes restart delays.
	BackoffConfig = errhandler.BackoffConfig
	// Intensity limits restarts in a window before escalating.
	Intensity = errhandler.Intensity
	// Rule is a user classification rule, consulted before the defaults.
	Rule = errhandler.Rule
	// ErrorRecord is one handled failure.
	ErrorRecord = errhandler.Record
	// SupervisionDecision is an Event: what the supervisor did about a failure.
	SupervisionDecision = actors.SupervisionDecision
	// Alert is an Event that needs a person.
	Alert = actors.Alert
)

// ErrorRecords returns the error handler's bounded history of records.
func (s *System) ErrorRecords() []ErrorRecord { return s.node.Policy().Records() }

// ErrorStats returns the error handler's statistics.
func (s *System) ErrorStats() errhandler.Stats { return s.node.Policy().Stats() }

// Event streams and resources, re-exported.
type (
	// Subscription receives a topic's events in order: Next returns each,
	// then an error wrapping ErrEndOfStream (and io.EOF) once the stream ended.
	Subscription = streams.Subscription
	// StreamEvent is one event of a stream; Payload holds the typed Event.
	StreamEvent = streams.Event
	// Filter selects events by runner, task or kind.
	Filter = streams.Filter
	// SubscribeOptions tunes one subscriber (buffer, credit window).
	SubscribeOptions = streams.SubscribeOptions
	// StreamStats is a stream's accounting; Check verifies its invariant.
	StreamStats = streams.Stats
	// ResourceSnapshot lists the node's resources and counts by state.
	ResourceSnapshot = resources.Snapshot
	// ResourceSpec describes a resource a host registers.
	ResourceSpec = resources.Spec
)

// Stream topics.
const (
	TopicRunnerStatus = actors.TopicRunnerStatus
	TopicTasks        = actors.TopicTasks
	TopicErrors       = actors.TopicErrors
	TopicAlerts       = actors.TopicAlerts
)

// ErrEndOfStream ends every subscription; errors.Is(err, io.EOF) holds too.
var ErrEndOfStream = streams.ErrEndOfStream

// Subscribe subscribes to a topic's events from now on. A slow subscriber
// whose buffer fills loses the oldest events and receives one Gap event
// saying how many; nothing is dropped silently.
func (s *System) Subscribe(topic string, f Filter, o SubscribeOptions) (*Subscription, error) {
	return s.node.Subscribe(topic, f, o)
}

// StreamStats returns every stream's accounting, by topic.
func (s *System) StreamStats() map[string]StreamStats { return s.node.StreamStats() }

// Resources returns the node's resources with their states and counts.
func (s *System) Resources(ctx context.Context) (ResourceSnapshot, error) {
	return s.node.Resources(ctx)
}

// RegisterResources registers the host's resources (all or nothing: a missing
// dependency, a duplicate name or a cycle is refused, naming it). They close
// during Shutdown's CLOSING phase in reverse dependency order.
func (s *System) RegisterResources(ctx context.Context, specs ...ResourceSpec) error {
	return s.node.RegisterResources(ctx, specs...)
}
