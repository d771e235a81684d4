package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/actors/placement"
	"github.com/exo-actors/exo-actors/internal/errjoin"
)

// ErrNoPlacement is wrapped by SpawnRunner's error (and by the reason of a
// task whose failover found no member) when no live member registers the
// kind or every such member refused the runner.
var ErrNoPlacement = errors.New("no member can host the runner")

// ClusterConfig says which cluster a ClusterClient follows and how it
// treats a member's loss. Zero fields take the defaults named beside them;
// a negative duration or count (Refresh, Poll, Reconcile, Policy's, as
// New checks Config.ErrorPolicy) fails DialCluster (ErrInvalidConfig).
type ClusterConfig struct {
	// Cluster is the cluster's name (the nodes' --cluster). Required.
	Cluster string
	// Provider is "automanaged" (default) or "etcd", as the nodes use.
	Provider string
	// Peers are the automanaged HTTP addresses (host:port) of the members
	// (the nodes' --cluster-peers); required with automanaged. One or some
	// of them will do: the client learns the others' from the views it
	// reads (each member's --cluster-peers), and asks them too, so it still
	// reads the membership once the members given are gone (at most 64
	// learned; list them all in a larger cluster).
	Peers []string
	// EtcdEndpoints and EtcdBaseKey: the etcd the members register in
	// (required with etcd; base key default /exo-actors).
	EtcdEndpoints []string
	EtcdBaseKey   string
	// Refresh is the members' automanaged poll interval, used only to
	// compute DetectionBound (default 200ms, the nodes' default).
	Refresh time.Duration
	// Poll is how often the client reads the membership; default 100ms.
	Poll time.Duration
	// Reconcile is how often the client lists the runners of each live
	// member that hosts a runner it follows, to drop the runners that
	// ended there by other means (stopped by another client or directly,
	// escalated, the node's own shutdown, forgotten by its retention);
	// default 1s. See ClusterClient ("Runners that end elsewhere").
	Reconcile time.Duration
	// Policy decides what a member's loss does to each of its runners (the
	// rule for FailureNodeLost: RETRY re-places the runner on another
	// member, with backoff and restart intensity, as a restart does; a
	// member that left gracefully, drained, has its runners re-placed at
	// once, neither backoff nor intensity counted, when the rule restarts).
	Policy ErrorPolicy
	// Dial are the options of every connection to a member's gateway.
	Dial []DialOption
	// Hook, when set, receives every ClusterEvent, from the client's own
	// goroutines (internal_error events still queued when Close is called:
	// from Close's); it must return quickly. It must not call Close: it
	// may run on the client's poller, which Close waits for (a deadlock);
	// to close the client from a hook, hand that to another goroutine.
	Hook func(ClusterEvent)
}

// ClusterEventKind names a ClusterEvent.
type ClusterEventKind string

// What a ClusterClient reports through ClusterConfig.Hook.
const (
	// ClusterMemberJoined: a member with a gateway is in the view and
	// connected (also each member found by DialCluster).
	ClusterMemberJoined ClusterEventKind = "member_joined"
	// ClusterMemberLost: the cluster declared a member dead (Detail says
	// how); its runners are lost.
	ClusterMemberLost ClusterEventKind = "member_lost"
	// ClusterRunnerLost: one runner of a lost member, with the policy's
	// Decision about it.
	ClusterRunnerLost ClusterEventKind = "runner_lost"
	// ClusterRunnerReplaced: a lost runner was placed again (NewRunnerID on
	// Node).
	ClusterRunnerReplaced ClusterEventKind = "runner_replaced"
	// ClusterTaskResubmitted: a Retryable task of a lost runner was
	// resubmitted to its replacement (attempt 2).
	ClusterTaskResubmitted ClusterEventKind = "task_resubmitted"
	// ClusterRunnerReconciled: a returning member still hosted a runner
	// this client knows; Detail says whether it was stopped (it had been
	// replaced) or adopted back.
	ClusterRunnerReconciled ClusterEventKind = "runner_reconciled"
	// ClusterRunnerEnded: a runner this client followed ended on its
	// member by other means than this client's StopRunner or the member's
	// loss (its member lists it Failed and not restarting, or Shutdown, or no longer lists
	// it); the client stopped following it. Detail says what the member
	// listed.
	ClusterRunnerEnded ClusterEventKind = "runner_ended"
)

// ClusterEvent is one thing a ClusterClient did or saw.
type ClusterEvent struct {
	// Kind says what happened; At when the client saw or did it.
	Kind ClusterEventKind
	At   time.Time
	// Node and Member name the member concerned (node name, member ID).
	Node, Member string
	// RunnerID, NewRunnerID and TaskID name the runner, its replacement
	// and the task, where they apply.
	RunnerID, NewRunnerID, TaskID string
	// Decision is the policy's decision for ClusterRunnerLost. It is the
	// zero Decision, which prints as "" (Decision.String), for every other
	// kind, and for a ClusterRunnerLost whose StopRunner was under way (not
	// placed again, no decision made; Detail says so).
	Decision Decision
	// Detail says why or how, in words.
	Detail string
}

// ClusterMember is one member as a ClusterClient sees it.
type ClusterMember struct {
	// Node is the node's name, ID its member ID (new after every rejoin),
	// Gateway the address the client dials, Kinds its runner kinds.
	Node, ID, Gateway string
	Kinds             []string
	// Connected is false while the connection to its gateway is lost and
	// the cluster has not yet decided.
	Connected bool
}

// runnerState is where a runner the client knows is: live → lost (its
// member was declared dead; the policy decides) → replaced (placed again
// as replacedBy) or gone (not re-placed, or stopped). A lost or gone runner
// a returning member still hosts is adopted back (live) or stopped.
// live → ended: its live member listed it ended (Failed, Shutdown or not
// listed at all) twice, DetectionBound apart (noteRunners); final, it is
// never placed again nor adopted back.
type runnerState int

const (
	runnerLive runnerState = iota
	runnerLost
	runnerReplaced
	runnerGone
	runnerEnded
)

type memberConn struct {
	m     membership.Member
	c     *Client
	state memberState // its lifecycle (cluster_member.go), under cc.mu
	since time.Time   // when it became suspect, draining or drained
	// drained: how long a drained member drained before its connection
	// closed.
	drained time.Duration
	// ended: how its connection ended, set once by suspect, under cc.mu.
	ended connEnd
}

// connEnd is how a member's connection ended.
type connEnd int

const (
	// connLost: lost (a kill -9, a partition, a heartbeat unanswered), or
	// not ended yet.
	connLost connEnd = iota
	// connNoted: on its node's shutdown note (the node said it shut down:
	// a graceful leave).
	connNoted
	// connFaulted: on the note of a node that shut itself down over a
	// node-wide fault: no planned leave.
	connFaulted
	// connForced: on the note of a node whose shutdown was forced (a
	// second SIGTERM: ForceKill): a planned leave, but not a graceful one.
	connForced
)

type clusterRunner struct {
	id, kind   string
	slot       string // the first runner's ID: the error handler's key across re-placements
	member     string // member ID
	node       string
	state      runnerState
	replacedBy string
	// stopAsked: a StopRunner for it was sent (set before the call, under
	// mu; cleared if the call failed with the member still live). A runner
	// whose member is lost meanwhile is not placed again, and a returning
	// member still hosting it is told to stop it, never adopts it.
	stopAsked bool
	// staleWhy, when set, is why a returning member is told to stop this
	// runner (stopAsked is set too): a runner spawned on a member that was
	// declared lost before the spawn could be registered (place).
	staleWhy string
	// backOn is the member that rejoined still hosting this runner while
	// its failover was pending (state runnerLost): the failover reconciles
	// it there once it has decided (reconcileLate).
	backOn string
	// at is cc.seq when the runner became live on member (placed, found,
	// adopted): a runner list asked for before then may lack it.
	at uint64
	// endedAt is when a list of its live member first showed it ended
	// (zero: not seen ended); a list DetectionBound later that still
	// does moves it to runnerEnded.
	endedAt  time.Time
	endedHow string
}

type clusterTask struct {
	t        Task
	runnerID string
	feed     *actors.TaskFeed
	h        *actors.TaskHandle
	// state is where the task is in its placement (cluster_task.go):
	// submitting, followed, held, moving, resubmitting, ended.
	state taskState
	// diverted: the node's outcome a held task was diverted from; it ends
	// with it when its runner is not failed over (it ended on its node,
	// or was stopped): endHeldLocked, cluster_leave.go.
	diverted actors.TaskOutcome
	// seq orders the tasks by submission: a failover resubmits a runner's
	// tasks in this order.
	seq uint64
}

// ClusterClient places runners over a cluster of exo-actors nodes and
// follows them through a member's loss. It reads the membership (the same
// source `exo-actors cluster status` reads), keeps one Client per member's
// gateway, and implements Node, so code written against Node runs on a
// System, a Client or a ClusterClient alike (see Node for what differs).
//
// Placement: SpawnRunner asks every live member that registers the kind
// for its runners and its status, and picks by actors/placement's policy:
// a member whose max_runners for the kind is reached is skipped; then
// least loaded by live runners; then the higher health score
// (NodeStatus.Health); then the node name.
//
// Addressing: a runner ID is resolved through the membership: a runner
// this client does not know is looked up on every live member's gateway,
// so a restarted client reaches runners it placed before.
//
// Node loss: a member is lost when it leaves the cluster's view, or when
// its connection dropped and the view still lists it DetectionBound later.
// A member that leaves the view with its connection up and says it is
// shutting down (a graceful leave) drains first: its running tasks are
// followed to their real outcome, and it is lost once its connection
// closes (event member_leaving; cluster_leave.go). Each runner of a lost
// member goes to the policy (FailureNodeLost): RETRY places it
// again on another member after the backoff delay and resubmits its open
// Retryable tasks there once, in submission order (the handle's Next
// returns a *RetryError, as after a local retry), together with the
// Retryable tasks its node's shutdown cancelled before they started or
// cut at its drain deadline; anything else, and every non-Retryable task,
// ends Failed with a reason wrapping ErrNodeLost's text. Every task ends
// exactly once.
//
// Reconcile: when a member joins (a node back after an eviction, under a
// new member ID) the client lists its runners: a runner it had replaced or
// stopped is stopped there (its tasks cancelled first, so it runs none of
// the tasks the client resubmitted or failed; the replacement wins, no
// duplicate); a lost runner that was not placed again is adopted back.
//
// Runners that end elsewhere: every ClusterConfig.Reconcile (1s), and with
// the lists every placement reads anyway, the client lists the runners of
// each live member hosting a runner it follows (one Runners call per such
// member, bounded by 2s, never on a suspect member). A runner that member
// lists Failed (not waiting to restart) or Shutdown, or no longer lists, is dropped (event
// runner_ended, then kept only as a retired ID) once a list at least
// DetectionBound after the first such list still shows it ended with the
// member still live: a node that leaves the cluster gracefully stops its
// runners only after it left the view, so within that wait the member is
// declared lost instead and its runners fail over as before. A runner that
// ended elsewhere is thus dropped within DetectionBound + 2×Reconcile
// (plus the list round trips), never placed again and never adopted back.
// The runner map then holds the runners that run on the members
// (followed), the lost ones whose failover is pending, and at most
// maxRetired (4096) replaced, stopped, gone or ended ones, oldest
// forgotten first.
type ClusterClient struct {
	cfg     ClusterConfig
	mcfg    membership.Config
	eh      *errhandler.Handler
	bound   time.Duration
	ctx     context.Context // ends at Close
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the poller (pollOnce), the runner check (checkRunners) and every failover goroutine
	closed  sync.Once
	http    *http.Client // the membership reads' own (cluster_read.go), idle connections closed by Close
	placeMu sync.Mutex   // serialises place: each sees the runners the one before spawned
	// beforeSpawn, set by tests only, runs before a placement's spawn with
	// the caller's context (cluster_calls.go).
	beforeSpawn func(context.Context)
	// afterMemberSpawn, set by tests only, runs on a spawn's goroutine
	// once the member's SpawnRunner answered, with the member's ID.
	afterMemberSpawn func(member string)

	mu      sync.Mutex
	closing bool
	// joinOwnSide is the first member Dial's error on this process's side
	// (an endpointError: its client endpoint cannot serve
	// ClusterConfig.Dial); DialCluster fails with it at once.
	joinOwnSide error
	members     map[string]*memberConn    // by member ID, live and suspect
	dead        map[string]bool           // member IDs declared lost: never joined again (at most maxDead, then cleared)
	joining     map[string]bool           // member IDs a join goroutine is connecting to (at most the view's members)
	runners     map[string]*clusterRunner // by runner ID: live ones exist on their member (ended ones leave by noteRunners), the rest at most maxRetired
	seq         uint64                    // counts runners becoming live on a member (clusterRunner.at)
	taskSeq     uint64                    // counts Submits (clusterTask.seq)
	retired     []string                  // IDs of replaced, gone and ended runners, oldest first (at most maxRetired)
	tasks       map[*clusterTask]struct{} // open tasks (pruned as they end)

	// badTransitions counts illegal lifecycle transitions of members and
	// tasks (a bug: not applied; cluster_member.go, cluster_task.go;
	// InternalErrors); the tests check it stays zero. internalPending are
	// their internal_error events not reported yet (at most
	// maxPendingInternal; internalLeftOut counts the ones past it), which
	// the poller and Close report (cluster_internal.go).
	badTransitions  int
	internalPending []ClusterEvent
	internalLeftOut int

	// unanswered: the automanaged peers that did not answer the last
	// read of the membership while another peer did, with the wait
	// readStatus gives them (peerWait); latency: each peer's last answer's
	// latency. Both at most len(Peers) + maxLearnedPeers; learned: the
	// peers learned from the views read (learnPeers), at most
	// maxLearnedPeers (cluster_read.go).
	// askShuttingHook, when set (tests), answers askShutting.
	askShuttingHook func(ctx context.Context, mc *memberConn) (bool, error)
	unanswered      map[string]time.Duration
	latency         map[string]time.Duration
	learned         []string
	// leased: ClusterConfig.Dial has WithLeasedRunners (closedErr).
	leased bool
	// lostKinds (under mu): by runner kind, the last member declared lost
	// that registered it, and when; place tells such a kind (its node
	// restarting, or cut off) from one no member ever registered for
	// lostKindMemory. At most maxDead kinds, then cleared.
	lostKinds map[string]lostKind
}

// lostKind is a kind's last member declared lost: its node, and when.
type lostKind struct {
	node string
	at   time.Time
}

// lostKindMemory is how long after its last member's loss a kind no
// member registers is taken for a passing state (try again shortly) rather
// than a mistake (ErrUnknownKind): a node restarting in a rolling restart
// is back well within it.
const lostKindMemory = time.Minute

var _ Node = (*ClusterClient)(nil)

// DialCluster reads the cluster's membership, connects to every member's
// gateway and returns a client that follows the cluster until Close. It
// fails when no member with a gateway answers within ctx (default 10s),
// and at once for a bad ClusterConfig, Dial options included (ones the
// process's client endpoint, started by its first Dial, cannot serve):
// that error wraps ErrInvalidConfig (and, for ClusterConfig.Dial, also
// ErrInvalidRequest, as Dial's does), and names the field. A member Dial
// that fails on this process's side (its client endpoint cannot listen
// on the WithClientListen address: another process holds it) fails the
// dial as soon as it is tried, wrapping ErrInvalidConfig and Dial's
// error. A ctx that had ended, or ends before the first read of the
// membership is done, gives an error wrapping ctx's that says so.
func DialCluster(ctx context.Context, cfg ClusterConfig) (*ClusterClient, error) {
	if err := cfg.checkNegatives(); err != nil { // config_check.go: wraps ErrInvalidConfig
		return nil, err
	}
	if cfg.Poll == 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	if cfg.Reconcile == 0 {
		cfg.Reconcile = time.Second
	}
	prov := membership.ProviderAutomanaged
	if cfg.Provider != "" {
		p, err := membership.ParseProvider(cfg.Provider)
		if err != nil {
			return nil, errjoin.Tag(ErrInvalidConfig, fmt.Errorf("ClusterConfig.Provider: %w", err))
		}
		prov = p
	}
	mcfg := membership.Config{Cluster: cfg.Cluster, Provider: prov, Peers: cfg.Peers, EtcdEndpoints: cfg.EtcdEndpoints,
		EtcdBaseKey: cfg.EtcdBaseKey, Refresh: cfg.Refresh, GoAPI: true}
	if cfg.Cluster == "" {
		return nil, errjoin.Tag(ErrInvalidConfig, errors.New("ClusterConfig.Cluster is empty: name the cluster the nodes joined (their --cluster)"))
	}
	if err := membership.CheckQuery(mcfg); err != nil {
		return nil, errjoin.Tag(ErrInvalidConfig, fmt.Errorf("bad ClusterConfig: %w", err))
	}
	// What no member can change fails now: every member's Dial would fail
	// the same way, in silence (join retries at each poll), until ctx
	// ended with "no member with a gateway yet" (a new user's trial: a
	// process whose first Dial listened elsewhere).
	o, err := dialOptionsOf(cfg.Dial)
	if err == nil {
		err = endpointMismatch(&o)
	}
	if err != nil {
		return nil, errjoin.Tag(ErrInvalidConfig, errjoin.Tag(ErrInvalidRequest, fmt.Errorf("dial cluster %s: ClusterConfig.Dial: %w", cfg.Cluster, err)))
	}
	eh, err := errhandler.New(toErrorPolicy(cfg.Policy))
	if err != nil {
		return nil, errjoin.Tag(ErrInvalidConfig, fmt.Errorf("ClusterConfig.Policy: %w", err))
	}
	if err := ctx.Err(); err != nil {
		// Said as the calls say it: the read that follows would fail at
		// once, and "no member … answered … is a member running there?"
		// blamed members that were up (a new user's trial, a 1 ns ctx).
		return nil, fmt.Errorf("dial cluster %s: the caller's ctx ended (%w) before the dial began; nothing was read or dialed: give DialCluster a ctx with time left (with no deadline it waits up to 10s for a member)", cfg.Cluster, err)
	}
	dialStart := time.Now()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	cctx, cancel := context.WithCancel(context.Background())
	cc := &ClusterClient{cfg: cfg, mcfg: mcfg, eh: eh, leased: o.lease, bound: clientDetectionBound(mcfg, cfg.Poll), ctx: cctx, cancel: cancel, http: newReadClient(),
		members: map[string]*memberConn{}, dead: map[string]bool{}, joining: map[string]bool{}, runners: map[string]*clusterRunner{}, tasks: map[*clusterTask]struct{}{}}
	var last error // the last read's error that the dial's end did not cut short
	read := false  // a read of the membership ended before the dial's ctx did
	for {
		st, err := cc.refreshStatus(ctx)
		if err == nil || ctx.Err() == nil {
			read = true
		}
		cc.mu.Lock()
		n, joining, ownSide := len(cc.members), len(cc.joining), cc.joinOwnSide
		cc.mu.Unlock()
		if n > 0 && joining == 0 { // every member of the first view joined (or failed to): placement sees them all
			break
		}
		if n == 0 && ownSide != nil {
			// A member's Dial failed on this process's side (its client
			// endpoint cannot listen where ClusterConfig.Dial says, or runs
			// with other settings): every member's would, at every poll,
			// until ctx ended with "no member with a gateway yet" (a new
			// user's trial: a port another process held).
			cc.Close()
			return nil, errjoin.Tag(ErrInvalidConfig, fmt.Errorf("dial cluster %s: ClusterConfig.Dial: %w", cfg.Cluster, ownSide))
		}
		if !read {
			// No read was done before the dial's ctx ended: nothing is
			// known of the members, and "no member … answered … is a
			// member running there?" blamed members that were up.
			cc.Close()
			return nil, fmt.Errorf("dial cluster %s: the caller's ctx ended (%w) %s after the dial began, before its first read of the membership was done (a peer or etcd that accepts and does not answer, a frozen one, holds a read up to 2s); no member was dialed: give DialCluster more time (with no deadline it waits up to 10s for a member)",
				cfg.Cluster, ctx.Err(), time.Since(dialStart).Round(time.Millisecond))
		}
		if err == nil {
			err = noMemberYet(mcfg, st)
		}
		var other *otherClusterError
		if errors.As(err, &other) && other.all || errors.Is(err, membership.ErrNotEtcd) {
			cc.Close()
			return nil, fmt.Errorf("dial cluster %s: %w", cfg.Cluster, err) // waiting changes nothing
		}
		err = dialReadErr(ctx, st, err, last)
		last = err
		select {
		case <-ctx.Done():
			cc.Close()
			return nil, fmt.Errorf("dial cluster %s: %w; the dial's ctx ended (%w)", cfg.Cluster, err, ctx.Err())
		case <-time.After(cfg.Poll):
		}
	}
	cc.mu.Lock()
	if cc.closing { // closed meanwhile (by a hook given the client through a closure)
		cc.mu.Unlock()
		return nil, fmt.Errorf("dial cluster %s: %w during the dial", cfg.Cluster, ErrClientClosed)
	}
	cc.wg.Add(2) // under mu with closing unset: before Close waits
	cc.mu.Unlock()
	go cc.every(cc.cfg.Poll, cc.pollOnce) // owner: cc; Close cancels and waits
	// Every Reconcile, list the runners of each live member that hosts a
	// runner this client follows, so that a runner that ended there by
	// other means leaves the live state (noteRunners).
	go cc.every(cc.cfg.Reconcile, cc.checkRunners) // owner: cc; Close cancels and waits
	return cc, nil
}

// noMemberYet says why a read of the membership that worked gave the dial
// no member to connect to: with etcd, where in etcd it looked and which
// other clusters etcd holds (a misspelt ClusterConfig.Cluster joins no
// one: etcd takes any name, so the dial waits for members that may be
// starting, and its ctx's end says this).
func noMemberYet(mcfg membership.Config, st membership.Status) error {
	if mcfg.Provider != membership.ProviderEtcd || len(st.Members) > 0 {
		return fmt.Errorf("cluster %s has no member with a gateway yet", mcfg.Cluster)
	}
	base := mcfg.EtcdBase()
	why := fmt.Sprintf("etcd at %s answered, and no member of cluster %s is registered under %s/%s/",
		strings.Join(mcfg.EtcdEndpoints, ","), mcfg.Cluster, base, mcfg.Cluster)
	if o := st.DescribeOtherClusters(); o != "" {
		return fmt.Errorf("%s; %s: set ClusterConfig.Cluster to the nodes' --cluster", why, o)
	}
	if st.EtcdClusters != nil { // read, and empty
		why += fmt.Sprintf(", nor any other cluster under %s/", base)
	}
	return fmt.Errorf("%s: start the nodes with --cluster %s --cluster-provider etcd, or check ClusterConfig.Cluster and ClusterConfig.EtcdBaseKey (the nodes' --etcd-base-key)",
		why, mcfg.Cluster)
}

// DetectionBound is the bound from a member's death (kill -9) or freeze
// (SIGSTOP) to this client declaring it lost: the provider's bound
// (membership.Config.DetectionBound, which covers a frozen member: its
// peers' poll times out) plus one Poll plus one read of the membership
// (bounded by 500 ms): 2.8 s automanaged, 4.6 s etcd by default.
func (cc *ClusterClient) DetectionBound() time.Duration { return cc.bound }

// DeathDetectionBound is the bound from a member's death (kill -9) to this
// client declaring it lost: the provider's bound plus one Poll (2.3 s
// automanaged, 4.1 s etcd by default). A dead member's port refuses at
// once, so the membership read that sees the change is not slowed by it;
// a frozen one takes up to DetectionBound.
func (cc *ClusterClient) DeathDetectionBound() time.Duration {
	return cc.mcfg.DetectionBound() + cc.cfg.Poll
}

func (cc *ClusterClient) emit(ev ClusterEvent) {
	if cc.cfg.Hook != nil {
		if ev.At.IsZero() {
			ev.At = time.Now()
		}
		cc.cfg.Hook(ev)
	}
}

// maxDead bounds the member IDs remembered as lost. A lost member ID can
// linger in a peer's view for up to the detection bound; an evicted member
// returns under a new ID.
const maxDead = 1024

// maxRetired bounds the replaced, gone and ended runners the client remembers
// (for the old-to-new mapping and the reconcile rule); past it the oldest
// is forgotten: its ID then resolves through the members again.
const maxRetired = 4096

// retireLocked notes that runner r left the live state; call with mu held.
func (cc *ClusterClient) retireLocked(r *clusterRunner) {
	cc.retired = append(cc.retired, r.id)
	for len(cc.retired) > maxRetired {
		old := cc.runners[cc.retired[0]]
		if old != nil && old.state != runnerLive && old.state != runnerLost {
			delete(cc.runners, old.id)
		}
		cc.retired = cc.retired[1:]
	}
}

// liveOnLocked makes r live on member m (placed, found there or adopted
// back); call with mu held.
func (cc *ClusterClient) liveOnLocked(r *clusterRunner, m membership.Member) {
	cc.seq++
	r.state, r.member, r.node, r.at = runnerLive, m.ID, m.NodeName, cc.seq
	r.endedAt, r.endedHow = time.Time{}, ""
}

// every calls f every period until Close; run it on a goroutine counted
// in cc.wg.
func (cc *ClusterClient) every(period time.Duration, f func()) {
	defer cc.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-cc.ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// checkRunners lists the runners of every live member hosting a live
// runner of this client (one Runners call each, in parallel, each bounded
// by placeQueryTimeout; a member that does not answer, or whose node says
// it is shutting down, is left as it is) and hands the lists to
// noteRunners.
func (cc *ClusterClient) checkRunners() {
	cc.mu.Lock()
	asked := cc.seq
	var mcs []*memberConn
	seen := map[string]bool{}
	for _, r := range cc.runners {
		if r.state != runnerLive || seen[r.member] {
			continue
		}
		seen[r.member] = true
		if mc := cc.members[r.member]; mc != nil && mc.state == memberLive {
			mcs = append(mcs, mc)
		}
	}
	cc.mu.Unlock()
	lists := make([][]RunnerInfo, len(mcs)) // nil: no answer
	var wg sync.WaitGroup
	for i, mc := range mcs {
		wg.Add(1)
		go func() { // owner: checkRunners, which waits
			defer wg.Done()
			ctx, cancel := context.WithTimeout(cc.ctx, placeQueryTimeout)
			defer cancel()
			if shutting, err := cc.askShutting(ctx, mc); err != nil || shutting {
				return // a node that shuts down stops its runners: its leave decides, not their end
			}
			if infos, err := mc.c.Runners(ctx); err == nil {
				lists[i] = append([]RunnerInfo{}, infos...) // non-nil: answered, even with no runner
			}
		}()
	}
	wg.Wait()
	answered := map[string][]RunnerInfo{}
	for i, mc := range mcs {
		if lists[i] != nil {
			answered[mc.m.ID] = lists[i]
		}
	}
	cc.noteRunners(asked, answered)
}

// noteRunners compares the runner lists of members (by member ID, asked
// for when cc.seq was asked) with the live runners the client follows
// there. A runner listed Failed and not restarting, or Shutdown, or not listed (and live there
// since before the list was asked for), is seen ended; seen ended again at
// least DetectionBound later with its member still live, it moves to
// runnerEnded and is retired. The wait keeps the failover of a member that
// leaves the cluster: a node stops its runners only after it left the
// view, and within the bound the client declares it lost (its runners go
// to the policy, as before). A runner listed live again is followed on.
// A runner this client is stopping is left to its StopRunner: the runner
// lists itself Shutdown before the node answers the stop, which waits for
// its resources to close.
func (cc *ClusterClient) noteRunners(asked uint64, lists map[string][]RunnerInfo) {
	if len(lists) == 0 {
		return
	}
	status := make(map[string]map[string]RunnerInfo, len(lists))
	for member, infos := range lists {
		st := make(map[string]RunnerInfo, len(infos))
		for _, ri := range infos {
			st[ri.ID] = ri
		}
		status[member] = st
	}
	now := time.Now()
	var ended []*clusterRunner
	cc.mu.Lock()
	for _, r := range cc.runners {
		st, ok := status[r.member]
		if !ok || r.state != runnerLive || r.at > asked || r.stopAsked {
			continue // r.stopAsked: this client's StopRunner is under way and decides
		}
		ri, listed := st[r.id]
		if listed && (!ri.Status.Terminal() || ri.Restarting) { // Failed and waiting to restart is not ended
			r.endedAt, r.endedHow = time.Time{}, ""
			continue
		}
		how := "its node lists it " + ri.Status.String()
		if !listed {
			how = "its node no longer lists it"
		}
		if r.endedAt.IsZero() {
			r.endedAt, r.endedHow = now, how
			continue
		}
		if mc := cc.members[r.member]; mc == nil || mc.state != memberLive || now.Sub(r.endedAt) < cc.bound {
			continue
		}
		r.state, r.endedHow = runnerEnded, fmt.Sprintf("%s (still %s after it first did)", how, now.Sub(r.endedAt).Round(time.Millisecond))
		cc.endHeldLocked(func(t *clusterTask) bool { return t.runnerID == r.id }) // no failover will resubmit them
		cc.retireLocked(r)
		ended = append(ended, r)
	}
	cc.mu.Unlock()
	for _, r := range ended {
		cc.eh.RunnerStopped(r.slot) // the handler forgets it, as after a StopRunner
		cc.emit(ClusterEvent{Kind: ClusterRunnerEnded, At: now, Node: r.node, Member: r.member, RunnerID: r.id,
			Detail: "ended on its node by other means: " + r.endedHow})
	}
}

// placeQueryTimeout bounds a member's runner list and status during a
// placement (a member that does not answer in time is not a candidate);
// placeSpawnTimeout bounds the spawn on the chosen member (SpawnRunner
// answers once the runner's process is started, not once it is Ready).
const (
	placeQueryTimeout = 2 * time.Second
	placeSpawnTimeout = 10 * time.Second
)

// joinTimeout bounds connecting to a new member and listing its runners.
const joinTimeout = 2 * time.Second

// readTimeout bounds one read of the membership by the poller.
const readTimeout = 500 * time.Millisecond

// pollOnce reads the membership once (every Poll).
func (cc *ClusterClient) pollOnce() {
	// A frozen peer would hold each read for the provider's 2 s HTTP
	// timeout: bound it, an unanswered peer is no answer.
	ctx, cancel := context.WithTimeout(cc.ctx, readTimeout)
	err := cc.refresh(ctx) // an unreadable membership changes no view; the next poll tries again
	cancel()
	if err != nil && cc.ctx.Err() == nil {
		cc.lostWithoutView(err)
	}
	cc.reportInternal() // the illegal transitions refused since the last poll, outside cc.mu
}

// lostWithoutView declares lost the members whose connection has been
// lost for longer than the bound while the membership cannot be read (no
// peer answers, or none has a verdict), as applyView does those the view
// still lists: without a view there is no sign they live either. Before, a
// kill -9 of every node (or of the only peer a client was given) left
// their tasks open and every call "not decided yet" for as long as no
// peer answered: 11 minutes in a user's trial, until the nodes came back.
// Such a member is lost as through a partition (not dead for good): it is
// joined again, and reconciled, if it answers later.
func (cc *ClusterClient) lostWithoutView(readErr error) {
	now := time.Now()
	var gone []*memberConn
	var why []string
	cc.mu.Lock()
	if cc.closing {
		cc.mu.Unlock()
		return
	}
	for _, mc := range cc.members {
		if (mc.state == memberSuspect || mc.state == memberDrained) && now.Sub(mc.since) > cc.bound {
			gone = append(gone, mc)
			why = append(why, fmt.Sprintf("its connection was lost %s ago and the membership cannot be read (every peer down, or this client cut off from the cluster): %v",
				now.Sub(mc.since).Round(time.Millisecond), readErr))
		}
	}
	cc.mu.Unlock()
	for i, mc := range gone {
		cc.declareLost(mc, why[i], false)
	}
}

// refresh reads the membership once and applies it (applyView).
func (cc *ClusterClient) refresh(ctx context.Context) error {
	_, err := cc.refreshStatus(ctx)
	return err
}

// refreshStatus is refresh, returning the membership it read too.
func (cc *ClusterClient) refreshStatus(ctx context.Context) (membership.Status, error) {
	st, err := cc.readStatus(ctx)
	if err != nil {
		return st, err
	}
	inView, err := viewOf(st)
	if err != nil {
		return st, err
	}
	cc.applyView(inView)
	return st, nil
}

// dialReadErr is what DialCluster keeps of a read that found no member
// (err) when the read before said last: a read cut short by the dial's
// own end says nothing of the cluster, so last stands. "read members …
// from etcd: context deadline exceeded" blamed an etcd that had answered
// every read before with no member (a new user's trial: a misspelt
// cluster). An automanaged read's error wraps no context error, its
// peers' failures say it (st.Peers): with two refusing peers, the read
// under way at the deadline said "no answer in time" for both, where every
// read before had said "connection refused"
// (TestDialClusterNobodyAnswersSaysEachOnce under load, GOMAXPROCS=1).
// An etcd read that found no member and could not list the other
// clusters (EtcdClusters nil: its look was cut by the deadline) said less
// than the read before: "etcd holds cluster "trial" … set
// ClusterConfig.Cluster" was lost (TestDialClusterEtcdWrongName, 2 of 20
// under load).
func dialReadErr(ctx context.Context, st membership.Status, err, last error) error {
	if ctx.Err() == nil || last == nil {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return last
	}
	for _, pv := range st.Peers {
		if pv.View == nil && (strings.Contains(pv.Error, context.DeadlineExceeded.Error()) || strings.Contains(pv.Error, context.Canceled.Error())) {
			return last
		}
	}
	if st.Provider == membership.ProviderEtcd && len(st.Members) == 0 && st.EtcdClusters == nil {
		return last
	}
	return err
}

// applyView takes one read of the membership (the members with a gateway,
// by member ID) as the cluster's verdict: it dials new members, asks the
// live ones that left the view whether they drain, declares lost the
// members that left the view (or whose connection has been lost for longer
// than the bound), and prunes ended tasks.
func (cc *ClusterClient) applyView(inView map[string]membership.Member) {
	now := time.Now()
	var fresh []membership.Member
	var gone []*memberConn
	var why []string
	var left []bool // the member left the view (not only its connection)
	var leaving []*memberConn
	cc.mu.Lock()
	if cc.closing {
		cc.mu.Unlock()
		return
	}
	for id, mc := range cc.members {
		if _, ok := inView[id]; !ok {
			switch mc.state {
			case memberLive: // its connection is up: does it drain (a graceful leave)?
				cc.memberToLocked(mc, memberLeaving)
				leaving = append(leaving, mc)
			case memberLeaving, memberLeavingCut, memberDraining: // checkLeaving decides, or its connection's end
			default:
				gone, why, left = append(gone, mc), append(why, leftWhy(mc, now)), append(left, true)
			}
			continue
		}
		if (mc.state == memberSuspect || mc.state == memberDrained) && now.Sub(mc.since) > cc.bound {
			gone, why, left = append(gone, mc), append(why, fmt.Sprintf("its connection was lost %s ago and the view still lists it", now.Sub(mc.since).Round(time.Millisecond))), append(left, false)
		}
	}
	for id, m := range inView {
		if _, ok := cc.members[id]; !ok && !cc.dead[id] && !cc.joining[id] {
			fresh = append(fresh, m)
			cc.joining[id] = true
		}
	}
	cc.wg.Add(len(fresh) + len(leaving)) // under mu with closing unset: before Close waits
	for t := range cc.tasks {
		if t.prunable() {
			delete(cc.tasks, t)
		}
	}
	cc.mu.Unlock()
	for i, mc := range gone {
		cc.declareLost(mc, why[i], left[i])
	}
	for _, mc := range leaving {
		go cc.checkLeaving(mc) // owner: cc (wg added above); Close waits
	}
	// Each join on its own goroutine: a member that does not answer (a
	// partition between this client and it) takes up to joinTimeout at
	// every poll, and the poller must go on reading the view meanwhile,
	// or another member's loss would be seen that much later.
	for _, m := range fresh {
		go func() { // owner: cc (wg added above); Close waits
			defer cc.wg.Done()
			// Not the read's short context: a dial and a runner list can
			// take longer on a loaded machine, and joinTimeout bounds them.
			jctx, cancel := context.WithTimeout(cc.ctx, joinTimeout)
			cc.join(jctx, m)
			cancel()
			cc.mu.Lock()
			delete(cc.joining, m.ID)
			cc.mu.Unlock()
		}()
	}
}

// viewOf returns the members with a gateway in st, by member ID, or an
// error when st is no verdict: automanaged peers answered, but none of
// them is Joined. A peer still joining (or rejoining) reports no members,
// so a read where only such peers answered — the only other member just
// left while this one's first view was not complete — is empty though the
// answering member lives; taken as a verdict, it would declare that member
// lost, and its ID, remembered as dead, would never be joined again.
func viewOf(st membership.Status) (map[string]membership.Member, error) {
	if len(st.Peers) > 0 {
		if err := noVerdict(st); err != nil { // cluster_calls.go
			return nil, err
		}
	}
	inView := map[string]membership.Member{}
	for _, m := range st.Members {
		if m.Gateway != "" {
			inView[m.ID] = m
		}
	}
	return inView, nil
}

// join connects to a new member's gateway, reconciles the runners it
// still hosts, and adds it.
func (cc *ClusterClient) join(ctx context.Context, m membership.Member) {
	c, err := Dial(ctx, m.Gateway, cc.cfg.Dial...)
	if err != nil {
		var own *endpointError
		if errors.As(err, &own) { // this process's side: no member changes it (DialCluster fails on it)
			cc.mu.Lock()
			if cc.joinOwnSide == nil {
				cc.joinOwnSide = err
			}
			cc.mu.Unlock()
		}
		return // not serving yet, or already gone: the next poll tries again
	}
	mc := &memberConn{m: m, c: c}
	c.mu.Lock()
	c.onLost = func(err error) { cc.suspect(mc, err) }
	c.divert = func(f *actors.TaskFeed, out actors.TaskOutcome) bool { return cc.divertShutdownEnd(mc, f, out) }
	c.mu.Unlock()
	infos, err := c.Runners(ctx)
	if err != nil {
		c.Close()
		return
	}
	cc.mu.Lock()
	if cc.closing {
		cc.mu.Unlock()
		c.Close()
		return
	}
	cc.members[m.ID] = mc
	type stop struct{ id, why string }
	var stops []stop
	var adopted []string
	for _, ri := range infos {
		r := cc.runners[ri.ID]
		if r == nil || ri.Status.Terminal() {
			continue
		}
		switch r.state {
		case runnerReplaced:
			stops = append(stops, stop{ri.ID, "it had been replaced by " + r.replacedBy})
		case runnerGone:
			switch {
			case r.staleWhy != "":
				stops = append(stops, stop{ri.ID, r.staleWhy})
			case r.stopAsked:
				stops = append(stops, stop{ri.ID, "a StopRunner was asked for it while its node was lost"})
			case r.replacedBy == "":
				// Lost and not placed again: adopted back, whether the
				// member returned under a new ID (evicted) or the same
				// one (a partition between this client and it).
				cc.liveOnLocked(r, m)
				adopted = append(adopted, ri.ID)
			}
		case runnerLive:
			if r.member != m.ID {
				stops = append(stops, stop{ri.ID, "the same runner ID is live on " + r.node})
			}
		case runnerLost:
			// Its failover is still in its backoff: the rule is applied
			// once the failover decides (reconcileLate), not now.
			r.backOn = m.ID
		}
	}
	cc.mu.Unlock()
	if err := c.Err(); err != nil {
		cc.suspect(mc, err)
	}
	cc.emit(ClusterEvent{Kind: ClusterMemberJoined, Node: m.NodeName, Member: m.ID, Detail: "gateway " + m.Gateway})
	for _, id := range adopted {
		cc.emit(ClusterEvent{Kind: ClusterRunnerReconciled, Node: m.NodeName, Member: m.ID, RunnerID: id, Detail: "adopted back: it was lost and not placed again"})
	}
	// Each stop on its own goroutine (each bounded, retried a bounded
	// number of times): one runner's stop does not wait for another's.
	var wg sync.WaitGroup
	for _, s := range stops {
		wg.Add(1)
		go func() { // owner: join, which waits
			defer wg.Done()
			d := cc.stopStale(mc, s.id, s.why)
			cc.emit(ClusterEvent{Kind: ClusterRunnerReconciled, Node: m.NodeName, Member: m.ID, RunnerID: s.id, Detail: d})
		}()
	}
	wg.Wait()
}

// reconcileLate applies the reconcile rule to a lost runner whose member
// rejoined while its failover was pending (join saw it in runnerLost and
// noted the member in backOn): now replaced, the old one is stopped there;
// not placed again, it is adopted back. A join after the failover decided
// applies the rule itself.
func (cc *ClusterClient) reconcileLate(r *clusterRunner) {
	cc.mu.Lock()
	mc := cc.members[r.backOn]
	r.backOn = ""
	if mc == nil || mc.state != memberLive {
		cc.mu.Unlock()
		return
	}
	adopt := r.state == runnerGone && r.replacedBy == "" && !r.stopAsked
	if adopt {
		cc.liveOnLocked(r, mc.m)
	}
	replacedBy := r.replacedBy
	cc.mu.Unlock()
	if adopt {
		cc.emit(ClusterEvent{Kind: ClusterRunnerReconciled, Node: mc.m.NodeName, Member: mc.m.ID, RunnerID: r.id, Detail: "adopted back: it was lost and not placed again"})
		return
	}
	why := "it had been replaced by " + replacedBy
	if replacedBy == "" {
		why = "a StopRunner was asked for it while its node was lost"
	}
	d := cc.stopStale(mc, r.id, why)
	cc.emit(ClusterEvent{Kind: ClusterRunnerReconciled, Node: mc.m.NodeName, Member: mc.m.ID, RunnerID: r.id, Detail: d})
}

// suspect marks a member whose connection was lost; its tasks stay open
// until the cluster decides. Called by the member's Client under its lock,
// with the error the connection ended with: its node's shutdown note (a
// graceful leave, noted) or a loss.
func (cc *ClusterClient) suspect(mc *memberConn, err error) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	now := time.Now()
	var note *nodeShutDown
	if mc.state != memberLost && mc.ended == connLost && errors.As(err, &note) {
		mc.ended = connNoted
		switch {
		case note.fault:
			mc.ended = connFaulted // it shut itself down over a fault: on no one's request
		case note.forced:
			mc.ended = connForced // asked for, but not graceful: its running tasks were killed
		}
	}
	switch mc.state {
	case memberLive:
		cc.memberToLocked(mc, memberSuspect)
		mc.since = now
	case memberLeaving:
		cc.memberToLocked(mc, memberLeavingCut) // checkLeaving declares it lost
	case memberDraining:
		// A leaving member's connection closed (it exited after its
		// drain, or was cut off): the next read declares it lost.
		cc.memberToLocked(mc, memberDrained)
		mc.drained, mc.since = now.Sub(mc.since), now
	}
}

// declareLost takes a member out and hands each of its runners to
// failover. A member that left the view is dead for good (protoactor blocks
// its ID; an evicted node returns under a new one): its ID is never joined
// again, though it may linger in a slower peer's view. A member lost only
// through its connection (the view still lists it: a partition between this
// client and that node) is joined again if it answers later, and then
// reconciled like a returning node.
//
// A member whose connection ended on its node's shutdown note (it shut
// down gracefully: drained, or closed as its drain began, or before this
// client saw it leave the view) is a planned leave: its runners are placed
// again at once, without backoff (failover's planned). One whose
// connection was lost, draining or not (a kill -9 cut its drain, a
// partition), is not: its runners' loss counts as a failure.
func (cc *ClusterClient) declareLost(mc *memberConn, why string, leftView bool) {
	at := time.Now()
	// A connection still up (the view dropped the member first) is ended
	// as lost, so its open tasks are handed over rather than failed.
	mc.c.lost("declared dead by the cluster: " + why)
	cc.mu.Lock()
	// Not the state alone: a draining member whose connection was lost
	// (kill -9 during its drain) was called "left gracefully", and one
	// whose connection closed on its shutdown note as its drain began
	// (leaving-cut: an idle node drains at once) "declared dead", its
	// runners' backoff counted (a review).
	leave := mc.ended
	if mc.state == memberLost || cc.closing || !cc.memberToLocked(mc, memberLost) {
		cc.mu.Unlock()
		return
	}
	verdict := "declared dead by cluster " + cc.cfg.Cluster
	switch leave {
	case connNoted:
		verdict = "left cluster " + cc.cfg.Cluster + " gracefully" // "declared dead" read as a crash (a rolling-restart trial)
	case connForced:
		verdict = "left cluster " + cc.cfg.Cluster + " (its shutdown was forced)" // not "gracefully": it killed its running tasks
	}
	reason := fmt.Sprintf("%s: node %s (member %s, gateway %s) %s: %s",
		ErrNodeLost, mc.m.NodeName, mc.m.ID, mc.m.Gateway, verdict, why)
	delete(cc.members, mc.m.ID)
	if cc.lostKinds == nil || len(cc.lostKinds) >= maxDead {
		cc.lostKinds = map[string]lostKind{} // kinds come from the members' configs: that many is no cluster's
	}
	for _, k := range mc.m.Kinds {
		cc.lostKinds[k] = lostKind{node: mc.m.NodeName, at: at}
	}
	if leftView {
		if len(cc.dead) >= maxDead {
			clear(cc.dead) // IDs that old have left every view long ago
		}
		cc.dead[mc.m.ID] = true
	}
	var lost []*clusterRunner
	for _, r := range cc.runners {
		if r.member == mc.m.ID && r.state == runnerLive {
			r.state = runnerLost
			lost = append(lost, r)
		}
	}
	byRunner := map[string][]*clusterTask{}
	for t := range cc.tasks {
		// A task whose outcome came already (after the last prune) is
		// done: moving it would run it twice.
		r := cc.runners[t.runnerID]
		if r == nil || r.state != runnerLost || r.member != mc.m.ID {
			continue
		}
		if t.state == taskHeld || t.state == taskFollowed && !t.feed.Ended() {
			cc.taskToLocked(t, taskMoving)
			byRunner[t.runnerID] = append(byRunner[t.runnerID], t)
		}
	}
	// A held task whose runner is not failed over (it ended on the node
	// or was stopped meanwhile; or it is no longer followed) gets the
	// outcome it was diverted from: every task ends exactly once.
	cc.endHeldLocked(func(t *clusterTask) bool {
		r := cc.runners[t.runnerID]
		return r == nil || r.member == mc.m.ID && r.state != runnerLost
	})
	for _, ts := range byRunner { // the failover resubmits them in submission order
		sort.Slice(ts, func(i, j int) bool { return ts[i].seq < ts[j].seq })
	}
	cc.wg.Add(len(lost)) // under mu, before Close can wait
	cc.mu.Unlock()
	cc.emit(ClusterEvent{Kind: ClusterMemberLost, At: at, Node: mc.m.NodeName, Member: mc.m.ID,
		Detail: fmt.Sprintf("%s; %s lost", why, runnersCount(len(lost)))})
	for _, r := range lost {
		go cc.failover(r, byRunner[r.id], reason, leave) // owner: cc; Close waits
	}
	mc.c.Close()
}

// failover carries out the policy's decision for one lost runner and ends
// or moves each of its open tasks, exactly once.
//
// leave is how the member's connection ended. On its node's shutdown note,
// graceful (connNoted) or forced (connForced: asked for too), it is a
// planned leave: the policy still decides whether the runner is placed
// again (Classify), but the move is no failure of the runner: no backoff,
// no count toward the restart intensity, no error record. Before, each
// graceful leave counted as a restart: a rolling restart of three nodes,
// each in turn, grew the runners' backoff to 7 s (attempt 5), and a kill
// -9 right after waited that long before its runners were placed again (a
// rolling-restart trial).
func (cc *ClusterClient) failover(r *clusterRunner, tasks []*clusterTask, reason string, leave connEnd) {
	defer cc.wg.Done()
	planned := leave == connNoted || leave == connForced
	cc.mu.Lock()
	stopAsked := r.stopAsked
	cc.mu.Unlock()
	if stopAsked {
		// Its StopRunner was under way when the member was lost: it is
		// not placed again, and its open tasks end Failed.
		cc.emit(ClusterEvent{Kind: ClusterRunnerLost, Node: r.node, Member: r.member, RunnerID: r.id, Detail: reason + "; a StopRunner was under way: not placed again"})
		cc.mu.Lock()
		r.state = runnerGone
		cc.retireLocked(r)
		cc.mu.Unlock()
		now := time.Now()
		cc.mu.Lock()
		for _, t := range tasks {
			cc.taskToLocked(t, taskEnded)
		}
		cc.mu.Unlock()
		for _, t := range tasks {
			t.feed.Fail(reason+"; its runner was being stopped", now)
		}
		cc.eh.RunnerStopped(r.slot)
		cc.reconcileLate(r)
		return
	}
	f := errhandler.Failure{Kind: errhandler.KindNodeLost, Component: "cluster", Operation: "failover", RunnerID: r.slot, Message: reason}
	var rec errhandler.Record
	if planned {
		rec = errhandler.Record{Decision: cc.eh.Classify(f)}
	} else {
		rec = cc.eh.Handle(f)
	}
	cc.emit(ClusterEvent{Kind: ClusterRunnerLost, Node: r.node, Member: r.member, RunnerID: r.id,
		Decision: fromDecision(rec.Decision), Detail: reason})
	fail := func(ts []*clusterTask, why string) {
		now := time.Now()
		cc.mu.Lock()
		for _, t := range ts {
			cc.taskToLocked(t, taskEnded)
		}
		cc.mu.Unlock()
		for _, t := range ts {
			t.feed.Fail(why, now)
		}
	}
	var retry, rest, again []*clusterTask
	for _, t := range tasks {
		switch {
		case t.t.Retryable && t.h.Attempt() < 2:
			retry = append(retry, t)
		case t.t.Retryable:
			again = append(again, t)
		default:
			rest = append(rest, t)
		}
	}
	fail(rest, reason)
	// A Retryable task lost a second time says so: its Reason read as if
	// it had not been Retryable (a rolling restart's trial: a task moved
	// off the first node and then lost with the second).
	fail(again, reason+"; not resubmitted again: a Retryable task is resubmitted once, and this was its attempt 2")
	giveUp := func(why string) {
		cc.mu.Lock()
		r.state = runnerGone
		cc.retireLocked(r)
		cc.mu.Unlock()
		cc.eh.RunnerStopped(r.slot) // the handler forgets it: not placed again
		fail(retry, reason+"; "+why)
		cc.reconcileLate(r)
	}
	if !rec.Decision.Restarts() {
		giveUp(fmt.Sprintf("not placed again (policy: %v)", rec.Decision))
		return
	}
	if rec.Delay > 0 {
		t := time.NewTimer(rec.Delay)
		select {
		case <-cc.ctx.Done():
			t.Stop()
			giveUp("the cluster client closed before the runner was placed again")
			return
		case <-t.C:
		}
	}
	nr, err := cc.place(cc.ctx, r.kind, r.slot)
	if err != nil {
		giveUp("placing it again failed: " + err.Error())
		return
	}
	cc.eh.RunnerReady(r.slot)
	cc.mu.Lock()
	r.state, r.replacedBy = runnerReplaced, nr.id
	cc.retireLocked(r)
	mc := cc.members[nr.member]
	cc.mu.Unlock()
	detail := fmt.Sprintf("after %s backoff (attempt %d)", rec.Delay.Round(time.Millisecond), rec.Attempt)
	switch leave {
	case connNoted:
		detail = "at once: its node left gracefully (a planned leave counts no backoff)"
	case connForced:
		detail = "at once: its node left, its shutdown forced (a planned leave counts no backoff)"
	}
	cc.emit(ClusterEvent{Kind: ClusterRunnerReplaced, Node: nr.node, Member: nr.member, RunnerID: r.id, NewRunnerID: nr.id, Detail: detail})
	cc.reconcileLate(r)
	for _, t := range retry {
		if t.feed.Ended() { // its outcome came after all: nothing to move
			cc.mu.Lock()
			cc.taskToLocked(t, taskEnded)
			cc.mu.Unlock()
			continue
		}
		t.feed.Retry(fmt.Sprintf("%s; resubmitted to runner %s on node %s", reason, nr.id, nr.node))
		cc.mu.Lock()
		t.runnerID = nr.id
		cc.taskToLocked(t, taskResubmitting)
		cc.mu.Unlock()
		var serr error
		if mc == nil {
			serr = fmt.Errorf("%w: node %s was lost too", ErrNodeLost, nr.node)
		} else {
			serr = mc.c.submitFeed(cc.ctx, nr.id, t.t, t.feed)
		}
		cc.mu.Lock()
		if serr == nil && (cc.lostLocked(mc) || nr.state == runnerLost || nr.state == runnerReplaced) {
			// nr's member was lost meanwhile (mc, looked up after the
			// placement, may be its new connection if it joined again).
			serr = fmt.Errorf("%w: node %s was lost while the task was being resubmitted", ErrNodeLost, nr.node)
		}
		if serr != nil {
			cc.taskToLocked(t, taskEnded) // the failover of nr's member did not see it (resubmitting): ended here, once
		} else {
			cc.taskToLocked(t, taskFollowed)
		}
		cc.mu.Unlock()
		if serr != nil {
			t.feed.Fail(reason+"; resubmitting it failed: "+serr.Error(), time.Now())
			continue
		}
		cc.emit(ClusterEvent{Kind: ClusterTaskResubmitted, Node: nr.node, Member: nr.member, RunnerID: r.id, NewRunnerID: nr.id, TaskID: t.t.ID,
			Detail: fmt.Sprintf("to runner %s on node %s: %s", nr.id, nr.node, reason)})
	}
}

// place chooses a member for a runner of kind by the placement policy,
// spawns it there and registers it; slot is "" for a new runner.
func (cc *ClusterClient) place(ctx context.Context, kind, slot string) (*clusterRunner, error) {
	// One placement at a time: concurrent ones (a lost member's runners)
	// would all count the same load and pile onto one member. The lock is
	// held across remote calls, so each is bounded (placeQueryTimeout,
	// placeSpawnTimeout) and all end with the client: a slow member must
	// not hold every failover and Close behind a caller's long context.
	if err := cc.placeCtxEnded(ctx, kind); err != nil {
		return nil, err
	}
	cc.placeMu.Lock()
	defer cc.placeMu.Unlock()
	caller := ctx
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(cc.ctx, stop)()
	cc.mu.Lock()
	asked := cc.seq // before the lists: a runner placed after may be missing from them
	var live []*memberConn
	for _, mc := range cc.members {
		if mc.state == memberLive && mc.m.HasKind(kind) {
			live = append(live, mc)
		}
	}
	var kinds, away []string // away: the members not live now that register kind
	nmembers := len(cc.members)
	for _, mc := range cc.members {
		kinds = append(kinds, mc.m.Kinds...)
		if mc.state != memberLive && mc.m.HasKind(kind) {
			away = append(away, fmt.Sprintf("%s (%s)", mc.m.NodeName, mc.state))
		}
	}
	if lk, ok := cc.lostKinds[kind]; ok && len(away) == 0 && time.Since(lk.at) < lostKindMemory {
		// Its member was lost, so it left cc.members: a node restarting
		// (a rolling restart) is no mistake of the kind's name.
		away = append(away, fmt.Sprintf("%s (lost %s ago)", lk.node, time.Since(lk.at).Round(time.Millisecond)))
	}
	cc.mu.Unlock()
	if len(live) == 0 {
		slices.Sort(kinds)
		slices.Sort(away)
		if nmembers == 0 {
			// No member at all (every node lost, or none joined yet): not
			// the kind's fault (a re-trial: "registers kind \"gen\" (its
			// members' kinds: ): use one of those" after a kill of all).
			return nil, fmt.Errorf("%w: cluster %s has no member now (every node lost, or none joined yet): try again once nodes are up (ClusterClient.Members lists them)",
				ErrNoPlacement, cc.cfg.Cluster)
		}
		if len(away) > 0 {
			return nil, fmt.Errorf("%w: no live member of cluster %s registers kind %q: %s, which does, is not live now; try again shortly (once it is back, or lost and its runners placed elsewhere)",
				ErrNoPlacement, cc.cfg.Cluster, kind, strings.Join(away, ", "))
		}
		// No member registers it at all: a mistake, not a passing state;
		// ErrUnknownKind as a Client's SpawnRunner says (a user's trial:
		// only ErrNoPlacement, which "every member is full" wraps too).
		return nil, errjoin.Tag(ErrUnknownKind, fmt.Errorf("%w: no member of cluster %s registers kind %q (its members' kinds: %s): use one of those, or start nodes whose config registers it (kinds.%s)",
			ErrNoPlacement, cc.cfg.Cluster, kind, strings.Join(slices.Compact(kinds), ", "), kind))
	}
	cands := make([]placement.Candidate, len(live))
	lists := make([][]RunnerInfo, len(live)) // nil: no answer
	var wg sync.WaitGroup
	for i, mc := range live {
		wg.Add(1)
		go func() { // owner: place, which waits
			defer wg.Done()
			n := 0
			qctx, cancel := context.WithTimeout(ctx, placeQueryTimeout)
			defer cancel()
			infos, err := mc.c.Runners(qctx)
			if err == nil {
				lists[i] = append([]RunnerInfo{}, infos...) // non-nil: answered, even with no runner
			}
			for _, ri := range infos {
				if !ri.Status.Terminal() {
					n++
				}
			}
			cands[i] = placement.Candidate{Member: mc.m.ID, Node: mc.m.NodeName, Kinds: mc.m.Kinds, Runners: n}
			st, serr := mc.c.NodeStatus(qctx)
			if err != nil || serr != nil {
				cands[i].Kinds = nil // unreachable now: not a candidate
				return
			}
			cands[i].Health, cands[i].HealthKnown = st.Health, st.HealthKnown
			if room, bounded := st.KindRoom[kind]; bounded && room <= 0 {
				// The node would refuse this kind (its max_runners
				// bound is reached, so n ≥ 1): full for this placement.
				cands[i].Capacity = n
			}
		}()
	}
	wg.Wait()
	if err := cc.placeCtxEnded(caller, kind); err != nil {
		return nil, err // the answers are cut short: no verdict on the members
	}
	answered := map[string][]RunnerInfo{}
	for i, mc := range live {
		if lists[i] != nil {
			answered[mc.m.ID] = lists[i]
		}
	}
	cc.noteRunners(asked, answered) // the lists are read anyway: they also tell which followed runners ended
	var errs []string
	full := true // every refusal so far says a bound is reached
	for i, c := range cands {
		if c.Kinds == nil {
			// A member that did not answer may have room: not "full"
			// (a review: "add a node" while a member was out of reach).
			full = false
			errs = append(errs, fmt.Sprintf("%s did not answer in time", live[i].m.NodeName))
		}
	}
	for len(cands) > 0 {
		pick, err := placement.Place(kind, cands)
		if err != nil {
			errs = append(errs, err.Error())
			full = full && errors.Is(err, placement.ErrNoCapacity)
			break
		}
		var mc *memberConn
		for _, m := range live {
			if m.m.ID == pick.Member {
				mc = m
			}
		}
		id, err := cc.spawnOn(caller, mc, kind) // cluster_calls.go: a given-up spawn leaves no runner
		if err != nil && (caller.Err() != nil || cc.ctx.Err() != nil) {
			return nil, err // the caller's ctx ended, or the client closed: not the member's refusal
		}
		if err == nil {
			r := &clusterRunner{id: id, kind: kind, slot: slot}
			if r.slot == "" {
				r.slot = id
			}
			cc.mu.Lock()
			var why string
			switch {
			case cc.lostLocked(mc):
				// Its member was declared lost while the spawn settled (the
				// loss ends the member's Client, which ends the settle
				// wait), after declareLost handed that member's runners to
				// failover: registered live now, it would never be failed
				// over, and WaitReady and Submit would wait for a decision
				// that never comes. Kept as gone with a stop asked, so that
				// the member, should it return (a partition), is told to
				// stop it.
				why = fmt.Sprintf("node %s was declared lost while runner %s was being spawned there", mc.m.NodeName, id)
				if cc.runners[id] == nil {
					r.member, r.node, r.state, r.stopAsked = mc.m.ID, mc.m.NodeName, runnerGone, true
					r.staleWhy = "it was spawned there as its node was declared lost, and placed elsewhere"
					cc.runners[id] = r
					cc.retireLocked(r)
				}
			case cc.runners[id] != nil:
				// The ID is taken by another runner this client follows
				// (runner IDs are unique per node only): never two with one
				// ID here; this one is stopped (on a goroutine of its own:
				// the stop may take its retries, and the placement lock is
				// held) and the next member tried.
				why = fmt.Sprintf("its new runner's ID %s is that of a runner this client followed on node %s (runner IDs are unique per node only)", id, cc.runners[id].node)
				if !cc.closing {
					cc.wg.Add(1) // under mu with closing unset: before Close waits
					go func() {  // owner: cc; Close waits
						defer cc.wg.Done()
						d := cc.stopStale(mc, id, why)
						cc.emit(ClusterEvent{Kind: ClusterSpawnAbandoned, Node: mc.m.NodeName, Member: mc.m.ID, RunnerID: id, Detail: d})
					}()
				}
			}
			if why != "" {
				cc.mu.Unlock()
				errs = append(errs, fmt.Sprintf("%s: %s", pick.Node, why))
				cands = slices.DeleteFunc(cands, func(c placement.Candidate) bool { return c.Member == pick.Member })
				continue
			}
			cc.liveOnLocked(r, mc.m)
			cc.runners[id] = r
			cc.mu.Unlock()
			return r, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", pick.Node, err))
		full = full && errors.Is(err, ErrGatewayLimit)
		cands = slices.DeleteFunc(cands, func(c placement.Candidate) bool { return c.Member == pick.Member })
	}
	if full && len(errs) > 0 {
		// Every member with the kind is at a bound: ErrGatewayLimit, as a
		// Client's SpawnRunner over max_runners says, and what to do.
		return nil, errjoin.Tag(ErrGatewayLimit, fmt.Errorf("%w: kind %q in cluster %s: %s; stop a runner of the kind first (ClusterClient.Runners lists them), or raise kinds.%s.max_runners (or max_runners) on a node, or add a node",
			ErrNoPlacement, kind, cc.cfg.Cluster, strings.Join(errs, "; "), kind))
	}
	return nil, fmt.Errorf("%w: kind %q in cluster %s: %s", ErrNoPlacement, kind, cc.cfg.Cluster, strings.Join(errs, "; "))
}

// lostLocked reports whether member connection mc was declared lost (or
// replaced by a new connection to the member): declareLost has handed its
// runners and their followed tasks to failover, so what is registered on
// it now would never be. Call with cc.mu held.
func (cc *ClusterClient) lostLocked(mc *memberConn) bool {
	return mc.state == memberLost || cc.members[mc.m.ID] != mc
}

// SpawnRunner places a runner of spec.Kind on the member the placement
// policy picks and returns its ID. As with a Client, only Kind may be set:
// the command comes from the chosen node's configuration.
func (cc *ClusterClient) SpawnRunner(ctx context.Context, spec RunnerSpec) (string, error) {
	if cc.ctx.Err() != nil { // closed: as every call, whatever the spec
		return "", cc.closedErr()
	}
	if spec.Command != "" || spec.Builtin || len(spec.Args) > 0 || len(spec.Env) > 0 || spec.Dir != "" {
		return "", fmt.Errorf("%w (%w): a cluster places runners by kind only; leave Command, Args, Env, Dir and Builtin empty", ErrInvalidSpec, ErrInvalidRequest)
	}
	if spec.Kind == "" {
		// Both sentinels: an empty name is a kind no spec may have
		// (ErrInvalidSpec, as on a System and a Client; it matched
		// ErrInvalidRequest only, a new user's trial).
		return "", fmt.Errorf("%w (%w): RunnerSpec.Kind is empty: name a kind some member registers", ErrInvalidSpec, ErrInvalidRequest)
	}
	if err := actors.CheckKind(spec.Kind); err != nil { // as a System says it
		return "", err
	}
	r, err := cc.place(ctx, spec.Kind, "")
	if err != nil {
		return "", err
	}
	return r.id, nil
}

// resolve returns the runner that now stands for id (following
// re-placements) and its member's connection. An ID the client does not
// know is looked up on every live member.
func (cc *ClusterClient) resolve(ctx context.Context, id string) (*clusterRunner, *memberConn, error) {
	if cc.ctx.Err() != nil {
		return nil, nil, cc.closedErr()
	}
	for range 2 {
		cc.mu.Lock()
		r := cc.runners[id]
		for hops := 0; r != nil && r.state == runnerReplaced && hops < 64; hops++ {
			r = cc.runners[r.replacedBy]
		}
		if r != nil {
			defer cc.mu.Unlock()
			switch r.state {
			case runnerLost:
				return nil, nil, pendingError{fmt.Errorf("%w: runner %s: its node %s was lost; its replacement is being placed, try again shortly (WaitReady waits for it)", ErrNodeLost, id, r.node)}
			case runnerGone:
				return nil, nil, goneError(r, id) // cluster_calls.go
			case runnerEnded:
				return nil, nil, fmt.Errorf("%w: runner %s ended on its node %s (%s): stopped by another client or the node, or failed", ErrRunnerNotAvailable, id, r.node, r.endedHow)
			}
			mc := cc.members[r.member]
			if mc != nil && mc.state.leaving() {
				return nil, nil, leavingErr(id, r.node)
			}
			if mc == nil || mc.state != memberLive {
				return nil, nil, pendingError{fmt.Errorf("%w: runner %s: the connection to its node %s is lost; the cluster has not decided yet (WaitReady waits for its decision)", ErrNodeLost, id, r.node)}
			}
			return r, mc, nil
		}
		var live []*memberConn
		for _, mc := range cc.members {
			if mc.state == memberLive {
				live = append(live, mc)
			}
		}
		cc.mu.Unlock()
		found := false
		for _, mc := range live {
			infos, err := mc.c.Runners(ctx)
			if err != nil {
				continue
			}
			for _, ri := range infos {
				if ri.ID == id && !ri.Status.Terminal() {
					cc.mu.Lock()
					if cc.runners[id] == nil {
						if cc.lostLocked(mc) {
							// Declared lost since it answered: followed
							// now, the runner would never be failed over.
							cc.mu.Unlock()
							continue
						}
						r := &clusterRunner{id: id, kind: ri.Kind, slot: id}
						cc.liveOnLocked(r, mc.m)
						cc.runners[id] = r
					}
					cc.mu.Unlock()
					found = true
				}
			}
		}
		if !found && ctx.Err() != nil {
			return nil, nil, ctxEndedError(ctx, fmt.Sprintf("look runner %q up on the members of cluster %s", id, cc.cfg.Cluster), "not every member was asked")
		}
		if !found {
			return nil, nil, fmt.Errorf("%w: no live member of cluster %s hosts runner %q (asked %d)", ErrUnknownRunner, cc.cfg.Cluster, id, len(live))
		}
	}
	return nil, nil, fmt.Errorf("%w: runner %q", ErrUnknownRunner, id)
}

// Submit queues a task on runner runnerID wherever it lives now. The handle
// follows the task through a member's loss: a Retryable task is resubmitted
// once to the runner's replacement (Next returns a *RetryError first), any
// other ends Failed with a reason naming the lost node.
func (cc *ClusterClient) Submit(ctx context.Context, runnerID string, t Task) (*TaskHandle, error) {
	call := fmt.Sprintf("submit task %q to runner %s", t.ID, runnerID)
	if err := beforeCall(ctx, call); err != nil {
		return nil, err
	}
	if cc.ctx.Err() != nil { // closed: as every call, whatever the task
		return nil, cc.closedErr()
	}
	if err := t.Validate(); err != nil {
		return nil, err // ErrInvalidTask, before any lookup
	}
	r, mc, err := cc.resolve(ctx, runnerID)
	if err != nil {
		return nil, err
	}
	if err := mc.c.checkTask(t); err != nil {
		return nil, err
	}
	h, feed := actors.NewTaskFeed(runnerID, t.ID)
	ct := &clusterTask{t: t, runnerID: r.id, feed: feed, h: h, state: taskSubmitting}
	cc.mu.Lock()
	cc.taskSeq++
	ct.seq = cc.taskSeq
	cc.tasks[ct] = struct{}{}
	cc.mu.Unlock()
	err = mc.c.submitFeed(ctx, r.id, t, feed)
	cc.mu.Lock()
	lostMeanwhile := false
	switch {
	case err != nil:
		delete(cc.tasks, ct) // the caller gets the error and no handle
	case ct.state != taskSubmitting:
		// held meanwhile (its node's shutdown ended it before this
		// goroutine noted the answer): the failover owns it.
	case cc.lostLocked(mc):
		// Only its member's loss: a runner stopped or ended meanwhile on
		// a member still followed ends the task through that member's
		// Client, which feeds it (one feeder).
		lostMeanwhile = cc.taskToLocked(ct, taskEnded)
	default:
		cc.taskToLocked(ct, taskFollowed)
	}
	cc.mu.Unlock()
	if cc.callerEnded(ctx, err) {
		return nil, ctxEndedError(ctx, call+" on node "+r.node, "whether the node queued the task is unknown: Submit it again with the same Task.ID (a runner does not run an ID twice), or Cancel it")
	}
	if err != nil {
		return nil, lostAsPending(shutdownAsLeaving(err, r.id, r.node), r.id, r.node)
	}
	if lostMeanwhile {
		// The member was declared lost while the call was in flight: the
		// failover did not see this task; end it here, once.
		feed.Fail(fmt.Sprintf("%s: node %s was lost while the task was being submitted", ErrNodeLost, r.node), time.Now())
	}
	return &TaskHandle{ID: t.ID, RunnerID: runnerID, h: h}, nil
}

// StopRunner stops the runner wherever it lives now.
func (cc *ClusterClient) StopRunner(ctx context.Context, id string) (*StopResult, error) {
	if err := beforeCall(ctx, "stop runner "+id); err != nil {
		return nil, err
	}
	r, mc, err := cc.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	cc.mu.Lock()
	r.stopAsked = true // before the call: a loss of its member meanwhile must not place it again
	cc.mu.Unlock()
	res, err := mc.c.StopRunner(ctx, r.id)
	if err != nil {
		cc.mu.Lock()
		if r.state == runnerLive {
			r.stopAsked = false // refused with its member still live: it runs on
		}
		cc.mu.Unlock()
		if cc.callerEnded(ctx, err) {
			return nil, ctxEndedError(ctx, fmt.Sprintf("stop runner %s on node %s", id, r.node),
				"the stop was sent and the node goes on with it, but whether the runner stopped is unknown: call StopRunner again, or list Runners")
		}
		return nil, err
	}
	cc.mu.Lock()
	if r.state == runnerLive {
		r.state = runnerGone
		cc.endHeldLocked(func(t *clusterTask) bool { return t.runnerID == r.id })
		cc.retireLocked(r)
	}
	cc.mu.Unlock()
	cc.eh.RunnerStopped(r.slot)
	return res, nil
}

// WaitReady waits until runner id is Ready on the member that hosts it
// (Client.WaitReady there). id may be a runner the client placed (after a
// failover, its replacement is waited for) or one another client placed.
//
// It follows the runner through its member's loss: while its member
// leaves gracefully (it drains, then the runner is placed again), while the connection
// to the member is lost and the cluster has not decided, and while the
// failover places the runner again (its backoff included), it waits,
// bounded by ctx, as System.WaitReady waits for the error policy's
// decision; then it waits for the replacement to be Ready. When the runner
// will not come back (its node was lost and it was not placed again, it
// was stopped, or it ended on its node by other means) it returns at once
// an error wrapping ErrRunnerNotAvailable (and ErrNodeLost for a lost
// node): spawn a new runner. When ctx ends during the wait, the error
// wraps ctx's error.
func (cc *ClusterClient) WaitReady(ctx context.Context, id string) error {
	for {
		r, mc, err := cc.resolve(ctx, id)
		var pending pendingError
		switch {
		case err == nil:
			err = mc.c.WaitReady(ctx, r.id)
			if err == nil || ctx.Err() != nil || !cc.waitReadyPending(r, err) {
				return err
			}
			pending = pendingError{err} // its member was lost or is leaving meanwhile: wait for the decision (cluster_leave.go)
		case !errors.As(err, &pending):
			return err
		}
		if werr := cc.waitDecision(ctx, id, pending.error); werr != nil { // cluster_calls.go
			return werr
		}
	}
}

// Runners lists what the node of every live member (Members with
// Connected) lists, member by member in node name order, each in the
// node's spawn order: every runner the node hosts, whoever spawned it
// (this client, another client, a client closed long ago), and, within
// the node's retention (RetentionLimits; the node config's "retention":
// the newest 256 for at most 1h by default), the removed ones with their
// final info: stopped (Status Shutdown) or ended for good (Failed). A lost
// member's runners are not listed. To keep the live runners, drop those
// whose Status.Terminal(); to keep this client's, keep the IDs that Where
// maps to themselves (Where(id) returns id and ok: a runner this client
// placed, or adopted back, and not replaced; an ID SpawnRunner returned
// maps to its replacement's).
func (cc *ClusterClient) Runners(ctx context.Context) ([]RunnerInfo, error) {
	if cc.ctx.Err() != nil { // closed: as every call, not a member's "client of node … closed"
		return nil, cc.closedErr()
	}
	var out []RunnerInfo
	for _, m := range cc.Members() {
		if !m.Connected {
			continue
		}
		cc.mu.Lock()
		mc := cc.members[m.ID]
		cc.mu.Unlock()
		if mc == nil {
			continue
		}
		infos, err := mc.c.Runners(ctx)
		if cc.callerEnded(ctx, err) {
			return out, ctxEndedError(ctx, "list the runners of node "+m.Node, "the list holds only the members before it")
		}
		if err != nil {
			return out, fmt.Errorf("runners of node %s: %w", m.Node, err)
		}
		out = append(out, infos...)
	}
	return out, nil
}

// Cancel cancels one task (or all of the runner's, taskID empty) on the
// member hosting the runner now.
func (cc *ClusterClient) Cancel(ctx context.Context, runnerID, taskID string) (int, error) {
	call := fmt.Sprintf("cancel task %q of runner %s", taskID, runnerID)
	if err := beforeCall(ctx, call); err != nil {
		return 0, err
	}
	r, mc, err := cc.resolve(ctx, runnerID)
	if err != nil {
		return 0, err
	}
	n, err := mc.c.Cancel(ctx, r.id, taskID)
	if cc.callerEnded(ctx, err) {
		return 0, ctxEndedError(ctx, call+" on node "+r.node, "whether it was cancelled is unknown: call Cancel again (a task that ended is not found)")
	}
	return n, err
}

// Subscribe subscribes to a topic of the member hosting f.RunnerID, which
// is required: a cluster has no cluster-wide stream yet. Without it the
// error wraps ErrInvalidRequest.
func (cc *ClusterClient) Subscribe(topic string, f Filter, o SubscribeOptions) (*Subscription, error) {
	if cc.ctx.Err() != nil { // closed: as every call, whatever the filter
		return nil, cc.closedErr()
	}
	if f.RunnerID == "" {
		return nil, fmt.Errorf("%w: Filter.RunnerID is empty: a ClusterClient subscribes on the member that hosts one runner (a cluster has no cluster-wide stream); subscribe once per runner", ErrInvalidRequest)
	}
	r, mc, err := cc.resolve(context.Background(), f.RunnerID)
	if err != nil {
		return nil, err
	}
	f.RunnerID = r.id
	return mc.c.Subscribe(topic, f, o)
}

// closedErr is the error of every call after Close: it wraps
// ErrClientClosed, names the cluster and says what to do (before: a bare
// "client closed", a new user's trial).
func (cc *ClusterClient) closedErr() error {
	runners := "its runners run on, reachable by their IDs"
	if cc.leased {
		// Leased: each member stopped its share as the session ended (a
		// re-trial read "run on" for runners that were gone).
		runners = "its runners were leased to it (WithLeasedRunners): their nodes stop them as its sessions end"
	}
	return fmt.Errorf("%w: the ClusterClient of cluster %s was closed (its Close was called): dial the cluster again (DialCluster) for a new client; %s",
		ErrClientClosed, cc.cfg.Cluster, runners)
}

// Members returns the members the client follows, by node name.
func (cc *ClusterClient) Members() []ClusterMember {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	out := make([]ClusterMember, 0, len(cc.members))
	for _, mc := range cc.members {
		out = append(out, ClusterMember{Node: mc.m.NodeName, ID: mc.m.ID, Gateway: mc.m.Gateway,
			Kinds: slices.Clone(mc.m.Kinds), Connected: mc.state == memberLive})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Node < out[j].Node || out[i].Node == out[j].Node && out[i].ID < out[j].ID
	})
	return out
}

// Where returns the node name hosting the runner that stands for id now
// (after re-placements), as far as this client knows.
func (cc *ClusterClient) Where(id string) (runnerID, node string, ok bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	r := cc.runners[id]
	for hops := 0; r != nil && r.state == runnerReplaced && hops < 64; hops++ {
		r = cc.runners[r.replacedBy]
	}
	if r == nil || r.state != runnerLive {
		return "", "", false
	}
	return r.id, r.node, true
}

// Close stops following the cluster: failovers under way end their tasks
// Failed, every connection closes, and Close returns once the client's
// goroutines ended. Idempotent.
//
// Close ends only this client's view of the work, not the work:
//   - every open TaskHandle ends at once with status Failed, its Next
//     returning an error chunk then io.EOF, and a reason (a string: test
//     it with strings.HasPrefix) beginning with ErrClientClosed's text
//     ("client closed: client of node … closed"),
//     while the node runs the task on to its own end (no Cancel is sent);
//     a task whose node was lost and whose failover the close cut short
//     ends Failed with the loss's reason (wrapping ErrNodeLost) and "the
//     cluster client closed before the runner was placed again" (or
//     "placing it again failed: …" or "resubmitting it failed: …", naming
//     the close, when it came during the placement or the resubmission);
//   - every open Subscription ends with an error wrapping ErrEndOfStream
//     and ErrClientClosed;
//   - every runner stays on its node, Ready for other clients: a new
//     ClusterClient (or a Client of that node) reaches it by its ID and
//     ends it with StopRunner; unless ClusterConfig.Dial has
//     WithLeasedRunners: then each member stops the runners placed there
//     as the client's session ends;
//   - a SpawnRunner in flight returns an error wrapping ErrClientClosed;
//     a runner its member spawned and answered for, when the caller no
//     longer takes it, is stopped by the client (Close waits for that
//     stop, at most 5 s), and one whose answer the close cut off is
//     stopped by a node whose gateway settles spawns.
//
// To end the work too, Cancel the tasks and StopRunner the runners before
// Close. Every later call returns an error wrapping ErrClientClosed that
// names the cluster and says to dial again. Before it returns, Close
// gives the hook the internal_error events not reported yet (on the
// caller's goroutine).
func (cc *ClusterClient) Close() error {
	cc.closed.Do(func() {
		cc.mu.Lock()
		cc.closing = true
		cc.mu.Unlock()
		cc.cancel()
		cc.wg.Wait()
		cc.mu.Lock()
		conns := make([]*memberConn, 0, len(cc.members))
		for _, mc := range cc.members {
			conns = append(conns, mc)
		}
		var parked []*clusterTask
		for t := range cc.tasks {
			parked = append(parked, t)
		}
		cc.mu.Unlock()
		// At once: each Close waits for its node's goodbye (at most
		// byeWait), and one slow member must not hold up the others.
		var closing sync.WaitGroup
		for _, mc := range conns {
			closing.Add(1)
			go func() { // owner: Close, which waits
				defer closing.Done()
				mc.c.Close()
			}()
		}
		closing.Wait()
		cc.closeReads()
		for _, t := range parked { // tasks of suspect members, held for a verdict that will not come
			t.feed.Fail(fmt.Sprintf("%s: cluster client of %s closed (its Close was called) while the task's node was out of reach: what became of the task there is unknown", ErrClientClosed, cc.cfg.Cluster), time.Now())
		}
	})
	// The poller has ended: report what it left, and what the close met.
	// Outside the Once, so that a hook that calls Close does not block.
	cc.reportInternal()
	return nil
}
