package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

const wait = 10 * time.Second

// fixture is a node with its gateway, in this process: the gateway's
// protocol works with local PIDs too, so these tests need no remote.
type fixture struct {
	node *actors.Node
	gw   *gateway.Gateway
	// probe stands for a client's session actor: it sends what the test
	// gives it with itself as sender and hands every answer to replies.
	probe   *actor.PID
	replies chan proto.Message // capacity 256, never closed
}

type sendVia struct{ msg proto.Message }

func newFixture(t *testing.T) *fixture { return newFixtureTimeout(t, time.Minute) }

func newFixtureTimeout(t *testing.T, sessionTimeout time.Duration) *fixture {
	t.Helper()
	return newFixtureWith(t, func(c *gateway.Config) { c.SessionTimeout = sessionTimeout })
}

// newFixtureWith starts a fixture whose gateway config edit changes.
func newFixtureWith(t *testing.T, edit func(*gateway.Config)) *fixture {
	t.Helper()
	return newFixtureNode(t, func(*actors.NodeConfig) {}, edit)
}

// newFixtureNode starts a fixture whose node config editNode changes and
// whose gateway config edit changes.
func newFixtureNode(t testing.TB, editNode func(*actors.NodeConfig), edit func(*gateway.Config)) *fixture {
	t.Helper()
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	ncfg := actors.NodeConfig{Logger: logger, DeadLetterThrottle: time.Millisecond, BuiltinBinary: exoBin}
	editNode(&ncfg)
	n, err := actors.StartNode(ncfg)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]gateway.Kind{
		"echo":  {Spec: actors.RunnerSpec{Kind: "echo", Builtin: true}},
		"other": {Spec: actors.RunnerSpec{Kind: "other", Command: "/bin/true"}},
	}
	cfg := gateway.Config{Name: "unit", Node: n, Kinds: kinds, Logger: logger, MaxMessage: 1024}
	edit(&cfg)
	gw, err := gateway.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{node: n, gw: gw, replies: make(chan proto.Message, 256)}
	f.newProbe()
	t.Cleanup(func() {
		gw.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, err := n.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return f
}

// newProbe makes f.probe a new client actor (a client process restarted:
// the one before may have been stopped to end its session as lost).
func (f *fixture) newProbe() {
	f.probe = f.node.System().Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *sendVia:
			ctx.Request(f.gw.PID(), m.msg)
		case *actor.Terminated:
			// The gateway's end: its hello made this probe a watcher of
			// the gateway, as a client's actor is.
		case proto.Message:
			f.replies <- m
		}
	}))
}

func (f *fixture) send(msg proto.Message) { f.node.System().Root.Send(f.probe, &sendVia{msg}) }

func (f *fixture) next(t *testing.T) proto.Message {
	t.Helper()
	select {
	case m := <-f.replies:
		return m
	case <-time.After(wait):
		t.Fatal("no answer from the gateway")
		return nil
	}
}

func (f *fixture) hello(t *testing.T) *exov1.GwWelcome {
	t.Helper()
	f.send(&exov1.GwHello{CallId: 1, ClientName: "unit-test"})
	w, ok := f.next(t).(*exov1.GwWelcome)
	if !ok {
		t.Fatalf("hello: got %T", w)
	}
	return w
}

func wantError(t *testing.T, m proto.Message, callID uint64, sentinel error, text string) {
	t.Helper()
	e, ok := m.(*exov1.GwError)
	if !ok {
		t.Fatalf("got %T %v, want a GwError", m, m)
	}
	err := gateway.Error("unit", e)
	if e.GetCallId() != callID || !errors.Is(err, sentinel) || !strings.Contains(err.Error(), text) {
		t.Fatalf("got %v (call %d), want call %d, %v, text with %q", err, e.GetCallId(), callID, sentinel, text)
	}
}

func TestNotARequest(t *testing.T) {
	f := newFixture(t)
	// A proto message the gateway knows but that is no request of its
	// own: an error, never silence.
	f.send(&exov1.Ping{Nonce: 7})
	wantError(t, f.next(t), 0, gateway.ErrUnsupported, "exoactors.v1.Ping")
}

func TestNoSession(t *testing.T) {
	f := newFixture(t)
	f.send(&exov1.GwListRunners{CallId: 9})
	wantError(t, f.next(t), 9, gateway.ErrNoSession, "GwHello")
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	w := f.hello(t)
	if got := strings.Join(w.GetKinds(), ","); got != "echo,other" || w.GetNodeName() != "unit" || w.GetMaxMessage() != 1024 {
		t.Fatalf("welcome %v", w)
	}
	f.send(&exov1.GwSpawnRunner{CallId: 2, Kind: "llama"})
	wantError(t, f.next(t), 2, gateway.ErrUnknownKind, "echo, other")
	f.send(&exov1.GwSubmit{CallId: 3, RunnerId: "echo-000000", TaskId: "t", Kind: "noop", Payload: make([]byte, 2000)})
	wantError(t, f.next(t), 3, gateway.ErrMessageTooLarge, "at most 1024")
	f.send(&exov1.GwSubmit{CallId: 4, RunnerId: "echo-000000", TaskId: "t", Kind: "noop"})
	wantError(t, f.next(t), 4, actors.ErrUnknownRunner, "echo-000000")
	f.send(&exov1.GwSubscribe{CallId: 5, Topic: "nope"})
	wantError(t, f.next(t), 5, gateway.ErrUnknownTopic, "tasks")
	f.send(&exov1.GwSubscribe{CallId: 10, Topic: "tasks", Kinds: []string{"runner_failed"}})
	wantError(t, f.next(t), 10, gateway.ErrInvalidArgument, `filter kind "runner_failed" comes on topic "runner-status", never on "tasks"`)
	f.send(&exov1.GwSubscribe{CallId: 11, Topic: "tasks", Window: -3})
	wantError(t, f.next(t), 11, gateway.ErrInvalidArgument, "Window -3: neither may be negative")
	f.send(&exov1.GwCancel{CallId: 6, RunnerId: "echo-000000"})
	wantError(t, f.next(t), 6, actors.ErrUnknownRunner, "")
	if st := f.gw.Stats(); st.Sessions != 1 {
		t.Fatalf("stats %+v, want 1 session", st)
	}
	f.send(&exov1.GwNodeStatus{CallId: 8})
	// The monitor's first check may not have run: known means score 1 (no
	// runners), unknown means 0.
	if st, ok := f.next(t).(*exov1.GwNodeStatusReply); !ok || st.GetHealthScore() != map[bool]float64{true: 1}[st.GetHealthKnown()] ||
		len(st.GetKindRoom()) != 2 || st.GetKindRoom()["echo"] != gateway.DefaultMaxRunners {
		t.Fatalf("node status %v: want score 1 when known (no runners), each kind (echo, other) bounded by the default node-wide max_runners", st)
	}
	f.send(&exov1.GwBye{})
	f.send(&exov1.GwNodeStatus{CallId: 7})
	wantError(t, f.next(t), 7, gateway.ErrNoSession, "")
}

// TestSubscribeCredit: the relay hands over at most the credit the client
// granted, in sequence order; a GwCredit lets the rest through.
func TestSubscribeCredit(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwSubscribe{CallId: 2, Topic: streams.TopicAlerts, Window: 2, Buffer: 16})
	sub, ok := f.next(t).(*exov1.GwSubscribed)
	if !ok || sub.GetWindow() != 2 {
		t.Fatalf("subscribe: %v", sub)
	}
	s := f.node.Stream(streams.TopicAlerts)
	for i := range 5 {
		if err := s.Publish(streams.Event{Kind: "x", RunnerID: fmt.Sprint("r", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var seqs []uint64
	take := func(n int) {
		for len(seqs) < n {
			m := f.next(t)
			d, ok := m.(*exov1.GwDelivery)
			if !ok || d.GetCallId() != 2 {
				t.Fatalf("got %T %v, want a delivery of call 2", m, m)
			}
			evs, err := gateway.UnpackEvents(nil, d.GetTopic(), d.GetPacked())
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range evs {
				seqs = append(seqs, ev.Seq)
			}
		}
	}
	take(2)
	// The stream took all five (the stats query queues behind them) and
	// holds three back for want of credit.
	res, err := f.node.System().Root.RequestFuture(s.PID(), &streams.StatsQuery{}, wait).Result()
	if err != nil {
		t.Fatal(err)
	}
	st := res.(streams.Stats)
	if len(st.PerSubscriber) != 1 || st.PerSubscriber[0].Delivered != 2 || st.PerSubscriber[0].Credit != 0 {
		t.Fatalf("stream stats %+v, want one subscriber with 2 delivered and no credit left", st)
	}
	f.send(&exov1.GwCredit{CallId: 2, N: 2})
	take(4)
	f.send(&exov1.GwCredit{CallId: 2, N: 2})
	take(5)
	for i, q := range seqs {
		if q != uint64(i+1) {
			t.Fatalf("sequence numbers %v, want 1..5", seqs)
		}
	}
	if st := f.gw.Stats(); st.Subscriptions != 1 {
		t.Fatalf("stats %+v, want 1 subscription", st)
	}
	f.send(&exov1.GwUnsubscribe{CallId: 2})
	f.send(&exov1.GwNodeStatus{CallId: 3})
	for {
		if st, ok := f.next(t).(*exov1.GwNodeStatusReply); ok {
			if st.GetSubscriptions() != 0 {
				// the relay's Terminated may come after the status
				// request; ask again
				f.send(&exov1.GwNodeStatus{CallId: 3})
				continue
			}
			break
		}
	}
}

// TestCodes: every sentinel survives the wire.
func TestCodes(t *testing.T) {
	for _, s := range []error{gateway.ErrUnknownKind, actors.ErrUnknownRunner, actors.ErrShuttingDown, actors.ErrQueueFull,
		actors.ErrRunnerNotAvailable, actors.ErrTaskNotFound, gateway.ErrMessageTooLarge, gateway.ErrUnsupported,
		gateway.ErrUnknownTopic, gateway.ErrNoSession, gateway.ErrInvalidArgument, gateway.ErrLimit, actors.ErrInvalidTask} {
		wrapped := fmt.Errorf("context: %w", s)
		code := gateway.Code(wrapped)
		back := gateway.Error("n", &exov1.GwError{Code: code, Text: wrapped.Error()})
		if code == exov1.GwCode_GW_CODE_UNSPECIFIED || !errors.Is(back, s) || !strings.Contains(back.Error(), "context") {
			t.Errorf("%v: code %v, back %v", s, code, back)
		}
	}
	if back := gateway.Error("n", &exov1.GwError{Text: "x"}); errors.Unwrap(back) != nil {
		t.Errorf("an unspecified code maps to %v", errors.Unwrap(back))
	}
	// The sentinels with a detail code: ErrStopped (code SHUTTING_DOWN)
	// and ErrInvalidSpec (no code). Before the detail (a review's finding)
	// errors.Is(err, ErrStopped) and errors.Is(err, ErrInvalidSpec) did
	// not hold on a client, though they do on a System. A client that
	// predates the detail reads the code alone: as before.
	for _, tc := range []struct {
		s          error
		code       exov1.GwCode
		alsoIs     error
		detailCode exov1.GwCode
	}{
		{actors.ErrStopped, exov1.GwCode_GW_CODE_SHUTTING_DOWN, actors.ErrShuttingDown, exov1.GwCode_GW_CODE_STOPPED},
		{actors.ErrInvalidSpec, exov1.GwCode_GW_CODE_UNSPECIFIED, nil, exov1.GwCode_GW_CODE_INVALID_SPEC},
	} {
		wrapped := fmt.Errorf("context: %w", tc.s)
		m := &exov1.GwError{Code: gateway.Code(wrapped), Detail: gateway.Detail(wrapped), Text: wrapped.Error()}
		if m.Code != tc.code || m.Detail != tc.detailCode {
			t.Errorf("%v: code %v detail %v; want %v, %v", tc.s, m.Code, m.Detail, tc.code, tc.detailCode)
		}
		back := gateway.Error("n", m)
		if !errors.Is(back, tc.s) || tc.alsoIs != nil && !errors.Is(back, tc.alsoIs) {
			t.Errorf("%v: back %v is not it (or not %v)", tc.s, back, tc.alsoIs)
		}
		old := gateway.Error("n", &exov1.GwError{Code: m.Code, Text: m.Text}) // from a node without the detail
		if errors.Is(old, tc.s) || tc.alsoIs != nil && !errors.Is(old, tc.alsoIs) {
			t.Errorf("%v without its detail: %v", tc.s, old)
		}
	}
	// A detail whose sentinel does not wrap the code's is not taken: the
	// code's sentinel stays (never an error that loses errors.Is of its code).
	if back := gateway.Error("n", &exov1.GwError{Code: exov1.GwCode_GW_CODE_QUEUE_FULL, Detail: exov1.GwCode_GW_CODE_STOPPED}); !errors.Is(back, actors.ErrQueueFull) {
		t.Errorf("QUEUE_FULL with detail STOPPED: %v is not ErrQueueFull", back)
	}
}

// TestSessionExpires: a client that stops pinging loses its session (and
// its subscriptions) after SessionTimeout.
func TestSessionExpires(t *testing.T) {
	f := newFixtureTimeout(t, 300*time.Millisecond)
	f.hello(t)
	f.send(&exov1.GwSubscribe{CallId: 2, Topic: streams.TopicAlerts})
	if _, ok := f.next(t).(*exov1.GwSubscribed); !ok {
		t.Fatal("no subscription")
	}
	tick := time.NewTicker(20 * time.Millisecond) // the gateway announces nothing: poll its counts
	defer tick.Stop()
	deadline := time.Now().Add(wait)
	for st := f.gw.Stats(); st.Sessions != 0 || st.Subscriptions != 0; st = f.gw.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: the silent session was not dropped", st)
		}
		<-tick.C
	}
	if st := f.gw.Stats(); st.SessionsLost != 1 {
		t.Fatalf("stats %+v, want 1 session lost", st)
	}
}

// The window a node tells a client leaves everything in flight within the
// smaller of both transports' limits (2 × max_message + 1 MiB): the node's
// (MaxMessage 1024 here: a limit of 1 MiB + 2 KiB) and the one the client
// says in GwHello.max_receive. A 4 MiB window above a limit let
// protoactor send a batch the limit refused, which broke the connection.
func TestWelcomeWindowWithinLimits(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ maxReceive, limit int64 }{
		{0, int64(gateway.GRPCLimit(1024))},
		{int64(gateway.GRPCLimit(1 << 30)), int64(gateway.GRPCLimit(1024))},
		{800 << 10, 800 << 10},
	} {
		f.send(&exov1.GwHello{CallId: 1, ClientName: "unit-test", Acks: true, MaxReceive: tc.maxReceive})
		w, ok := f.next(t).(*exov1.GwWelcome)
		if !ok {
			t.Fatalf("hello: got %T", w)
		}
		win := w.GetOutWindow()
		if win <= 0 || win+gateway.MaxOutMessage > tc.limit || win/4+gateway.MaxOutMessage > tc.limit {
			t.Fatalf("max_receive %d: out_window %d; want > 0 and, with a %d-byte message, within %d", tc.maxReceive, win, gateway.MaxOutMessage, tc.limit)
		}
	}
}

// TestSubscribeEndBeyondCredit: a stream that closes hands its subscriber
// everything it holds, credit or not (up to the subscriber's Buffer), with
// End. The relay cuts that hand-over at MaxOutMessage bytes; every piece
// before the last must say it belongs to the end (closing), or a client
// checks it against the credit alone and ends the subscription with
// "the node broke the subscription's credit" instead of taking the events
// and End.
func TestSubscribeEndBeyondCredit(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwSubscribe{CallId: 2, Topic: streams.TopicAlerts, Window: 1, Buffer: 400})
	if sub, ok := f.next(t).(*exov1.GwSubscribed); !ok || sub.GetWindow() != 1 {
		t.Fatalf("subscribe: %v", sub)
	}
	s := f.node.Stream(streams.TopicAlerts)
	const n, size = 201, 4 << 10 // 200 held beyond the credit: 800 KiB
	for i := range n {
		if err := s.Publish(streams.Event{Kind: "x", RunnerID: fmt.Sprintf("%d-%s", i, strings.Repeat("r", size))}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	credit, got, pieces := 1, 0, 0
	for {
		m := f.next(t)
		d, ok := m.(*exov1.GwDelivery)
		if !ok || d.GetCallId() != 2 {
			t.Fatalf("got %T %v, want a delivery of call 2", m, m)
		}
		evs, err := gateway.UnpackEvents(nil, d.GetTopic(), d.GetPacked())
		if err != nil {
			t.Fatal(err)
		}
		pieces++
		if !d.GetEnd() && !d.GetClosing() && got+len(evs) > credit {
			t.Fatalf("delivery %d: %d events after %d, credit %d, neither End nor closing: a client refuses it", pieces, len(evs), got, credit)
		}
		got += len(evs)
		if d.GetEnd() {
			break
		}
	}
	if got != n || pieces < 3 {
		t.Fatalf("%d events in %d deliveries; want %d in several (cut at MaxOutMessage)", got, pieces, n)
	}
}

// TestNodeStatusShuttingOnly: the cheap question (shutting_only) is
// answered from the gateway's actor with whether the node is shutting
// down (SetLeaving counts), and no runner or health query.
func TestNodeStatusShuttingOnly(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwNodeStatus{CallId: 1, ShuttingOnly: true})
	if st, ok := f.next(t).(*exov1.GwNodeStatusReply); !ok || st.GetShuttingDown() || st.GetUptime() != nil {
		t.Fatalf("shutting_only before SetLeaving: %v, want shutting_down false and no status fields", st)
	}
	f.gw.SetLeaving()
	f.send(&exov1.GwNodeStatus{CallId: 2, ShuttingOnly: true})
	if st, ok := f.next(t).(*exov1.GwNodeStatusReply); !ok || !st.GetShuttingDown() || st.GetCallId() != 2 {
		t.Fatalf("shutting_only after SetLeaving: %v, want shutting_down true", st)
	}
}

// runnerStatus subscribes to f's node's runner-status stream, closed at
// the end of the test.
func (f *fixture) runnerStatus(t *testing.T) *streams.Subscription {
	t.Helper()
	sub, err := f.node.Subscribe(streams.TopicRunnerStatus, streams.Filter{}, streams.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// pollUntil waits, within wait, for cond: for a count the gateway
// announces to nobody (its Stats, the node's ForwardStats).
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", wait, what)
		}
		<-tick.C
	}
}

// TestOversizedRequestsRefused: a request larger than max_message and 64
// KiB for IDs and framing (what the client checks before it sends) is
// refused with ErrMessageTooLarge, whatever its type: a peer that is not
// our client could send a subscribe whose filter strings, or a hello whose
// client name, ran to the transport's limit, and the session held them (a
// fuzz test's finding; docs/remote.md promised no request larger than
// max_message is taken).
func TestOversizedRequestsRefused(t *testing.T) {
	f := newFixture(t) // max_message 1024
	big := strings.Repeat("k", gateway.RequestSlack+2048)
	f.send(&exov1.GwHello{CallId: 1, ClientName: big})
	wantError(t, f.next(t), 1, gateway.ErrMessageTooLarge, "GwHello is 67")
	f.send(&exov1.GwListRunners{CallId: 2})
	wantError(t, f.next(t), 2, gateway.ErrNoSession, "GwHello") // the oversized hello opened none
	f.hello(t)
	f.send(&exov1.GwSubscribe{CallId: 3, Topic: "tasks", TaskId: big})
	wantError(t, f.next(t), 3, gateway.ErrMessageTooLarge, "more than the 66560 a request may take on node unit (max_message 1024, and 65536 for IDs and framing)")
	f.send(&exov1.GwSubscribe{CallId: 4, Topic: "tasks", TaskId: strings.Repeat("k", 1000)}) // within: taken
	if m, ok := f.next(t).(*exov1.GwSubscribed); !ok || m.GetCallId() != 4 {
		t.Fatalf("a subscribe within the bound: %v", m)
	}
}
