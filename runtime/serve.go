package runtime

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
)

// RemoteKind is a runner kind a served System may start for its peers:
// the spec (command, args, env) and MaxRunners.
type RemoteKind struct {
	Spec RunnerSpec
	// MaxRunners bounds how many runners of this kind may be live at once
	// (0: no bound of its own).
	MaxRunners int
}

// ServerStats counts a Server's clients: live sessions, subscriptions and
// open tasks, and the sessions that ended by a goodbye or were lost.
type ServerStats struct {
	Sessions, Subscriptions, OpenTasks int
	SessionsBye, SessionsLost          int
	// SpawnsUnconfirmed counts runners spawned for a client that was lost
	// after its spawn was acknowledged but before it confirmed the ID
	// reached its caller: kept, and named in a warning (docs/remote.md,
	// "Runners a client never learned of").
	SpawnsUnconfirmed int
}

// ServeConfig configures System.Serve.
type ServeConfig struct {
	// Listen is HOST:PORT; default 127.0.0.1:0 (loopback, any port). A
	// non-loopback address without TLS is allowed but logged as a warning
	// once the listener is bound. An address in use, or one no interface
	// of this host has, fails Serve with an error matching
	// syscall.EADDRINUSE or syscall.EADDRNOTAVAIL.
	Listen string
	// Name names the node to its clients; required.
	Name string
	// Kinds are the only runners a peer can start, by name.
	Kinds map[string]RemoteKind
	// TLS files; zero means plaintext. See docs/remote.md.
	TLS TLSFiles
	// MaxMessage is the largest request accepted; default 4 MiB.
	MaxMessage int
	// MaxRunners bounds the node's live runners, all kinds together (each
	// kind may have a bound of its own, RemoteKind.MaxRunners): a spawn
	// beyond it is refused with ErrGatewayLimit. 0 means 256
	// (gateway.DefaultMaxRunners); a negative value, no bound.
	MaxRunners int
	// CancelTasksOnClientLoss cancels a lost client's open tasks, except
	// one another connected client submitted too (the same task ID on the
	// same runner is one task, which that client still reads).
	CancelTasksOnClientLoss bool
	// SessionTimeout drops a client that sent nothing this long; default
	// 2s. Serve refuses one below 2 × DefaultClientHeartbeat (500ms),
	// which would drop a client pinging at the default rate after a single
	// late ping; clients dialled WithHeartbeat(every, …) need at least
	// 2 × every.
	SessionTimeout time.Duration
	// AllowShutdown lets a client shut the System down (Client.ShutdownNode).
	AllowShutdown bool
	// InjectFault, when set, serves Client.InjectFault: it injects fault
	// kind into a runner at the generation the client saw and says what it
	// did. Nil (the default) refuses every remote fault injection.
	// `exo-actors node --allow-faults` sets it.
	InjectFault func(ctx context.Context, runnerID string, generation uint64, kind string) (string, error)
	// Logger receives the gateway's log lines (sessions opened and ended,
	// refusals). Any logrus.FieldLogger, as Config.Logger takes: a
	// *logrus.Logger, or a *logrus.Entry whose fields every line carries.
	// Nil (a nil *logrus.Logger or *logrus.Entry too): the System's own
	// (Config.Logger, with its level and fields).
	Logger logrus.FieldLogger
	// Version is what the node tells its clients it runs (GwWelcome.version;
	// `exo-actors node` gives its release); empty: none said.
	Version string
}

// Server is a System served to remote clients: a protoactor remote on the
// System's actor system and the node's gateway actor.
type Server struct {
	gw        *gateway.Gateway
	remote    *remote.Remote
	addr      string
	sys       *System
	closeOnce sync.Once
}

// Serve makes the System reachable by Dial: it starts protoactor remote
// (gRPC) on cfg.Listen and the gateway actor. One Serve per process (one
// protoactor Remote per process), and not in a process that also Dials.
//
// cfg is checked before anything starts: a missing Name, a kind whose
// Spec.Kind is not its name or whose spec is invalid, a negative bound
// fail with an error wrapping ErrInvalidConfig that names the field, and
// the System may Serve again with the config fixed. A second Serve while
// one of the process runs is refused (ErrInvalidConfig, naming the address
// served), the first going on. A System serves once: after its Server's
// Close, or a Serve that failed after its remote started (an address in
// use, say), serving again takes a new System.
func (s *System) Serve(cfg ServeConfig) (srv *Server, err error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if err := checkSessionTimeout(cfg.SessionTimeout, "ServeConfig.SessionTimeout"); err != nil {
		return nil, err
	}
	// Everything that can be checked is checked before the remote starts:
	// a failure after it leaves the System unable to serve again (its
	// actor system keeps the remote's actors), and a host's retry with a
	// fixed config then failed with "start remote: spawn: name exists".
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := s.beginServe(); err != nil {
		return nil, err
	}
	remoteStarted := false
	defer func() { s.endServe(srv, remoteStarted) }()
	logger := s.node.Logger()
	if l := toLogrus(cfg.Logger); l != nil {
		logger = l
	}
	var t gateway.Transport
	t.Listen, t.MaxMessage = cfg.Listen, cfg.MaxMessage
	if tf := gateway.TLSFiles(cfg.TLS); tf.Enabled() {
		srv, cli, err := tf.Configs()
		if err != nil {
			return nil, err
		}
		if err := checkNodeCert(cfg.TLS.CertFile+" (ServeConfig.TLS.CertFile; --tls-cert on the command line)", firstCert(cli), cfg.Listen, cli.RootCAs, cfg.TLS.CAFile); err != nil {
			return nil, err
		}
		t.ServerTLS, t.ClientTLS = srv, cli
	}
	rc, err := t.RemoteConfig()
	if err != nil {
		return nil, err
	}
	r := remote.NewRemote(s.node.System(), rc)
	remoteStarted = true // a failed start, too, may have registered its actors
	if err := gateway.StartRemote(r); err != nil {
		return nil, err
	}
	// Only once the listener is bound: said before, it claimed a listen
	// that then failed (an address not of this host, one in use).
	if host, _, _ := gateway.SplitListen(cfg.Listen); t.ServerTLS == nil && !isLoopback(host) {
		shown := cfg.Listen
		if _, port, err := net.SplitHostPort(s.node.System().Address()); err == nil {
			shown = net.JoinHostPort(host, port) // the port bound: Listen may say 0
		}
		logger.Warnf("serve: listening on %s without TLS: anyone who reaches it can start the configured runner kinds (see docs/remote.md)", shown)
	}
	gc := gateway.Config{Name: cfg.Name, Node: s.node, Kinds: toGatewayKinds(cfg.Kinds), Logger: logger, MaxMessage: cfg.MaxMessage, MaxRunners: cfg.MaxRunners,
		CancelTasksOnClientLoss: cfg.CancelTasksOnClientLoss, SessionTimeout: cfg.SessionTimeout, Version: cfg.Version,
		InjectFault: cfg.InjectFault}
	if cfg.AllowShutdown {
		gc.Shutdown = func(ctx context.Context) (string, actors.ShutdownReport, error) {
			rep, err := s.Shutdown(ctx)
			return rep.String(), toShutdownReport(rep), err
		}
		gc.ShutdownPhase = s.gatewayShutdownPhase // cluster_shutdown.go
	}
	gw, err := gateway.Start(gc)
	if err != nil {
		r.Shutdown(false)
		return nil, err
	}
	return &Server{gw: gw, remote: r, addr: s.node.System().Address(), sys: s}, nil
}

// check says what of cfg cannot work, in ServeConfig's terms, before
// anything starts.
func (cfg ServeConfig) check() error {
	if cfg.Name == "" {
		return fmt.Errorf("%w: ServeConfig.Name is empty: name the node (its clients and its cluster see the name, e.g. %q)", ErrInvalidConfig, "node-a")
	}
	if cfg.MaxMessage < 0 {
		return fmt.Errorf("%w: ServeConfig.MaxMessage is %d: want 0 (the default, 4 MiB) or more", ErrInvalidConfig, cfg.MaxMessage)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Kinds)) {
		k := cfg.Kinds[name]
		if k.Spec.Kind != name {
			return fmt.Errorf("%w: ServeConfig.Kinds[%q] has a Spec of kind %q: a kind's Spec.Kind is its name in Kinds", ErrInvalidConfig, name, k.Spec.Kind)
		}
		if k.MaxRunners < 0 {
			return fmt.Errorf("%w: ServeConfig.Kinds[%q].MaxRunners is %d: want 0 (no bound of its own) or more", ErrInvalidConfig, name, k.MaxRunners)
		}
		if err := toRunnerSpec(k.Spec).Validate(); err != nil {
			return fmt.Errorf("%w: ServeConfig.Kinds[%q].Spec: %w", ErrInvalidConfig, name, err)
		}
	}
	return nil
}

// serveState is where a process and a System are in serving. Transitions:
// serveNone → serveStarting (Serve began) → serveRunning (it succeeded),
// serveNone (it failed before the remote started) or serveSpent (it
// failed after); serveRunning → serveSpent (Server.Close). A System whose
// remote started once never serves again: protoactor registers the
// remote's actors on the actor system for good.
type serveState int

const (
	serveNone serveState = iota
	serveStarting
	serveRunning
	serveSpent
)

// processServe is the process's Serve, if one runs or is starting: one
// protoactor Remote per process (its gRPC logger is global).
var processServe struct {
	mu   sync.Mutex
	by   *System // the System that serves, while starting or running
	addr string  // its address, once running
}

// beginServe claims the process's and s's Serve, or says why it cannot.
func (s *System) beginServe() error {
	processServe.mu.Lock()
	defer processServe.mu.Unlock()
	where := processServe.addr
	if where == "" {
		where = "(starting)"
	}
	switch {
	case s.served == serveSpent:
		return fmt.Errorf("%w: this System served before (its Server was closed, or a Serve failed after its remote started): a System serves once; start a new System to serve again",
			ErrInvalidConfig)
	case processServe.by == s:
		return fmt.Errorf("%w: this System already serves on %s: one Serve per System (use that Server, or Close it and start a new System)",
			ErrInvalidConfig, where)
	case processServe.by != nil:
		return fmt.Errorf("%w: another System of this process already serves on %s: one Serve per process (one protoactor Remote per process: docs/remote.md); run another node in a process of its own",
			ErrInvalidConfig, where)
	}
	processServe.by, s.served = s, serveStarting
	return nil
}

// endServe records how Serve ended: srv (nil: it failed), and whether its
// remote had started.
func (s *System) endServe(srv *Server, remoteStarted bool) {
	processServe.mu.Lock()
	defer processServe.mu.Unlock()
	switch {
	case srv != nil:
		processServe.addr, s.served = srv.addr, serveRunning
		return
	case remoteStarted:
		s.served = serveSpent
	default:
		s.served = serveNone
	}
	processServe.by, processServe.addr = nil, ""
}

// closedServe records that srv was closed: its process may serve again
// (another System), its System never.
func (s *System) closedServe() {
	processServe.mu.Lock()
	defer processServe.mu.Unlock()
	s.served = serveSpent
	if processServe.by == s {
		processServe.by, processServe.addr = nil, ""
	}
}

// Addr returns the address clients Dial.
func (srv *Server) Addr() string { return srv.addr }

// Stats returns the gateway's live counts: sessions, subscriptions, open tasks.
func (srv *Server) Stats() ServerStats { return ServerStats(srv.gw.Stats()) }

func toGatewayKinds(in map[string]RemoteKind) map[string]gateway.Kind {
	out := make(map[string]gateway.Kind, len(in))
	for name, k := range in {
		out[name] = gateway.Kind{Spec: toRunnerSpec(k.Spec), MaxRunners: k.MaxRunners}
	}
	return out
}

// WaitIdle waits until no client has a session, or ctx ends.
func (srv *Server) WaitIdle(ctx context.Context) error { return srv.gw.WaitIdle(ctx) }

// Close stops the gateway (every client's subscriptions end; clients see
// the node lost) and the remote's gRPC server. protoactor keeps its
// outbound connections until the process exits (its graceful shutdown
// races, docs/traps.md). It does not shut the System down.
//
// When the System has shut down (or is shutting down), Close first tells
// every client so (their Err wraps ErrNodeLost and ErrShuttingDown; a
// client whose ShutdownNode is still unanswered gets its report first,
// and Close waits for that answer: at once after Shutdown returned, at
// most 2 min 10 s otherwise) and blocks until each said goodbye: at most
// 1 s (gateway.CloseGrace), or 3 s (gateway.RequesterGrace) while the
// client that asked for the shutdown is connected. Clients learn of a
// shutdown only then: a host calls Close once Done is closed, whoever
// began the shutdown (docs/host-guide.md, "Shutdown in main"). From
// Close on, a client's Dial is refused (ErrShuttingDown). Close may be
// called more than once, also at once: later calls wait for the first.
func (srv *Server) Close() {
	srv.gw.Close()
	srv.closeOnce.Do(func() {
		srv.remote.Shutdown(false)
		srv.sys.closedServe()
	})
}

// SkipGoodbyes makes a Close under way (or one to come) stop waiting for
// the clients' goodbyes (CloseGrace, RequesterGrace) at once: a client
// that has not said it yet may see the node lost rather than shut down,
// and a requester may miss its shutdown report. For an operator who will
// not wait: exo-actors node calls it on a signal during Close. Idempotent.
func (srv *Server) SkipGoodbyes() { srv.gw.SkipGoodbyes() }

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkSessionTimeout refuses a session timeout (named name) set below
// twice DefaultClientHeartbeat: the gateway drops a session that sent
// nothing for SessionTimeout, and a client pinging every 250ms would be
// dropped after one late ping. Zero (the default, 2s) is fine.
func checkSessionTimeout(d time.Duration, name string) error {
	if d <= 0 || d >= 2*DefaultClientHeartbeat {
		return nil
	}
	return fmt.Errorf("%w: %s (%s) must be at least 2 × the clients' heartbeat (%s, DefaultClientHeartbeat): a client that pings on time would be dropped after a single late ping; raise %s to %s or more, or leave it unset for the default 2s",
		ErrConflictingTimeouts, name, d, DefaultClientHeartbeat, name, 2*DefaultClientHeartbeat)
}
