package membership

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Membership keeps this process a member of one cluster. Create it with
// [Start]; its methods are safe for concurrent use.
type Membership struct {
	cfg  Config
	host *actor.ActorSystem
	pid  *actor.PID
	view atomic.Pointer[View]
	// firstID is the member ID of the first join (set by Start, then
	// never changed): Self's answer until the first view names one.
	firstID string

	// wg counts the goroutines the actor starts (joins, teardowns, checks);
	// Stop waits for them.
	wg   sync.WaitGroup
	done chan struct{}
	// quit ends with the Membership's leave (the actor cancels it as it
	// enters Leaving): the peer reads of a check or a join in flight stop
	// waiting for peers that do not answer.
	quit       context.Context
	quitCancel context.CancelFunc
}

// Start joins the cluster described by cfg and returns once the provider
// registered this member (about a second: protoactor's StartMember waits
// one). The view turns Joined once it holds every live member the provider
// lists (a first topology can lack some: see docs/cluster.md). The
// Membership actor runs in host, the caller's local actor system; the member
// itself runs in an actor system of its own. With etcd, the endpoints are
// checked first and an unreachable etcd is an error wrapping
// [ErrEtcdUnreachable] that names them, returned before any member starts.
func Start(host *actor.ActorSystem, cfg Config) (*Membership, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m := &Membership{cfg: cfg, host: host, done: make(chan struct{})}
	m.quit, m.quitCancel = context.WithCancel(context.Background())
	m.view.Store(&View{Cluster: cfg.Cluster, State: Joining, Members: []Member{}})
	a := &memberActor{m: m, cfg: cfg, log: cfg.Logger.WithField("component", "membership"), state: Joining,
		number: 1, joining: 1, since: map[string]time.Time{}}
	stop := actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective })
	m.pid = host.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return a },
		actor.WithSupervisor(stop), actor.WithGuardian(stop)))
	first, err := m.join(1, cfg.RemotePort)
	if err != nil {
		host.Root.Stop(m.pid)
		m.quitCancel()
		return nil, err
	}
	live := first.livePeers(context.Background())
	res, err := host.Root.RequestFuture(m.pid, &joinedMsg{number: 1, inc: first, live: live}, 10*time.Second).Result()
	if err != nil {
		first.detach()
		first.close()
		host.Root.Stop(m.pid)
		m.quitCancel()
		return nil, fmt.Errorf("membership actor did not take the member: %w", err)
	}
	_ = res
	m.firstID = first.memberID()
	return m, nil
}

// join starts incarnation number on port (0: any). Topologies and own-key
// deletions are sent to the actor tagged with the number.
func (m *Membership) join(number, port int) (*incarnation, error) {
	root := m.host.Root
	return startIncarnation(m.cfg, number, port,
		func(t *cluster.ClusterTopology) { root.Send(m.pid, &topologyMsg{number: number, topology: t}) },
		func() { root.Send(m.pid, &ownKeyDeletedMsg{number: number}) },
		m.View)
}

// Self returns this member's ID: the current view's (a rejoin takes a new
// one), or, before the first view is settled, the ID of the first join
// (Start returns before the view is, so View().Self may still be empty).
func (m *Membership) Self() string {
	if id := m.View().Self; id != "" {
		return id
	}
	return m.firstID
}

// View returns the current view: the members when Joined, none otherwise.
func (m *Membership) View() View { return *m.view.Load() }

// Config returns the configuration in use, defaults filled in.
func (m *Membership) Config() Config { return m.cfg }

// Subscribe makes the actor pid receive a [*Changed] on every change of the
// view, starting with one carrying the current view. sender is a context of
// pid's own actor system (its Root), through which the messages are sent.
// Subscriptions last until Stop; there is one entry per call.
func (m *Membership) Subscribe(sender actor.SenderContext, pid *actor.PID) {
	m.host.Root.Send(m.pid, &subscribeMsg{sender: sender, pid: pid})
}

// Stop leaves the cluster: the current member is torn down (its provider
// entry removed first) and Stop returns when nothing of it runs any more, or
// with ctx's error. Calling it again returns at once with the same outcome.
func (m *Membership) Stop(ctx context.Context) error {
	m.host.Root.Send(m.pid, &stopMsg{})
	select {
	case <-m.done:
	case <-ctx.Done():
		return fmt.Errorf("leave cluster %s: %w", m.cfg.Cluster, ctx.Err())
	}
	m.wg.Wait()
	m.host.Root.Stop(m.pid)
	return nil
}

// Done is closed once the Membership reached Left.
func (m *Membership) Done() <-chan struct{} { return m.done }

// Messages to the Membership actor. number tags everything that comes from
// one incarnation, so that late messages of an old one are dropped.
type (
	topologyMsg struct {
		number   int
		topology *cluster.ClusterTopology
	}
	ownKeyDeletedMsg struct{ number int }
	joinedMsg        struct {
		number int
		inc    *incarnation
		live   []string // the members the provider listed alive right after the join
		err    error
	}
	detachedMsg struct{ number int }
	closedMsg   struct{ number int }
	checkDue    struct{}
	joinDue     struct{}
	evidenceMsg struct {
		number int
		ev     Evidence
	}
	subscribeMsg struct {
		sender actor.SenderContext
		pid    *actor.PID
	}
	stopMsg struct{}
)

type subscriber struct {
	sender actor.SenderContext
	pid    *actor.PID
}

// memberActor owns the lifecycle. Everything it knows besides the state is
// evidence: the current incarnation, joins and teardowns in flight.
type memberActor struct {
	m     *Membership
	cfg   Config
	log   *logrus.Entry
	state State

	inc     *incarnation // the current incarnation (Joined), or nil
	self    string       // the member ID of the latest incarnation
	number  int          // the current (or joining) incarnation's number
	joining int          // joins in flight (0 or 1)
	closing int          // incarnations being torn down
	pending *cluster.ClusterTopology

	members   []Member // the latest topology's members
	published []Member // the members last published (Joined), for the diffs
	live      []string // the latest live members per the provider
	blocked   map[string]bool
	since     map[string]time.Time
	unseen    map[string]time.Time // live per the provider, unblocked, not in the view: since when
	checking  bool                 // an evidence gathering is in flight
	peerWarn  string               // the latest PeerMismatch warning ("" none), logged when it changes and at each eviction
	// lonePending: a topology left this member alone while the latest
	// evidence listed other live members; it is published only once fresh
	// evidence does not show it evicted (then the peers really are gone).
	lonePending bool
	// checkTimer is the eviction check's (armed from the first join on,
	// re-armed by each check until Stop); joinTimer a failed join's retry.
	// Two fields: the retry once overwrote the check timer's, and Stop
	// stopped only the retry, leaving the check timer armed past Stop.
	checkTimer clock.Timer
	joinTimer  clock.Timer
	subs       []subscriber
}

func (a *memberActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *joinedMsg:
		a.onJoined(ctx, msg)
	case *topologyMsg:
		a.onTopology(msg)
	case *checkDue:
		a.onCheckDue(ctx)
	case *evidenceMsg:
		a.checking = false
		if a.state == Leaving {
			a.maybeLeft() // the check was the last thing running
			return
		}
		if msg.number != a.number || a.inc == nil || (a.state != Joined && a.state != Joining) {
			return
		}
		ev := msg.ev
		ev.Since = a.since
		ev.EvictAfter = a.cfg.EvictAfter
		a.trackUnseen(ev)
		ev.Unseen = a.unseen
		a.live, a.blocked = ev.LivePeers, ev.Blocked
		a.warnPeers(ev) // peers_warn.go
		if reason := Diagnose(ev); reason != "" {
			a.evict(ctx, reason)
			return
		}
		if a.lonePending && a.state == Joined && !a.liveOthers() {
			a.lonePending = false
			a.publishView()
		}
		a.settle()
	case *ownKeyDeletedMsg:
		if msg.number == a.number && a.inc != nil && (a.state == Joined || a.state == Joining) {
			a.evict(ctx, Diagnose(Evidence{OwnKeyDeleted: true}))
		}
	case *detachedMsg:
		if a.state == Rejoining && a.joining == 0 && a.inc == nil {
			a.startJoin(ctx)
		}
	case *joinDue:
		if a.state == Rejoining && a.joining == 0 && a.inc == nil {
			a.startJoin(ctx)
		}
	case *closedMsg:
		a.closing--
		a.maybeLeft()
	case *subscribeMsg:
		s := subscriber{sender: msg.sender, pid: msg.pid}
		a.subs = append(a.subs, s)
		s.sender.Send(s.pid, &Changed{View: a.m.View()})
	case *stopMsg:
		a.onStop()
	}
}

// to changes the state through the transition table.
func (a *memberActor) to(s State) {
	if !canTransition(a.state, s) {
		a.log.WithFields(logrus.Fields{"from": a.state, "to": s}).Error("illegal membership transition (bug): ignored")
		return
	}
	a.log.WithFields(logrus.Fields{"from": a.state, "to": s, "incarnation": a.number}).Debug("membership state")
	a.state = s
}

func (a *memberActor) onJoined(ctx actor.Context, msg *joinedMsg) {
	if ctx.Sender() != nil {
		ctx.Respond(true) // the first join, made by Start
	}
	a.joining--
	switch {
	case a.state == Leaving:
		if msg.inc != nil {
			a.teardown(ctx, msg.inc)
		}
		a.maybeLeft()
		return
	case msg.err != nil:
		a.to(Rejoining)
		a.log.WithError(msg.err).WithField("incarnation", msg.number).Warn("cluster join failed; retrying in 1s")
		a.publish(&Changed{View: a.snapshot(), Reason: "join failed: " + msg.err.Error()})
		self := ctx.Self()
		root := a.m.host.Root
		a.joinTimer = a.cfg.Clock.AfterFunc(time.Second, func() { root.Send(self, &joinDue{}) })
		return
	}
	a.inc = msg.inc
	a.self = msg.inc.memberID()
	a.members, a.published, a.live, a.blocked, a.lonePending = nil, nil, msg.live, nil, false
	a.since = map[string]time.Time{}
	a.unseen = map[string]time.Time{}
	a.log.WithFields(logrus.Fields{"member": a.inc.memberID(), "incarnation": a.number, "address": a.inc.system.Address()}).Info("registered in cluster " + a.cfg.Cluster)
	if a.pending != nil {
		t := a.pending
		a.pending = nil
		a.applyTopology(t)
	}
	a.settle()
	if a.checkTimer == nil {
		a.armCheck(ctx)
	}
}

// covered reports whether the view holds every live, unblocked member the
// provider lists.
func (a *memberActor) covered() bool {
	in := map[string]bool{a.self: true}
	for _, mb := range a.members {
		in[mb.ID] = true
	}
	for _, id := range a.live {
		if !in[id] && !a.blocked[id] {
			return false
		}
	}
	return true
}

// settle turns a registered incarnation Joined once its view is covered:
// a first topology that lacks live members is not reported, so a member
// never presents itself as alone (or short) while the others run. If the
// provider never adds them, the missed-join sign rejoins after EvictAfter.
func (a *memberActor) settle() {
	if a.state != Joining || a.inc == nil || !a.covered() {
		return
	}
	a.to(Joined)
	a.log.WithFields(logrus.Fields{"member": a.self, "incarnation": a.number, "members": len(a.members)}).Info("joined cluster " + a.cfg.Cluster)
	a.publishView()
}

func (a *memberActor) onTopology(msg *topologyMsg) {
	if msg.number != a.number {
		return // an old incarnation's late topology
	}
	switch {
	case a.state == Joining && a.inc == nil:
		a.pending = msg.topology // published during StartMember, before joinedMsg
	case a.state == Joining:
		a.applyTopology(msg.topology)
		a.settle()
	case a.state == Joined:
		a.applyTopology(msg.topology)
	}
}

// applyTopology turns a protoactor topology into the view; when Joined, it
// tells the subscribers what changed.
func (a *memberActor) applyTopology(t *cluster.ClusterTopology) {
	now := time.Now()
	a.members = membersFrom(t.GetMembers())
	since := map[string]time.Time{}
	for _, mb := range a.members {
		if mb.ID == a.self {
			continue
		}
		if s, ok := a.since[mb.ID]; ok {
			since[mb.ID] = s
		} else {
			since[mb.ID] = now
		}
	}
	a.since = since
	if a.state != Joined {
		return
	}
	if len(a.members) <= 1 && a.liveOthers() {
		a.lonePending = true // the next check decides: evicted, or really alone
		return
	}
	a.lonePending = false
	a.publishView()
}

// liveOthers reports whether the latest evidence lists a live member other
// than this one.
func (a *memberActor) liveOthers() bool {
	for _, id := range a.live {
		if id != a.self {
			return true
		}
	}
	return false
}

// publishView publishes the current members with what joined and left since
// the last publication of this incarnation.
func (a *memberActor) publishView() {
	old := map[string]bool{}
	for _, mb := range a.published {
		old[mb.ID] = true
	}
	now := map[string]bool{}
	var joined, left []Member
	for _, mb := range a.members {
		now[mb.ID] = true
		if !old[mb.ID] {
			joined = append(joined, mb)
		}
	}
	for _, mb := range a.published {
		if !now[mb.ID] {
			left = append(left, mb)
		}
	}
	a.published = a.members
	a.publish(&Changed{View: a.snapshot(), Joined: joined, Left: left})
}

// trackUnseen updates, from a check's evidence, since when each live and
// unblocked member the provider lists has been missing from the view.
func (a *memberActor) trackUnseen(ev Evidence) {
	inView := map[string]bool{}
	for _, mb := range a.members {
		inView[mb.ID] = true
	}
	next := map[string]time.Time{}
	for _, id := range ev.LivePeers {
		if id == ev.Self || inView[id] || ev.Blocked[id] {
			continue
		}
		if s, ok := a.unseen[id]; ok {
			next[id] = s
		} else {
			next[id] = ev.Now
		}
	}
	a.unseen = next
}

// snapshot builds the view for the current state and stores it.
func (a *memberActor) snapshot() View {
	v := View{Cluster: a.cfg.Cluster, Incarnation: a.number, State: a.state, Members: []Member{}, Self: a.self}
	if a.state == Joined {
		v.Members = append(v.Members, a.members...)
	}
	a.m.view.Store(&v)
	return v
}

func (a *memberActor) publish(c *Changed) {
	for _, s := range a.subs {
		s.sender.Send(s.pid, c)
	}
}

func (a *memberActor) armCheck(ctx actor.Context) {
	self := ctx.Self()
	root := a.m.host.Root
	a.checkTimer = a.cfg.Clock.AfterFunc(a.cfg.CheckInterval, func() { root.Send(self, &checkDue{}) })
}

func (a *memberActor) onCheckDue(ctx actor.Context) {
	if a.state == Leaving || a.state == Left {
		return
	}
	a.armCheck(ctx)
	if a.inc == nil || (a.state != Joined && a.state != Joining) || a.checking {
		return
	}
	a.checking = true
	inc, self, root := a.inc, ctx.Self(), a.m.host.Root
	a.m.wg.Add(1)
	go func() { // owner: the Membership; Stop waits for it
		defer a.m.wg.Done()
		ev := inc.evidence(a.m.quit)
		ev.Now = time.Now()
		root.Send(self, &evidenceMsg{number: inc.number, ev: ev})
	}()
}

// evict tears the current incarnation down and, once it let go of its
// ports, joins again with a new member ID.
func (a *memberActor) evict(ctx actor.Context, reason string) {
	a.log.WithFields(logrus.Fields{"member": a.inc.memberID(), "incarnation": a.number}).Warn("evicted from cluster " + a.cfg.Cluster + ": " + reason + "; rejoining under a new member ID")
	if a.peerWarn != "" {
		a.log.Warn("cluster " + a.cfg.Cluster + ": " + a.peerWarn) // the likely cause of the eviction
	}
	old := a.inc
	a.inc = nil
	a.to(Rejoining)
	v := a.snapshot()
	a.publish(&Changed{View: v, Reason: reason})
	a.teardown(ctx, old)
}

// teardown detaches and closes inc in a goroutine; detachedMsg says its
// ports are free, closedMsg that it is gone.
func (a *memberActor) teardown(ctx actor.Context, inc *incarnation) {
	a.closing++
	self, root := ctx.Self(), a.m.host.Root
	a.m.wg.Add(1)
	go func() { // owner: the Membership; Stop waits for it
		defer a.m.wg.Done()
		inc.detach()
		root.Send(self, &detachedMsg{number: inc.number})
		inc.close()
		root.Send(self, &closedMsg{number: inc.number})
	}()
}

func (a *memberActor) startJoin(ctx actor.Context) {
	a.to(Joining)
	a.number++
	a.joining++
	a.pending = nil
	a.snapshot()
	number, self, root := a.number, ctx.Self(), a.m.host.Root
	a.m.wg.Add(1)
	go func() { // owner: the Membership; Stop waits for it
		defer a.m.wg.Done()
		inc, err := a.m.join(number, 0)
		var live []string
		if err == nil {
			live = inc.livePeers(a.m.quit)
		}
		root.Send(self, &joinedMsg{number: number, inc: inc, live: live, err: err})
	}()
}

func (a *memberActor) onStop() {
	if a.state == Leaving || a.state == Left {
		return
	}
	a.to(Leaving)
	a.m.quitCancel()
	for _, t := range []clock.Timer{a.checkTimer, a.joinTimer} {
		if t != nil {
			t.Stop()
		}
	}
	a.snapshot()
	if a.inc != nil {
		old := a.inc
		a.inc = nil
		a.closing++
		self, root := a.m.pid, a.m.host.Root
		a.m.wg.Add(1)
		go func() { // owner: the Membership; Stop waits for it
			defer a.m.wg.Done()
			old.detach()
			old.close()
			root.Send(self, &closedMsg{number: old.number})
		}()
	}
	a.maybeLeft()
}

// maybeLeft enters Left once Leaving and nothing is in flight: no join, no
// teardown, no check (a check's goroutine ends by sending evidenceMsg), so
// that Stop, which waits for Left with its ctx, returns with nothing of the
// Membership running, or with ctx's error.
func (a *memberActor) maybeLeft() {
	if a.state != Leaving || a.joining > 0 || a.closing > 0 || a.inc != nil || a.checking {
		return
	}
	a.to(Left)
	v := a.snapshot()
	a.publish(&Changed{View: v, Reason: "stopped"})
	close(a.m.done) // sole sender: the Membership actor, once, on entering the terminal state Left
}
