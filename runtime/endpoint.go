package runtime

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/internal/actorsys"
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
	key    string
	system *actor.ActorSystem
	remote *remote.Remote
	refs   int
}

var shared struct {
	mu sync.Mutex
	ep *endpoint
}

func endpointKey(o *dialOptions) string {
	if o.tlsFiles.Enabled() {
		return fmt.Sprintf("listen %s, TLS files %+v, max message %d", o.listen, o.tlsFiles, o.maxMessage)
	}
	return fmt.Sprintf("listen %s, TLS configs %p %p, max message %d", o.listen, o.serverTLS, o.clientTLS, o.maxMessage)
}

// acquireEndpoint returns the process's endpoint, starting it on first use.
func acquireEndpoint(o *dialOptions) (*endpoint, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	key := endpointKey(o)
	if ep := shared.ep; ep != nil {
		if ep.key != key {
			return nil, fmt.Errorf("this process's client endpoint runs with other settings (listen, TLS, message limit: %s); every Dial of one process must use the same ones (one protoactor Remote per process)", ep.key)
		}
		ep.refs++
		return ep, nil
	}
	logger := o.logger
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
	shared.ep = &endpoint{key: key, system: system, remote: r, refs: 1}
	return shared.ep, nil
}

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
	logger      *logrus.Logger
}
