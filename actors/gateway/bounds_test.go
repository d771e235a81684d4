package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestSubscribeRefusesHugeBufferOrWindow: a peer names the Buffer and the
// Window of its subscription; the node's stream keeps up to Buffer events
// for it and hands its relay up to Window at once. Beyond the node's
// bounds the request is refused with the bound, so no peer can make the
// node hold a stream's whole history for a subscriber that never reads.
func TestSubscribeRefusesHugeBufferOrWindow(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwSubscribe{CallId: 2, Topic: streams.TopicAlerts, Window: 1, Buffer: 1 << 30})
	wantError(t, f.next(t), 2, gateway.ErrInvalidArgument, "buffer of 1073741824 events")
	f.send(&exov1.GwSubscribe{CallId: 3, Topic: streams.TopicAlerts, Window: 1 << 30})
	wantError(t, f.next(t), 3, gateway.ErrInvalidArgument, "window of 1073741824 events")
	// At the bounds: served.
	f.send(&exov1.GwSubscribe{CallId: 4, Topic: streams.TopicAlerts, Window: gateway.MaxSubscribeWindow, Buffer: gateway.MaxSubscribeBuffer})
	if m, ok := f.next(t).(*exov1.GwSubscribed); !ok || m.GetCallId() != 4 {
		t.Fatalf("got %T %v, want GwSubscribed of call 4", m, m)
	}
}

// TestSubmitRefusesAnOpenCallID: a GwSubmit whose call_id is that of a
// task the session still has open is refused. Before, the gateway took it:
// the session's map of open tasks kept one entry for both (so the open
// tasks bound, MaxTasksPerSession, did not count the second), and each
// such request started one more forwarder goroutine; a peer repeating one
// call_id and one task ID (the node answers a known task ID with the first
// submission's handle) grew the node's goroutines without bound.
func TestSubmitRefusesAnOpenCallID(t *testing.T) {
	f := sleeperFixture(t, func(c *gateway.Config) {
		c.MaxTasksPerSession = 2
	})
	f.hello(t)
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "sleeper"})
	sp, ok := f.next(t).(*exov1.GwRunnerSpawned)
	if !ok {
		t.Fatalf("spawn: got %T %v", sp, sp)
	}
	id := sp.GetRunnerId()
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: id, TaskId: "a", Kind: "noop"})
	if m, ok := f.next(t).(*exov1.GwSubmitted); !ok || m.GetCallId() != 3 {
		t.Fatalf("first submit: got %T %v", m, m)
	}
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: id, TaskId: "a", Kind: "noop"})
	wantError(t, f.next(t), 3, gateway.ErrInvalidArgument, "call 3 already has an open task")
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: id, TaskId: "b", Kind: "noop"})
	wantError(t, f.next(t), 3, gateway.ErrInvalidArgument, "call 3 already has an open task")
	f.send(&exov1.GwSubmit{CallId: 4, RunnerId: id, TaskId: "b", Kind: "noop"})
	if m, ok := f.next(t).(*exov1.GwSubmitted); !ok || m.GetCallId() != 4 {
		t.Fatalf("second task: got %T %v", m, m)
	}
	// The bound counts both open tasks.
	f.send(&exov1.GwSubmit{CallId: 5, RunnerId: id, TaskId: "c", Kind: "noop"})
	wantError(t, f.next(t), 5, gateway.ErrLimit, "2 open tasks")
}

// TestCallsInFlightAreBounded: the calls the gateway serves off its actor
// (here InjectFault, whose hook blocks) run at most MaxCallsPerSession
// (default 256) at once per session; one more is refused with ErrLimit
// at once instead of starting one more goroutine, and once answers went
// out the session may call again.
func TestCallsInFlightAreBounded(t *testing.T) {
	const limit = 256                     // gateway.Config.MaxCallsPerSession's default
	entered := make(chan string, limit+1) // never closed
	release := make(chan struct{})
	f := newFixtureWith(t, func(c *gateway.Config) {
		c.InjectFault = func(ctx context.Context, id string, gen uint64, kind string) (string, error) {
			entered <- id
			if id == "block" {
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return "done", nil
		}
	})
	f.hello(t)
	for i := range limit {
		f.send(&exov1.GwInjectFault{CallId: uint64(10 + i), RunnerId: "block", Generation: 1, Kind: "crash"})
	}
	for range limit {
		<-entered
	}
	f.send(&exov1.GwInjectFault{CallId: 9, RunnerId: "one-more", Generation: 1, Kind: "crash"})
	wantError(t, f.next(t), 9, gateway.ErrLimit, "256 calls of this client in flight")
	close(release) // sole sender: the test, once
	for range limit {
		if m, ok := f.next(t).(*exov1.GwFaultInjected); !ok {
			t.Fatalf("got %T %v, want GwFaultInjected", m, m)
		}
	}
	// Served again once the answers went out (the gateway hears of each
	// answered call after it went out: ask until it is served).
	for call := uint64(1000); ; call++ {
		f.send(&exov1.GwInjectFault{CallId: call, RunnerId: "after", Generation: 1, Kind: "crash"})
		m := f.next(t)
		if r, ok := m.(*exov1.GwFaultInjected); ok && r.GetCallId() == call {
			break
		}
		wantError(t, m, call, gateway.ErrLimit, "in flight")
	}
}

// TestHelloAgainKeepsTheNewSessionsTasks: a client actor that says hello
// again gets a new session under the same key; what the old session's
// forwarders report when they stop must not touch the new one's tasks
// (before, a stale taskDone keyed by the session key removed the new
// session's task of the same call_id from its count, so MaxTasksPerSession
// let one more through and a lost client's open task was not cancelled).
func TestHelloAgainKeepsTheNewSessionsTasks(t *testing.T) {
	f := sleeperFixture(t, func(c *gateway.Config) {
		c.MaxTasksPerSession = 1
	})
	f.hello(t)
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "sleeper"})
	sp, ok := f.next(t).(*exov1.GwRunnerSpawned)
	if !ok {
		t.Fatalf("spawn: got %T %v", sp, sp)
	}
	id := sp.GetRunnerId()
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: id, TaskId: "a", Kind: "noop"})
	if m, ok := f.next(t).(*exov1.GwSubmitted); !ok {
		t.Fatalf("submit a: got %T %v", m, m)
	}
	// Hello again, and at once the same call_id as before: the old
	// session's forwarder of call 3 reports its end meanwhile.
	f.send(&exov1.GwHello{CallId: 1, ClientName: "unit-test"})
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: id, TaskId: "b", Kind: "noop"})
	if m, ok := f.next(t).(*exov1.GwWelcome); !ok {
		t.Fatalf("hello again: got %T %v", m, m)
	}
	if m, ok := f.next(t).(*exov1.GwSubmitted); !ok {
		t.Fatalf("submit b: got %T %v", m, m)
	}
	// The new session holds one open task: one more is refused, whenever
	// the old forwarder's report came.
	for call := uint64(4); call < 8; call++ {
		f.send(&exov1.GwSubmit{CallId: call, RunnerId: id, TaskId: fmt.Sprint("c", call), Kind: "noop"})
		wantError(t, f.next(t), call, gateway.ErrLimit, "1 open tasks")
	}
}

// TestBlastIsBounded: a GwBlast's items bypass the session's window, so a
// node takes one blast at a time, of at most maxBlastBytes; before, any
// client could ask for 1,000,000 items of 512 bytes from each of its 256
// calls in flight, all held in the node's send queue on a slow link.
func TestBlastIsBounded(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwBlast{CallId: 2, Count: 1_000_000, Size: 512})
	wantError(t, f.next(t), 2, gateway.ErrInvalidArgument, "32 MiB in all")
	// Within the bound: served, items then GwBlastDone.
	f.send(&exov1.GwBlast{CallId: 3, Count: 3, Size: 8})
	for {
		m := f.next(t)
		if d, ok := m.(*exov1.GwBlastDone); ok {
			if d.GetCallId() != 3 || d.GetCount() != 3 {
				t.Fatalf("done %v, want call 3, count 3", d)
			}
			break
		}
		if _, ok := m.(*exov1.GwBlastItem); !ok {
			t.Fatalf("got %T %v during the blast", m, m)
		}
	}
}

// TestBlastWhileAnotherRuns: a Blast that comes while another one sends
// waits for it, then runs; it is not refused. Before, it got ErrLimit ("a
// blast is already running"), which a client cannot act on: it cannot see
// when the other ended — and a client whose Blast timed out had its next
// Blast refused (TestRemoteBlastTimeoutLeavesNoCount failed 9 runs of 10).
func TestBlastWhileAnotherRuns(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	const first = 20_000
	f.send(&exov1.GwBlast{CallId: 2, Count: first, Size: 8})
	f.send(&exov1.GwBlast{CallId: 3, Count: 3, Size: 8}) // while call 2's items go out
	items, done := map[uint64]int{}, map[uint64]int32{}
	for len(done) < 2 {
		switch m := f.next(t).(type) {
		case *exov1.GwBlastItem:
			items[m.GetCallId()]++
		case *exov1.GwBlastDone:
			done[m.GetCallId()] = m.GetCount()
		default:
			t.Fatalf("got %T %v during two blasts, want only their items and ends", m, m)
		}
	}
	if items[2] != first || done[2] != first || items[3] != 3 || done[3] != 3 {
		t.Errorf("items %v, done %v: want %d and 3 of calls 2 and 3", items, done, first)
	}
}

// TestSubscribeBuffersHaveANodeWideBound: each subscription's buffer is
// bounded (MaxSubscribeBuffer), and so is their sum over the node
// (MaxBufferedEvents): before, 64 sessions × 64 subscriptions of 2^20
// events each could make a node hold about 500 GB for subscribers that
// never read (an audit). A buffer of 0 counts as the stream's default; an
// unsubscribe frees its buffer at once.
func TestSubscribeBuffersHaveANodeWideBound(t *testing.T) {
	f := newFixtureWith(t, func(c *gateway.Config) { c.MaxBufferedEvents = 3000 })
	f.hello(t)
	subscribed := func(callID uint64, buffer int32) {
		t.Helper()
		f.send(&exov1.GwSubscribe{CallId: callID, Topic: streams.TopicAlerts, Buffer: buffer})
		m := f.next(t)
		if d, ok := m.(*exov1.GwDelivery); ok && d.GetEnd() { // an unsubscribed one's end
			m = f.next(t)
		}
		if m, ok := m.(*exov1.GwSubscribed); !ok || m.GetCallId() != callID {
			t.Fatalf("subscribe %d (buffer %d): got %T %v, want GwSubscribed", callID, buffer, m, m)
		}
	}
	subscribed(2, 2000)
	f.send(&exov1.GwSubscribe{CallId: 3, Topic: streams.TopicAlerts, Buffer: 2000})
	wantError(t, f.next(t), 3, gateway.ErrLimit, "asks for a buffer of 2000 events, and node unit's open subscriptions hold 2000 of its 3000")
	f.send(&exov1.GwSubscribe{CallId: 4, Topic: streams.TopicAlerts}) // the default: 1024
	wantError(t, f.next(t), 4, gateway.ErrLimit, "a buffer of 1024 events")
	subscribed(5, 1000)
	f.send(&exov1.GwUnsubscribe{CallId: 2})
	subscribed(6, 2000)
}

// TestNodeWideMaxRunners: a node takes at most MaxRunners live runners of
// all kinds together (256 by default; before, none: clients could spawn
// until the node's fork or file descriptors failed, a node-wide fault that
// shuts it down). One more is refused, naming the node's address and the
// setting.
func TestNodeWideMaxRunners(t *testing.T) {
	f := sleeperFixture(t, func(c *gateway.Config) {
		c.MaxRunners = 1
	})
	f.hello(t)
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "sleeper"})
	if sp, ok := f.next(t).(*exov1.GwRunnerSpawned); !ok {
		t.Fatalf("first spawn: got %T %v", sp, sp)
	}
	f.send(&exov1.GwSpawnRunner{CallId: 3, Kind: "sleeper"})
	wantError(t, f.next(t), 3, gateway.ErrLimit, "node unit has 1 live runner, its max_runners (all kinds); stop one first")
	f.send(&exov1.GwNodeStatus{CallId: 4})
	if st, ok := f.next(t).(*exov1.GwNodeStatusReply); !ok || st.GetKindRoom()["echo"] != 0 || st.GetKindRoom()["sleeper"] != 0 {
		t.Fatalf("node status %v: want no room for any kind", st)
	}
}

// rejected reads exo_tasks_rejected_total{reason} of f's node.
func rejected(t *testing.T, f *fixture, reason string) float64 {
	t.Helper()
	fams, err := f.node.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range fams {
		if fam.GetName() != "exo_tasks_rejected_total" {
			continue
		}
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no exo_tasks_rejected_total{reason=%q}", reason)
	return 0
}

// TestGatewayRefusalsAreCounted: the gateway's own refusals of a remote
// Submit, which never reach Node.Submit, count in exo_tasks_rejected_total
// as the node's do: a session's open tasks at MaxTasksPerSession
// (gateway_limit), a payload over max_message and a call_id already open
// (invalid_task). Before, only the node's own refusals counted (a review).
func TestGatewayRefusalsAreCounted(t *testing.T) {
	f := sleeperFixture(t, func(c *gateway.Config) {
		c.MaxTasksPerSession = 1
		c.MaxMessage = 1024
	})
	f.hello(t)
	id := f.spawnSleeper(t, 2, false)
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: id, TaskId: "a", Kind: "noop"})
	if m, ok := f.next(t).(*exov1.GwSubmitted); !ok {
		t.Fatalf("submit a: got %T %v", m, m)
	}
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: id, TaskId: "again", Kind: "noop"})
	wantError(t, f.next(t), 3, gateway.ErrInvalidArgument, "already has an open task")
	f.send(&exov1.GwSubmit{CallId: 4, RunnerId: id, TaskId: "b", Kind: "noop"})
	wantError(t, f.next(t), 4, gateway.ErrLimit, "1 open tasks")
	f.send(&exov1.GwSubmit{CallId: 5, RunnerId: id, TaskId: "big", Kind: "noop", Payload: make([]byte, 2048)})
	wantError(t, f.next(t), 5, gateway.ErrMessageTooLarge, "accepts at most 1024")
	if got := rejected(t, f, "gateway_limit"); got != 1 {
		t.Errorf("gateway_limit %v, want 1", got)
	}
	if got := rejected(t, f, "invalid_task"); got != 2 {
		t.Errorf("invalid_task %v, want 2 (a call_id already open, a payload too large)", got)
	}
}
