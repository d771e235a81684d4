package membership

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	etcdprovider "github.com/asynkron/protoactor-go/cluster/clusterproviders/etcd"
	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcdLeaseTTL is the lease under which a member's key lives: protoactor's
// provider hard-codes the same 3 s, and the detection bound (config.go)
// counts on it.
const etcdLeaseTTL = 3 * time.Second

// etcdRetry is the pause before a failed watch is read again or a lost
// keepalive asks etcd whether the lease still exists.
const etcdRetry = time.Second

// etcdMember is the etcd cluster provider of one incarnation. It writes the
// same key (<base>/<cluster>/<cluster>@<system ID>) and value (protoactor's
// etcd Node JSON) as protoactor's etcd provider, which it replaces because
// that one cannot be torn down: its Shutdown never closes its own etcd
// client nor revokes its lease, its keepalive loop grants a new lease and
// writes the key again after a lease loss (even after Shutdown deleted it),
// and its role-change loop blocks for ever. Each rejoin left an etcd
// connection, goroutines holding the whole old actor system, and often the
// old member's key, kept alive for the life of the process (docs/traps.md).
//
// etcdMember uses the incarnation's own etcd client (closed by the
// incarnation after Shutdown). Its goroutines — the keepalive and the
// prefix watch — end in Shutdown, which then revokes the lease: the key goes
// at once and the other members' watches see the delete.
type etcdMember struct {
	cli    *clientv3.Client
	cfg    Config
	onLost func() // called once, from the keepalive goroutine, when etcd dropped the lease
	log    *logrus.Entry

	ctx    context.Context // cancelled by Shutdown: every goroutine and call of the provider ends
	cancel context.CancelFunc
	wg     sync.WaitGroup // the keepalive and watch goroutines; Shutdown waits

	// Set by StartMember before the goroutines start, read-only afterwards.
	cl    *cluster.Cluster
	key   string
	self  *cluster.Member
	lease clientv3.LeaseID // 0 until granted

	shutdown    sync.Once
	shutdownErr error
}

// newEtcdMember returns a provider for one incarnation; onLost is called when
// the member's lease is gone from etcd (expired while this process was
// paused or etcd unreachable).
func newEtcdMember(cli *clientv3.Client, cfg Config, onLost func()) *etcdMember {
	ctx, cancel := context.WithCancel(context.Background())
	return &etcdMember{cli: cli, cfg: cfg, onLost: onLost, ctx: ctx, cancel: cancel,
		log: cfg.Logger.WithField("component", "membership")}
}

// prefix is the cluster's key prefix.
func (p *etcdMember) prefix() string { return p.cfg.EtcdBaseKey + "/" + p.cfg.Cluster + "/" }

// StartMember registers this member under a new lease, reads the members
// and watches the prefix from the revision it read (protoactor's provider
// watched from "now" and missed members registering in between).
func (p *etcdMember) StartMember(c *cluster.Cluster) error {
	host, portText, err := net.SplitHostPort(c.ActorSystem.Address())
	if err != nil {
		return fmt.Errorf("etcd provider: member address %q: %w", c.ActorSystem.Address(), err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("etcd provider: member port %q: %w", portText, err)
	}
	p.cl = c
	node := etcdprovider.NewNode(toMemberID(p.cfg, c.ActorSystem.ID), host, port, c.GetClusterKinds())
	data, err := node.Serialize()
	if err != nil {
		return fmt.Errorf("etcd provider: encode member: %w", err)
	}
	p.self, p.key = node.MemberStatus(), p.prefix()+node.ID

	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.EtcdDialTimeout)
	defer cancel()
	lease, err := p.cli.Grant(ctx, int64(etcdLeaseTTL/time.Second))
	if err != nil {
		return fmt.Errorf("etcd provider: grant a lease: %w", err)
	}
	p.lease = lease.ID
	if _, err := p.cli.Put(ctx, p.key, string(data), clientv3.WithLease(p.lease)); err != nil {
		return fmt.Errorf("etcd provider: register %s: %w", p.key, err)
	}
	members, rev, err := p.read(ctx)
	if err != nil {
		return err
	}
	p.publish(members)
	p.wg.Add(2)
	go p.keepAlive()         // owner: this provider; Shutdown waits
	go p.watch(members, rev) // owner: this provider; Shutdown waits
	return nil
}

// StartClient is not used: every incarnation is a member.
func (p *etcdMember) StartClient(*cluster.Cluster) error {
	return errors.New("etcd provider: client mode is not supported by exo-actors")
}

// Shutdown stops the keepalive and the watch, waits for them, then revokes
// the lease, which deletes the member's key. If etcd does not answer within
// EtcdDialTimeout the key goes when the lease expires (nothing keeps it
// alive any more). Idempotent; safe before StartMember or after it failed.
func (p *etcdMember) Shutdown(bool) error {
	p.shutdown.Do(func() {
		p.cancel()
		p.wg.Wait()
		if p.lease == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.EtcdDialTimeout)
		defer cancel()
		if _, err := p.cli.Revoke(ctx, p.lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			p.shutdownErr = fmt.Errorf("revoke the lease of %s: %w (the key goes when the lease expires, within %s)", p.key, err, etcdLeaseTTL)
		}
	})
	return p.shutdownErr
}

// read returns the cluster's members keyed by etcd key, and the revision
// read.
func (p *etcdMember) read(ctx context.Context) (map[string]*cluster.Member, int64, error) {
	resp, err := p.cli.Get(ctx, p.prefix(), clientv3.WithPrefix())
	if err != nil {
		return nil, 0, fmt.Errorf("etcd provider: read the members: %w", err)
	}
	members := map[string]*cluster.Member{}
	for _, kv := range resp.Kvs {
		if n, err := etcdprovider.NewNodeFromBytes(kv.Value); err == nil && string(kv.Key) != p.key {
			members[string(kv.Key)] = n.MemberStatus()
		}
	}
	return members, resp.Header.Revision, nil
}

// publish hands the members and this one to protoactor's member list, which
// publishes the topology.
func (p *etcdMember) publish(members map[string]*cluster.Member) {
	all := cluster.Members{p.self}
	for _, m := range members {
		all = append(all, m)
	}
	p.cl.MemberList.UpdateClusterTopology(all)
}

// pause waits d, or until Shutdown: it reports whether to go on.
func (p *etcdMember) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// keepAlive keeps the lease alive until Shutdown. When etcd's keepalive
// stream ends (no answer within the TTL, or the lease is gone) it asks etcd
// about the lease until it gets an answer: alive, it keeps it alive again;
// gone (expired: etcd deleted the key), it calls onLost and ends — the key
// is never written again, a new incarnation takes over.
//
// An outage is logged once at warn when the first question goes
// unanswered, and once at info when etcd answers again: a new user's trial
// stopped etcd for 10 s and the members logged nothing until they were
// evicted after it came back. The second line counts from etcd's last
// answer (a lease renewal), not from the first question that went
// unanswered: that one comes only after the keepalive gave up (the lease's
// 3 s), a pause and a question's own timeout, and an operator's trial read
// "after 10s without an answer" for etcd down 16 s.
func (p *etcdMember) keepAlive() {
	defer p.wg.Done()
	var down time.Time       // when a question about the lease first went unanswered; zero while etcd answers
	lastAnswer := time.Now() // of etcd to this member; StartMember's calls were answered just now
	for {
		if ch, err := p.cli.KeepAlive(p.ctx, p.lease); err == nil {
			for range ch { // each answer renewed the lease
				lastAnswer = time.Now()
			}
		}
		for {
			if !p.pause(etcdRetry) {
				return
			}
			ctx, cancel := context.WithTimeout(p.ctx, p.cfg.EtcdDialTimeout)
			resp, err := p.cli.TimeToLive(ctx, p.lease)
			cancel()
			if err != nil {
				if down.IsZero() && p.ctx.Err() == nil {
					down = time.Now()
					p.log.WithError(err).WithFields(logrus.Fields{"member": p.self.Id, "etcd": p.cfg.EtcdEndpoints}).Warn(fmt.Sprintf(
						"etcd does not answer: this member keeps its last view of the cluster and asks again every %s; its key lives under a lease of %s that it cannot renew meanwhile: if etcd was paused or cut off from this member for longer, the key is gone once etcd answers and the member rejoins under a new member ID (an etcd that restarted renews its leases itself: the member then keeps its ID)",
						etcdRetry, etcdLeaseTTL))
				}
				continue // etcd still unreachable: ask again
			}
			if !down.IsZero() {
				p.log.WithFields(logrus.Fields{"member": p.self.Id}).Info(fmt.Sprintf("etcd answers again: this member had no answer from it for %s (since its last renewal of the lease)", time.Since(lastAnswer).Round(100*time.Millisecond)))
				down = time.Time{}
			}
			lastAnswer = time.Now()
			if resp.TTL <= 0 {
				p.log.WithFields(logrus.Fields{"member": p.self.Id, "lease": int64(p.lease)}).Info("etcd dropped this member's lease")
				p.onLost()
				return
			}
			break
		}
	}
}

// watch follows the cluster's prefix from revision rev+1 and publishes
// every change of the members. A watch that fails (compaction) is replaced
// by a fresh read and a watch from its revision.
func (p *etcdMember) watch(members map[string]*cluster.Member, rev int64) {
	defer p.wg.Done()
	for {
		// WithRequireLeader: on an etcd member cut off from its cluster's
		// leader the watch ends with an error (and this member re-reads
		// once etcd answers) instead of going silently stale.
		wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(p.ctx))
		for resp := range p.cli.Watch(wctx, p.prefix(), clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
			if resp.Err() != nil {
				break
			}
			changed := false
			for _, ev := range resp.Events {
				key := string(ev.Kv.Key)
				if key == p.key {
					continue // this member stays in its own topology; keepAlive watches its lease
				}
				switch ev.Type {
				case clientv3.EventTypePut:
					if n, err := etcdprovider.NewNodeFromBytes(ev.Kv.Value); err == nil {
						members[key], changed = n.MemberStatus(), true
					}
				case clientv3.EventTypeDelete:
					if _, ok := members[key]; ok {
						delete(members, key)
						changed = true
					}
				}
			}
			rev = resp.Header.Revision
			if changed {
				p.publish(members)
			}
		}
		wcancel()
		for {
			if !p.pause(etcdRetry) {
				return
			}
			ctx, cancel := context.WithTimeout(p.ctx, p.cfg.EtcdDialTimeout)
			ms, r, err := p.read(ctx)
			cancel()
			if err == nil {
				members, rev = ms, r
				p.publish(members)
				break
			}
		}
	}
}
