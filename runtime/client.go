package runtime

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/actorsys"
	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/internal/lateticks"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Errors of the remote API (see docs/remote.md), tested with errors.Is.
var (
	// ErrNodeLost: the node went away (its process died, its connection
	// dropped, or it stopped answering the heartbeat). On a Client it is
	// final: every open task of the Client ended Failed with a reason
	// naming the node, every Subscription ended with an error wrapping it
	// (and ErrEndOfStream), and every later call returns it. On a
	// ClusterClient it is not, unless the error also wraps
	// ErrRunnerNotAvailable (test that first): the runner's node was lost
	// or is leaving and the cluster places the runner again, so try again
	// shortly, or WaitReady first (docs/cluster.md).
	ErrNodeLost = gateway.ErrNodeLost
	// ErrUnknownKind: the node's configuration has no runner kind of that
	// name; the error lists the kinds it has.
	ErrUnknownKind = gateway.ErrUnknownKind
	// ErrMessageTooLarge: a request exceeds the message size limit.
	ErrMessageTooLarge = gateway.ErrMessageTooLarge
	// ErrUnsupported: the node's gateway got a message that is not one of
	// its requests, or refuses this request.
	ErrUnsupported = gateway.ErrUnsupported
	// ErrUnknownTopic: Subscribe (System's or Client's) named a topic the
	// node has no stream of; the text lists them.
	ErrUnknownTopic = gateway.ErrUnknownTopic
	// ErrInvalidRequest: the request was malformed; the text says how.
	// System.Subscribe returns it too, for a filter kind its topic never
	// carries or a negative option.
	ErrInvalidRequest = gateway.ErrInvalidArgument
	// ErrGatewayLimit: a bound of the node's gateway was reached.
	ErrGatewayLimit = gateway.ErrLimit
	// ErrClientClosed: the Client (or ClusterClient) was closed. The
	// error that wraps it names the client (its node and address, or its
	// cluster) and says to dial again.
	ErrClientClosed = errors.New("client closed")
	// ErrBadDelivery: the node sent a subscription a delivery this client
	// refused (beyond the credit it granted, or undecodable): the
	// Subscription ended with an error wrapping it and ErrEndOfStream, and
	// the events of that delivery were not used. A bug of the node (or a
	// peer that is not one), never a normal end.
	ErrBadDelivery = errors.New("bad delivery from the node")
	// ErrTLS: a Dial's TLS setup and the node's do not match: the node's
	// certificate is not signed by the CA given, names another address or
	// is expired; the node refused this client's certificate; or one side
	// uses TLS and the other does not. Nothing will change by retrying:
	// fix the CA, the certificates or the TLS options (the text says
	// which).
	ErrTLS = errors.New("TLS setup mismatch")
	// ErrNotANode: what answers at a Dial's address is not an exo-actors
	// node (an HTTP server, another protocol, a peer that closes at once):
	// check the address and port.
	ErrNotANode = errors.New("not an exo-actors node")
)

// TLSFiles names the PEM files of a TLS setup (CA, this process's
// certificate and key; RequireClientCert for mutual TLS on this process's
// own listener).
type TLSFiles struct {
	CAFile   string // the CA that signs every peer's certificate
	CertFile string // this process's certificate (IP SAN 127.0.0.1 or its host)
	KeyFile  string
	// RequireClientCert turns on mutual TLS: a peer that dials in must
	// present a certificate signed by CAFile. A node's setting (ServeConfig,
	// --tls-require-client-cert); a Client's own listener always requires
	// one (only its node dials in, and with TLS every node has a
	// certificate from the CA), so on a Dial's WithTLS it changes nothing.
	RequireClientCert bool
}

// RemoteShutdownReport is a remote node's shutdown report: the text of its
// ShutdownReport, its total time, the actors it force-cleaned, and the
// report itself (Report.Clean says whether the shutdown was clean; its
// phases say what cut it short). A node older than the Report field sends
// none: Report.Root is then nil.
type RemoteShutdownReport struct {
	Node   string
	Text   string
	Total  time.Duration
	Forced []string
	Report ShutdownReport
}

// NodeStatus is a remote node's status. Runners counts every runner the
// node lists (Client.Runners): live ones and ended ones it still remembers
// (stopped or failed for good; RetentionLimits keeps the newest 256 for up
// to an hour). Count the live ones from Client.Runners: not
// RunnerStatus.Terminal, or Restarting. Sessions, Subscriptions and
// OpenTasks are the gateway's: its connected clients, their
// subscriptions, and the tasks they submitted whose outcome the gateway
// has not sent yet. A task whose client closed or was lost is no longer
// counted, though it goes on on its runner (unless the node cancels a
// lost client's tasks, cancel_tasks_on_client_loss): a node can be busy
// with OpenTasks 0; its runners' statuses (Running) say so.
type NodeStatus struct {
	Name                                        string
	Kinds                                       []string
	Runners, Sessions, Subscriptions, OpenTasks int
	Uptime                                      time.Duration
	ShuttingDown                                bool
	// Health is the node's health score 0..1 (the mean over its runners
	// meant to be running), meaningful only when HealthKnown (false when
	// the node's health monitor is disabled or has not checked yet).
	Health      float64
	HealthKnown bool
	// KindRoom says, for each kind with a bound in the node's config (its
	// kinds.K.max_runners, or the node-wide max_runners, 256 by default),
	// how many more live runners of it the node takes now; a kind not
	// listed has no bound.
	KindRoom map[string]int
	// HeapBytes is the node process's live Go heap when it answered.
	HeapBytes uint64
	// Goroutines is the node process's goroutine count when it answered.
	Goroutines int
	// RefusesShutdown: the node refuses ShutdownNode and ShutdownPhase (it
	// was started with --allow-remote-shutdown=false, ServeConfig.
	// AllowShutdown false). A node older than this field reports false.
	RefusesShutdown bool
	// SpawnsUnconfirmed counts the runners the node spawned for a client
	// that was lost before it confirmed their ID reached its caller: kept
	// running, each named in a warning in the node's log with the command
	// that stops it (docs/remote.md, "Runners a client never learned
	// of"). ServerStats.SpawnsUnconfirmed on the node's side; 0 from a
	// node older than this field.
	SpawnsUnconfirmed int
}

// DialOption configures Dial.
type DialOption func(*dialOptions)

// WithClientName names the client in the node's logs.
func WithClientName(name string) DialOption { return func(o *dialOptions) { o.name = name } }

// WithClientListen sets where the process's client endpoint listens (the
// node dials back to it with replies); default 127.0.0.1:0. It must be an
// address the node can reach, its host an IP address (a name such as
// localhost fails the Dial at once, ErrInvalidRequest).
func WithClientListen(addr string) DialOption { return func(o *dialOptions) { o.listen = addr } }

// WithTLS turns on TLS with the given files, on both the client's dial and
// its own listener (the node dials back). Every node must then use TLS
// with a certificate from the same CA.
func WithTLS(f TLSFiles) DialOption {
	return func(o *dialOptions) { o.tlsFiles = gateway.TLSFiles(f) }
}

// WithTLSConfig turns on TLS with ready configs: server for the client's
// own listener, client for its dials.
func WithTLSConfig(server, client *tls.Config) DialOption {
	return func(o *dialOptions) { o.serverTLS, o.clientTLS = server, client }
}

// WithMaxMessage sets the largest request the client sends; default 4 MiB
// (0 too; the node has its own limit and refuses larger ones). A negative
// n fails the Dial (ErrInvalidRequest).
func WithMaxMessage(n int) DialOption { return func(o *dialOptions) { o.maxMessage = n } }

// DefaultClientHeartbeat is how often a Client pings its node unless
// WithHeartbeat says otherwise. A node's session timeout
// (ServeConfig.SessionTimeout, a node config's session_timeout) below
// twice it would drop such a client after one late ping: Serve and the
// node config refuse it.
const DefaultClientHeartbeat = 250 * time.Millisecond

// WithHeartbeat sets how often the client pings the node (default 250ms)
// and after how long without any word from it the node counts as lost
// (default 1.5s): the bound on detecting a frozen node.
func WithHeartbeat(every, lostAfter time.Duration) DialOption {
	return func(o *dialOptions) { o.heartbeat, o.lostAfter = every, lostAfter }
}

// WithCallTimeout bounds a call whose context has no deadline; default 1
// minute (0 too). A negative d fails the Dial (ErrInvalidRequest).
func WithCallTimeout(d time.Duration) DialOption { return func(o *dialOptions) { o.callTimeout = d } }

// WithLeasedRunners leases every runner this client spawns to its session
// with the node: the node stops the runner when the session ends, by Close
// or by the client's loss (its process killed, the connection cut, or the
// node frozen past its session timeout and resumed), so a client that
// cannot clean up leaves no runner behind (docs/remote.md, "Leased
// runners"). A StopRunner of the runner that the node takes (this
// client's or another's) ends the lease; a runner another client must use, or one meant to outlive this
// client, is spawned without it. `exo-actors remote run` dials with it unless --keep-runners.
// Dial fails if the node does not take leases (a release older than the
// client).
func WithLeasedRunners() DialOption { return func(o *dialOptions) { o.lease = true } }

// WithClientLogger sets the logger of the client's actor system: any
// logrus.FieldLogger, as Config.Logger takes (a *logrus.Logger, or a
// *logrus.Entry with the host's fields). The endpoint is the process's
// (one per process): the first Dial's logger is the one it keeps.
func WithClientLogger(l logrus.FieldLogger) DialOption { return func(o *dialOptions) { o.logger = l } }

// clientState is where a Client is: dialing until the node's welcome,
// then connected until it is lost or closed; both are final. A dial that
// fails goes from dialing to closed. The loss of the node's endpoint while
// dialing does not end the client: the dial says hello again (hello).
type clientState int

const (
	clientConnected clientState = iota // welcomed (hello sets it; dial starts a Client in clientDialing)
	clientDialing                      // Dial's hello is under way
	clientLost                         // the node went away: calls return ErrNodeLost
	clientClosed                       // Close was called, or the dial failed: calls return ErrClientClosed
)

// Client is a connection to a remote node's gateway. It has the methods of
// an embedded System that make sense across processes (the Node interface:
// SpawnRunner by kind, StopRunner, Runners, Submit, Cancel, Subscribe),
// and its TaskHandles and Subscriptions are the same types, fed from the
// node: chunks in order, one outcome, Gap events instead of silent loss,
// EndOfStream last. When the node goes away every open handle ends once
// (Failed, reason naming the node) and every subscription ends with an
// error wrapping ErrNodeLost. Safe for concurrent use.
type Client struct {
	addr      string
	node      string // the node's name, from its welcome
	kinds     []string
	nodeMax   int
	opts      dialOptions
	ep        *endpoint
	root      *actor.RootContext
	gw        *actor.PID
	self      *actor.PID
	esub      *eventstream.Subscription
	ids       atomic.Uint64
	tickStop  chan struct{} // sole sender: Close, closed once
	ticker    sync.WaitGroup
	closeOnce sync.Once
	endedOnce sync.Once

	mu     sync.Mutex
	state  clientState
	endErr error
	// dialLosses counts the losses of the node's endpoint while dialing
	// (nodeGone before the welcome); helloStop, set while a hello waits
	// for its welcome, makes it say hello again at once (hello).
	dialLosses  int
	dialLossWhy string
	helloStop   context.CancelCauseFunc
	ended       chan struct{} // sole sender: end, closed once under mu
	lastHeard   time.Time
	pingSeq     uint64
	pending     map[uint64]chan proto.Message // calls waiting for their reply; each channel has capacity 1
	// noteBye is the goodbye the client actor sent on its node's shutdown
	// note (endOnNote): its GwByeAck arrives on it (a pending call),
	// and Close waits for that as for its own goodbye. nil until then.
	noteBye   chan proto.Message
	noteByeID uint64
	tasks     map[uint64]*actors.TaskFeed // open tasks by GwSubmit call_id
	taskIDs   map[uint64]string
	subs      map[uint64]*remoteSub // open subscriptions by GwSubscribe call_id
	subsGone  chan struct{}         // closed (then replaced, under mu) when a subscription is dropped (forgetSubLocked): wakes every awaitSubsEnded
	blasted   map[uint64]int        // GwBlastItems received, by GwBlast call_id
	budget    *sendBudget           // bytes of Submits in flight (client_sendbudget.go); set by Dial
	// outWindow is the node's window of task events and deliveries (its
	// welcome's out_window; 0: none), which the client actor acknowledges.
	outWindow atomic.Uint64
	// settleSpawns: the node tracks spawns until they are settled (its
	// welcome's spawn_settle); SpawnRunner then marks its spawns and
	// settles each (client_spawn.go).
	settleSpawns bool
	// handOff: the node takes GwSpawnRunner.hand_off (its welcome's
	// spawn_hand_off): client_spawn.go.
	handOff bool

	// onLost, when set (a ClusterClient's connection to one member, set
	// before any Submit), takes the open tasks of a lost node: end leaves
	// them open and calls it, under mu, so the cluster's verdict decides
	// how they end (cluster.go). It must not block.
	onLost func(err error)
	// divert, when set (a ClusterClient's connection), sees each task
	// outcome before the handle does, under mu; when it returns true it
	// took the task (a node's shutdown ended it unfinished: the cluster
	// moves it, cluster_leave.go) and the outcome is not given to feed. It
	// must not block.
	divert func(feed *actors.TaskFeed, out actors.TaskOutcome) bool
	// cutChunks (under mu, with divert) holds, by call_id, the error chunk
	// a node wrote as its forced shutdown killed the task's runner
	// (actors.ReasonShutdownForced) until the outcome comes: a task divert
	// takes is resubmitted, and its handle must not show an error chunk
	// before the retry (a reader that stops at an error chunk would miss
	// attempt 2); a task it does not take gets the chunk, then its end.
	cutChunks map[uint64]*exov1.ChunkGenerated
}

// byeWait bounds how long Close waits for the node to acknowledge the
// goodbye.
const byeWait = 2 * time.Second

// maxPending bounds the calls in flight on one Client; a call beyond it
// fails at once with ErrGatewayLimit.
const maxPending = 65536

// Dial connects to the gateway of the node at addr ("127.0.0.1:7101"). It
// checks the connection first (TCP, or a TLS handshake with TLS on), so a
// refused connection, a wrong CA or a missing client certificate fail
// within the dial instead of as a timeout. ctx bounds the dial (default 5s).
//
// A process has one client endpoint (protoactor's Remote, where its nodes
// send replies), started by its first Dial with that Dial's transport
// options (WithClientListen, WithTLS or WithTLSConfig, WithMaxMessage): every
// later Dial of the process must ask for the same, or it fails at once
// naming what differs ("this process's client endpoint, started by its
// first Dial, runs with other settings: …"). So one process talks either
// plaintext or TLS (with one set of files) to all its nodes; a host that
// needs both runs a process for each (docs/remote.md, "One protoactor
// Remote per process").
//
// A bad addr (not HOST:PORT with an IP host: CheckNodeAddr) or bad options
// fail at once, wrapping ErrInvalidRequest; a refused or silent node, a
// TLS failure or something that is not a node wrap the errors
// docs/remote.md lists (ErrTLS, ErrNotANode).
func Dial(ctx context.Context, addr string, opts ...DialOption) (*Client, error) {
	start := time.Now()
	c, err := dial(ctx, addr, opts...)
	var ne net.Error
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()) {
		if d, ok := ctx.Deadline(); ok && d.Sub(start) < shortDial {
			// A dial cut off by its own tiny timeout: the node is not to
			// blame (before, a healthy node was called frozen, overloaded
			// or unreachable under --timeout 1ms; a new user's trial).
			return nil, fmt.Errorf("the dial had %s, likely less than a dial takes (about 10 ms on loopback, more across a network, with TLS more again): allow more time (e.g. 5s; --timeout on the command line); %w",
				max(d.Sub(start), 0).Round(time.Microsecond), err)
		}
	}
	return c, err
}

// shortDial is a dial timeout under which a dial that timed out is blamed
// on the timeout first: a loopback dial takes about 10 ms, and a node that
// does not answer within 80 ms is more likely frozen than too slow.
const shortDial = 25 * time.Millisecond

// dialOptionsOf applies opts to the defaults and checks what can be
// checked on this side before any dial: the heartbeat, the TLS options and
// this client's own certificate. Dial and DialCluster (for
// ClusterConfig.Dial) share it.
func dialOptionsOf(opts []DialOption) (dialOptions, error) {
	o := dialOptions{listen: defaultClientListen, heartbeat: DefaultClientHeartbeat, lostAfter: 1500 * time.Millisecond,
		callTimeout: time.Minute, maxMessage: gateway.DefaultMaxMessage}
	for _, f := range opts {
		f(&o)
	}
	if o.name == "" {
		host, _ := os.Hostname()
		o.name = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if o.heartbeat <= 0 || o.lostAfter <= o.heartbeat {
		return o, fmt.Errorf("heartbeat %s, lost after %s: want a positive heartbeat shorter than lostAfter", o.heartbeat, o.lostAfter)
	}
	// Values here, before anything compares them with the process's
	// endpoint: a negative limit was taken, or reported as "runs with
	// other settings" (a new user's trial), and a listen address with a
	// host name (checked below) failed only once the endpoint started
	// (after the node's probe, with no sentinel; in DialCluster, never:
	// every member's dial failed in silence until the ctx ended).
	if o.maxMessage < 0 {
		return o, fmt.Errorf("WithMaxMessage(%d): a message limit must not be negative; give the largest request in bytes, or 0 (or leave the option out) for the default %d (4 MiB)", o.maxMessage, gateway.DefaultMaxMessage)
	}
	if o.maxMessage == 0 {
		o.maxMessage = gateway.DefaultMaxMessage
	}
	if o.callTimeout < 0 {
		return o, fmt.Errorf("WithCallTimeout(%s): a call timeout must not be negative; give how long a call whose ctx has no deadline may take, or 0 (or leave the option out) for the default 1m", o.callTimeout)
	}
	if o.callTimeout == 0 {
		o.callTimeout = time.Minute
	}
	if o.tlsFiles.Enabled() {
		if o.serverTLS != nil {
			return o, errors.New("both WithTLS and WithTLSConfig: choose one")
		}
		// Only the node this client dials connects to its listener, and
		// with TLS every node has a certificate from the CA (it presents
		// it when it dials back): anyone else is refused at the handshake.
		tf := o.tlsFiles
		tf.RequireClientCert = true
		srv, cli, err := tf.Configs()
		if err != nil {
			return o, err
		}
		o.serverTLS, o.clientTLS = srv, cli
		if err := checkOwnCert(o.tlsFiles.CertFile+" (TLSFiles.CertFile; --tls-cert on the command line)", firstCert(cli), o.listen, true, cli.RootCAs, o.tlsFiles.CAFile); err != nil {
			return o, err
		}
	} else if o.serverTLS != nil {
		if err := checkOwnCert("(WithTLSConfig's server config)", firstCert(o.serverTLS), o.listen, false, nil, ""); err != nil {
			return o, err
		}
	}
	// After the certificate's checks, whose advice covers a listen
	// address without a host (":7000") better.
	if _, _, err := gateway.SplitListen(o.listen); err != nil {
		return o, fmt.Errorf("WithClientListen: %w", err)
	}
	return o, nil
}

func dial(ctx context.Context, addr string, opts ...DialOption) (*Client, error) {
	o, err := dialOptionsOf(opts)
	if err != nil {
		return nil, errjoin.Tag(ErrInvalidRequest, err)
	}
	if err := checkNodeAddr(addr); err != nil {
		return nil, errjoin.Tag(ErrInvalidRequest, err) // no sentinel before: a host could not tell a bad address from a node down
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	if err := probe(ctx, addr, o.clientTLS); err != nil {
		return nil, err
	}
	ep, err := acquireEndpoint(&o)
	if err != nil {
		// ErrInvalidRequest as for the other options this process cannot
		// serve (a listen port another process holds matched no sentinel:
		// a re-trial).
		return nil, &endpointError{errjoin.Tag(ErrInvalidRequest, err)}
	}
	c := &Client{addr: addr, node: addr, opts: o, ep: ep, root: ep.system.Root, gw: actor.NewPID(addr, gateway.Name), state: clientDialing,
		tickStop: make(chan struct{}), ended: make(chan struct{}), lastHeard: time.Now(),
		pending: map[uint64]chan proto.Message{}, tasks: map[uint64]*actors.TaskFeed{}, taskIDs: map[uint64]string{},
		subs: map[uint64]*remoteSub{}, subsGone: make(chan struct{}), blasted: map[uint64]int{}}
	self := c.root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return &clientActor{c: c} }), clientActorPrefix())
	c.self = self
	c.esub = ep.system.EventStream.Subscribe(func(ev any) {
		if t, ok := ev.(*remote.EndpointTerminatedEvent); ok && t.Address == addr {
			c.root.Send(self, &nodeGone{why: "its endpoint terminated (connection lost)", addrGone: true})
		}
	})
	res, err := c.hello(ctx)
	if err != nil {
		// No session was opened: end the client first, so Close does not
		// wait for the goodbye's acknowledgement (2 s) from a node that
		// never answered.
		c.end(clientClosed, fmt.Errorf("%w: dial of node %s failed: %w", ErrClientClosed, addr, err))
		c.Close()
		if ctx.Err() != nil {
			return nil, helloTimeout(addr, ep.system.Address(), o.clientTLS != nil, err)
		}
		return nil, err
	}
	w := res
	c.mu.Lock()
	c.node, c.kinds, c.nodeMax = w.GetNodeName(), w.GetKinds(), int(w.GetMaxMessage())
	c.mu.Unlock()
	c.root.Send(self, &watchGateway{})
	if o.lease && !w.GetRunnerLease() {
		c.Close()
		return nil, fmt.Errorf("%w: node %s (%s, version %q) does not lease runners to a client's session: it is older than this client; upgrade the node, or dial without WithLeasedRunners and stop the runners you spawn yourself (exo-actors remote run: --keep-runners, then exo-actors remote stop)",
			ErrUnsupported, w.GetNodeName(), addr, w.GetVersion())
	}
	c.settleSpawns = w.GetSpawnSettle() // set before the Client is returned, read-only after
	c.handOff = w.GetSpawnSettle() && w.GetSpawnHandOff()
	if ow := w.GetOutWindow(); ow > 0 {
		c.outWindow.Store(uint64(ow))
	}
	c.budget = newSendBudget(2 * c.messageLimit())
	c.ticker.Add(1)
	go c.heartbeat()
	return c, nil
}

// probe checks that addr accepts a connection, and with TLS that the
// handshake works both ways: a server that wants a client certificate we
// do not have (TLS 1.3 says so only after the handshake) answers our first
// read with an alert.
func probe(ctx context.Context, addr string, cfg *tls.Config) error {
	d := net.Dialer{}
	if cfg == nil {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return cannotConnect(addr, err)
		}
		defer conn.Close()
		// A plaintext gRPC server answers the HTTP/2 preface with a
		// SETTINGS frame (type 4 at byte 3); a TLS server with an alert
		// record (0x15) or by closing.
		// A live node answers at once; one that accepted the connection
		// but says nothing until ctx ends is frozen (SIGSTOP: the kernel
		// still accepts), overloaded or cut off, and the hello would only
		// wait out the same silence.
		_ = conn.SetDeadline(probeDeadline(ctx))
		stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
		defer stop()
		if _, err := conn.Write([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")); err != nil {
			if isTimeout(err) {
				return silentNode(ctx, addr)
			}
			return cannotTalk(addr, err)
		}
		var b [9]byte
		n, err := io.ReadAtLeast(conn, b[:], 4)
		switch {
		case err != nil && isTimeout(err):
			return silentNode(ctx, addr)
		case err != nil || b[0] == 0x15 || b[3] != 0x04:
			return notPlaintextGRPC(addr, b[:n], err, func() bool { return speaksTLS(ctx, addr) })
		}
		return nil
	}
	host, _, _ := net.SplitHostPort(addr)
	cc := cfg.Clone()
	if cc.ServerName == "" {
		cc.ServerName = host
	}
	cc.NextProtos = []string{"h2"}
	td := tls.Dialer{NetDialer: &d, Config: cc}
	conn, err := td.DialContext(ctx, "tcp", addr)
	if err != nil {
		var oe *net.OpError
		if ctx.Err() != nil && !(errors.As(err, &oe) && oe.Op == "dial") {
			return silentNode(ctx, addr) // connected, but no handshake before ctx ended
		}
		return tlsDialFailed(addr, err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return tlsRefusedAfterHandshake(addr, err)
		}
	}
	return nil
}

// Addr returns the node's address.
func (c *Client) Addr() string { return c.addr }

// ListenAddr returns the address of this client's own endpoint: the
// protoactor Remote the node connects back to with its answers (host:port;
// WithClientListen chooses it). A firewall between the two must let the
// node reach it. With TLS (WithTLS) it accepts only a peer with a
// certificate from the CA, as a node with --tls-require-client-cert does.
func (c *Client) ListenAddr() string { return c.ep.system.Address() }

// NodeName returns the node's name (its --name).
func (c *Client) NodeName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.node
}

// Kinds returns the runner kinds the node's configuration has.
func (c *Client) Kinds() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.kinds...)
}

// Done is closed once the client is lost or closed; Err then says which.
// A lost client stops its heartbeat at once; Close it still (it releases
// the client's actor and its hold on the process's client endpoint).
func (c *Client) Done() <-chan struct{} { return c.ended }

// Err returns nil while connected, then an error wrapping ErrNodeLost or
// ErrClientClosed. When the node's gateway said, as it stopped, that its
// node shut down, the error wraps ErrShuttingDown too and says so ("node
// n1 (127.0.0.1:7101) shut down: its shutdown stopped every runner it
// ran"): the node's runners were stopped by that shutdown.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endErr
}

func (c *Client) heartbeat() {
	defer c.ticker.Done()
	t := time.NewTicker(c.opts.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.tickStop:
			return
		case <-c.ended: // lost (or closed): nothing to ping any more
			return
		case <-t.C:
			c.root.Send(c.self, beat)
		}
	}
}

// send sends msg to the gateway with the client actor as sender, so the
// gateway knows the session and answers it.
func (c *Client) send(msg proto.Message) { c.root.RequestWithCustomSender(c.gw, msg, c.self) }

// call sends a request with a fresh call_id and waits for its reply (or a
// GwError), the client's end, or ctx.
func (c *Client) call(ctx context.Context, msg proto.Message) (proto.Message, error) {
	id := c.ids.Add(1)
	setCallID(msg, id)
	return c.callAs(ctx, id, msg)
}

func (c *Client) callAs(ctx context.Context, id uint64, msg proto.Message) (proto.Message, error) {
	if err := ctx.Err(); err != nil {
		// Nothing sent: a caller whose context had already ended must not
		// start anything on the node (a new user's trial: a Submit and a
		// StopRunner with a dead context acted, and said the node "did
		// not answer in time").
		return nil, fmt.Errorf("%s to node %s not sent: the caller's context had ended before the call: %w", requestName(msg), c.NodeName(), err)
	}
	ctx, cancel := c.withCallTimeout(ctx)
	defer cancel()
	// Every request, not a task's payload alone: a runner ID of 10 MB in
	// a StopRunner went out, gRPC refused the batch, and every task of
	// the process on this node ended as node lost (a review's trial).
	// The bound is max_message and room for what a request carries beside
	// a task's payload and params (the node's own check counts only
	// those): IDs, kind, framing.
	size, limit := proto.Size(msg), c.messageLimit()
	if size > limit+requestSlack {
		err := fmt.Errorf("%w: %s to node %s is %d bytes, more than the %d a request may take (max_message %d, the smaller of this client's and the node's, and %d for IDs and framing): %s",
			ErrMessageTooLarge, requestName(msg), c.NodeName(), size, limit+requestSlack, limit, requestSlack, tooLargeHint(msg))
		if _, ok := msg.(*exov1.GwSubmit); ok {
			err = fmt.Errorf("%w (%w)", err, ErrInvalidTask) // as checkTask
		}
		return nil, err
	}
	// At most 2 × the message limit of requests in flight: more could go
	// out as one gRPC message above the transport's limit, which breaks
	// the connection (client_sendbudget.go). Small ones (most) go past it.
	if size > smallRequest {
		took, err := c.budget.acquire(ctx, c.ended, size, c.Err)
		if err != nil {
			return nil, err
		}
		defer c.budget.release(took)
	}
	ch := make(chan proto.Message, 1)
	c.mu.Lock()
	if c.endErr != nil {
		err := c.endErr
		c.mu.Unlock()
		return nil, err
	}
	if len(c.pending) >= maxPending {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: %d calls in flight on this client", ErrGatewayLimit, maxPending)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	c.send(msg)
	select {
	case r := <-ch:
		if e, ok := r.(*exov1.GwError); ok {
			return nil, gateway.Error(c.NodeName(), e)
		}
		return r, nil
	case <-c.ended:
		c.forget(id)
		return nil, c.Err()
	case <-ctx.Done():
		c.forget(id)
		return nil, &noAnswerError{fmt.Errorf("node %s (%s) did not answer in time: %w", c.NodeName(), c.addr, ctx.Err())}
	}
}

// helloRetryFirst and helloRetryMax bound how long a Dial waits for the
// node's welcome before it says hello again (doubling from the first).
const (
	helloRetryFirst = 2500 * time.Millisecond
	helloRetryMax   = 5 * time.Second
)

// clientActorPrefix names a Client's session actor "client-" and 8 random
// bytes in hex, then protoactor's "$N". The node keys a client's session by
// that PID: with protoactor's counter alone, a process started again on the
// address of one that died while connected had the same PID, so its hello
// was taken for the dead one's "hello again" (a goodbye, its tasks kept
// under cancel_tasks_on_client_loss) and a late Terminated of the dead
// one's watch could end the new session.
func clientActorPrefix() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand: never fails (Go 1.24+)
	return "client-" + hex.EncodeToString(b[:])
}

// hello says hello until the node welcomes this client, or ctx ends. A
// hello is said again when no welcome came within helloRetryFirst
// (doubling up to helloRetryMax; past protoactor's 2 s sleep in a failing
// writer, so that the retry goes through the next writer, and a slow node
// is rarely asked twice): a client started on the address of one
// that died while connected (a fixed WithClientListen port, or a port the
// kernel hands out again) finds the node's endpoint writer for that
// address still failing its connect to the dead one, which drops the
// welcome as a dead letter (protoactor's writer sleeps 2 s after a failed
// attempt before it gives up; the next writer connects). The gateway
// takes a second hello from the same client as "said hello again": it
// ends the first session, opens a new one and welcomes it; a late welcome
// of an earlier hello finds no call waiting and is dropped.
//
// The same on this side: a writer of this process to a dead node's
// address, started by any message to it (a heartbeat in flight at the
// death; before, the Terminated that a closed client's actor sent the
// gateway that watched it), fails its connect, sleeps 2 s, and then
// publishes EndpointTerminated for the address, which a new node may now
// listen on. The hello, sent meanwhile, waited in that writer's mailbox
// and was dropped with it, and the loss ended the dial
// (TestRemoteSlowSubscriber in a clean-clone CI: "node lost … its endpoint
// terminated (connection lost)"). So a loss while dialing does not end the
// client: if the node still accepts connections (probe), the hello is
// said again at once, through the next writer, at most maxDialLosses
// times; if it does not, the dial fails with ErrNodeLost and why. The
// client is connected from the welcome on, under the lock that counts
// losses: a loss after it ends the client, and one that comes with the
// welcome makes the dial say hello again.
func (c *Client) hello(ctx context.Context) (*exov1.GwWelcome, error) {
	wait := helloRetryFirst
	retries := 0 // hellos said again after a loss
	for {
		id := c.ids.Add(1)
		msg := &exov1.GwHello{CallId: id, ClientName: c.opts.name, Heartbeat: durationpb.New(c.opts.heartbeat), Acks: true,
			MaxReceive: int64(gateway.GRPCLimit(c.opts.maxMessage))} // a new one each time: the last may still be on its way out
		lctx, stop := context.WithCancelCause(ctx)
		c.mu.Lock()
		losses := c.dialLosses
		c.helloStop = stop
		c.mu.Unlock()
		actx, cancel := context.WithTimeout(lctx, wait)
		res, err := c.callAs(actx, id, msg)
		timedOut := actx.Err() != nil
		cancel()
		cutByLoss := errors.Is(context.Cause(lctx), errDialLoss)
		c.mu.Lock()
		c.helloStop = nil
		lostNow, lossCount := c.dialLosses > losses, c.dialLosses
		why := c.dialLossWhy
		if err == nil && !lostNow && c.state == clientDialing {
			// Connected under the lock that counts losses: one that comes
			// from now on ends the client (nodeGone), none is swallowed
			// as a loss while dialing.
			c.state = clientConnected
		}
		c.mu.Unlock()
		stop(nil)
		var na *noAnswerError
		// The node's own answer (a refusal: shutting down, its limit) is
		// returned as it is, loss or not; a welcome that a loss followed
		// is said again for (the endpoint it came through has ended).
		if lostNow && ctx.Err() == nil && (err == nil || cutByLoss || errors.As(err, &na)) {
			if retries++; retries > maxDialLosses {
				return nil, fmt.Errorf("%w: node %s accepts connections, but this process's connection to it ended %d times before its welcome (last: %s): try again, and check the node's log",
					ErrNodeLost, c.addr, lossCount, why)
			}
			if perr := probe(ctx, c.addr, c.opts.clientTLS); perr != nil {
				return nil, fmt.Errorf("%w: the connection to node %s ended before its welcome (%s), and %w", ErrNodeLost, c.addr, why, perr)
			}
			continue // through the next writer, at once
		}
		if err == nil && lostNow {
			// A welcome with a loss after it, and the dial's ctx ended
			// before it could say hello again: not connected (a review:
			// returned as a success, the client stayed dialing for good).
			return nil, fmt.Errorf("%w: the connection to node %s ended as its welcome came (%s), and the dial's ctx ended before it could say hello again: %w",
				ErrNodeLost, c.addr, why, ctx.Err())
		}
		if err == nil || !timedOut || ctx.Err() != nil {
			return answer[*exov1.GwWelcome](res, err)
		}
		wait = min(2*wait, helloRetryMax)
	}
}

// maxDialLosses bounds how often a Dial says hello again after the loss
// of the node's endpoint (hello).
const maxDialLosses = 3

// errDialLoss is the cause with which a loss of the node's endpoint cuts
// a waiting hello short.
var errDialLoss = errors.New("the node's endpoint was lost while dialing")

// lostWhileDialing counts a loss of the node's endpoint and says whether
// the client was still dialing; then it cuts the waiting hello short (it
// says hello again) instead of ending the client.
func (c *Client) lostWhileDialing(why string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != clientDialing {
		return false
	}
	c.dialLosses++
	c.dialLossWhy = why
	if c.helloStop != nil {
		c.helloStop(errDialLoss)
	}
	return true
}

// answer returns a call's answer as the reply type T of its request, or
// an error naming both types when the node answered with another message
// (a node of another protocol version, or a hostile one): never a panic
// in the caller.
func answer[T proto.Message](res proto.Message, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	r, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("the node answered with a %s where this client expects a %s: it does not speak this client's gateway protocol (another exo-actors version?)",
			proto.MessageName(res), proto.MessageName(zero))
	}
	return r, nil
}

func (c *Client) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// setCallID sets the call_id field that every gateway request carries
// (gateway.proto), whatever the request type: one rule instead of a list of
// types to keep in step with the proto.
func setCallID(msg proto.Message, id uint64) {
	m := msg.ProtoReflect()
	if fd := m.Descriptor().Fields().ByName("call_id"); fd != nil && fd.Kind() == protoreflect.Uint64Kind {
		m.Set(fd, protoreflect.ValueOfUint64(id))
	}
}

// SpawnRunner starts a runner of spec.Kind, one of the kinds the node's
// configuration names, and returns its ID. A remote node never runs a
// command its peer names: Command, Args, Env, Dir and Builtin must be
// empty (they come from the node's config). A kind the node's config lacks
// gives ErrUnknownKind naming its kinds; a kind name no spec may have (as
// RunnerSpec.Validate says) ErrInvalidSpec, as on a System.
//
// A runner whose ID this call returned is the caller's: it runs until
// stopped (StopRunner), also after Close or the loss of this client.
// If the call returns an error instead (ctx ended while the request was in
// flight, the client closed or was lost), the node stops the runner it may
// have spawned for it, so none is left running that nobody knows of
// (docs/remote.md, "Runners a client never learned of").
func (c *Client) SpawnRunner(ctx context.Context, spec RunnerSpec) (string, error) {
	if err := c.Err(); err != nil { // closed or lost: said whatever the spec
		return "", err
	}
	if spec.Command != "" || spec.Builtin || len(spec.Args) > 0 || len(spec.Env) > 0 || spec.Dir != "" {
		// Both sentinels: host code written for System checks ErrInvalidSpec.
		return "", fmt.Errorf("%w (%w): a remote node starts runners only as its config says: name a kind (node %s has %s) and leave Command, Args, Env, Dir and Builtin empty",
			ErrInvalidSpec, ErrInvalidRequest, c.NodeName(), strings.Join(c.Kinds(), ", "))
	}
	if spec.Kind == "" { // as a ClusterClient says it: the spec (ErrInvalidSpec) and the request (ErrInvalidRequest)
		return "", fmt.Errorf("%w (%w): RunnerSpec.Kind is empty: name one of node %s's kinds (%s)",
			ErrInvalidSpec, ErrInvalidRequest, c.NodeName(), strings.Join(c.Kinds(), ", "))
	}
	if err := actors.CheckKind(spec.Kind); err != nil { // as a System says it, not "unknown kind"
		return "", err
	}
	return c.spawnSettled(ctx, spec.Kind) // client_spawn.go
}

// StopRunner stops one runner of the node (Shutdown frame, SIGTERM,
// SIGKILL) and says which step ended it.
func (c *Client) StopRunner(ctx context.Context, id string) (*StopResult, error) {
	res, err := answer[*exov1.GwRunnerStopped](c.call(ctx, &exov1.GwStopRunner{RunnerId: id}))
	var na *noAnswerError
	if errors.As(err, &na) {
		// Sent: the node goes on with the stop whatever the caller's
		// context (a new user's trial read it as not done).
		return nil, fmt.Errorf("%w; the node goes on with the stop of %s: Runners lists it until it is stopped", err, id)
	}
	if err != nil {
		return nil, err
	}
	r := res
	out := &StopResult{RunnerID: r.GetRunnerId(), Generation: r.GetGeneration(), EndedBy: r.GetEndedBy(), Total: r.GetTotal().AsDuration(),
		Exit: exitFromText(r.GetExit()), Complaint: r.GetComplaint()}
	out.Steps = stopSteps(r)
	if r.GetFailure() != "" {
		out.Failure = &RunnerFailure{}
		out.Failure.RunnerID, out.Failure.Message = r.GetRunnerId(), r.GetFailure()
	}
	return out, nil
}

// Runners lists the node's runners, in spawn order.
func (c *Client) Runners(ctx context.Context) ([]RunnerInfo, error) {
	res, err := answer[*exov1.GwRunnerList](c.callLarge(ctx, &exov1.GwListRunners{}))
	if err != nil {
		return nil, err
	}
	var out []RunnerInfo
	for _, r := range res.GetRunners() {
		out = append(out, fromRunnerInfo(gateway.RunnerInfoFromWire(r)))
	}
	return out, nil
}

// Submit queues a task on a runner of the node and returns its handle,
// which the node feeds: chunks in order, then exactly one outcome. If the
// node is lost first, the task ends Failed with a reason naming the node.
// If ctx ends after the request went out and before the node answered,
// the error (wrapping ctx.Err()) says the task may be queued all the same:
// Submit it again with the same ID to get its handle (the node
// deduplicates task IDs per runner), or Cancel it.
func (c *Client) Submit(ctx context.Context, runnerID string, t Task) (*TaskHandle, error) {
	if err := c.Err(); err != nil { // closed or lost: said whatever the task
		return nil, err
	}
	if err := c.checkTask(t); err != nil {
		return nil, err
	}
	h, feed := actors.NewTaskFeed(runnerID, t.ID)
	if err := c.submitFeed(ctx, runnerID, t, feed); err != nil {
		return nil, err
	}
	return &TaskHandle{ID: t.ID, RunnerID: runnerID, h: h}, nil
}

// checkTask returns the error a task that cannot be submitted to this
// node gets: invalid, or larger than the message limit.
func (c *Client) checkTask(t Task) error {
	if err := t.Validate(); err != nil {
		return err
	}
	size, limit := taskSize(t), c.messageLimit()
	if size > limit {
		// Both sentinels: a System refuses the same task with
		// ErrInvalidTask (its frame over the limit), and host code
		// written for System checks that.
		return fmt.Errorf("%w (%w): task %q carries %d bytes, the limit is %d", ErrMessageTooLarge, ErrInvalidTask, t.ID, size, limit)
	}
	return nil
}

// taskSize is the bytes of t that count against the message limit.
func taskSize(t Task) int {
	size := len(t.Payload)
	for k, v := range t.Params {
		size += len(k) + len(v)
	}
	return size
}

// messageLimit is the largest request both this client and its node take.
func (c *Client) messageLimit() int {
	limit := c.opts.maxMessage
	if limit <= 0 { // a Client made without Dial (tests)
		limit = gateway.DefaultMaxMessage
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nodeMax > 0 && c.nodeMax < limit {
		limit = c.nodeMax
	}
	return limit
}

// submitFeed submits t to the node's runner runnerID, feeding what the
// node sends about it into feed (Submit's, or a ClusterClient's handle
// that outlives this attempt).
func (c *Client) submitFeed(ctx context.Context, runnerID string, t Task, feed *actors.TaskFeed) error {
	id := c.ids.Add(1)
	c.mu.Lock()
	c.tasks[id], c.taskIDs[id] = feed, t.ID
	c.mu.Unlock()
	// callAs checks the request's size and waits for the send budget.
	_, err := c.callAs(ctx, id, &exov1.GwSubmit{CallId: id, RunnerId: runnerID, TaskId: t.ID, Kind: t.Kind,
		Payload: t.Payload, Params: t.Params, Timeout: durationpb.New(t.Timeout), Retryable: t.Retryable})
	if err != nil {
		c.mu.Lock()
		delete(c.tasks, id)
		delete(c.taskIDs, id)
		c.mu.Unlock()
		var na *noAnswerError
		if errors.As(err, &na) {
			// Sent, but ctx ended before the node's answer: the node may
			// have queued the task, and its events go to a call forgotten
			// here. Not cancelled behind the caller's back: a retried
			// Submit of the same ID is how a host gets the task's handle
			// (deduplication), and a cancel would end what it retries.
			return fmt.Errorf("%w; task %q may be queued on runner %s all the same: Submit it again with the same ID to get its handle (the node deduplicates), or Cancel it",
				err, t.ID, runnerID)
		}
		return err
	}
	return nil
}

// withCallTimeout bounds ctx by the client's call timeout when it has no
// deadline of its own.
func (c *Client) withCallTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.opts.callTimeout)
}

// noAnswerError is the error of a call that was sent and whose answer did
// not come before its context ended: what the node did is unknown.
type noAnswerError struct{ error }

func (e *noAnswerError) Unwrap() error { return e.error }

// Cancel cancels one task, or every task of the runner when taskID is empty,
// on the node, and returns how many it cancelled, as System.Cancel does
// (ErrTaskNotFound for an unknown task; 0 and no error for one that has
// ended or whose cancel is under way).
func (c *Client) Cancel(ctx context.Context, runnerID, taskID string) (int, error) {
	res, err := answer[*exov1.GwCancelled](c.call(ctx, &exov1.GwCancel{RunnerId: runnerID, TaskId: taskID}))
	if err != nil {
		return 0, err
	}
	return int(res.GetCount()), nil
}

// Subscribe subscribes to a topic of the node with a filter. Credit flows
// end to end: the node sends at most Window events beyond those Next has
// returned (Window default 64); a slow reader's node-side buffer (Buffer)
// overflows into Gap events, as locally. A node that sends more than the
// credit allows (plus Buffer when the stream ends) ends the subscription
// with an error saying so, before the client decodes what it sent
// (docs/remote.md, "Bounds on what a node sends"). The call is bounded by
// the client's call timeout; a call that fails (a timeout included) tells
// the node to drop whatever it set up for it.
func (c *Client) Subscribe(topic string, f Filter, o SubscribeOptions) (*Subscription, error) {
	return c.subscribe(context.Background(), topic, f, o)
}

// SubscribeContext is Subscribe whose call also ends with ctx: a ctx that
// ends first returns its error (and, as any failed call, tells the node to
// drop what it set up). The Subscription it returns does not depend on ctx.
func (c *Client) SubscribeContext(ctx context.Context, topic string, f Filter, o SubscribeOptions) (*Subscription, error) {
	return c.subscribe(ctx, topic, f, o)
}

// subscribe is Subscribe whose call also ends with ctx (WaitReady's).
func (c *Client) subscribe(ctx context.Context, topic string, f Filter, o SubscribeOptions) (*Subscription, error) {
	if err := c.Err(); err != nil { // closed or lost: said whatever the options
		return nil, err
	}
	if o.Window < 0 || o.Buffer < 0 {
		return nil, fmt.Errorf("%w: subscription to %q with Buffer %d and Window %d: neither may be negative; 0 takes the default",
			ErrInvalidRequest, topic, o.Buffer, o.Window)
	}
	if o.Window > gateway.MaxSubscribeWindow || o.Buffer > gateway.MaxSubscribeBuffer {
		return nil, fmt.Errorf("%w: subscription to %q of node %s with Window %d and Buffer %d: a node takes a Window of at most %d and a Buffer of at most %d events",
			ErrInvalidRequest, topic, c.NodeName(), o.Window, o.Buffer, gateway.MaxSubscribeWindow, gateway.MaxSubscribeBuffer)
	}
	window := o.Window
	if window <= 0 {
		window = streams.DefaultWindow
	}
	id := c.ids.Add(1)
	sub, rs := c.openSub(id, topic, window, o.Buffer)
	res, err := answer[*exov1.GwSubscribed](c.callAs(ctx, id, &exov1.GwSubscribe{CallId: id, Topic: topic, RunnerId: f.RunnerID,
		TaskId: f.TaskID, Kinds: f.Kinds, Buffer: int32(o.Buffer), Window: int32(window)}))
	if err != nil {
		c.mu.Lock()
		c.forgetSubLocked(id)
		connected := c.state == clientConnected
		c.mu.Unlock()
		if connected {
			// The call timed out or failed, but the node may have
			// subscribed (or may yet): end that subscription, or it
			// holds one of the session's subscriptions until the
			// session ends. The node takes this after the GwSubscribe
			// (one sender, in order); without a subscription it is a no-op.
			c.send(&exov1.GwUnsubscribe{CallId: id})
		}
		return nil, err
	}
	rs.feed.SetID(res.GetSubId())
	if res.After != nil {
		rs.feed.SetJoinedAfter(res.GetAfter())
	}
	return &Subscription{s: sub}, nil
}

// openSub registers subscription id (the GwSubscribe's call_id): its
// credit goes to the node as GwCredit, and its Close as GwUnsubscribe.
func (c *Client) openSub(id uint64, topic string, window, buffer int) (*streams.Subscription, *remoteSub) {
	rs := newRemoteSub(window, buffer)
	sub, feed := streams.NewFeed(topic, 0, window,
		func(n int) {
			rs.granted.Add(int64(n)) // before the node can use it
			c.send(&exov1.GwCredit{CallId: id, N: int32(n)})
		},
		func() {
			c.mu.Lock()
			_, open := c.subs[id]
			c.forgetSubLocked(id)
			c.mu.Unlock()
			if open {
				c.send(&exov1.GwUnsubscribe{CallId: id})
			}
		})
	rs.feed = feed
	c.mu.Lock()
	c.subs[id] = rs
	c.mu.Unlock()
	return sub, rs
}

// NodeStatus returns the node's status.
func (c *Client) NodeStatus(ctx context.Context) (NodeStatus, error) {
	res, err := answer[*exov1.GwNodeStatusReply](c.call(ctx, &exov1.GwNodeStatus{}))
	if err != nil {
		return NodeStatus{}, err
	}
	r := res
	return NodeStatus{Name: r.GetNodeName(), Kinds: r.GetKinds(), Runners: int(r.GetRunners()), Sessions: int(r.GetSessions()),
		Subscriptions: int(r.GetSubscriptions()), OpenTasks: int(r.GetOpenTasks()), Uptime: r.GetUptime().AsDuration(),
		ShuttingDown: r.GetShuttingDown(), Health: r.GetHealthScore(), HealthKnown: r.GetHealthKnown(),
		KindRoom: kindRoom(r.GetKindRoom()), HeapBytes: r.GetHeapAllocBytes(), Goroutines: int(r.GetGoroutines()),
		RefusesShutdown: r.GetRefusesShutdown(), SpawnsUnconfirmed: int(r.GetSpawnsUnconfirmed())}, nil
}

// RefusesShutdown asks the node only whether it refuses a remote shutdown
// (ShutdownNode, ShutdownPhase): its gateway answers at once, without the
// runner and health queries of NodeStatus, so a loaded node answers in
// time. A node older than the answer's field says false (it then refuses
// at the first phase).
func (c *Client) RefusesShutdown(ctx context.Context) (bool, error) {
	res, err := c.quickStatus(ctx)
	return res.GetRefusesShutdown(), err
}

// nodeShuttingDown asks the node only whether it is shutting down.
func (c *Client) nodeShuttingDown(ctx context.Context) (bool, error) {
	res, err := c.quickStatus(ctx)
	return res.GetShuttingDown(), err
}

// quickStatus asks for the status fields the gateway knows at once
// (shutting_only: no runner or health query; an older gateway answers the
// full status). On an error the reply is nil, whose getters read zero.
func (c *Client) quickStatus(ctx context.Context) (*exov1.GwNodeStatusReply, error) {
	return answer[*exov1.GwNodeStatusReply](c.call(ctx, &exov1.GwNodeStatus{ShuttingOnly: true}))
}

// ShutdownNode shuts the node down (SIGNALING → DRAINING → CLOSING, as
// System.Shutdown) and returns its report; an `exo-actors node` process
// then exits (a host that embeds the System closes its Server, which
// tells its other clients). The node must allow it (ServeConfig.AllowShutdown;
// exo-actors node does by default), else ErrUnsupported.
// It returns once the report came and every subscription of this client
// has received its stream's end (waiting at most 5 s more, or until ctx
// ends), so the events of the node's last moments (the tasks its shutdown
// ended) are in the subscriptions before the caller moves on: the report
// and the events travel from different actors of the node, and the report
// could arrive first.
func (c *Client) ShutdownNode(ctx context.Context) (RemoteShutdownReport, error) {
	res, err := answer[*exov1.GwShutdownReport](c.call(ctx, &exov1.GwShutdown{}))
	if err != nil {
		return RemoteShutdownReport{}, err
	}
	r := res
	c.awaitSubsEnded(ctx, shutdownStreamsWait)
	return RemoteShutdownReport{Node: c.NodeName(), Text: r.GetReport(), Total: r.GetTotal().AsDuration(), Forced: r.GetForced(),
		Report: fromGwShutdownReport(r.GetNode())}, nil
}

// shutdownStreamsWait bounds how long ShutdownNode waits, after the
// report, for the ends of this client's subscriptions.
const shutdownStreamsWait = 5 * time.Second

// awaitSubsEnded waits until this client has no open subscription, for at
// most d, or until ctx ends or the client does.
func (c *Client) awaitSubsEnded(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		c.mu.Lock()
		open, gone := len(c.subs), c.subsGone
		c.mu.Unlock()
		if open == 0 {
			return
		}
		select {
		case <-gone:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		case <-c.ended:
			return
		}
	}
}

// forgetSubLocked drops subscription id (c.mu held) and wakes every
// waiting awaitSubsEnded (two ShutdownNode calls may wait at once: a
// single wake-up token would leave one of them waiting its whole bound).
func (c *Client) forgetSubLocked(id uint64) {
	if _, ok := c.subs[id]; !ok {
		return
	}
	delete(c.subs, id)
	close(c.subsGone) // sole sender: forgetSubLocked, under c.mu, which replaces it at once
	c.subsGone = make(chan struct{})
}

// Echo makes one bare round trip to the node's gateway (the floor of the
// bench row remote_dispatch_p50).
func (c *Client) Echo(ctx context.Context) error {
	_, err := c.call(ctx, &exov1.GwEcho{})
	return err
}

// Blast is a bench tool, not part of the Node API: it measures raw
// protoactor remote throughput from the node to this client (the floor of
// the bench row remote_events). It asks the node to send count messages
// (at most 1,000,000) of size bytes (at most 512), count × (size + 16) at
// most 32 MiB (a node refuses more with ErrInvalidRequest), and returns
// how many arrived before the node's GwBlastDone. Bounds: a node sends one
// blast at a time (another waits for it, holding one of its session's
// calls), and its items are in the node's window to this client like task
// chunks and events, 256 at a time (at most the window, 4 MiB by default,
// and one group unacknowledged; this client acknowledges as they arrive), so back-to-back Blasts on a
// slow link wait for the client instead of growing the node's send queue
// (docs/remote.md, "Bounds on what a node sends").
func (c *Client) Blast(ctx context.Context, count, size int) (int, error) {
	id := c.ids.Add(1)
	c.mu.Lock()
	c.blasted[id] = 0
	c.mu.Unlock()
	_, err := c.callAs(ctx, id, &exov1.GwBlast{CallId: id, Count: int32(count), Size: int32(size)})
	c.mu.Lock()
	got := c.blasted[id]
	delete(c.blasted, id)
	c.mu.Unlock()
	return got, err
}

// Close says goodbye to the node, which ends this client's subscriptions
// there (its tasks go on, even with cancel_tasks_on_client_loss, which
// cancels only the tasks of a client lost without a goodbye: cancel them
// with Cancel first if they should stop), and waits, at most 2 s, for the
// node to acknowledge it (a goodbye still queued when the endpoint is
// released would make the node take the client for lost). A client that
// has ended on its node's shutdown said goodbye then; Close waits, as
// long at most, for that acknowledgement (not when the node is gone). It ends every
// open handle of this client: tasks Failed, each with an error chunk then
// io.EOF from Next, the reason (a string) beginning "client closed: "
// (ErrClientClosed's text); subscriptions with an error wrapping
// ErrEndOfStream and ErrClientClosed. Every later call returns an error
// wrapping ErrClientClosed that names the node and says to dial it again.
// With WithLeasedRunners, the goodbye ends the lease: the node stops the
// runners this client spawned (draining their tasks, this client's too).
// The process's client endpoint stays up for the next
// Dial (it lives as long as the process: docs/remote.md, "One protoactor
// Remote per process"). Idempotent.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		connected := c.state == clientConnected
		c.mu.Unlock()
		// Wait (briefly) for the node's GwByeAck: a goodbye sent without
		// it could still be in this process's endpoint writer when the
		// endpoint is released, and the node would take the client for
		// lost (cancel_tasks_on_client_loss then cancels its tasks). Also
		// for the goodbye the client sent on the node's shutdown note
		// (endOnNote; also when the note ended the client while this
		// goodbye waited): the node's watch of the client actor stopped
		// below is a system message, which its gateway handles before a
		// goodbye still in its mailbox.
		ctx, cancel := context.WithTimeout(context.Background(), byeWait)
		if connected {
			id := c.ids.Add(1)
			_, _ = c.callAs(ctx, id, &exov1.GwBye{CallId: id})
		}
		c.mu.Lock()
		noteBye := c.noteBye
		c.mu.Unlock()
		if noteBye != nil {
			select {
			case <-noteBye: // the ack, or nodeGone: no ack will come
			case <-ctx.Done():
			}
		}
		cancel()
		// Every later call returns it: it names the client and what to do
		// (a new user's trial got "client closed" alone from a ClusterClient).
		c.end(clientClosed, fmt.Errorf("%w: client of node %s (%s) closed (its Close was called): dial the node again (Dial) for a new client", ErrClientClosed, c.NodeName(), c.addr))
		close(c.tickStop) // sole sender: Close, inside closeOnce
		c.ticker.Wait()
		c.ep.system.EventStream.Unsubscribe(c.esub)
		_ = c.root.StopFuture(c.self).Wait()
		c.ep.release()
	})
	return nil
}

// end moves the client to a final state once: every open task ends
// Failed with err's text, every subscription ends with err, waiting calls
// return err.
func (c *Client) end(st clientState, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != clientConnected && c.state != clientDialing {
		return
	}
	c.state, c.endErr = st, err
	close(c.ended) // sole sender: end, under mu, only from clientDialing or clientConnected
	now := time.Now()
	handOver := st == clientLost && c.onLost != nil
	for id, f := range c.tasks {
		if !handOver {
			f.Fail(err.Error(), now)
		}
		delete(c.tasks, id)
		delete(c.taskIDs, id)
		delete(c.cutChunks, id) // a task that ends here ends with this end's error chunk
	}
	if handOver {
		c.onLost(err)
	}
	for id, rs := range c.subs {
		rs.feed.End(fmt.Errorf("%w: %w", streams.ErrEndOfStream, err))
		c.forgetSubLocked(id)
	}
	c.pending = map[uint64]chan proto.Message{}
}

// endOnNote ends the client on its node's shutdown note and sends the
// goodbye that tells the node's closing gateway that everything before
// the note arrived (it closes once its clients said it), as a call whose
// GwByeAck Close waits for (noteBye). noteBye is set before end wakes
// the calls waiting (a Close saying its own goodbye among them), so that
// such a Close, seeing the client ended, finds it. Only the client actor
// calls it; a second note sends no second goodbye.
func (c *Client) endOnNote(err error) {
	c.mu.Lock()
	first := c.noteBye == nil
	if first {
		c.noteBye = make(chan proto.Message, 1) // one reply, or nodeGone's nil
		c.noteByeID = c.ids.Add(1)
	}
	id, ch := c.noteByeID, c.noteBye
	c.mu.Unlock()
	c.end(clientLost, err)
	if !first {
		return
	}
	c.mu.Lock()
	c.pending[id] = ch // after end, which clears pending
	c.mu.Unlock()
	c.send(&exov1.GwBye{CallId: id})
}

func (c *Client) lost(why string) {
	c.end(clientLost, fmt.Errorf("%w: node %s (%s) lost: %s", ErrNodeLost, c.NodeName(), c.addr, why))
}

// Internal messages of the client actor.
type (
	beatT struct{}
	// nodeGone: the node is gone, as why says; addrGone when this
	// process's endpoint of its address terminated.
	nodeGone struct {
		why      string
		addrGone bool
	}
)

var beat = &beatT{}

// clientActor receives everything the node sends this client and feeds
// the handles, in the order the node sent it.
type clientActor struct {
	c *Client
	// received and acked are the out_end of the last task event or
	// delivery received and of the last GwAck (ack).
	received, acked uint64
	// beats judges whether a heartbeat tick came too late to count the
	// node lost by: then the client did not run on time (a starved
	// machine), and the node's pongs may still wait unread behind the
	// tick; "no answer to the heartbeat for 1.7s" would measure the
	// client's own stall. A late tick pings without judging
	// (internal/lateticks).
	beats lateticks.Judge
	// watching: the actor watches the node's gateway, from the welcome
	// on (watchGateway). addrGone: this process's endpoint of the node's
	// address terminated (its watcher forgot every watch), so nothing more
	// goes to that address: no Unwatch on Stopping, and the gateway's own
	// watch of this actor is dropped here (its Terminated, sent as the
	// actor stops, would go there). Either message starts a writer that
	// fails its connect to the dead node for 2 s and then reports the
	// address terminated, which a Dial of a node started again on that
	// address met (hello).
	watching, addrGone bool
}

// watchGateway tells the client actor to watch the node's gateway; Dial
// sends it once the node welcomed the client. Not before: a watch sent
// while dialing could go into a writer that fails its connect to a dead
// node on the same address (hello), whose dead letter answers it with a
// Terminated (NotFound) that could arrive after the welcome and end a
// live client as lost.
type watchGateway struct{}

// Receive implements actor.Actor.
func (a *clientActor) Receive(ctx actor.Context) {
	c := a.c
	switch m := ctx.Message().(type) {
	case *watchGateway:
		c.mu.Lock()
		connected := c.state == clientConnected
		c.mu.Unlock()
		if connected && !a.addrGone { // not through an endpoint that has ended: its watch would stay for good
			a.watching = true
			ctx.Watch(c.gw)
		}
	case *actor.Stopping:
		// protoactor does not drop an actor's watches when it stops: the
		// process's endpoint watcher of the node's address would keep one
		// entry per Client ever closed, for as long as that endpoint lives
		// (the process's life, when the node stays up).
		if a.watching && !a.addrGone {
			ctx.Unwatch(c.gw)
		}
	case *actor.Terminated:
		if m.Who.Equal(c.gw) {
			// A system message, handled before the user messages already
			// in the mailbox: the last task outcomes and the node's "shut
			// down" note its gateway sent before it stopped may wait there.
			// Queued behind them, the loss comes after them.
			ctx.Send(ctx.Self(), &nodeGone{why: fmt.Sprintf("its gateway terminated (%s)", m.Why),
				addrGone: m.Why == actor.TerminatedReason_AddressTerminated})
		}
	case *nodeGone:
		if c.lostWhileDialing(m.why) {
			return // hello says hello again, through the next writer
		}
		if m.addrGone && !a.addrGone {
			a.addrGone = true
			// The gateway watched this actor (its session): drop that, so
			// that this actor's stop sends the dead address no Terminated.
			// Should the node live on (a connection that broke), its
			// session ends by its session_timeout instead.
			actorsys.SelfSystem(ctx, &actor.Unwatch{Watcher: c.gw})
		}
		c.lost(m.why)
		c.mu.Lock()
		if ch := c.pending[c.noteByeID]; ch != nil && c.noteBye != nil {
			// No ack will come: Close need not wait for it. Taken from
			// pending first, so that a late ack finds no channel to fill.
			delete(c.pending, c.noteByeID)
			ch <- nil
		}
		c.mu.Unlock()
	case *beatT:
		now := time.Now()
		late := a.beats.Late(now, c.opts.heartbeat)
		c.mu.Lock()
		idle := now.Sub(c.lastHeard)
		connected := c.state == clientConnected
		c.pingSeq++
		seq := c.pingSeq
		c.mu.Unlock()
		if !connected {
			return
		}
		if idle > c.opts.lostAfter && !late {
			c.lost(fmt.Sprintf("no answer to the heartbeat for %s", idle.Round(time.Millisecond)))
			return
		}
		c.send(&exov1.GwPing{Seq: seq})
	case *exov1.GwPong:
		c.heard()
	case *exov1.GwError:
		// The node dropped this client's session (a heartbeat or a call
		// answered "no session"): nothing of it will come any more, so the
		// client ends as lost and every handle and subscription with it.
		if m.GetCallId() == 0 && m.GetCode() == exov1.GwCode_GW_CODE_SHUTTING_DOWN {
			// Its node shut down; everything the node sent before this
			// (its last task outcomes) was handled. The goodbye tells the
			// gateway so: it closes once its clients said it.
			c.endOnNote(&nodeShutDown{node: c.NodeName(), addr: c.addr, text: m.GetText(),
				fault:  m.GetDetail() == exov1.GwCode_GW_CODE_NODE_FAULT,
				forced: m.GetDetail() == exov1.GwCode_GW_CODE_SHUTDOWN_FORCED}) // client_shutdown.go
			return
		}
		if errors.Is(gateway.Error(c.NodeName(), m), gateway.ErrNoSession) {
			c.reply(m) // a call waiting for this answer gets it first
			c.lost("it dropped this client's session: " + m.GetText())
			return
		}
		c.reply(m)
	case *exov1.GwTaskEvent:
		c.taskEvent(m)
		a.ack(c, m.GetOutEnd())
	case *exov1.GwDelivery:
		c.delivery(m)
		a.ack(c, m.GetOutEnd())
	case *exov1.GwSubscribed:
		c.mu.Lock()
		if rs := c.subs[m.GetCallId()]; rs != nil {
			rs.subscribed(m) // before any delivery of it: the node sends this first
		}
		c.mu.Unlock()
		c.reply(m)
	case *exov1.GwBlastItem:
		c.mu.Lock()
		if n, ok := c.blasted[m.GetCallId()]; ok { // a Blast still waiting: not one that gave up, nor a call ID the node made up
			c.blasted[m.GetCallId()] = n + 1
		}
		c.mu.Unlock()
		a.ack(c, m.GetOutEnd()) // blast items are in the node's window too
	case proto.Message:
		c.reply(m)
	}
}

// ack acknowledges, once a quarter of the node's window has come since
// the last GwAck, the task events and deliveries received up to end (their
// out_end): the node sends no more than its window unacknowledged
// (gateway's outGate). Only the client actor calls it.
func (a *clientActor) ack(c *Client, end uint64) {
	if end <= a.received {
		return // a node without a window (0), or a stamp out of order
	}
	a.received = end
	if w := c.outWindow.Load(); w > 0 && a.received-a.acked >= w/4 {
		a.acked = a.received
		c.send(&exov1.GwAck{Through: a.received})
	}
}

func (c *Client) heard() {
	c.mu.Lock()
	c.lastHeard = time.Now()
	c.mu.Unlock()
}

func (c *Client) reply(m proto.Message) {
	type caller interface{ GetCallId() uint64 }
	cm, ok := m.(caller)
	if !ok {
		return
	}
	c.mu.Lock()
	c.lastHeard = time.Now()
	ch := c.pending[cm.GetCallId()]
	delete(c.pending, cm.GetCallId())
	c.mu.Unlock()
	if ch != nil {
		ch <- m // capacity 1, one reply per call
	}
}

func (c *Client) taskEvent(m *exov1.GwTaskEvent) {
	// Check, then decode, outside the lock: the calls of other goroutines
	// need it.
	c.mu.Lock()
	node, taskID := c.node, c.taskIDs[m.GetCallId()]
	c.mu.Unlock()
	var packed []*exov1.ChunkGenerated
	bad := checkChunks(node, taskID, m)
	if b, ok := m.GetBody().(*exov1.GwTaskEvent_PackedChunks); ok && bad == nil {
		var err error
		if packed, err = gateway.UnpackChunks(make([]*exov1.ChunkGenerated, 0, 64), b.PackedChunks); err != nil {
			bad = fmt.Errorf("node %s sent chunks this client cannot read: %v", node, err)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastHeard = time.Now()
	f := c.tasks[m.GetCallId()]
	if f == nil {
		return
	}
	if bad != nil && packed == nil {
		// More than a node sends at once, or unreadable framing: the
		// task's chunks cannot go on in order, so its handle ends here.
		f.Fail(bad.Error(), time.Now())
		delete(c.tasks, m.GetCallId())
		delete(c.taskIDs, m.GetCallId())
		delete(c.cutChunks, m.GetCallId()) // it ends with this error chunk; nothing else would remove it
		return
	}
	id := m.GetCallId()
	if _, ok := m.GetBody().(*exov1.GwTaskEvent_Outcome); !ok {
		c.flushCutLocked(id, f) // the chunk was no last word: in order, before what follows it
	}
	switch b := m.GetBody().(type) {
	case *exov1.GwTaskEvent_Chunk:
		c.chunkLocked(id, f, b.Chunk)
	case *exov1.GwTaskEvent_Chunks:
		for _, ch := range b.Chunks.GetChunks() {
			c.chunkLocked(id, f, ch)
		}
	case *exov1.GwTaskEvent_PackedChunks:
		for _, ch := range packed {
			c.chunkLocked(id, f, ch)
		}
		if bad != nil {
			// The node sent what this client cannot read: the task's
			// chunks cannot go on in order, so its handle ends here.
			f.Fail(bad.Error(), time.Now())
			delete(c.tasks, m.GetCallId())
			delete(c.taskIDs, m.GetCallId())
			delete(c.cutChunks, m.GetCallId())
		}
	case *exov1.GwTaskEvent_Skip:
		f.Skip(int(b.Skip.GetCount()))
	case *exov1.GwTaskEvent_Retry:
		f.Retry(b.Retry.GetReason())
	case *exov1.GwTaskEvent_Outcome:
		o := b.Outcome
		out := actors.TaskOutcome{Status: o.GetStatus(), Reason: o.GetReason(), At: time.Now()}
		if o.At != nil {
			out.At = o.At.AsTime()
		}
		cut := c.cutChunks[id]
		delete(c.cutChunks, id)
		if c.divert == nil || !c.divert(f, out) {
			if cut != nil {
				f.Chunk(cut)
			}
			f.Finish(out)
		}
		delete(c.tasks, m.GetCallId())
		delete(c.taskIDs, m.GetCallId())
	}
}

// chunkLocked gives task call_id's chunk ch to its feed, but holds back
// (cutChunks) the error chunk of a forced shutdown's kill on a
// ClusterClient's connection: the outcome that follows decides.
func (c *Client) chunkLocked(id uint64, f *actors.TaskFeed, ch *exov1.ChunkGenerated) {
	c.flushCutLocked(id, f)
	if c.divert != nil && ch.GetError().GetErrorMessage() == actors.ReasonShutdownForced {
		if c.cutChunks == nil {
			c.cutChunks = map[uint64]*exov1.ChunkGenerated{}
		}
		c.cutChunks[id] = ch
		return
	}
	f.Chunk(ch)
}

// flushCutLocked gives task call_id's held-back error chunk, if any, to
// its feed.
func (c *Client) flushCutLocked(id uint64, f *actors.TaskFeed) {
	if ch := c.cutChunks[id]; ch != nil {
		delete(c.cutChunks, id)
		f.Chunk(ch)
	}
}

func (c *Client) delivery(m *exov1.GwDelivery) {
	c.mu.Lock()
	rs, node := c.subs[m.GetCallId()], c.node
	c.mu.Unlock()
	if rs == nil {
		c.heard()
		return // closed: nothing to decode it for
	}
	// Check, then decode, outside the lock: the calls of other goroutines
	// need it. Only this actor writes rs.received and rs.buffer.
	var evs []streams.Event
	var bad, broke error
	if broke = rs.checkRecords(node, m); broke == nil {
		if len(m.GetEvents()) > 0 {
			evs = gateway.DecodeEvents(make([]streams.Event, 0, len(m.GetEvents())), m.GetTopic(), m.GetEvents())
		}
		if len(m.GetPacked()) > 0 {
			evs, bad = gateway.UnpackEvents(evs, m.GetTopic(), m.GetPacked())
		}
		if broke = rs.take(node, m, evs); broke != nil {
			evs = nil
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastHeard = time.Now()
	if c.subs[m.GetCallId()] != rs {
		return
	}
	f := rs.feed
	if len(evs) > 0 {
		f.Deliver(evs)
	}
	switch {
	case broke != nil:
		// The node sent more than it was allowed: nothing of the
		// delivery was used, and the subscription ends, saying why.
		f.End(broke)
		c.forgetSubLocked(m.GetCallId())
		c.send(&exov1.GwUnsubscribe{CallId: m.GetCallId()})
	case bad != nil:
		// The node sent what this client cannot read: the subscription
		// cannot go on in order, so it ends, saying why.
		f.End(fmt.Errorf("%w: %w: stream %q of node %s: undecodable delivery: %v", streams.ErrEndOfStream, ErrBadDelivery, m.GetTopic(), node, bad))
		c.forgetSubLocked(m.GetCallId())
		c.send(&exov1.GwUnsubscribe{CallId: m.GetCallId()})
	case m.GetEnd():
		f.End(fmt.Errorf("%w: stream %q of node %s: %s", streams.ErrEndOfStream, m.GetTopic(), node, m.GetReason()))
		c.forgetSubLocked(m.GetCallId())
	}
}

func kindRoom(m map[string]int32) map[string]int {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = int(v)
	}
	return out
}

// exitFromText reads back the exit status a node sends in GwRunnerStopped
// as ExitStatus.String's text ("exitcode=5", "signal=9 (killed)"); nil for
// none, or for a text it does not know (a wait error): Ended then says
// nothing of the exit, as before.
func exitFromText(s string) *ExitStatus {
	var n int
	switch {
	case s == "":
		return nil
	case strings.HasPrefix(s, "exitcode="):
		if _, err := fmt.Sscanf(s, "exitcode=%d", &n); err == nil {
			return &ExitStatus{Code: n}
		}
	case strings.HasPrefix(s, "signal="):
		if _, err := fmt.Sscanf(s, "signal=%d", &n); err == nil && n > 0 {
			return &ExitStatus{Code: -1, Signal: syscall.Signal(n)}
		}
	}
	return nil
}
