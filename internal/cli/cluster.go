package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/actorsys"
	"github.com/exo-actors/exo-actors/internal/logbridge"
)

// clusterFlags are the flags that say which cluster to join or query. The
// lead wires the same flags into `exo-actors node` (issue 21).
type clusterFlags struct {
	cluster       string
	provider      string
	port          int
	peers         []string
	etcdEndpoints []string
	etcdBaseKey   string
	host          string
	// fs and member are register's: config refuses the other provider's
	// flags, and says "join" for a member, "query" for a command that
	// only asks (status, shutdown).
	fs     *pflag.FlagSet
	member bool
}

func (f *clusterFlags) register(fs *pflag.FlagSet, member bool) {
	f.fs, f.member = fs, member
	fs.StringVar(&f.cluster, "cluster", "", "cluster name")
	fs.StringVar(&f.provider, "cluster-provider", string(membership.ProviderAutomanaged), "membership provider: automanaged or etcd")
	fs.Var(addrsValue{&f.peers, "HOST:PORT", "127.0.0.1:7201"}, "cluster-peers", "automanaged: HTTP host:port of every member (this one included), comma-separated")
	fs.Var(addrsValue{&f.etcdEndpoints, "ENDPOINT", "127.0.0.1:2379"}, "etcd-endpoints", "etcd: client endpoints host:port, comma-separated")
	fs.StringVar(&f.etcdBaseKey, "etcd-base-key", membership.DefaultEtcdBaseKey, "etcd: key prefix")
	if member {
		fs.IntVar(&f.port, "cluster-port", 0, "automanaged: this member's HTTP port (must be in --cluster-peers)")
		fs.StringVar(&f.host, "cluster-host", membership.DefaultHost, "address the Remote and the automanaged port listen on")
	}
}

func (f *clusterFlags) config() (membership.Config, error) {
	if strings.TrimSpace(f.cluster) == "" {
		if f.member {
			return membership.Config{}, requiredFlag(f.fs, "cluster", "name the cluster to join")
		}
		return membership.Config{}, requiredFlag(f.fs, "cluster", "name the cluster (the --cluster its members were started with)")
	}
	p, err := membership.ParseProvider(f.provider)
	if err != nil {
		return membership.Config{}, &UsageError{Err: fmt.Errorf("bad --cluster-provider: %w", err)}
	}
	if err := emptyEntry("cluster-peers", f.peers, "127.0.0.1:7201,127.0.0.1:7202"); err != nil { // listflag.go
		return membership.Config{}, err
	}
	if err := emptyEntry("etcd-endpoints", f.etcdEndpoints, "127.0.0.1:2379,127.0.0.1:22379"); err != nil {
		return membership.Config{}, err
	}
	if f.fs != nil {
		subject := "this command uses"
		if f.member {
			subject = "this node uses"
		}
		if err := providerOnlyFlags(f.fs, p, subject); err != nil {
			return membership.Config{}, err
		}
	}
	return membership.Config{Cluster: f.cluster, Provider: p, ManagePort: f.port, Peers: f.peers,
		EtcdEndpoints: f.etcdEndpoints, EtcdBaseKey: f.etcdBaseKey, Host: f.host}, nil
}

// newClusterMemberCmd is the hidden test hook: join a cluster and print
// every membership change as one JSON line on stdout until SIGINT/SIGTERM.
func newClusterMemberCmd(e *env) *cobra.Command {
	var (
		cf            clusterFlags
		name          string
		kinds         []string
		checkInterval time.Duration
		evictAfter    time.Duration
		refresh       time.Duration
		gateway       string
	)
	cmd := &cobra.Command{
		Use:    "cluster-member",
		Short:  "Join a cluster and print membership changes as JSON lines (test hook)",
		Hidden: true,
		Args:   noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := cf.config()
			if err != nil {
				return err
			}
			if name == "" {
				return requiredFlag(cmd.Flags(), "name", "name this node")
			}
			cfg.NodeName, cfg.Kinds, cfg.Gateway = name, kinds, gateway
			cfg.CheckInterval, cfg.EvictAfter, cfg.Refresh = checkInterval, evictAfter, refresh
			cfg.Logger = e.logger
			if err := cfg.Validate(); err != nil {
				return &UsageError{Err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return runClusterMember(ctx, cfg, e.stdout)
		},
	}
	f := cmd.Flags()
	cf.register(f, true)
	f.StringVar(&name, "name", "", "this node's name")
	f.StringSliceVar(&kinds, "kinds", nil, "runner kinds this node registers, comma-separated")
	f.DurationVar(&checkInterval, "check-interval", 0, "how often eviction is checked (default 250ms)")
	f.DurationVar(&evictAfter, "evict-after", 0, "gossip silence that means this member was evicted (default 6s)")
	f.DurationVar(&refresh, "refresh", 0, "automanaged poll interval (default 200ms)")
	f.StringVar(&gateway, "gateway-address", "", "this node's gateway address, carried to the other members (optional)")
	return cmd
}

// memberLine is one JSON line of cluster-member.
type memberLine struct {
	Time        string              `json:"time"`
	State       membership.State    `json:"state"`
	Self        string              `json:"self"`
	Incarnation int                 `json:"incarnation"`
	Members     []membership.Member `json:"members"`
	Joined      []string            `json:"joined,omitempty"`
	Left        []string            `json:"left,omitempty"`
	Reason      string              `json:"reason,omitempty"`
}

// printer writes each Changed it receives as one JSON line; it is the only
// writer of stdout while the member runs.
type printer struct{ enc *json.Encoder }

func (p *printer) Receive(ctx actor.Context) {
	c, ok := ctx.Message().(*membership.Changed)
	if !ok {
		return
	}
	l := memberLine{Time: time.Now().UTC().Format(time.RFC3339Nano), State: c.View.State, Self: c.View.Self,
		Incarnation: c.View.Incarnation, Members: c.View.Members, Reason: c.Reason}
	for _, m := range c.Joined {
		l.Joined = append(l.Joined, m.ID)
	}
	for _, m := range c.Left {
		l.Left = append(l.Left, m.ID)
	}
	_ = p.enc.Encode(l)
}

func runClusterMember(ctx context.Context, cfg membership.Config, stdout io.Writer) error {
	host := actorsys.New(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logbridge.NewSlog(cfg.Logger) }))
	defer host.Shutdown()
	stop := actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })
	out := host.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &printer{enc: json.NewEncoder(stdout)} },
		actor.WithSupervisor(stop), actor.WithGuardian(stop)))
	m, err := membership.Start(host, cfg)
	if err != nil {
		return err
	}
	m.Subscribe(host.Root, out)
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m.Stop(sctx); err != nil {
		return err
	}
	// The printer has the final Left line in its mailbox: poison drains it.
	_ = host.Root.PoisonFuture(out).Wait()
	return nil
}

// newClusterCmd is `exo-actors cluster` with its `status` and `shutdown`
// subcommands.
func newClusterCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Inspect a cluster of exo-actors nodes, or shut it down",
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	var (
		cf      clusterFlags
		asJSON  bool
		timeout time.Duration
	)
	status := &cobra.Command{
		Use:   "status",
		Short: "Print the cluster's members and the runner kinds each registers",
		Long: "status asks the cluster who its members are without joining it: automanaged peers\n" +
			"answer with their own view (so disagreement shows), etcd is read directly.\n" +
			"Exit 0 with the members listed (a peer that did not answer is named); 1 when no peer\n" +
			"answered, the cluster has no members, or etcd is unreachable; 2 on a bad flag. See docs/cluster.md.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := cf.config()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			st, err := membership.QueryStatus(ctx, cfg)
			if err != nil {
				if errors.Is(err, membership.ErrEtcdUnreachable) || strings.HasPrefix(err.Error(), "no member") {
					if asJSON && len(st.Peers) > 0 {
						// Each peer's failure, as with members: stdout
						// has the JSON whenever peers were asked.
						enc := json.NewEncoder(e.stdout)
						enc.SetIndent("", "  ")
						_ = enc.Encode(st)
					}
					return err
				}
				return &UsageError{Err: err}
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				printClusterStatus(e.stdout, st)
			}
			if len(st.Members) == 0 {
				// Exit 1: nothing answered as a member of this cluster
				// (a misspelt --cluster, or none joined yet). Before, it
				// printed "0 members" and exited 0 (a new user's trial).
				return fmt.Errorf("cluster %s has no members (%s)", st.Cluster, noMembersWhy(st, cfg))
			}
			return nil
		},
	}
	f := status.Flags()
	cf.register(f, false)
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for answers")
	status.SetFlagErrorFunc(flagError)
	cmd.AddCommand(status)
	cmd.AddCommand(newClusterShutdownCmd(e)) // cluster_shutdown.go
	return cmd
}

// noMembersWhy says why cluster status found no member of cfg's cluster,
// and what to check: cluster status and cluster shutdown stop on it alike.
func noMembersWhy(st membership.Status, cfg membership.Config) string {
	if st.Provider == membership.ProviderEtcd {
		if o := st.DescribeOtherClusters(); o != "" { // a misspelt --cluster, most likely
			return fmt.Sprintf("none is registered in etcd under %s/%s/, and %s: check --cluster", cfg.EtcdBaseKey, cfg.Cluster, o)
		}
		return fmt.Sprintf("none is registered in etcd under %s/%s/: check --cluster and --etcd-base-key", cfg.EtcdBaseKey, cfg.Cluster)
	}
	if o := st.DescribeOtherClusters(); o != "" {
		return o + ": check --cluster"
	}
	return "no peer is a member of it yet"
}

// printClusterStatus prints st. A peer in another cluster is told to be
// restarted with --cluster only while some peer that answered is in st's
// cluster (a node started with a misspelt --cluster); when none is, the
// --cluster asked is the likelier typo, and each such peer says to check
// it. Before, `cluster status --cluster trail` told the operator to
// restart every healthy node of cluster trial with --cluster trail (a
// docs-only trial).
func printClusterStatus(w io.Writer, st membership.Status) {
	agree := "views agree"
	answered := 0
	for _, p := range st.Peers {
		if p.Error == "" {
			answered++
		}
	}
	switch {
	case answered == 1 && len(st.Peers) > 1:
		agree = fmt.Sprintf("only 1 of %d peers answered (one view: nothing to compare)", len(st.Peers))
	case answered < len(st.Peers):
		// Only the views that came can agree: say how many (a new user's
		// trial read "views agree" while a peer had not answered).
		agree = fmt.Sprintf("the views of the %d of %d peers that answered agree", answered, len(st.Peers))
	}
	if !st.Agree {
		agree = "views DISAGREE (a member is joining, rejoining or split)"
		if o := st.DescribeOtherClusters(); o != "" {
			agree = fmt.Sprintf("views DISAGREE (%s, not %q: see below)", o, st.Cluster)
		}
	}
	if st.Provider == membership.ProviderEtcd {
		agree = "from etcd"
	}
	fmt.Fprintf(w, "cluster %s (%s): %s, %s\n", st.Cluster, st.Provider, plural(len(st.Members), "member"), agree)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tMEMBER ID\tADDRESS\tGATEWAY\tKINDS")
	for _, m := range st.Members {
		kinds := strings.Join(m.Kinds, ",")
		if kinds == "" {
			kinds = "-"
		}
		gw := m.Gateway
		if gw == "" {
			gw = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.NodeName, m.ID, m.Address, gw, kinds)
	}
	_ = tw.Flush()
	printDuplicateNames(w, st.Members) // cluster_dupnames.go
	anyIn := false                     // a peer that answered is in st.Cluster
	for _, p := range st.Peers {
		if p.Error == "" && p.View != nil && p.View.Cluster == st.Cluster {
			anyIn = true
		}
	}
	for _, p := range st.Peers {
		if p.Error != "" {
			fmt.Fprintf(w, "peer %s: no answer (%s)\n", p.Peer, oneLine(p.Error))
		} else if p.View.Cluster != st.Cluster && !anyIn {
			fmt.Fprintf(w, "peer %s: in cluster %q, not %q: check --cluster (no peer that answered is in cluster %q)\n",
				p.Peer, p.View.Cluster, st.Cluster, st.Cluster)
		} else if p.View.Cluster != st.Cluster {
			fmt.Fprintf(w, "peer %s: in cluster %q, not %q: its node was started with --cluster %s; restart it with --cluster %s (every member needs the same --cluster)\n",
				p.Peer, p.View.Cluster, st.Cluster, p.View.Cluster, st.Cluster)
		} else if p.View.State != membership.Joined {
			fmt.Fprintf(w, "peer %s: %s\n", p.Peer, p.View.State)
		}
	}
}
