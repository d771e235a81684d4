package cli

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/actorsys"
	"github.com/exo-actors/exo-actors/internal/logbridge"
)

// nodeClusterLeaveTimeout bounds how long a node waits to leave its cluster
// on shutdown before it carries on with the System's shutdown anyway.
const nodeClusterLeaveTimeout = 15 * time.Second

// nodeClusterFlagNames are the cluster flags of `node` other than --cluster:
// each needs --cluster.
var nodeClusterFlagNames = []string{"cluster-provider", "cluster-peers", "etcd-endpoints", "etcd-base-key", "cluster-port", "cluster-host"}

// nodeClusterConfig checks the cluster flags of `node` before anything
// starts. It returns nil when --cluster is absent (no cluster), or the
// membership configuration to join with once the gateway's address is known.
// Every error is a usage error naming the flag.
func nodeClusterConfig(fs *pflag.FlagSet, cf *clusterFlags, name string, kinds []string) (*membership.Config, error) {
	if cf.cluster == "" {
		if fs.Changed("cluster") {
			return nil, usageErrorf("--cluster is empty: name the cluster to join, or leave the flag out")
		}
		for _, n := range nodeClusterFlagNames {
			if fs.Changed(n) {
				return nil, usageErrorf("--%s needs --cluster NAME: say which cluster to join", n)
			}
		}
		return nil, nil
	}
	cfg, err := cf.config() // refuses the other provider's flags too
	if err != nil {
		return nil, err
	}
	cfg.NodeName, cfg.Kinds = name, sortedStrings(kinds)
	if err := cfg.Validate(); err != nil {
		return nil, &UsageError{Err: fmt.Errorf("--cluster %s: %w", cf.cluster, err)}
	}
	return &cfg, nil
}

// nodeMember is a node's cluster membership: the Membership and the small
// actor system its actor runs in.
type nodeMember struct {
	host    *actor.ActorSystem
	m       *membership.Membership
	viewLog *actor.PID
}

// joinNodeCluster joins the cluster cfg names, advertising gatewayAddr. It
// returns once the provider registered the member.
func joinNodeCluster(cfg membership.Config, gatewayAddr string, e *env) (*nodeMember, error) {
	cfg.Gateway = gatewayAddr
	cfg.Logger = e.logger
	host := actorsys.New(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logbridge.NewSlog(e.logger) }))
	m, err := membership.Start(host, cfg)
	if err != nil {
		host.Shutdown()
		return nil, fmt.Errorf("join cluster %s: %w", cfg.Cluster, err)
	}
	stop := actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })
	log := e.logger.WithFields(logrus.Fields{"component": "node-cluster", "cluster": cfg.Cluster})
	viewLog := host.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &viewLogger{log: log, name: cfg.NodeName} },
		actor.WithSupervisor(stop), actor.WithGuardian(stop)))
	m.Subscribe(host.Root, viewLog)
	return &nodeMember{host: host, m: m, viewLog: viewLog}, nil
}

// viewLogger logs every change of the node's cluster view at info level:
// the node names that are members, and who joined and left. It warns once
// per other member that has this node's name (cluster_dupnames.go).
type viewLogger struct {
	log    *logrus.Entry
	name   string          // this node's name
	warned map[string]bool // members with this node's name already warned about; only those in the view
}

// Receive logs one line per [*membership.Changed].
func (v *viewLogger) Receive(ctx actor.Context) {
	c, ok := ctx.Message().(*membership.Changed)
	if !ok {
		return
	}
	names := func(ms []membership.Member) string {
		out := make([]string, 0, len(ms))
		for _, m := range ms {
			out = append(out, m.NodeName)
		}
		return strings.Join(sortedStrings(out), ",")
	}
	fields := logrus.Fields{"state": c.View.State.String(), "self": c.View.Self, "incarnation": c.View.Incarnation,
		"members": names(c.View.Members), "reason": c.Reason}
	// Only what changed: the first view (this node's join) lists its
	// members and has no joined or left (they read "joined= left=").
	if len(c.Joined) > 0 {
		fields["joined"] = names(c.Joined)
	}
	if len(c.Left) > 0 {
		fields["left"] = names(c.Left)
	}
	v.log.WithFields(fields).Info("cluster view changed")
	v.warnSameName(c.View)
}

// warnSameName logs a warning for each member of the view, not yet warned
// about, that has this node's name; members that left are forgotten.
func (v *viewLogger) warnSameName(view membership.View) {
	now := map[string]bool{}
	for _, m := range sameNameMembers(v.name, view) {
		now[m.ID] = true
		if !v.warned[m.ID] {
			v.log.WithFields(logrus.Fields{"node": v.name, "other_member": m.ID, "other_gateway": m.Gateway, "other_address": m.Address}).
				Warn(duplicateNameWarning(v.name, view, m))
		}
	}
	v.warned = now
}

// warnAloneInEtcd warns when a node joined an etcd cluster as its only
// member while etcd holds other clusters under the same base key: a
// misspelt --cluster joins a cluster of its own, since etcd takes any name
// (a new user's trial: --cluster trail beside trial, and only an info
// line said it). The first node of a new cluster beside others gets the
// warning too; it is a question, not an error.
func warnAloneInEtcd(e *env, cfg membership.Config) {
	if cfg.Provider != membership.ProviderEtcd {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := membership.EtcdClusters(ctx, cfg)
	if err != nil || counts[cfg.Cluster] > 1 {
		return
	}
	if others := membership.DescribeEtcdClusters(cfg.Cluster, counts); others != "" {
		e.logger.WithFields(logrus.Fields{"component": "node-cluster", "cluster": cfg.Cluster}).
			Warn(fmt.Sprintf("this node is the only member of cluster %s, and etcd holds %s under %s/: a misspelt --cluster? Every member of a cluster needs the same --cluster",
				cfg.Cluster, others, cfg.EtcdBase()))
	}
}

// leave takes the node out of its cluster (provider entry first, then the
// member's Remote) and stops the membership's actor system.
func (n *nodeMember) leave() error {
	ctx, cancel := context.WithTimeout(context.Background(), nodeClusterLeaveTimeout)
	defer cancel()
	err := n.m.Stop(ctx)
	// The final Left change may still be in the logger's mailbox: poison
	// drains it.
	_ = n.host.Root.PoisonFuture(n.viewLog).Wait()
	n.host.Shutdown()
	return err
}

// providerOnlyFlags refuses a flag of the other provider: a node started
// with --cluster-provider etcd and --cluster-port used to start and ignore
// the port (and --cluster-peers), which reads as if it were used; and
// 'cluster shutdown --cluster-provider etcd --cluster-peers A' shut down
// every member in etcd when its user meant the members at A (a new
// user's trial). subject is "this node uses" or "this command uses".
func providerOnlyFlags(fs *pflag.FlagSet, p membership.Provider, subject string) error {
	only := map[membership.Provider][]string{
		membership.ProviderAutomanaged: {"cluster-port", "cluster-peers"},
		membership.ProviderEtcd:        {"etcd-endpoints", "etcd-base-key"},
	}
	for prov, names := range only {
		if prov == p {
			continue
		}
		for _, n := range names {
			if fs.Changed(n) {
				return usageErrorf("--%s is for --cluster-provider %s; %s %s (members find each other through %s): leave --%s out, or give --cluster-provider %s",
					n, prov, subject, p, map[membership.Provider]string{membership.ProviderEtcd: "etcd", membership.ProviderAutomanaged: "--cluster-peers"}[p], n, prov)
			}
		}
	}
	return nil
}
