package runtime

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/internal/actorsys"
	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/internal/logbridge"
)

// endpoint is the process's one protoactor remote for clients (its gRPC
// logger is global: one Remote per process). Every Client of the process
// shares it, and once started it lives as long as the process: protoactor's
// graceful Remote.Shutdown writes a flag its connection readers read
// without synchronisation (a data race at our pin, docs/traps.md), and its
// hard shutdown leaves the outbound connections behind. Replies come back
// over a connection each node dials to the endpoint's listen address, so
// the endpoint is a gRPC server too, with the same TLS settings.
type endpoint struct {
	set    endpointSettings
	system *actor.ActorSystem
	remote *remote.Remote
	refs   int
}

var shared struct {
	mu sync.Mutex
	ep *endpoint
}

// endpointSettings are what every Dial of a process must agree on.
type endpointSettings struct {
	listen               string
	tlsFiles             gateway.TLSFiles // when set, the configs are loaded from them
	serverTLS, clientTLS *tls.Config      // WithTLSConfig's, compared by identity
	maxMessage           int
}

func settingsOf(o *dialOptions) endpointSettings {
	s := endpointSettings{listen: o.listen, tlsFiles: o.tlsFiles, maxMessage: o.maxMessage}
	if !o.tlsFiles.Enabled() {
		s.serverTLS, s.clientTLS = o.serverTLS, o.clientTLS
	}
	return s
}

// differences says how asked differs from the endpoint's settings, one
// phrase each ("listen A, not B (WithClientListen)"); none: the same.
func (s endpointSettings) differences(asked endpointSettings) []string {
	var out []string
	if s.listen != asked.listen {
		out = append(out, fmt.Sprintf("it listens on %s, this Dial asks for %s (WithClientListen)", s.listen, asked.listen))
	}
	tlsOn := func(e endpointSettings) bool { return e.tlsFiles.Enabled() || e.serverTLS != nil || e.clientTLS != nil }
	switch {
	case tlsOn(s) != tlsOn(asked):
		on := map[bool]string{true: "TLS", false: "no TLS"}
		out = append(out, fmt.Sprintf("it runs with %s, this Dial asks for %s (WithTLS, WithTLSConfig)", on[tlsOn(s)], on[tlsOn(asked)]))
	case s.tlsFiles.Enabled() != asked.tlsFiles.Enabled():
		how := map[bool]string{true: "TLS files (WithTLS)", false: "*tls.Config values (WithTLSConfig)"}
		out = append(out, fmt.Sprintf("it was given %s, this Dial %s: use one way for every Dial", how[s.tlsFiles.Enabled()], how[asked.tlsFiles.Enabled()]))
	case s.tlsFiles != asked.tlsFiles:
		out = append(out, fmt.Sprintf("it uses the TLS files %s, this Dial asks for %s (WithTLS)", tlsFilesText(s.tlsFiles), tlsFilesText(asked.tlsFiles)))
	case s.serverTLS != asked.serverTLS || s.clientTLS != asked.clientTLS:
		out = append(out, "this Dial passes other *tls.Config values than the first (WithTLSConfig: pass the same two to every Dial)")
	}
	if s.maxMessage != asked.maxMessage {
		out = append(out, fmt.Sprintf("its message limit is %d bytes, this Dial asks for %d (WithMaxMessage)", s.maxMessage, asked.maxMessage))
	}
	return out
}

func tlsFilesText(f gateway.TLSFiles) string {
	if !f.Enabled() {
		return "none"
	}
	t := fmt.Sprintf("CA %q, certificate %q, key %q", f.CAFile, f.CertFile, f.KeyFile)
	if f.RequireClientCert {
		t += ", client certificates required"
	}
	return t
}

// endpointMismatch says how o differs from the settings of the process's
// endpoint, if one runs: a Dial with them cannot use it. Caller holds
// shared.mu.
func endpointMismatchLocked(o *dialOptions) error {
	ep := shared.ep
	if ep == nil {
		return nil
	}
	if diff := ep.set.differences(settingsOf(o)); len(diff) > 0 {
		// Before, the error printed the endpoint's settings alone (and
		// TLS configs as pointers): a new user could not tell which
		// option differed.
		return fmt.Errorf("this process's client endpoint, started by its first Dial, runs with other settings: %s; every Dial of one process must use the same listen address, TLS settings and message limit (one protoactor Remote per process: docs/remote.md)",
			strings.Join(diff, "; "))
	}
	return nil
}

// endpointMismatch is endpointMismatchLocked for a caller that checks
// before it dials (DialCluster, whose dials of members would otherwise
// fail in silence until its ctx ended).
func endpointMismatch(o *dialOptions) error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	return endpointMismatchLocked(o)
}

// acquireEndpoint returns the process's endpoint, starting it on first use.
func acquireEndpoint(o *dialOptions) (*endpoint, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	set := settingsOf(o)
	if err := endpointMismatchLocked(o); err != nil {
		return nil, errjoin.Tag(ErrInvalidRequest, err) // options this process cannot serve: bad options, as Dial's doc says
	}
	if ep := shared.ep; ep != nil {
		ep.refs++
		return ep, nil
	}
	logger := toLogrus(o.logger) // convert.go: a *logrus.Entry with the host's fields works too
	if logger == nil {
		logger = logrus.New()
		logger.SetOutput(io.Discard)
	}
	system := actorsys.New(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logbridge.NewSlog(logger) }),
		actor.WithDeadLetterThrottleInterval(100*time.Millisecond),
	)
	t := gateway.Transport{Listen: o.listen, ServerTLS: o.serverTLS, ClientTLS: o.clientTLS, MaxMessage: o.maxMessage}
	cfg, err := t.RemoteConfig()
	if err != nil {
		system.Shutdown()
		return nil, err
	}
	r := remote.NewRemote(system, cfg)
	if err := gateway.StartRemote(r); err != nil {
		system.Shutdown()
		return nil, err
	}
	shared.ep = &endpoint{set: set, system: system, remote: r, refs: 1}
	return shared.ep, nil
}

// endpointError is Dial's error when the process's client endpoint cannot
// serve it (acquireEndpoint: other settings than the running endpoint's,
// or a listen address it cannot listen on): this process's side, which no
// node can change. A ClusterClient's join takes it as final
// (DialCluster fails at once instead of retrying each member at every
// poll until its ctx ends). Its text and sentinels are the cause's.
type endpointError struct{ err error }

func (e *endpointError) Error() string { return e.err.Error() }
func (e *endpointError) Unwrap() error { return e.err }

// release drops one reference. The endpoint stays up (see endpoint); refs
// only tells how many clients use it.
func (ep *endpoint) release() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	ep.refs--
}

// dialOptions are what DialOption sets.
type dialOptions struct {
	name        string
	listen      string
	tlsFiles    gateway.TLSFiles
	serverTLS   *tls.Config
	clientTLS   *tls.Config
	maxMessage  int
	heartbeat   time.Duration
	lostAfter   time.Duration
	callTimeout time.Duration
	logger      logrus.FieldLogger
	lease       bool // WithLeasedRunners
}
