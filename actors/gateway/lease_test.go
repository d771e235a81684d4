package gateway_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// spawnLeased spawns a sleeper with lease as call callID, settled through
// handed as a client of this release does, and returns its ID.
func (f *fixture) spawnLeased(t *testing.T, callID uint64) string {
	t.Helper()
	return f.spawnLeasedKind(t, callID, "sleeper")
}

// spawnLeasedKind is spawnLeased for a runner of kind.
func (f *fixture) spawnLeasedKind(t *testing.T, callID uint64, kind string) string {
	t.Helper()
	f.send(&exov1.GwSpawnRunner{CallId: callID, Kind: kind, Settle: true, HandOff: true, Lease: true})
	sp, ok := f.next(t).(*exov1.GwRunnerSpawned)
	if !ok || sp.GetCallId() != callID {
		t.Fatalf("leased spawn %d: got %T %v", callID, sp, sp)
	}
	f.send(&exov1.GwSpawnSettle{SpawnCallId: callID, Learned: true, CallId: callID + 1000})
	if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok {
		t.Fatalf("settle: got %T %v", m, m)
	}
	f.send(&exov1.GwSpawnSettle{SpawnCallId: callID, Learned: true, Handed: true})
	return sp.GetRunnerId()
}

// waitAllStopped waits for the RunnerStopped events of every runner in ids.
func waitAllStopped(t *testing.T, sub *streams.Subscription, ids map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for len(ids) > 0 {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("runners not stopped: %v: %v", ids, err)
		}
		if ev.Kind == actors.KindRunnerStopped {
			delete(ids, ev.RunnerID)
		}
	}
}

// TestLeasedRunnersEndWithTheSession: a runner spawned with lease lives as
// long as its client's session. A client that cannot stop its runners (an
// operator's trial: a remote run whose node was frozen past its session
// timeout and resumed kept a live runner nobody owned, counted against its
// kind's max_runners) leaves none: the session's end, by a goodbye, the
// client's loss or the gateway's own stop, stops its leased runners, even
// one still handing (it is not named as possibly known to nobody: it is
// stopped); runners spawned without lease stay, as before.
func TestLeasedRunnersEndWithTheSession(t *testing.T) {
	for _, end := range []struct {
		name string
		end  func(f *fixture)
	}{
		{"goodbye", func(f *fixture) { f.send(&exov1.GwBye{}) }},
		{"client lost", func(f *fixture) { f.node.System().Root.Stop(f.probe) }},
		{"gateway closed", func(f *fixture) { f.gw.Close() }},
	} {
		t.Run(end.name, func(t *testing.T) {
			f := sleeperFixture(t)
			if w := f.hello(t); !w.GetRunnerLease() {
				t.Fatal("the welcome does not offer runner_lease")
			}
			sub := f.runnerStatus(t)
			leased := f.spawnLeased(t, 2)
			// Learned, not handed yet: handing, which a lost client's end
			// would name; leased, it is stopped instead.
			f.send(&exov1.GwSpawnRunner{CallId: 3, Kind: "sleeper", Settle: true, HandOff: true, Lease: true})
			handing := f.next(t).(*exov1.GwRunnerSpawned).GetRunnerId()
			f.send(&exov1.GwSpawnSettle{SpawnCallId: 3, Learned: true, CallId: 30})
			if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok {
				t.Fatalf("settle: got %T %v", m, m)
			}
			kept := f.spawnSleeper(t, 4, false)
			end.end(f)
			waitAllStopped(t, sub, map[string]string{leased: "leased", handing: "leased, handing"})
			if live := liveRunners(t, f); !live[kept] {
				t.Errorf("live runners %v: want %s (not leased) kept", live, kept)
			}
			// Past HandGrace a handing runner of a lost client would be named.
			deadline := time.Now().Add(gateway.HandGrace + 500*time.Millisecond)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for time.Now().Before(deadline) {
				if n := f.gw.Stats().SpawnsUnconfirmed; n != 0 {
					t.Fatalf("%d spawns named unconfirmed: a leased runner is stopped, not named", n)
				}
				<-tick.C
			}
		})
	}
}

// TestLeaseOutlivesAHelloAgain: a client that says hello again goes on
// (its welcome was lost, say): its leased runners are its new session's,
// stopped at that session's end, not at the old one's.
func TestLeaseOutlivesAHelloAgain(t *testing.T) {
	f := sleeperFixture(t)
	f.hello(t)
	sub := f.runnerStatus(t)
	leased := f.spawnLeased(t, 2)
	f.send(&exov1.GwHello{CallId: 50, ClientName: "again"})
	if w, ok := f.next(t).(*exov1.GwWelcome); !ok {
		t.Fatalf("hello again: got %T %v", w, w)
	}
	// An unsettled marker: its stop says the old session's end was handled.
	marker := f.spawnSleeper(t, 3, true)
	f.send(&exov1.GwHello{CallId: 51, ClientName: "again"})
	if w, ok := f.next(t).(*exov1.GwWelcome); !ok {
		t.Fatalf("hello again: got %T %v", w, w)
	}
	waitStopped(t, sub, marker, "unsettled when its session ended")
	if live := liveRunners(t, f); !live[leased] {
		t.Fatalf("live runners %v: the leased %s was stopped by a hello again", live, leased)
	}
	f.send(&exov1.GwBye{})
	waitStopped(t, sub, leased, "leased, its session ended by a goodbye")
}

// TestLeasedRunnersAreBounded: a session holds at most
// Config.MaxLeasedRunners live leased runners: one more leased spawn is
// refused with ErrLimit and spawns nothing; a leased runner ended by
// someone else (another client's stop) no longer counts; its client's own
// stop ends the lease at once.
func TestLeasedRunnersAreBounded(t *testing.T) {
	f := sleeperFixture(t, func(c *gateway.Config) { c.MaxLeasedRunners = 2 })
	f.hello(t)
	a := f.spawnLeased(t, 2)
	b := f.spawnLeased(t, 4)
	f.send(&exov1.GwSpawnRunner{CallId: 6, Kind: "sleeper", Lease: true})
	wantError(t, f.next(t), 6, gateway.ErrLimit, "this client holds 2 live leased runners, the node's limit; stop one first")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := f.node.StopRunner(ctx, a); err != nil { // someone else's stop
		t.Fatal(err)
	}
	c := f.spawnLeased(t, 8)
	f.send(&exov1.GwStopRunner{CallId: 10, RunnerId: b}) // its own stop
	if m, ok := f.next(t).(*exov1.GwRunnerStopped); !ok {
		t.Fatalf("stop: got %T %v", m, m)
	}
	d := f.spawnLeased(t, 12)
	if live := liveRunners(t, f); len(live) != 2 || !live[c] || !live[d] {
		t.Errorf("live runners %v: want %s and %s", live, c, d)
	}
}

// slowLeasedFixture starts a fixture with the kind "slow" (the built-in
// runner, 10 ms a token) whose node config editNode changes, says hello,
// spawns a leased runner of it and submits an endless task, and returns
// once the task streams, with a subscription to the runners' statuses.
func slowLeasedFixture(t *testing.T, editNode func(*actors.NodeConfig)) (f *fixture, leased string, status *streams.Subscription) {
	t.Helper()
	f = newFixtureNode(t, editNode, func(c *gateway.Config) {
		c.Kinds["slow"] = gateway.Kind{Spec: actors.RunnerSpec{Kind: "slow", Builtin: true, Args: []string{"--token-delay", "10ms"}}}
	})
	f.hello(t)
	status = f.runnerStatus(t)
	tasks, err := f.node.Subscribe(streams.TopicTasks, streams.Filter{TaskID: "endless"}, streams.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tasks.Close()
	leased = f.spawnLeasedKind(t, 2, "slow")
	f.send(&exov1.GwSubmit{CallId: 10, RunnerId: leased, TaskId: "endless", Kind: "text_generation",
		Params: map[string]string{"max_tokens": "1000000"}}) // 10 ms a token: hours
	if m, ok := f.next(t).(*exov1.GwSubmitted); !ok {
		t.Fatalf("submit: got %T %v", m, m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for { // streaming: a stop now drains it
		ev, err := tasks.Next(ctx)
		if err != nil {
			t.Fatalf("the task never streamed: %v", err)
		}
		if ev.Kind == actors.KindTaskChunk {
			if c, ok := ev.Payload.(*actors.TaskChunk); ok && c.Chunk.GetError() != nil {
				t.Fatalf("the task failed: %v", c.Chunk)
			}
			return f, leased, status
		}
	}
}

// TestLostClientsTasksOnItsLeasedRunnerAreCancelled: a lost client's own
// open tasks on its leased runners are cancelled before their stop (nobody
// will read their outcomes); the stop would otherwise drain them for up to
// timeouts.stop_drain (30 s: a resumed frozen node's leased runner was
// stopped only once its dead client's tasks had streamed to their end).
func TestLostClientsTasksOnItsLeasedRunnerAreCancelled(t *testing.T) {
	f, leased, status := slowLeasedFixture(t, func(*actors.NodeConfig) {})
	f.node.System().Root.Stop(f.probe) // the client lost
	waitStopped(t, status, leased, "leased, its client lost: its endless task cancelled, not drained for timeouts.stop_drain (30 s)")
}

// TestARefusedStopKeepsTheLease: a GwStopRunner the gateway refuses (too
// many calls of this client in flight) stops nothing, so the runner stays
// leased and the session's end stops it. Before, the lease was dropped as
// the request came, and the runner outlived the session.
func TestARefusedStopKeepsTheLease(t *testing.T) {
	f := newFixtureNode(t, func(c *actors.NodeConfig) {
		c.Timeouts = actors.RunnerTimeouts{Handshake: time.Minute, StopGrace: 50 * time.Millisecond, TermWait: time.Second}
	}, func(c *gateway.Config) {
		c.MaxCallsPerSession = 1
		// Ignores SIGTERM: each stop takes TermWait (1 s), so the first
		// stop is still in flight when the second request comes.
		c.Kinds["sleeper"] = gateway.Kind{Spec: actors.RunnerSpec{Kind: "sleeper", Command: "/bin/sh", Args: []string{"-c", `trap "" TERM; sleep 300`}}}
	})
	f.hello(t)
	sub := f.runnerStatus(t)
	a := f.spawnLeased(t, 2)
	b := f.spawnLeased(t, 4)
	f.send(&exov1.GwStopRunner{CallId: 10, RunnerId: a})
	f.send(&exov1.GwStopRunner{CallId: 11, RunnerId: b})
	for range 2 {
		switch m := f.next(t).(type) {
		case *exov1.GwError:
			if m.GetCallId() != 11 {
				t.Fatalf("error for call %d: %v", m.GetCallId(), m)
			}
			wantError(t, m, 11, gateway.ErrLimit, "calls of this client in flight")
		case *exov1.GwRunnerStopped:
			if m.GetCallId() != 10 {
				t.Fatalf("stopped for call %d", m.GetCallId())
			}
		default:
			t.Fatalf("got %T %v", m, m)
		}
	}
	f.send(&exov1.GwBye{})
	waitAllStopped(t, sub, map[string]string{a: "stopped by its client", b: "its stop refused: still leased, stopped at the goodbye"})
}

// TestGatewayCloseCancelsTheLeasedRunnersTasks: an embedded Server.Close
// (the gateway stops, the System goes on) stops the leased runners of its
// sessions, cancelling their clients' tasks first: the forwarders are cut
// off by then, so nobody reads those outcomes, and the stop would drain
// them (here for an hour) while Close waited.
func TestGatewayCloseCancelsTheLeasedRunnersTasks(t *testing.T) {
	f, leased, status := slowLeasedFixture(t, func(c *actors.NodeConfig) { c.Timeouts = actors.RunnerTimeouts{StopDrain: time.Hour} })
	closed := make(chan struct{})
	go func() { // owner: this test, which waits on closed
		defer close(closed) // sole sender: this goroutine
		f.gw.Close()
	}()
	waitStopped(t, status, leased, "leased, the gateway closed: its client's task cancelled, not drained for an hour")
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Close did not return after the leased runner stopped")
	}
}

// TestAStopByAnotherClientEndsTheLease: a leased runner another client
// stops is no longer its session's to stop: the session's end does not
// stop (and warn of) it a second time, also when its spawn was not
// settled yet.
func TestAStopByAnotherClientEndsTheLease(t *testing.T) {
	logger, hook := logtest.NewNullLogger()
	f := sleeperFixture(t, func(c *gateway.Config) { c.Logger = logger })
	f.hello(t)
	leased := f.spawnLeased(t, 2)
	f.send(&exov1.GwSpawnRunner{CallId: 3, Kind: "sleeper", Settle: true, HandOff: true, Lease: true})
	unsettled := f.next(t).(*exov1.GwRunnerSpawned).GetRunnerId()
	owner := f.probe
	f.newProbe() // another client
	f.hello(t)
	for i, id := range []string{leased, unsettled} {
		f.send(&exov1.GwStopRunner{CallId: uint64(5 + i), RunnerId: id})
		if m, ok := f.next(t).(*exov1.GwRunnerStopped); !ok {
			t.Fatalf("stop of %s by another client: got %T %v", id, m, m)
		}
	}
	f.node.System().Root.Send(owner, &sendVia{&exov1.GwBye{}})
	pollUntil(t, "the owner's goodbye ends its session", func() bool { return f.gw.Stats().SessionsBye >= 1 })
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "stopping runner "+leased) || strings.Contains(e.Message, "stopping runner "+unsettled) {
			t.Errorf("the owner's session end stopped a runner again: %q", e.Message)
		}
	}
}

// TestAGoodbyeDuringCloseCancelsTheLeasedRunnersTasks: a goodbye that
// comes while Close waits for the forwarders (cut off, so nobody reads the
// tasks) cancels the client's tasks on its leased runners before their
// stop, as the gateway's own stop does; a review's run had Close wait 60 s
// on the drain of such a stop. A submit then is refused before it reaches
// the node.
func TestAGoodbyeDuringCloseCancelsTheLeasedRunnersTasks(t *testing.T) {
	cut := make(chan struct{}, 1)
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) } // sole sender: unblock, once (releaseOnce)
	defer gateway.SetLastWordHookForTest(func(*actors.TaskHandle) {
		cut <- struct{}{} // one task, one forwarder: fires once
		<-release
	})()
	f, leased, status := slowLeasedFixture(t, func(c *actors.NodeConfig) { c.Timeouts = actors.RunnerTimeouts{StopDrain: time.Hour} })
	t.Cleanup(unblock) // after the fixture's, so it runs before its Close, had the test failed first
	closed := make(chan struct{})
	go func() { // owner: this test, which waits on closed
		defer close(closed) // sole sender: this goroutine
		f.gw.Close()
	}()
	<-f.gw.ClosingForTest()
	select {
	case <-cut: // Close is waiting for this forwarder
	case <-time.After(wait):
		t.Fatal("Close did not cut the task's forwarder off")
	}
	// A task submitted now is refused before it reaches the node (it was
	// submitted, then cancelled).
	f.send(&exov1.GwSubmit{CallId: 20, RunnerId: leased, TaskId: "late", Kind: "noop"})
	for { // past the endless task's events
		m := f.next(t)
		if c, ok := m.(interface{ GetCallId() uint64 }); ok && c.GetCallId() == 20 {
			wantError(t, m, 20, actors.ErrShuttingDown, `closes its gateway; task "late" was not submitted`)
			break
		}
	}
	f.send(&exov1.GwBye{})
	waitStopped(t, status, leased, "leased, its client said goodbye during Close: its task cancelled, not drained for an hour")
	unblock()
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Close did not return")
	}
}
