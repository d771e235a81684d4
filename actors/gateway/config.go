package gateway

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
)

// Kind is a runner kind a node may start: the one place a command comes
// from. A remote peer names a kind; it never supplies a command.
type Kind struct {
	Spec actors.RunnerSpec
	// MaxRunners bounds how many runners of this kind may be live at once
	// (0: no bound of its own).
	MaxRunners int
}

// Config configures a gateway. Node and Name are required.
type Config struct {
	Name   string
	Node   *actors.Node
	Kinds  map[string]Kind
	Logger *logrus.Logger
	// MaxMessage is the largest request accepted (payload and params), in
	// bytes; default DefaultMaxMessage.
	MaxMessage int
	// CancelTasksOnClientLoss: when a client's session ends without a
	// goodbye (its process died, its heartbeat stopped), cancel the tasks
	// it submitted that are still open, except one another open session
	// submitted too (the same task ID on the same runner is one task).
	// Its subscriptions always end.
	CancelTasksOnClientLoss bool
	// SessionTimeout drops a session that sent nothing (no heartbeat) for
	// this long; default 2s.
	SessionTimeout time.Duration
	// MaxRunners bounds the node's live runners, all kinds together: a
	// spawn beyond it is refused (ErrLimit). 0 means DefaultMaxRunners; a
	// negative value, no bound. Each kind may have a bound of its own
	// (Kind.MaxRunners).
	MaxRunners int
	// Limits; zero fields take the defaults.
	MaxSessions       int // default 64
	MaxSubsPerSession int // default 64
	// MaxBufferedEvents bounds the sum of the buffers (SubscribeOptions.
	// Buffer; the stream's default for 0) of every remote subscription open
	// on the node: the events the node may hold for subscribers that do not
	// read. A subscription that would pass it is refused (ErrLimit).
	// Default DefaultMaxBufferedEvents.
	MaxBufferedEvents int
	// OutWindow is how many bytes of task events and deliveries a session
	// sends a client that acknowledges (GwHello.acks) before it waits for
	// the client's GwAck; default DefaultOutWindow (outgate.go).
	OutWindow          int
	MaxTasksPerSession int // open tasks, default 4096
	// MaxCallsPerSession bounds a client's calls that the gateway serves
	// off its actor (StopRunner, NodeStatus, StatusDoc, InjectFault, Blast,
	// Shutdown, ShutdownPhase) and has not answered yet, counted by client
	// actor across its sessions (a hello again does not reset it); all
	// clients' together are bounded by MaxSessions × MaxCallsPerSession.
	// Default 256.
	MaxCallsPerSession int
	// MaxUnsettledSpawns bounds a session's spawns with settle not settled
	// yet (spawnsettle.go); default DefaultMaxUnsettledSpawns.
	MaxUnsettledSpawns int
	// MaxLeasedRunners bounds the live runners leased to one session
	// (lease.go); default DefaultMaxLeasedRunners.
	MaxLeasedRunners int
	// Shutdown shuts the node down for a GwShutdown request and returns its
	// report as text and the report itself (sent as GwShutdownReport.node,
	// so that a client can tell a clean shutdown and what cut it short);
	// nil refuses GwShutdown.
	Shutdown func(ctx context.Context) (text string, report actors.ShutdownReport, err error)
	// InjectFault injects a fault into a runner for a GwInjectFault request
	// (the kind and the generation the client saw) and says what it did;
	// nil refuses every GwInjectFault, so a remote peer can inject faults
	// only into a node started to allow them (exo-actors node
	// --allow-faults).
	InjectFault func(ctx context.Context, runnerID string, generation uint64, kind string) (string, error)
	// ShutdownPhase runs one phase of a cluster-wide shutdown for a
	// GwShutdownPhase request (shutdown_phase.go); nil refuses it.
	ShutdownPhase ShutdownPhaseFunc
	// Version is reported in GwWelcome.
	Version string
	// CloseGrace and RequesterGrace bound Close's wait for its clients'
	// goodbyes after it told them that the node shut down (see Close);
	// defaults CloseGrace (1 s) and RequesterGrace (3 s).
	CloseGrace, RequesterGrace time.Duration
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = logrus.New()
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 2 * time.Second
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 64
	}
	if c.OutWindow <= 0 {
		c.OutWindow = DefaultOutWindow
	}
	if c.MaxSubsPerSession <= 0 {
		c.MaxSubsPerSession = 64
	}
	if c.MaxRunners == 0 {
		c.MaxRunners = DefaultMaxRunners
	}
	if c.MaxBufferedEvents <= 0 {
		c.MaxBufferedEvents = DefaultMaxBufferedEvents
	}
	if c.MaxTasksPerSession <= 0 {
		c.MaxTasksPerSession = 4096
	}
	if c.MaxCallsPerSession <= 0 {
		c.MaxCallsPerSession = 256
	}
	if c.MaxUnsettledSpawns <= 0 {
		c.MaxUnsettledSpawns = DefaultMaxUnsettledSpawns
	}
	if c.MaxLeasedRunners <= 0 {
		c.MaxLeasedRunners = DefaultMaxLeasedRunners
	}
	if c.CloseGrace <= 0 {
		c.CloseGrace = CloseGrace
	}
	if c.RequesterGrace <= 0 {
		c.RequesterGrace = RequesterGrace
	}
	return c
}

// KindNames returns the kinds' names, sorted.
func (c Config) KindNames() []string {
	out := make([]string, 0, len(c.Kinds))
	for k := range c.Kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c Config) validate() error {
	if c.Node == nil {
		return fmt.Errorf("gateway config: no Node")
	}
	if c.Name == "" {
		return fmt.Errorf("gateway config: no Name")
	}
	for name, k := range c.Kinds {
		if k.Spec.Kind != name {
			return fmt.Errorf("gateway config: kind %q has a spec of kind %q", name, k.Spec.Kind)
		}
		if err := k.Spec.Validate(); err != nil {
			return fmt.Errorf("gateway config: kind %q: %w", name, err)
		}
	}
	return nil
}
