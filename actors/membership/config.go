package membership

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Provider names the protoactor cluster provider a member uses.
type Provider string

const (
	// ProviderAutomanaged is protoactor's automanaged provider: every member
	// answers HTTP health checks on its own port and polls the fixed list of
	// peers. No other process is needed; it fits one machine or a fixed host
	// list. The default.
	ProviderAutomanaged Provider = "automanaged"
	// ProviderEtcd is protoactor's etcd provider: each member keeps a key
	// under a 3 s lease; members watch the cluster's key prefix.
	ProviderEtcd Provider = "etcd"
)

// Providers lists the providers this package builds, in the order help
// texts show them.
func Providers() []Provider { return []Provider{ProviderAutomanaged, ProviderEtcd} }

// ParseProvider returns the provider called name, or an error naming the
// providers there are.
func ParseProvider(name string) (Provider, error) {
	for _, p := range Providers() {
		if string(p) == name {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown cluster provider %q: want automanaged or etcd (kubernetes and consul: see docs/cluster.md)", name)
}

// Defaults of [Config]; a zero field takes these.
const (
	DefaultHost          = "127.0.0.1"
	DefaultRefresh       = 200 * time.Millisecond
	DefaultCheckInterval = 250 * time.Millisecond
	// evictMargin is added to the detection bound for the default EvictAfter.
	evictMargin            = 2 * time.Second
	DefaultEtcdBaseKey     = "/exo-actors"
	DefaultEtcdDialTimeout = 2 * time.Second
	DefaultLeaveTimeout    = 5 * time.Second
	// DefaultGossipInterval is protoactor's own default (300 ms): each member
	// sends its heartbeat to every other member (fan-out 3) this often.
	DefaultGossipInterval = 300 * time.Millisecond
)

// Config says which cluster to join, how, and what this member carries. The
// zero value of each optional field takes the default named beside it.
type Config struct {
	// Cluster is the cluster name (required): letters, digits, '.', '_', '-'.
	Cluster string
	// NodeName is this node's name as other members see it (required, same
	// alphabet as Cluster).
	NodeName string
	// Kinds are the runner kinds this node registers (may be empty; same
	// alphabet, no duplicates).
	Kinds []string
	// Provider is ProviderAutomanaged (the default) or ProviderEtcd.
	Provider Provider
	// Gateway is the address (host:port) of this node's gateway, carried to
	// the other members as [Member].Gateway (optional). The gateway keeps its
	// own Remote on the node's actor system; the member's Remote changes with
	// every rejoin.
	Gateway string

	// Host is the address the Remote and the automanaged HTTP port listen on
	// (default 127.0.0.1, loopback only).
	Host string
	// RemotePort is the protoactor Remote port of the first incarnation; 0
	// (the default) lets the kernel pick. A rejoin always takes a new kernel
	// picked port: reusing a port within ~10 s breaks the new connection
	// (docs/traps.md).
	RemotePort int

	// ManagePort is this member's automanaged HTTP port (required with
	// automanaged). It must appear in Peers.
	ManagePort int
	// Peers are the automanaged HTTP addresses (host:port) of every member,
	// this one included (required with automanaged).
	Peers []string
	// Refresh is how often automanaged polls the peers (default 200 ms).
	// protoactor's HTTP client gives each poll 2 s, so a silent member is
	// dropped at most Refresh + 2 s after it stopped answering.
	Refresh time.Duration

	// EtcdEndpoints are the etcd client URLs or host:port (required with etcd).
	EtcdEndpoints []string
	// EtcdBaseKey is the key prefix (default /exo-actors).
	EtcdBaseKey string
	// EtcdDialTimeout bounds the reachability check made before any member
	// starts (default 2 s).
	EtcdDialTimeout time.Duration

	// GoAPI makes errors name the Go settings of a client's side
	// (ClusterConfig.EtcdEndpoints, ClusterConfig.Peers, …) instead of the
	// command line's flags (--etcd-endpoints, --cluster-peers, …): set by
	// runtime.DialCluster, whose host has no flags.
	GoAPI bool

	// CheckInterval is how often the eviction signs are examined
	// (default 250 ms).
	CheckInterval time.Duration
	// EvictAfter is how long gossip from a member in this member's view may
	// be missing before this member concludes it was evicted (default:
	// DetectionBound + 2 s, so 4.2 s with automanaged, 6 s with etcd). It
	// must exceed the provider's own detection bound, or a frozen peer would
	// make the healthy members rejoin; a smaller value is refused.
	EvictAfter time.Duration
	// GossipInterval is protoactor's gossip tick (default 300 ms).
	GossipInterval time.Duration
	// LeaveTimeout bounds the teardown of one incarnation (default 5 s).
	LeaveTimeout time.Duration

	// Logger receives this package's and protoactor's logs (default: a
	// logrus logger that discards).
	Logger *logrus.Logger
	// Clock arms the check timer (default clock.Real()): a fake one decides
	// when checks run, not what they find. The ages a check judges (a
	// peer's last heartbeat against EvictAfter) are wall-clock time, as
	// the peers' own timestamps are, so stepping a fake Clock never makes
	// a peer look stale.
	Clock clock.Clock
}

// Validate returns the error Start would return for this configuration's
// values (a bad name, a missing peer list, ...), without starting anything.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// withDefaults validates c and fills its defaults. Every error names the
// field, the bad value and what to do.
func (c Config) withDefaults() (Config, error) {
	if c.Cluster == "" {
		return c, fmt.Errorf("cluster name is empty: give one with --cluster")
	}
	if !namePattern.MatchString(c.Cluster) {
		return c, fmt.Errorf("bad cluster name %q: use letters, digits, '.', '_' or '-' (at most 63)", c.Cluster)
	}
	if c.NodeName == "" {
		return c, fmt.Errorf("node name is empty: give one with --name")
	}
	if !namePattern.MatchString(c.NodeName) {
		return c, fmt.Errorf("bad node name %q: use letters, digits, '.', '_' or '-' (at most 63)", c.NodeName)
	}
	seen := map[string]bool{}
	for _, k := range c.Kinds {
		if !namePattern.MatchString(k) {
			return c, fmt.Errorf("bad runner kind %q: use letters, digits, '.', '_' or '-' (at most 63)", k)
		}
		if seen[k] {
			return c, fmt.Errorf("runner kind %q given twice", k)
		}
		seen[k] = true
	}
	if c.Gateway != "" {
		if _, _, err := splitHostPort(c.Gateway); err != nil {
			return c, fmt.Errorf("bad gateway address %q: want host:port (%v)", c.Gateway, err)
		}
	}
	if c.Provider == "" {
		c.Provider = ProviderAutomanaged
	}
	if _, err := ParseProvider(string(c.Provider)); err != nil {
		return c, err
	}
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if ip := net.ParseIP(c.Host); ip == nil {
		return c, fmt.Errorf("bad host %q: want an IP address such as 127.0.0.1", c.Host)
	} else if ip.IsUnspecified() {
		// The member's Remote advertises the address it listens on, and
		// its peers poll the HTTP port there (a new user's trial saw
		// 0.0.0.0 accepted, and the node listen on every interface).
		return c, fmt.Errorf("bad host %q: a member advertises this address to its peers (its Remote and its HTTP port), and %s is no address to dial; give the IP they reach this host at (e.g. --cluster-host 10.0.0.5), or leave it out for 127.0.0.1", c.Host, c.Host)
	}
	if c.RemotePort < 0 || c.RemotePort > 65535 {
		return c, fmt.Errorf("bad remote port %d: want 0 (any) to 65535", c.RemotePort)
	}
	switch c.Provider {
	case ProviderAutomanaged:
		if c.ManagePort <= 0 || c.ManagePort > 65535 {
			return c, fmt.Errorf("automanaged needs this member's HTTP port (--cluster-port), got %d", c.ManagePort)
		}
		if len(c.Peers) == 0 {
			return c, fmt.Errorf("automanaged needs the peers' HTTP addresses (%s host:port,...), got none", c.setting("--cluster-peers"))
		}
		own := false
		for _, p := range c.Peers {
			host, port, err := splitHostPort(p)
			if err != nil {
				return c, fmt.Errorf("bad peer %q: want host:port (%v)", p, err)
			}
			if host == "localhost" {
				// Peers are compared as written, and a member knows
				// itself by its --cluster-host IP: a "localhost" entry
				// passed as this member, and the others, which list it
				// as 127.0.0.1, looked like peers that lack it (a new
				// user's trial).
				return c, fmt.Errorf("bad peer %q: write the IP, e.g. %s: members compare peer addresses as written, and each knows itself by its --cluster-host IP (%s)",
					p, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), c.Host)
			}
			if port == c.ManagePort && host == c.Host {
				own = true
			}
		}
		if !own {
			return c, fmt.Errorf("the peers %q do not include this member's own %s:%d: list every member, this one too",
				strings.Join(c.Peers, ","), c.Host, c.ManagePort)
		}
	case ProviderEtcd:
		if len(c.EtcdEndpoints) == 0 {
			return c, fmt.Errorf("etcd needs at least one endpoint (%s host:port,...)", c.setting("--etcd-endpoints"))
		}
		for _, e := range c.EtcdEndpoints {
			if strings.TrimSpace(e) == "" {
				return c, fmt.Errorf("empty etcd endpoint in %q", strings.Join(c.EtcdEndpoints, ","))
			}
		}
	}
	if c.Refresh <= 0 {
		c.Refresh = DefaultRefresh
	}
	if c.EtcdBaseKey == "" {
		c.EtcdBaseKey = DefaultEtcdBaseKey
	}
	if !strings.HasPrefix(c.EtcdBaseKey, "/") {
		return c, fmt.Errorf("bad etcd base key %q: it must start with '/'", c.EtcdBaseKey)
	}
	if c.EtcdDialTimeout <= 0 {
		c.EtcdDialTimeout = DefaultEtcdDialTimeout
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = DefaultCheckInterval
	}
	if c.EvictAfter <= 0 {
		c.EvictAfter = c.DetectionBound() + evictMargin
	}
	if c.EvictAfter <= c.DetectionBound() {
		return c, fmt.Errorf("evict-after %s must exceed the provider's detection bound %s, or a frozen peer makes healthy members rejoin", c.EvictAfter, c.DetectionBound())
	}
	if c.GossipInterval <= 0 {
		c.GossipInterval = DefaultGossipInterval
	}
	if c.LeaveTimeout <= 0 {
		c.LeaveTimeout = DefaultLeaveTimeout
	}
	if c.Logger == nil {
		c.Logger = logrus.New()
		c.Logger.SetOutput(discard{})
	}
	if c.Clock == nil {
		c.Clock = clock.Real()
	}
	return c, nil
}

// DetectionBound is the documented bound between a member's death (kill -9)
// and its removal from every other member's view, for this configuration.
// automanaged: one poll interval to notice, the 2 s HTTP timeout of
// protoactor's client only applies to a frozen member (a dead one refuses the
// connection at once), so Refresh + 2 s covers both. etcd: the 3 s lease
// hard-coded in protoactor's provider plus etcd's own expiry granularity
// (500 ms) and the watch delivery.
func (c Config) DetectionBound() time.Duration {
	if c.Provider == ProviderEtcd {
		return 4 * time.Second
	}
	r := c.Refresh
	if r <= 0 {
		r = DefaultRefresh
	}
	return r + 2*time.Second
}

func splitHostPort(s string) (string, int, error) {
	host, ps, err := net.SplitHostPort(s)
	if err != nil {
		// The callers quote s already: Go's error repeats it raw
		// ("address a\nb: missing port in address"), and a value holding a
		// newline split the refusal in two lines. Its reason alone.
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return "", 0, errors.New(ae.Err)
		}
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not 1-65535", ps)
	}
	if host == "" {
		return "", 0, fmt.Errorf("host is empty")
	}
	return host, port, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// EtcdBase is EtcdBaseKey, or DefaultEtcdBaseKey when it is empty: the
// prefix of every key of the etcd provider, for a config not yet
// defaulted (withDefaults).
func (c Config) EtcdBase() string {
	if c.EtcdBaseKey == "" {
		return DefaultEtcdBaseKey
	}
	return c.EtcdBaseKey
}

// setting names a setting of a client's side in an error: the flag the
// command line takes, or with GoAPI the ClusterConfig field a Go host
// sets. Flags of a node (--cluster-port, --listen) stay flags: they are
// the nodes' settings either way.
func (c Config) setting(flag string) string {
	if !c.GoAPI {
		return flag
	}
	switch flag {
	case "--etcd-endpoints":
		return "ClusterConfig.EtcdEndpoints"
	case "--cluster-peers":
		return "ClusterConfig.Peers"
	case "--etcd-base-key":
		return "ClusterConfig.EtcdBaseKey"
	case "--cluster":
		return "ClusterConfig.Cluster"
	}
	return flag
}
