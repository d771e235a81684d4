package runtime

import (
	"context"
	"fmt"
	"net"
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
	Logger      *logrus.Logger
	Version     string
}

// Server is a System served to remote clients: a protoactor remote on the
// System's actor system and the node's gateway actor.
type Server struct {
	gw     *gateway.Gateway
	remote *remote.Remote
	addr   string
}

// Serve makes the System reachable by Dial: it starts protoactor remote
// (gRPC) on cfg.Listen and the gateway actor. One Serve per process (one
// protoactor Remote per process), and not in a process that also Dials.
func (s *System) Serve(cfg ServeConfig) (*Server, error) {
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if err := checkSessionTimeout(cfg.SessionTimeout, "ServeConfig.SessionTimeout"); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = logrus.New()
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
		cfg.Logger.Warnf("serve: listening on %s without TLS: anyone who reaches it can start the configured runner kinds (see docs/remote.md)", shown)
	}
	gc := gateway.Config{Name: cfg.Name, Node: s.node, Kinds: toGatewayKinds(cfg.Kinds), Logger: cfg.Logger, MaxMessage: cfg.MaxMessage, MaxRunners: cfg.MaxRunners,
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
	return &Server{gw: gw, remote: r, addr: s.node.System().Address()}, nil
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
	srv.remote.Shutdown(false)
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
