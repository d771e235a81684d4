package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// sleeperFixture is a fixture with the kind "sleeper" (/bin/sleep 300, a
// runner that never says hello: its tasks stay open, queued, and it stops
// within its short stop waits), and the gateway config edits change.
func sleeperFixture(t *testing.T, edits ...func(*gateway.Config)) *fixture {
	t.Helper()
	return newFixtureNode(t, func(c *actors.NodeConfig) {
		c.Timeouts = actors.RunnerTimeouts{Handshake: time.Minute, StopGrace: 50 * time.Millisecond, TermWait: time.Second}
	}, func(c *gateway.Config) {
		c.Kinds["sleeper"] = gateway.Kind{Spec: actors.RunnerSpec{Kind: "sleeper", Command: "/bin/sleep", Args: []string{"300"}}}
		for _, edit := range edits {
			edit(c)
		}
	})
}

// spawnSleeper spawns a sleeper as call callID, with settle as given, and
// returns its ID.
func (f *fixture) spawnSleeper(t *testing.T, callID uint64, settle bool) string {
	t.Helper()
	f.send(&exov1.GwSpawnRunner{CallId: callID, Kind: "sleeper", Settle: settle})
	sp, ok := f.next(t).(*exov1.GwRunnerSpawned)
	if !ok || sp.GetCallId() != callID {
		t.Fatalf("spawn %d: got %T %v", callID, sp, sp)
	}
	return sp.GetRunnerId()
}

// waitStopped waits for the RunnerStopped event of runner id on sub.
func waitStopped(t *testing.T, sub *streams.Subscription, id, why string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("runner %s (%s) was not stopped: %v", id, why, err)
		}
		if ev.Kind == actors.KindRunnerStopped && ev.RunnerID == id {
			return
		}
	}
}

// liveRunners returns the runners of f's node that no stop has reached.
func liveRunners(t *testing.T, f *fixture) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	infos, err := f.node.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for _, ri := range infos {
		switch ri.Status.GetKind() {
		case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN,
			exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED:
		default:
			live[ri.ID] = true
		}
	}
	return live
}

// TestSpawnGivenUpIsStopped: a spawn with settle whose client says it
// gave up (GwSpawnSettle, not learned: its caller's ctx ended while the
// request was in flight) is stopped by the node; one whose client learned
// the ID stays. Before, nothing told the node, and the runner ran on with
// nobody knowing its ID.
func TestSpawnGivenUpIsStopped(t *testing.T) {
	f := sleeperFixture(t)
	if w := f.hello(t); !w.GetSpawnSettle() {
		t.Fatal("the welcome does not offer spawn_settle")
	}
	sub := f.runnerStatus(t)
	kept := f.spawnSleeper(t, 2, true)
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, CallId: 10})
	if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok || m.GetCallId() != 10 {
		t.Fatalf("settle with a call_id: got %T %v, want GwSpawnSettled of call 10", m, m)
	}
	given := f.spawnSleeper(t, 3, true)
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 3})
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 99}) // no such spawn: ignored
	waitStopped(t, sub, given, "its spawn was given up")
	if live := liveRunners(t, f); !live[kept] || live[given] {
		t.Errorf("live runners %v: want %s (learned) and not %s (given up)", live, kept, given)
	}
}

// TestSessionEndStopsUnsettledSpawns: when a client's session ends (its
// goodbye, a new hello, or the client lost) with a spawn it marked
// with settle still unsettled, the node stops that runner: its client
// never said it learned the ID. Settled runners, and those spawned
// without settle (older clients), stay: a client may leave the runners it
// knows running.
func TestSessionEndStopsUnsettledSpawns(t *testing.T) {
	for _, end := range []struct {
		name string
		send func(f *fixture)
	}{
		{"goodbye", func(f *fixture) { f.send(&exov1.GwBye{}) }},
		{"hello again", func(f *fixture) { f.send(&exov1.GwHello{CallId: 50, ClientName: "again"}) }},
		// Lost: the client's session actor is gone (the gateway watches it;
		// a killed client process ends its session the same way, by its
		// endpoint's termination or its silence).
		{"client lost", func(f *fixture) { f.node.System().Root.Stop(f.probe) }},
	} {
		t.Run(end.name, func(t *testing.T) {
			f := sleeperFixture(t)
			f.hello(t)
			sub := f.runnerStatus(t)
			settled := f.spawnSleeper(t, 2, true)
			f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, CallId: 5})
			if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok {
				t.Fatalf("settle: got %T %v", m, m)
			}
			old := f.spawnSleeper(t, 3, false)
			unsettled := f.spawnSleeper(t, 4, true)
			end.send(f)
			waitStopped(t, sub, unsettled, "unsettled when its session ended")
			if live := liveRunners(t, f); !live[settled] || !live[old] || live[unsettled] {
				t.Errorf("live runners %v: want %s (settled) and %s (no settle), not %s (unsettled)", live, settled, old, unsettled)
			}
		})
	}
}

// TestUnsettledSpawnsAreBounded: a session's unsettled spawns are bounded
// (Config.MaxUnsettledSpawns): one more spawn with settle is refused with
// ErrLimit and spawns nothing; once one is settled, spawns go on; a spawn
// without settle is not counted.
func TestUnsettledSpawnsAreBounded(t *testing.T) {
	f := sleeperFixture(t, func(c *gateway.Config) {
		c.MaxUnsettledSpawns = 2
	})
	f.hello(t)
	f.spawnSleeper(t, 2, true)
	f.spawnSleeper(t, 3, true)
	f.send(&exov1.GwSpawnRunner{CallId: 4, Kind: "sleeper", Settle: true})
	wantError(t, f.next(t), 4, gateway.ErrLimit, "2 spawns of this client not settled yet (GwSpawnSettle), the node's limit")
	f.spawnSleeper(t, 5, false)
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, CallId: 6})
	if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok {
		t.Fatalf("settle: got %T %v", m, m)
	}
	f.spawnSleeper(t, 7, true)
	if n := len(liveRunners(t, f)); n != 4 {
		t.Errorf("%d live runners, want 4 (the refused spawn started none)", n)
	}
}

// TestGatewayCloseStopsUnsettledSpawns: an embedded Server.Close stops the
// gateway but not the System; a spawn still unsettled then, and one given
// up just before it, are stopped like at any session's end. Before, the
// gateway skipped them once its own ctx was cancelled (it took that for
// the node's shutdown), and a give-up's stop used that ctx too: both
// runners stayed, with nobody knowing their IDs.
func TestGatewayCloseStopsUnsettledSpawns(t *testing.T) {
	f := sleeperFixture(t)
	f.hello(t)
	sub := f.runnerStatus(t)
	unsettled := f.spawnSleeper(t, 2, true)
	given := f.spawnSleeper(t, 3, true)
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 3})
	f.gw.Close()
	waitAllStopped(t, sub, map[string]string{unsettled: "unsettled when the gateway closed", given: "given up just before"})
}

// TestHandingSpawnOfALostClientIsNamed: a spawn with hand_off whose
// learned settle came is handing until the client's handed settle. A
// client lost before then may have left a runner nobody knows (a soak's
// client killed while the GwSpawnSettled was on its way: 14 of 39 clients
// killed during SpawnRunner left one), or may have handed the ID over in
// the moment before it died (remote run prints it): the node cannot tell,
// so it keeps the runner and, once HandGrace has passed without the note,
// names it in a warning and counts it (Stats.SpawnsUnconfirmed). A note
// that comes after the lost session ended (the node learns of a dead
// client on another connection than the one its note travels on) still
// counts; a goodbye (a Client closed during the wait returns the ID all
// the same) names nothing; the gateway's own stop names at once (no tick
// will come); a client without hand_off (an older one) is settled at
// learned, as before.
func TestHandingSpawnOfALostClientIsNamed(t *testing.T) {
	lose := func(f *fixture) { f.node.System().Root.Stop(f.probe) }
	bye := func(f *fixture) { f.send(&exov1.GwBye{}) }
	closeGW := func(f *fixture) { f.gw.Close() }
	for _, tc := range []struct {
		name         string
		handOff      bool
		learned      bool
		handed       bool
		end          func(f *fixture)
		lateHanded   bool // the handed note after the session ended as lost
		graceControl bool // a handing spawn without a note: named once the grace is over
		unconfirmed  int  // Stats.SpawnsUnconfirmed at the end
	}{
		{"lost before handed", true, true, false, lose, false, false, 1},
		{"lost after handed", true, true, true, lose, false, true, 1},
		{"lost, handed note after the session ended", true, true, false, lose, true, true, 1},
		{"goodbye before handed", true, true, false, bye, false, false, 0},
		{"handed without learned, then goodbye", true, false, true, bye, false, false, 0},
		{"gateway closed before handed", true, true, false, closeGW, false, false, 1},
		{"lost, no hand_off", false, true, false, lose, false, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := sleeperFixture(t)
			if w := f.hello(t); !w.GetSpawnHandOff() {
				t.Fatal("the welcome does not offer spawn_hand_off")
			}
			sub := f.runnerStatus(t)
			spawn := func(callID uint64, handOff, learned bool) string {
				f.send(&exov1.GwSpawnRunner{CallId: callID, Kind: "sleeper", Settle: true, HandOff: handOff})
				sp, ok := f.next(t).(*exov1.GwRunnerSpawned)
				if !ok {
					t.Fatalf("spawn: got %T %v", sp, sp)
				}
				if learned {
					f.send(&exov1.GwSpawnSettle{SpawnCallId: callID, Learned: true, CallId: callID + 100})
					if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok {
						t.Fatalf("settle: got %T %v", m, m)
					}
				}
				return sp.GetRunnerId()
			}
			kept := []string{spawn(2, tc.handOff, tc.learned)}
			if tc.handed {
				f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, Handed: true})
			}
			if tc.graceControl {
				kept = append(kept, spawn(3, true, true))
			}
			// A marker spawn, unsettled: stopped at every session end, so
			// its stop says the end has been handled.
			marker := f.spawnSleeper(t, 4, true)
			tc.end(f)
			waitStopped(t, sub, marker, "unsettled when its session ended")
			if tc.lateHanded {
				f.node.System().Root.RequestWithCustomSender(f.gw.PID(), &exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, Handed: true}, f.probe)
			}
			tick := time.NewTicker(20 * time.Millisecond) // the gateway announces nothing: poll its count
			defer tick.Stop()
			deadline := time.Now().Add(wait)
			for f.gw.Stats().SpawnsUnconfirmed < tc.unconfirmed {
				if time.Now().After(deadline) {
					t.Fatalf("stats %+v: want %d unconfirmed spawns named", f.gw.Stats(), tc.unconfirmed)
				}
				<-tick.C
			}
			if got := f.gw.Stats().SpawnsUnconfirmed; got != tc.unconfirmed {
				t.Errorf("%d unconfirmed spawns named; want %d", got, tc.unconfirmed)
			}
			if tc.name != "gateway closed before handed" {
				// A client that asks later (remote status) is told the count.
				f.newProbe()
				f.hello(t)
				f.send(&exov1.GwNodeStatus{CallId: 50})
				if st, ok := f.next(t).(*exov1.GwNodeStatusReply); !ok || int(st.GetSpawnsUnconfirmed()) != tc.unconfirmed {
					t.Errorf("node status %v: want spawns_unconfirmed %d", st, tc.unconfirmed)
				}
			}
			live := liveRunners(t, f)
			for _, id := range kept {
				if !live[id] {
					t.Errorf("runner %s (%s) was stopped; want it kept", id, tc.name)
				}
			}
		})
	}
}

// TestHandingSpawnsCountAgainstTheBound: a handing spawn counts toward
// Config.MaxUnsettledSpawns like an unsettled one, until its handed settle.
func TestHandingSpawnsCountAgainstTheBound(t *testing.T) {
	f := sleeperFixture(t, func(c *gateway.Config) { c.MaxUnsettledSpawns = 1 })
	f.hello(t)
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "sleeper", Settle: true, HandOff: true})
	if sp, ok := f.next(t).(*exov1.GwRunnerSpawned); !ok {
		t.Fatalf("spawn: got %T %v", sp, sp)
	}
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, CallId: 3})
	if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok {
		t.Fatalf("settle: got %T %v", m, m)
	}
	f.send(&exov1.GwSpawnRunner{CallId: 4, Kind: "sleeper", Settle: true, HandOff: true})
	wantError(t, f.next(t), 4, gateway.ErrLimit, "1 spawns of this client not settled yet")
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, Handed: true})
	f.spawnSleeper(t, 5, true)
}

// TestHandedSettleWithoutSessionIsAnswered: a GwSpawnSettle with handed
// and a call_id from a client without a session is answered "no session",
// as any settle with a call_id. Before, the gateway looked for a lost
// session's spawn, found none and said nothing: the caller waited out its
// whole call timeout (FuzzGatewayRequests, input 9a962769baafcbcc).
func TestHandedSettleWithoutSessionIsAnswered(t *testing.T) {
	f := newFixture(t)
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 0, Learned: false, Handed: true, CallId: 16})
	wantError(t, f.next(t), 16, gateway.ErrNoSession, "send GwHello first")
	// In a session, the same note is taken (a spawn it does not track is
	// ignored) and answered.
	f.hello(t)
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, Handed: true, CallId: 17})
	if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok || m.GetCallId() != 17 {
		t.Fatalf("got %T %v, want GwSpawnSettled of call 17", m, m)
	}
}

// TestSecondUnsettledSpawnOfACallIsRefused: a spawn with settle under the
// call_id of one not settled yet is refused (as a second open task per
// call is), and the first stays in the book: its GwSpawnSettle still
// settles it, and a client's end stops it if not. Before, the second
// replaced the first, which was then neither settled nor stopped (a fuzz
// helper's note).
func TestSecondUnsettledSpawnOfACallIsRefused(t *testing.T) {
	f := sleeperFixture(t)
	f.hello(t)
	first := f.spawnSleeper(t, 2, true)
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "sleeper", Settle: true})
	wantError(t, f.next(t), 2, gateway.ErrInvalidArgument, "call 2 already has a spawn not settled yet (runner "+first+"); use a new call_id per GwSpawnRunner")
	if live := liveRunners(t, f); len(live) != 1 || !live[first] {
		t.Errorf("live runners %v, want only the first spawn's %s", live, first)
	}
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, CallId: 3})
	if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok || m.GetCallId() != 3 {
		t.Fatalf("settle: got %T %v", m, m)
	}
	// Settled, the call_id may spawn again.
	if second := f.spawnSleeper(t, 2, true); second == first {
		t.Errorf("the second spawn got the first's ID %s", first)
	}
}

// TestSecondSpawnOfAHandingCallIsRefused: a spawn with settle under the
// call_id of one still handing (learned, its handed settle not come) is
// refused too. Before, it was taken, and its learned settle replaced the
// first in the handing book: a client lost then had only the second named
// and counted (SpawnsUnconfirmed 1 of 2), and one handed note for the
// call settled both.
func TestSecondSpawnOfAHandingCallIsRefused(t *testing.T) {
	f := sleeperFixture(t)
	f.hello(t)
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "sleeper", Settle: true, HandOff: true})
	first, ok := f.next(t).(*exov1.GwRunnerSpawned)
	if !ok {
		t.Fatalf("spawn: got %T %v", first, first)
	}
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, CallId: 3})
	if m, ok := f.next(t).(*exov1.GwSpawnSettled); !ok {
		t.Fatalf("settle: got %T %v", m, m)
	}
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "sleeper", Settle: true, HandOff: true})
	wantError(t, f.next(t), 2, gateway.ErrInvalidArgument, "call 2 already has a spawn not settled yet (runner "+first.GetRunnerId()+")")
	if live := liveRunners(t, f); len(live) != 1 || !live[first.GetRunnerId()] {
		t.Errorf("live runners %v, want only the first spawn's %s", live, first.GetRunnerId())
	}
	// Handed, the call_id may spawn again.
	f.send(&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, Handed: true})
	if second := f.spawnSleeper(t, 2, true); second == first.GetRunnerId() {
		t.Errorf("the second spawn got the first's ID %s", second)
	}
}
