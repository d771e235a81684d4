package runtime

import (
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Config configures a System. Every zero field takes the default named in
// its comment (docs/operations.md lists them all, and a test checks that
// list against the code).
type Config struct {
	// Logger receives every log line, the actor system's included. Any
	// logrus.FieldLogger works: a *logrus.Logger, or a *logrus.Entry that
	// carries the host's fields. Default: a logrus logger at info level on
	// stderr. A *logrus.Entry's level is read once, when New runs.
	Logger logrus.FieldLogger
	// Clock drives supervision: restart backoff, restart intensity, the
	// stable period that resets backoff, error records. Default clock.Real().
	// Tests inject a clock.Fake to step through backoff without sleeping.
	Clock clock.Clock
	// RunnerClock drives each runner's liveness timers: handshake, heartbeat
	// and progress watchdogs, stop escalation, task timeouts, shutdown phase
	// deadlines and durations (the ShutdownReport's times), the event
	// streams' flush timers and the health monitor (its checks, heartbeat
	// ages, recovery; HealthConfig.OnCheck follows each check). Default
	// clock.Real(); it is separate from Clock so that stepping a fake
	// supervision clock does not make live runners look hung.
	RunnerClock clock.Clock
	// ErrorPolicy configures the error handler: user rules (consulted before
	// the defaults of docs/errors.md), backoff and restart intensity.
	ErrorPolicy ErrorPolicy
	// Timeouts are the waits of each runner's life. New refuses pairs the
	// watchdog would fight (ErrConflictingTimeouts), e.g. a
	// HeartbeatTimeout below 2 × HeartbeatInterval.
	Timeouts RunnerTimeouts
	// Tasks bounds each runner's tasks.
	Tasks TaskLimits
	// Hook receives every event, as a value (see Event); may be nil. It is
	// called from actor goroutines: it must be safe for concurrent use and
	// must not block, nor call the System (a Subscription is the way to
	// react to events with calls).
	Hook EventHook
	// BuiltinBinary is the exo-actors binary that built-in runners
	// (RunnerSpec.Builtin) run; default os.Executable(), which is right
	// only for the exo-actors binary itself: a host program that spawns
	// built-in runners sets it to a built exo-actors (make build puts one
	// in bin/exo-actors), or its own program is started as the "runner"
	// and fails ("stdout is not frames: …", "exited before saying Hello
	// …"; docs/host-guide.md). A path that is not an executable file fails
	// New (ErrInvalidConfig).
	BuiltinBinary string
	// Env is the base environment of runner processes; nil means the
	// host's. RunnerSpec.Env is added to it.
	Env []string
	// MaxFrameSize is the largest frame either way: a runner's, and a
	// task's frame to its runner (Submit refuses a larger task with
	// ErrInvalidTask); default 4 MiB.
	MaxFrameSize int
	// DeadLetterThrottle is the interval of the actor system's dead-letter
	// log throttle; default 1s (tests set it short so its goroutine ends
	// quickly).
	DeadLetterThrottle time.Duration
	// StreamBuffer is each subscriber's buffer in an event stream (events
	// beyond the subscriber's credit); when it is full the oldest event is
	// dropped and a Gap event says how many. Default 1024.
	StreamBuffer int
	// Shutdown sets each shutdown phase's deadline.
	Shutdown ShutdownDeadlines
	// RequestTimeout bounds a call into the System when the caller's
	// context has no deadline; default 1 minute.
	RequestTimeout time.Duration
	// Health configures the health monitor (on by default: a check every
	// second), its alert webhook and the HTTP endpoints (off unless
	// Health.HTTP.Addr is set). docs/operations.md, "Health", explains the
	// score, thresholds, recovery and alerts.
	Health HealthConfig
	// HookQueue > 0 runs Hook on a goroutine of its own behind a queue of
	// that many events: a slow hook then never stalls the actor that emits;
	// when the queue is full the event is dropped for the hook (not for the
	// streams) and counted (System.HookStats). 0 (default): the hook runs
	// on the emitting actor, which waits for it.
	HookQueue int
	// HookSlow: a hook call longer than this is counted and logged
	// (throttled); default 10ms.
	HookSlow time.Duration
	// Retention bounds what the System remembers of removed runners.
	Retention RetentionLimits
	// Deprecated: SkipRegistryPrewarm has no effect. A System used to touch
	// all of protoactor's process registry at its start (35–60 ms, and
	// about 13 MiB of live heap for good), and tests that started many
	// Systems skipped that; the registry is now small from the start (32 Go
	// maps instead of 32,768), and its memory flat with uptime without it.
	SkipRegistryPrewarm bool
	// ReadWindow and ReadBatch bound each runner's stdout hand-off: batches
	// the node holds before it stops reading the runner's stdout (default
	// 4), and frames per batch (default 256).
	ReadWindow, ReadBatch int
}

// RetentionLimits bound what the System remembers of removed runners
// (stopped or escalated): their final RunnerInfo for Runners, and their IDs
// for StopRunner and dedup. Past them a removed runner is unknown.
type RetentionLimits struct {
	// KeepRemoved: removed runners whose final info is kept; default 256.
	// Negative keeps none.
	KeepRemoved int
	// RemovedTTL: how long a removed runner's final info is kept; default
	// 1h.
	RemovedTTL time.Duration
}

// HookStats is the accounting of the event hook (System.HookStats).
type HookStats struct {
	// Async: the hook runs on its own goroutine behind a queue of
	// QueueSize events (Config.HookQueue > 0).
	Async     bool
	QueueSize int
	// Calls counts hook calls made; Queued the events waiting (async).
	Calls  uint64
	Queued int
	// Dropped counts events the async hook never saw: its queue was full
	// or the System had shut down.
	Dropped uint64
	// Slow counts calls longer than Config.HookSlow; MaxCall is the
	// longest; Stalled sums the time of the slow calls (for a synchronous
	// hook: time an actor spent in the hook instead of supervising).
	Slow    uint64
	MaxCall time.Duration
	Stalled time.Duration
	// Panics counts hook calls that panicked: each is recovered where the
	// hook was called and logged at error level with its stack (at most
	// once per second); the node goes on and the event counts as
	// delivered.
	Panics uint64
}

// RunnerTimeouts are the waits of a runner's life. Zero fields take the
// defaults listed; tests set them short.
type RunnerTimeouts struct {
	// Handshake is how long a started process has to send its Hello frame;
	// default 5s. Past it the runner fails with FailureHandshakeTimeout.
	Handshake time.Duration
	// HeartbeatInterval is asked of the runner in HelloAccepted; default
	// 500ms. HeartbeatTimeout, ProgressTimeout and LoadingStall must each
	// be at least twice it (progress and layers arrive with the
	// heartbeats), or New refuses the Config (ErrConflictingTimeouts).
	HeartbeatInterval time.Duration
	// HeartbeatTimeout: no heartbeat at all for this long is a hang
	// (FailureHang); default 5s.
	HeartbeatTimeout time.Duration
	// ProgressTimeout: a Running runner whose heartbeats carry frozen
	// progress counters this long makes no progress (FailureNoProgress);
	// default 30s.
	ProgressTimeout time.Duration
	// LoadingStall: a runner with no layer progress this long while it
	// loads stalled (FailureLoadingStall); default 60s. The bound runs
	// from the handshake while Idle, from the Connected report, and from
	// each Loading layer count change (docs/protocol.md).
	LoadingStall time.Duration
	// ExitGrace: after a TerminationError or the end of its stdout, how long
	// the runner has to exit before SIGKILL; default 3s (above the Go SDK's
	// 2s stop grace).
	ExitGrace time.Duration
	// StopGrace: after the Shutdown frame, how long before SIGTERM; default
	// 3s.
	StopGrace time.Duration
	// TermWait: after SIGTERM, how long before SIGKILL; default 2s.
	TermWait time.Duration
	// Drain: after the process exited, how long its pipe readers have to
	// finish; default 1s.
	Drain time.Duration
	// StopDrain: StopRunner's wait for in-flight tasks to finish before the
	// stop; default 30s.
	StopDrain time.Duration
	// FrameStall: a stdout frame that began stays incomplete this long while
	// stdout stays open (often a stray print whose first byte reads as a
	// length): the runner fails as garbage (not_a_runner before Hello);
	// default 1s, or HeartbeatTimeout/2 when that is shorter. It must stay
	// below HeartbeatTimeout, or the stuck reader
	// looks like a hang (New refuses it: ErrConflictingTimeouts).
	FrameStall time.Duration
}

// TaskLimits bound the work a runner holds. Zero fields take the defaults.
type TaskLimits struct {
	// InFlight is how many tasks a runner runs at once; default 1.
	InFlight int
	// Queue is how many more may wait for a free slot; default 64. A Submit
	// beyond it fails with ErrQueueFull.
	Queue int
	// AckTimeout: a task the runner has not acknowledged this long after it
	// was sent ends Failed; default 5s.
	AckTimeout time.Duration
	// CancelWait: how long a cancelled task waits for the runner to confirm
	// before it ends Cancelled anyway; default 2s.
	CancelWait time.Duration
	// DedupMemory is how many finished task IDs per runner are remembered
	// for deduplication (oldest forgotten first); default 1024.
	DedupMemory int
	// HandleChunks is how many of a task's latest chunks its TaskHandle
	// keeps for Chunk, Chunks and Next; default 8192. Older ones are
	// dropped (Chunk and Next then return an error wrapping
	// ErrChunkDropped); the outcome still counts them all.
	HandleChunks int
}

// ShutdownDeadlines bound each shutdown phase; zero fields take the
// defaults.
type ShutdownDeadlines struct {
	// Signaling: no new work is accepted; default 2s.
	Signaling time.Duration
	// Draining: in-flight tasks finish or end TimedOut; default 30s.
	Draining time.Duration
	// Closing: runners exit, resources close; past it runners are
	// SIGKILLed (FORCE_CLEANUP). Default 15s, or Timeouts.StopGrace +
	// TermWait + Drain when that is longer, so a runner's stop escalation
	// (Shutdown frame, SIGTERM, SIGKILL) fits; a Closing set below
	// StopGrace + TermWait is refused (ErrConflictingTimeouts).
	Closing time.Duration
}

// ErrorPolicy configures the error handler, which decides what to do about
// each failure (docs/errors.md has the default table). Its clock is always
// Config.Clock.
type ErrorPolicy struct {
	// Rand is the source of backoff jitter. Nil means a randomly seeded one;
	// tests pass e.g. rand.NewPCG(1, 2) for a repeatable run.
	Rand rand.Source
	// Rules are the host's rules, consulted in order before the defaults.
	Rules []Rule
	// Backoff shapes the delay before each restart.
	Backoff BackoffConfig
	// Intensity limits restarts.
	Intensity Intensity
	// HistoryLimit is the number of error records kept; older ones are
	// dropped, their counts stay in ErrorStats. Default 1000.
	HistoryLimit int
}

// NoDelay as BackoffConfig.Base means restarts wait no time at all.
const NoDelay time.Duration = -1

// BackoffConfig shapes restart delays: the n-th delay (from 0) is drawn
// uniformly from [d/2, d] with d = min(Max, Base·2ⁿ).
type BackoffConfig struct {
	// Base is the first nominal delay; each next one doubles, up to Max.
	// Default 500ms; NoDelay means no delay at all.
	Base time.Duration
	// Max caps the nominal delay; default 30s. A Max below Base is raised to
	// Base.
	Max time.Duration
	// StablePeriod is how long a runner must stay Ready before its backoff
	// and attempt count start over; default 60s.
	StablePeriod time.Duration
}

// Intensity limits restarts, as OTP's restart intensity does: a restart that
// would make more than MaxRestarts restarts of one runner within Window is
// turned into ESCALATE (the runner stops, a CRITICAL alert goes out).
type Intensity struct {
	// MaxRestarts is the number of restarts allowed within Window; default
	// 5; a negative value means no limit.
	MaxRestarts int
	// Window is the sliding window; default 60s.
	Window time.Duration
}

// Rule is one row of the classification table: a pattern over a failure and
// the decision it leads to. Zero-valued pattern fields match anything; all
// set fields must match. The first matching rule wins, the host's rules
// before the defaults.
type Rule struct {
	// Name identifies the rule in decisions, records and docs. Required.
	Name string
	// Kind matches the failure's kind (one of the Failure… constants);
	// empty matches any kind. Any other value would never match: New and
	// DialCluster refuse it, naming the nearest kind.
	Kind FailureKind
	// ExitCode, when set, matches only exits (FailureExitZero,
	// FailureExitNonZero) with this status.
	ExitCode *int
	// Signal, when non-zero, matches the signal that killed the runner.
	Signal syscall.Signal
	// Component, when non-empty, matches the failing component ("runner",
	// "resource", ...).
	Component string
	// ShuttingDown, when set, matches whether the node was shutting down.
	ShuttingDown *bool
	// Severity and Action are the decision. Then is required with
	// ActionForceCleanup and must be zero otherwise.
	Severity Severity
	Action   Action
	Then     Action
	// Reason explains the rule to people.
	Reason string
}

// Option changes a Config before the System starts.
type Option func(*Config)

// WithEventHook sets the hook that receives every event.
func WithEventHook(h EventHook) Option { return func(c *Config) { c.Hook = h } }

// WithTimeouts sets the runner timeouts.
func WithTimeouts(t RunnerTimeouts) Option { return func(c *Config) { c.Timeouts = t } }

// WithLogger sets the logger.
func WithLogger(l logrus.FieldLogger) Option { return func(c *Config) { c.Logger = l } }

// WithDefaults returns t with every zero field set to its default.
func (t RunnerTimeouts) WithDefaults() RunnerTimeouts {
	return RunnerTimeouts(actors.RunnerTimeouts(t).WithDefaults())
}

// WithDefaults returns l with every zero field set to its default.
func (l TaskLimits) WithDefaults() TaskLimits { return TaskLimits(actors.TaskLimits(l).WithDefaults()) }

// WithDefaults returns d with every zero field set to its default.
func (d ShutdownDeadlines) WithDefaults() ShutdownDeadlines {
	return ShutdownDeadlines(actors.ShutdownDeadlines(d).WithDefaults())
}

// WithDefaults returns p with every zero field of Backoff and Intensity and
// a zero HistoryLimit set to its default (a Base of NoDelay becomes 0).
func (p ErrorPolicy) WithDefaults() ErrorPolicy {
	c := toErrorPolicy(p).WithDefaults()
	p.Backoff, p.Intensity, p.HistoryLimit = BackoffConfig(c.Backoff), Intensity(c.Intensity), c.HistoryLimit
	return p
}
