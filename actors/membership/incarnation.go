package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	etcdprovider "github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/labstack/echo/v4"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/exo-actors/exo-actors/internal/actorsys"
	"github.com/exo-actors/exo-actors/internal/logbridge"
	"github.com/exo-actors/exo-actors/internal/remoteopt"
)

// ErrEtcdUnreachable is wrapped by the error of a join whose etcd endpoints
// did not answer a Status call within Config.EtcdDialTimeout. No member is
// started then: protoactor's StartMember would hang forever.
var ErrEtcdUnreachable = errors.New("etcd unreachable")

// ErrNotEtcd is wrapped, beside ErrEtcdUnreachable, when every endpoint
// answered as something that is not etcd (a gRPC server without etcd's
// services, such as a node's gateway; an HTTP/1 server; an automanaged
// member's HTTP port): waiting changes nothing, the endpoints are wrong.
var ErrNotEtcd = errors.New("not etcd")

// incarnation is one cluster member: its own actor system, Remote, cluster
// and provider. Its goroutines (the own-key watch; etcd: the provider's
// keepalive and watch) are waited for by detach and close.
type incarnation struct {
	cfg      Config
	number   int
	system   *actor.ActorSystem
	cl       *cluster.Cluster
	provider cluster.ClusterProvider
	echo     *echo.Echo       // automanaged: the HTTP server we built on cfg.Host
	lis      net.Listener     // automanaged: its listener (closed by detach too)
	etcd     *clientv3.Client // etcd: our own client (check, provider, own-key watch, live peers)
	http     *http.Client     // automanaged: live-peer probes

	watchCancel context.CancelFunc
	watchDone   sync.WaitGroup

	detachOnce sync.Once
}

// memberID is this incarnation's ID as it appears in topologies.
func (inc *incarnation) memberID() string { return toMemberID(inc.cfg, inc.system.ID) }

// toMemberID maps an actor system ID (the gossip key) to the topology member
// ID: etcd's provider names members "<cluster>@<system ID>".
func toMemberID(cfg Config, systemID string) string {
	if cfg.Provider == ProviderEtcd {
		return cfg.Cluster + "@" + systemID
	}
	return systemID
}

// checkEtcd returns a client once some endpoint answered Status within the
// dial timeout, or an error wrapping ErrEtcdUnreachable that names the
// endpoints (and, with look, what answers there instead: notEtcd).
func checkEtcd(cfg Config) (*clientv3.Client, error) { return checkEtcdLook(cfg, true) }

// checkEtcdLook is checkEtcd; look says whether to look at the endpoints
// that failed (notEtcd: up to notEtcdTimeout each). A rejoin retried every
// second through an etcd outage does not: the first join said it already.
func checkEtcdLook(cfg Config, look bool) (*clientv3.Client, error) {
	return checkEtcdCtx(context.Background(), cfg, look)
}

// checkEtcdCtx is checkEtcdLook bounded by ctx too: a reader of the
// membership (QueryStatus, EtcdClusters: a ClusterClient's poller, whose
// read is bounded by 500 ms, and its DialCluster) gets its answer when its
// ctx ends, not after EtcdDialTimeout and the look at each endpoint (3 s
// for a frozen etcd, which held the poller, Close and a DialCluster's ctx
// that long). The error then wraps ctx's beside ErrEtcdUnreachable (the
// CLI's exit 1) and says nothing of etcd it did not learn.
func checkEtcdCtx(ctx context.Context, cfg Config, look bool) (*clientv3.Client, error) {
	cli, err := clientv3.New(etcdClientConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v", ErrEtcdUnreachable, strings.Join(cfg.EtcdEndpoints, ","), err)
	}
	cutShort := func() error {
		return fmt.Errorf("%w at %s: no answer to a Status call before the caller's ctx ended (%w); give the read more time to tell a frozen etcd from a slow one",
			ErrEtcdUnreachable, strings.Join(cfg.EtcdEndpoints, ","), ctx.Err())
	}
	errs := make([]string, len(cfg.EtcdEndpoints))
	grpcNotEtcd := make([]bool, len(cfg.EtcdEndpoints))
	other := make([]bool, len(cfg.EtcdEndpoints)) // answered as something that is not etcd
	refused := make([]bool, len(cfg.EtcdEndpoints))
	timedOut := false
	for i, ep := range cfg.EtcdEndpoints {
		sctx, cancel := context.WithTimeout(ctx, cfg.EtcdDialTimeout)
		_, err := cli.Status(sctx, ep)
		cancel()
		if err == nil {
			return cli, nil
		}
		if ctx.Err() != nil {
			cli.Close()
			return nil, cutShort()
		}
		e := fmt.Sprintf("%s: %v", ep, err)
		// The etcd client retries a refused connection until its
		// deadline (an etcd starting beside the node has that long), and
		// said only "context deadline exceeded": nothing listening is
		// said so (a new user's trial).
		if refusedNow(ep, cfg.EtcdDialTimeout) {
			refused[i] = true
			errs[i] = fmt.Sprintf("%s: connection refused (nothing listened there for %s)", ep, cfg.EtcdDialTimeout)
			continue
		}
		if status.Code(err) == codes.Unimplemented {
			// A gRPC server without etcd's services (a node's gateway,
			// --listen): it answered at once. notEtcd's HTTP/1 look would
			// call it an HTTP/1 server.
			grpcNotEtcd[i], other[i] = true, true
			e += " (" + ep + " speaks gRPC but is not etcd: a node's gateway (--listen)? give etcd's client endpoint)"
		}
		timedOut = timedOut || errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded
		errs[i] = e
	}
	cli.Close()
	// Every endpoint failed (only then: a look at each adds up to
	// notEtcdTimeout to the start): say what answers there instead.
	silent := make([]bool, len(cfg.EtcdEndpoints)) // accepted the connection and answered nothing
	for i, ep := range cfg.EtcdEndpoints {
		if !look {
			break
		}
		if grpcNotEtcd[i] || refused[i] {
			continue
		}
		hint, quiet, notIt := notEtcd(ctx, cfg, ep)
		if ctx.Err() != nil {
			return nil, cutShort() // the look was cut short: it says nothing
		}
		other[i] = notIt
		if silent[i] = quiet; quiet {
			errs[i] += ", and no answer to HTTP GET /version within " + notEtcdTimeout.String() + " more"
		} else if hint != "" {
			errs[i] += " (" + hint + ")"
		}
	}
	within := "" // only when something accepted and did not answer in time
	if timedOut && slices.Contains(refused, false) {
		within = " within " + cfg.EtcdDialTimeout.String()
	}
	eps := strings.Join(cfg.EtcdEndpoints, ",")
	if len(silent) > 0 && !slices.Contains(silent, false) {
		// Something listens and takes the connection but says nothing: an
		// etcd frozen (SIGSTOP) or overloaded — the kernel accepts for a
		// stopped process. "start etcd" sent an operator's trial after a
		// running etcd.
		return nil, &etcdSilentError{msg: fmt.Sprintf("etcd at %s accepted the connection but did not answer within %s (%s): etcd may be frozen (e.g. SIGSTOP) or overloaded; check its process (kill -CONT resumes a stopped one) and its health (etcdctl endpoint health), or fix %s",
			eps, cfg.EtcdDialTimeout, strings.Join(errs, "; "), cfg.setting("--etcd-endpoints"))}
	}
	for i, ep := range cfg.EtcdEndpoints {
		if silent[i] { // among endpoints that are not
			errs[i] += " (" + ep + " accepted the connection but answers nothing: a frozen or overloaded etcd?)"
		}
	}
	if !slices.Contains(other, false) {
		return nil, fmt.Errorf("%w (%w) at %s (%s): fix %s",
			ErrEtcdUnreachable, ErrNotEtcd, eps, strings.Join(errs, "; "), cfg.setting("--etcd-endpoints"))
	}
	return nil, fmt.Errorf("%w%s at %s (%s): start etcd or fix %s",
		ErrEtcdUnreachable, within, eps, strings.Join(errs, "; "), cfg.setting("--etcd-endpoints"))
}

// etcdSilentError is checkEtcd's error when every endpoint accepted the
// TCP connection and answered nothing; it wraps ErrEtcdUnreachable.
type etcdSilentError struct{ msg string }

func (e *etcdSilentError) Error() string { return e.msg }
func (e *etcdSilentError) Unwrap() error { return ErrEtcdUnreachable }

// etcdBackoff is how the etcd client's connection is re-made after it
// broke: from 100 ms, growing by 1.6, at most 1 s apart (±20 %).
// grpc's default grows to 120 s: after an etcd restart that had been down
// for 20 s, an operator's members made their first try 5–15 s after etcd
// answered again, past their 3 s lease, and were evicted, although etcd
// had renewed every lease as it came back. Here a member is back within
// about a second, inside the lease.
var etcdBackoff = backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second}

// etcdClientConfig is the configuration of every etcd client a member (or
// cluster status) makes: its endpoints, the dial timeout, no logging, and
// the reconnect backoff etcdBackoff. A connection attempt is given
// EtcdDialTimeout (grpc's default: 20 s), so an attempt to an etcd that
// accepts but does not answer (frozen, or a network that drops packets) is
// given up and made again, not waited out.
func etcdClientConfig(cfg Config) clientv3.Config {
	connect := cfg.EtcdDialTimeout
	if connect <= 0 {
		connect = DefaultEtcdDialTimeout
	}
	return clientv3.Config{
		Endpoints:   cfg.EtcdEndpoints,
		DialTimeout: cfg.EtcdDialTimeout,
		Logger:      zap.NewNop(), // its retries would print JSON on stderr
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           etcdBackoff,
			MinConnectTimeout: connect,
		})},
	}
}

// notEtcdTimeout bounds notEtcd's look at an endpoint etcd did not answer on.
const notEtcdTimeout = time.Second

// notEtcd looks at an endpoint where etcd did not answer for what answers
// there instead: an automanaged member's HTTP port (its /exo/view) gives
// the flags to use; any other HTTP/1 server is named as not etcd; "" when
// nothing answers HTTP/1 there (etcd's own error says the rest). A new
// user's trial gave `cluster status --etcd-endpoints` an automanaged
// member's port and got only a timeout. silent reports that the endpoint
// accepted a TCP connection and then answered nothing at all (a frozen
// etcd: the kernel accepts for a stopped process); other that what
// answered is not etcd.
func notEtcd(ctx context.Context, cfg Config, endpoint string) (hint string, silent, other bool) {
	u, ok := endpointURL(endpoint)
	if !ok {
		return "", false, false
	}
	ctx, cancel := context.WithTimeout(ctx, notEtcdTimeout)
	defer cancel()
	// Nothing there (refused) or no connection made: etcd's own error
	// says it, and "start etcd" is the advice.
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return "", false, false
	}
	conn.Close()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	// etcd's client port answers HTTP/1 too, at /version: an etcd that is
	// there but did not answer Status in time (no quorum, overloaded) is
	// not to be called "not etcd".
	var ver struct {
		Server string `json:"etcdserver"`
	}
	err = getJSON(ctx, hc, "http://"+u.Host+"/version", &ver)
	if err == nil && ver.Server != "" {
		return fmt.Sprintf("etcd %s answers at %s, but not the Status call in time: it may have no quorum or be overloaded; check etcd's health (etcdctl endpoint health)", ver.Server, u.Host), false, false
	}
	if ctx.Err() != nil {
		return "", true, false // connected, and no answer to the GET either
	}
	var v View
	err = getJSON(ctx, hc, "http://"+u.Host+"/exo/view", &v)
	switch {
	case err == nil && v.Cluster != "":
		readIt := fmt.Sprintf("--cluster-provider automanaged --cluster-peers %s (every member's)", u.Host)
		if cfg.GoAPI {
			readIt = fmt.Sprintf("ClusterConfig.Provider \"automanaged\" and ClusterConfig.Peers %s (every member's)", u.Host)
		}
		return fmt.Sprintf("%s is the HTTP port of a member of the automanaged cluster %s, not etcd: read it with %s, or give etcd's client endpoint", u.Host, v.Cluster, readIt), false, true
	case err == nil || httpCode(err) >= 400 && httpCode(err) < 500:
		// A definite answer: a page that is not etcd's, or no such path.
		return u.Host + " answers HTTP/1 but not as etcd: give etcd's client endpoint", false, true
	case httpCode(err) >= 500:
		// A proxy whose etcd is down answers 503 to everything: not a
		// verdict on what is behind it (a review: a DialCluster gave up
		// at once on an etcd behind a proxy, while it restarted).
		return fmt.Sprintf("%s answers HTTP/1 with status %d: a proxy whose etcd is down, or not etcd at all", u.Host, httpCode(err)), false, false
	}
	return "", false, false
}

// startIncarnation joins the cluster as a new member. onTopology receives
// every topology the incarnation's event stream publishes (from protoactor's
// goroutines: it must only Send); onOwnKeyDeleted is called from the etcd
// watch goroutine when etcd deletes this member's key. view serves the
// automanaged /exo/view endpoint.
func startIncarnation(cfg Config, number, port int, onTopology func(*cluster.ClusterTopology),
	onOwnKeyDeleted func(), view func() View) (inc *incarnation, err error) {
	inc = &incarnation{cfg: cfg, number: number}
	if cfg.Provider == ProviderEtcd {
		if inc.etcd, err = checkEtcdLook(cfg, number == 1); err != nil {
			return nil, err
		}
	}
	logger := logbridge.NewSlog(cfg.Logger)
	inc.system = actorsys.New(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }),
		actor.WithDeadLetterThrottleInterval(time.Second))

	switch cfg.Provider {
	case ProviderAutomanaged:
		lis, lerr := net.Listen("tcp", net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.ManagePort)))
		if lerr != nil {
			inc.system.Shutdown()
			if errors.Is(lerr, syscall.EADDRINUSE) {
				// Said as the node's --listen is: an operator's trial got
				// the bind error with no advice.
				return nil, fmt.Errorf("--cluster-port %d: the address %s:%d is in use (another member, an old one still stopping, or another process listens there); pick another port with --cluster-port (and name it in every member's --cluster-peers), or stop that process",
					cfg.ManagePort, cfg.Host, cfg.ManagePort)
			}
			return nil, fmt.Errorf("listen on the automanaged port %s:%d (--cluster-host, --cluster-port): %w", cfg.Host, cfg.ManagePort, lerr)
		}
		inc.lis = lis
		inc.echo = newEchoServer(lis, inc, view)
		inc.http = &http.Client{Timeout: time.Second}
		inc.provider = automanaged.NewWithTesting(cfg.Refresh, cfg.ManagePort, inc.echo, cfg.Peers...)
	case ProviderEtcd:
		// Our own provider on our client, not protoactor's: see etcdMember.
		inc.provider = newEtcdMember(inc.etcd, cfg, onOwnKeyDeleted)
	}

	props := actor.PropsFromFunc(func(actor.Context) {}) // kinds carry data; nothing is activated
	var kinds []*cluster.Kind
	for _, k := range clusterKinds(cfg.NodeName, cfg.Kinds, cfg.Gateway) {
		kinds = append(kinds, cluster.NewKind(k, props))
	}
	ccfg := cluster.Configure(cfg.Cluster, inc.provider, disthash.New(), memberRemoteConfig(cfg.Host, port),
		cluster.WithKinds(kinds...))
	ccfg.GossipInterval = cfg.GossipInterval
	// Bounds the gossip state reads of each check (5 s by default), so a
	// check racing a teardown does not hold Stop for long.
	ccfg.TimeoutTime = 2 * time.Second
	inc.cl = cluster.New(inc.system, ccfg)
	inc.system.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*cluster.ClusterTopology); ok {
			onTopology(t)
		}
	})

	if err := startMember(inc.cl); err != nil {
		inc.detach()
		inc.close()
		return nil, err
	}
	if cfg.Provider == ProviderEtcd {
		inc.watchOwnKey(onOwnKeyDeleted)
		inc.touchOwnKey()
	}
	return inc, nil
}

// startMember calls protoactor's StartMember, which panics on errors.
func startMember(cl *cluster.Cluster) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start cluster member: %v", r)
		}
	}()
	cl.StartMember()
	return nil
}

// newEchoServer builds automanaged's HTTP server on our own listener (the
// provider would bind 0.0.0.0): /_health answers the provider's polls with
// this member's node model, /exo/view serves the current view as JSON for
// `exo-actors cluster status`.
func newEchoServer(lis net.Listener, inc *incarnation, view func() View) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(discard{})
	e.Listener = lis
	e.GET("/_health", func(c echo.Context) error {
		host, port, err := inc.system.GetHostPort()
		if err != nil {
			return c.String(http.StatusServiceUnavailable, err.Error())
		}
		return c.JSON(http.StatusOK, automanaged.NewNode(inc.cfg.Cluster, inc.system.ID, host, port, inc.cfg.ManagePort, inc.cl.GetClusterKinds()))
	})
	e.GET("/exo/view", func(c echo.Context) error {
		v := view()
		v.Peers = inc.cfg.Peers
		return c.JSON(http.StatusOK, v)
	})
	// /exo/blocked?id=ID answers whether this member blocked ID for good: a
	// member asks its peers about itself to learn it was evicted.
	e.GET("/exo/blocked", func(c echo.Context) error {
		id := c.QueryParam("id")
		if id == "" || inc.cl.Remote == nil {
			return c.String(http.StatusBadRequest, "want ?id=MEMBER_ID of a started member")
		}
		return c.JSON(http.StatusOK, blockedAnswer{ID: id, Blocked: inc.cl.Remote.BlockList().IsBlocked(id),
			Cluster: inc.cfg.Cluster, Peers: inc.cfg.Peers})
	})
	return e
}

// touchOwnKey writes this member's key again, unchanged and under the
// same lease, once StartMember returned: a member still running
// protoactor's etcd provider (an older exo-actors; it watches from "now",
// not from the revision it read) that read the member list just before
// this one registered sees it then. Our provider (etcdMember) watches from
// the revision it read and needs no such write. It never recreates a
// deleted key: a Put under an expired or revoked lease fails. A failure is
// left to the missed-join check.
func (inc *incarnation) touchOwnKey() {
	ctx, cancel := context.WithTimeout(context.Background(), inc.cfg.EtcdDialTimeout)
	defer cancel()
	resp, err := inc.etcd.Get(ctx, inc.ownKey())
	if err != nil || len(resp.Kvs) == 0 {
		return
	}
	kv := resp.Kvs[0]
	_, _ = inc.etcd.Put(ctx, inc.ownKey(), string(kv.Value), clientv3.WithLease(clientv3.LeaseID(kv.Lease)))
}

// ownKey is this member's etcd key as protoactor's provider writes it.
func (inc *incarnation) ownKey() string {
	return inc.cfg.EtcdBaseKey + "/" + inc.cfg.Cluster + "/" + inc.memberID()
}

// watchOwnKey watches this member's etcd key; a delete means the lease
// expired or was revoked (the others blocked the ID; the provider's
// keepalive reports the lost lease too, through the same callback, and a
// new incarnation takes over).
func (inc *incarnation) watchOwnKey(onDeleted func()) {
	ctx, cancel := context.WithCancel(context.Background())
	inc.watchCancel = cancel
	wch := inc.etcd.Watch(ctx, inc.ownKey())
	inc.watchDone.Add(1)
	go func() { // owner: the incarnation; close waits for it
		defer inc.watchDone.Done()
		for resp := range wch {
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					onDeleted()
				}
			}
		}
	}()
}

// evidence gathers what Diagnose needs from this incarnation (since is
// filled by the caller from its view). It blocks for at most about a second.
func (inc *incarnation) evidence(ctx context.Context) Evidence {
	ev := Evidence{Self: inc.memberID(), Heartbeats: map[string]time.Time{}, Blocked: map[string]bool{}, Etcd: inc.cfg.Provider == ProviderEtcd}
	if hb, err := inc.cl.Gossip.GetState(cluster.HeartbeatKey); err == nil {
		for sysID, kv := range hb {
			ev.Heartbeats[toMemberID(inc.cfg, sysID)] = time.UnixMilli(kv.GetLocalTimestampUnixMilliseconds())
		}
	}
	for _, id := range inc.cl.GetBlockedMembers().ToSlice() {
		ev.Blocked[id] = true
		// The gossip heartbeat expiry blocks system IDs, the member list
		// member IDs: count both as the member.
		ev.Blocked[toMemberID(inc.cfg, id)] = true
	}
	ev.LivePeers = inc.livePeers(ctx)
	if inc.cfg.Provider == ProviderAutomanaged {
		ev.BlockedBy, ev.PeerConfigs = inc.blockedBy(ctx, ev.Self)
	}
	return ev
}

// livePeers asks the provider's source of truth who is alive right now.
func (inc *incarnation) livePeers(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	switch inc.cfg.Provider {
	case ProviderEtcd:
		ms, err := etcdMembers(ctx, inc.etcd, inc.cfg)
		if err != nil {
			return nil
		}
		var ids []string
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		return ids
	default:
		nodes := probeHealth(ctx, inc.http, inc.cfg.Peers)
		var ids []string
		for _, n := range nodes {
			if n.ClusterName == inc.cfg.Cluster {
				ids = append(ids, n.ID)
			}
		}
		return ids
	}
}

// blockedAnswer is the JSON of /exo/blocked.
type blockedAnswer struct {
	ID      string `json:"id"`
	Blocked bool   `json:"blocked"`
	// Cluster and Peers are the answering member's --cluster and
	// --cluster-peers, for PeerMismatch (absent from older members).
	Cluster string   `json:"cluster,omitempty"`
	Peers   []string `json:"peers,omitempty"`
}

// blockedBy asks every other peer whether it blocked self and returns the
// peers that did, and the configs of those that answered (PeerMismatch).
func (inc *incarnation) blockedBy(ctx context.Context, self string) ([]string, map[string]PeerConfig) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	own := net.JoinHostPort(inc.cfg.Host, fmt.Sprint(inc.cfg.ManagePort))
	answers := make([]bool, len(inc.cfg.Peers))
	configs := make([]*PeerConfig, len(inc.cfg.Peers))
	var wg sync.WaitGroup
	for i, p := range inc.cfg.Peers {
		if p == own {
			continue
		}
		wg.Add(1)
		go func() { // owner: blockedBy, which waits
			defer wg.Done()
			var a blockedAnswer
			if getJSON(ctx, inc.http, "http://"+p+"/exo/blocked?id="+url.QueryEscape(self), &a) == nil {
				// Another cluster's member answers about an ID it never saw.
				answers[i] = a.Blocked && a.ID == self && (a.Cluster == "" || a.Cluster == inc.cfg.Cluster)
				configs[i] = &PeerConfig{Cluster: a.Cluster, Peers: a.Peers}
			}
		}()
	}
	wg.Wait()
	var out []string
	for i, b := range answers {
		if b {
			out = append(out, inc.cfg.Peers[i])
		}
	}
	cfgs := map[string]PeerConfig{}
	for i, c := range configs {
		if c != nil {
			cfgs[inc.cfg.Peers[i]] = *c
		}
	}
	return out, cfgs
}

// probeHealth polls every peer's /_health at once and returns the answers.
func probeHealth(ctx context.Context, hc *http.Client, peers []string) []*automanaged.NodeModel {
	out := make([]*automanaged.NodeModel, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Add(1)
		go func() { // owner: probeHealth, which waits
			defer wg.Done()
			var n automanaged.NodeModel
			if getJSON(ctx, hc, "http://"+p+"/_health", &n) == nil {
				out[i] = &n
			}
		}()
	}
	wg.Wait()
	var live []*automanaged.NodeModel
	for _, n := range out {
		if n != nil {
			live = append(live, n)
		}
	}
	return live
}

func getJSON(ctx context.Context, hc *http.Client, target string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &httpStatusError{target: target, code: resp.StatusCode}
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// etcdMembers reads the members protoactor's etcd provider registered.
func etcdMembers(ctx context.Context, cli *clientv3.Client, cfg Config) ([]Member, error) {
	resp, err := cli.Get(ctx, cfg.EtcdBaseKey+"/"+cfg.Cluster+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, err
	}
	var out []Member
	for _, kv := range resp.Kvs {
		n, err := etcdprovider.NewNodeFromBytes(kv.Value)
		if err != nil {
			continue
		}
		out = append(out, memberFrom(n.MemberStatus()))
	}
	return out, nil
}

// detach makes the incarnation let go of what the next one needs at once:
// the provider stops answering and registering (the automanaged HTTP port is
// closed; etcd: its keepalive and watch end and its lease is revoked, which
// deletes the key) and the own-key watch ends. Idempotent.
func (inc *incarnation) detach() {
	inc.detachOnce.Do(func() {
		if inc.watchCancel != nil {
			inc.watchCancel()
		}
		if inc.cl.Remote != nil || inc.cfg.Provider == ProviderEtcd { // StartMember got as far as the provider (etcd's is safe before)
			if err := inc.provider.Shutdown(true); err != nil {
				inc.cfg.Logger.WithField("component", "membership").WithError(err).Warn("leaving the cluster")
			}
		} else if inc.echo != nil {
			_ = inc.echo.Close()
		}
		if inc.lis != nil {
			_ = inc.lis.Close() // echo never served on it if the join failed early
		}
	})
}

// close tears the rest down after detach: tells the gossip it left, stops
// the identity lookup, gossip, Remote and actor system, closes our etcd
// client and waits for the watch goroutine.
func (inc *incarnation) close() {
	if inc.cl.Remote != nil {
		inc.cl.Gossip.SetState(cluster.GracefullyLeftKey, &emptypb.Empty{})
		if inc.cl.IdentityLookup != nil {
			inc.cl.IdentityLookup.Shutdown()
		}
		inc.cl.Gossip.Shutdown()
		inc.cl.Remote.Shutdown(false)
	}
	inc.system.Shutdown()
	if inc.watchCancel != nil {
		inc.watchCancel()
	}
	inc.watchDone.Wait()
	if inc.etcd != nil {
		inc.etcd.Close()
	}
}

// memberRemoteConfig is the protoactor remote of a member at host:port:
// protoactor's defaults but a small first queue for each peer's endpoint
// writer (remoteopt.WriterQueue: the default allocates 16 MB per peer).
func memberRemoteConfig(host string, port int) *remote.Config {
	return remote.Configure(host, port, remoteopt.WriterQueue())
}

// refusedNow reports whether a TCP connection to endpoint (a URL or
// host:port) is refused at once: nothing listens there. Anything else (it
// connects, times out within d, or the name does not resolve) is for the
// etcd client to find out.
//
// Only an endpoint the etcd client dials over TCP itself: host:port, or
// an http:// or https:// URL, with no proxy set in the environment (grpc
// honours HTTPS_PROXY for a host that is not loopback); a unix:// socket
// or a proxied endpoint is never called refused.
func refusedNow(endpoint string, d time.Duration) bool {
	u, ok := endpointURL(endpoint)
	if !ok || u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	for _, k := range []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"} {
		if os.Getenv(k) != "" {
			return false
		}
	}
	conn, err := net.DialTimeout("tcp", u.Host, min(d, time.Second))
	if err != nil {
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	conn.Close()
	return false
}

// httpStatusError is getJSON's error for an answer that is not 200 OK.
type httpStatusError struct {
	target string
	code   int
}

func (e *httpStatusError) Error() string { return fmt.Sprintf("%s: HTTP %d", e.target, e.code) }

// httpCode is the HTTP status of getJSON's error, or 0 when it is not one.
func httpCode(err error) int {
	var h *httpStatusError
	if errors.As(err, &h) {
		return h.code
	}
	return 0
}

// endpointURL reads an etcd endpoint as the etcd client takes it: a URL,
// or host:port (as http://host:port). ok is false when it names no host.
func endpointURL(endpoint string) (u *url.URL, ok bool) {
	target := endpoint
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	return u, err == nil && u.Host != ""
}
