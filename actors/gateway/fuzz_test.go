package gateway_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// fuzzRequests are the messages FuzzGatewayRequests sends, chosen by the
// input's first byte (low 5 bits, modulo the length), and the type of the
// answer each gets besides a GwError (nil: no answer).
var fuzzRequests = []struct {
	req   func() proto.Message
	reply proto.Message
}{
	{func() proto.Message { return &exov1.GwHello{} }, &exov1.GwWelcome{}},                      // 0
	{func() proto.Message { return &exov1.GwSpawnRunner{} }, &exov1.GwRunnerSpawned{}},          // 1
	{func() proto.Message { return &exov1.GwStopRunner{} }, &exov1.GwRunnerStopped{}},           // 2
	{func() proto.Message { return &exov1.GwListRunners{} }, &exov1.GwRunnerList{}},             // 3
	{func() proto.Message { return &exov1.GwSubmit{} }, &exov1.GwSubmitted{}},                   // 4
	{func() proto.Message { return &exov1.GwCancel{} }, &exov1.GwCancelled{}},                   // 5
	{func() proto.Message { return &exov1.GwSubscribe{} }, &exov1.GwSubscribed{}},               // 6
	{func() proto.Message { return &exov1.GwCredit{} }, nil},                                    // 7
	{func() proto.Message { return &exov1.GwUnsubscribe{} }, nil},                               // 8
	{func() proto.Message { return &exov1.GwNodeStatus{} }, &exov1.GwNodeStatusReply{}},         // 9
	{func() proto.Message { return &exov1.GwShutdown{} }, &exov1.GwShutdownReport{}},            // 10
	{func() proto.Message { return &exov1.GwShutdownPhase{} }, &exov1.GwShutdownPhaseReport{}},  // 11
	{func() proto.Message { return &exov1.GwEcho{} }, &exov1.GwEchoed{}},                        // 12
	{func() proto.Message { return &exov1.GwBlast{} }, &exov1.GwBlastDone{}},                    // 13
	{func() proto.Message { return &exov1.GwStatusDoc{} }, &exov1.GwStatusDocReply{}},           // 14
	{func() proto.Message { return &exov1.GwInjectFault{} }, &exov1.GwFaultInjected{}},          // 15
	{func() proto.Message { return &exov1.GwBye{} }, &exov1.GwByeAck{}},                         // 16
	{func() proto.Message { return &exov1.GwSpawnSettle{} }, &exov1.GwSpawnSettled{}},           // 17
	{func() proto.Message { return &exov1.GwPing{} }, &exov1.GwPong{}},                          // 18
	{func() proto.Message { return &exov1.GwAck{} }, nil},                                       // 19
	{func() proto.Message { return &exov1.Ping{} }, nil /* not a request: a GwError, call 0 */}, // 20
}

// Bits of the input's first byte above the request's index.
const (
	fuzzHello = 0x20 // a valid GwHello first: the request has a session
	fuzzAcks  = 0x40 // that hello asks for a window (acks)
	fuzzTwice = 0x80 // the request goes twice (duplicate call_id)
)

// fuzzRunner in a request's runner_id stands for the fuzz node's echo
// runner (IDs are random: the fuzzer could not name one).
const fuzzRunner = "$R"

// fuzzMaxInput bounds an input: what a client sends at most (max_message
// of the fixture, 1024, and 64 KiB for IDs and framing: runtime's
// requestSlack).
const fuzzMaxInput = 1024 + 64<<10

// fuzzWait bounds one request's answer: a runner's stop (StopGrace
// below) and every call into the node take milliseconds here. While
// fuzzing it is 5 s: the fuzzing engine takes an input that runs 10 s for
// a hang, without the test's message. Over the seed corpus (go test, a
// loaded CI machine, -race) 30 s.
// (A function: the test flags are parsed after the package's variables
// are set.)
func fuzzWait() time.Duration {
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return 5 * time.Second
	}
	return 30 * time.Second
}

// fuzzNode is the node and gateway one fuzz worker reuses for every
// input (a fixture per input would start a node each time): each input
// gets its own client actor (so its own session), which says goodbye at
// the end, so what the gateway holds stays bounded.
type fuzzNode struct {
	fx     *fixture
	faults *faultHook
	spec   actors.RunnerSpec
	runner string // a live echo runner: fuzzRunner
}

// faultHook keeps the log lines that show an actor's panic or the
// gateway's restart (protoactor's "Recovering" comes through the node's
// logger, actorguard's "panicked", the gateway's Restarting ends every
// session "the gateway restarted after a failure").
type faultHook struct {
	mu   sync.Mutex
	seen []string
}

func (h *faultHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h *faultHook) Fire(e *logrus.Entry) error {
	if strings.Contains(e.Message, "Recovering") || strings.Contains(e.Message, "panicked") ||
		strings.Contains(e.Message, "restarted after a failure") || e.Level <= logrus.ErrorLevel {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.seen = append(h.seen, fmt.Sprintf("%s %s %v", e.Level, e.Message, e.Data))
	}
	return nil
}

func (h *faultHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.seen
	h.seen = nil
	return s
}

// nullFormatter formats nothing: the fuzz node's log goes nowhere, its
// hook reads the entries.
type nullFormatter struct{}

func (nullFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

func newFuzzNode(t testing.TB) *fuzzNode {
	logger := logrus.New()
	logger.SetFormatter(nullFormatter{})
	hook := &faultHook{}
	logger.AddHook(hook)
	spec := actors.RunnerSpec{Kind: "echo", Builtin: true}
	fx := newFixtureNode(t, func(c *actors.NodeConfig) {
		c.Logger = logger
		c.Timeouts = actors.RunnerTimeouts{StopGrace: 100 * time.Millisecond, TermWait: time.Second}
	}, func(c *gateway.Config) {
		c.Logger = logger
		// One kind, at most 3 live (the fuzz node's own among them): a
		// spawn costs a process.
		c.Kinds = map[string]gateway.Kind{"echo": {Spec: spec, MaxRunners: 3}}
		// Stand-ins that do nothing, so that the gateway's checks of these
		// requests run without the node shutting down.
		c.Shutdown = func(context.Context) (string, actors.ShutdownReport, error) {
			return "fuzz: no shutdown", actors.ShutdownReport{}, nil
		}
		c.ShutdownPhase = func(context.Context, actors.Phase, time.Duration, time.Duration) (actors.ShutdownReport, error) {
			return actors.ShutdownReport{}, nil
		}
		c.InjectFault = func(context.Context, string, uint64, string) (string, error) { return "fuzz: no fault", nil }
	})
	n := &fuzzNode{fx: fx, faults: hook, spec: spec}
	n.keepRunner(t)
	return n
}

// keepRunner checks that every runner of the node is of a kind of the
// config, and spawns the fuzz node's own echo runner again when the
// last input stopped it.
func (n *fuzzNode) keepRunner(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fuzzWait())
	defer cancel()
	infos, err := n.fx.node.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := false
	for _, ri := range infos {
		if ri.Kind != "echo" {
			t.Fatalf("runner %s of kind %q: the config has only \"echo\"", ri.ID, ri.Kind)
		}
		switch ri.Status.GetKind() {
		case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED:
		default:
			live = live || ri.ID == n.runner
		}
	}
	if live {
		return
	}
	if n.runner, err = n.fx.node.SpawnRunner(ctx, n.spec); err != nil {
		t.Fatal(err)
	}
}

// fuzzClient is one input's client actor: it sends what it is given with
// itself as sender, acknowledges every message stamped with out_end (as
// a client with a window does), and hands the rest to replies.
type fuzzClient struct {
	pid     *actor.PID
	replies chan proto.Message // never closed
	mu      sync.Mutex
	bad     []string // messages that would not go over the wire
}

func (n *fuzzNode) newClient() *fuzzClient {
	c := &fuzzClient{replies: make(chan proto.Message, 1024)}
	gw := n.fx.gw.PID()
	c.pid = n.fx.node.System().Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		var outEnd uint64
		switch m := ctx.Message().(type) {
		case *sendVia:
			ctx.Request(gw, m.msg)
			return
		case *exov1.GwBlastItem:
			if m.GetOutEnd() > 0 {
				ctx.Request(gw, &exov1.GwAck{Through: m.GetOutEnd()})
			}
			return
		case *exov1.GwTaskEvent:
			outEnd = m.GetOutEnd()
		case *exov1.GwDelivery:
			outEnd = m.GetOutEnd()
		}
		m, ok := ctx.Message().(proto.Message)
		if !ok {
			return
		}
		if outEnd > 0 {
			ctx.Request(gw, &exov1.GwAck{Through: outEnd})
		}
		// What protoactor remote would do with it: a message that does
		// not marshal (invalid UTF-8 in a string) never reaches a remote
		// client, and one above the transport's limit breaks the
		// connection.
		if b, err := proto.Marshal(m); err != nil || len(b) > gateway.GRPCLimit(1024) {
			c.mu.Lock()
			c.bad = append(c.bad, fmt.Sprintf("%T of %d bytes: %v", m, len(b), err))
			c.mu.Unlock()
		}
		if _, stream := m.(*exov1.GwTaskEvent); stream {
			return
		}
		if _, stream := m.(*exov1.GwDelivery); stream {
			return
		}
		select {
		case c.replies <- m:
		default: // a flood of answers: the check counts them short
		}
	}))
	return c
}

func (n *fuzzNode) send(c *fuzzClient, msg proto.Message) {
	n.fx.node.System().Root.Send(c.pid, &sendVia{msg})
}

// answerKey says whether m answers a call, and which: its call_id (a
// GwPong's seq). want is the type of the request's answer.
func answerKey(m, want proto.Message) (uint64, bool) {
	switch a := m.(type) {
	case *exov1.GwError:
		return a.GetCallId(), true
	case *exov1.GwPong:
		_, ok := want.(*exov1.GwPong)
		return a.GetSeq(), ok
	case *exov1.GwByeAck: // the input's own goodbye at the end, too
		return a.GetCallId(), true
	}
	if want == nil || proto.MessageName(m) != proto.MessageName(want) {
		return 0, false
	}
	type caller interface{ GetCallId() uint64 }
	if cm, ok := m.(caller); ok {
		return cm.GetCallId(), true
	}
	return 0, false
}

// expectedAnswer says which answer msg gets (its key, answerKey), if any.
func expectedAnswer(msg proto.Message, session bool) (uint64, bool) {
	switch m := msg.(type) {
	case *exov1.GwAck:
		return 0, false
	case *exov1.GwCredit: // served silently in a session; without one, "no session"
		return m.GetCallId(), !session
	case *exov1.GwUnsubscribe:
		return m.GetCallId(), !session
	case *exov1.GwBye:
		return m.GetCallId(), m.GetCallId() != 0
	case *exov1.GwSpawnSettle:
		return m.GetCallId(), m.GetCallId() != 0
	case *exov1.GwPing:
		if !session {
			return 0, true // a GwError, call 0: no session
		}
		return m.GetSeq(), true
	case *exov1.Ping:
		return 0, true // not a request: a GwError, call 0
	}
	type caller interface{ GetCallId() uint64 }
	return msg.(caller).GetCallId(), true
}

// withRunner puts the fuzz node's runner in place of fuzzRunner.
func (n *fuzzNode) withRunner(msg proto.Message) {
	sub := func(s *string) {
		if *s == fuzzRunner {
			*s = n.runner
		}
	}
	switch m := msg.(type) {
	case *exov1.GwStopRunner:
		sub(&m.RunnerId)
	case *exov1.GwSubmit:
		sub(&m.RunnerId)
	case *exov1.GwCancel:
		sub(&m.RunnerId)
	case *exov1.GwSubscribe:
		sub(&m.RunnerId)
	case *exov1.GwInjectFault:
		sub(&m.RunnerId)
	}
}

// run sends one input's request (after a hello when session, twice when
// twice) and checks what the gateway does with it.
func (n *fuzzNode) run(t *testing.T, msg proto.Message, want proto.Message, session, acks, twice bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fuzzWait())
	defer cancel()
	n.withRunner(msg)
	c := n.newClient()
	defer func() { _ = n.fx.node.System().Root.StopFuture(c.pid).Wait() }()
	next := func(what string) proto.Message {
		select {
		case m := <-c.replies:
			return m
		case <-ctx.Done():
			t.Fatalf("%T %v: no %s from the gateway within %s", msg, msg, what, fuzzWait())
			return nil
		}
	}
	if session {
		n.send(c, &exov1.GwHello{CallId: 1, ClientName: "fuzz", Acks: acks})
		if w, ok := next("welcome").(*exov1.GwWelcome); !ok || w.GetCallId() != 1 {
			t.Fatalf("hello: got %T %v, want GwWelcome of call 1", w, w)
		}
	}
	key, answered := expectedAnswer(msg, session)
	owed := map[uint64]int{}
	sends := 1
	if twice {
		sends = 2
	}
	if answered {
		owed[key] = sends
	}
	// The input's goodbye at the end, under a call of its own: its
	// GwByeAck says the gateway went through the request (it serves a
	// client's messages in order) and the session has ended.
	bye := uint64(math.MaxUint64 - 7)
	if bye == key {
		bye--
	}
	for i := range sends {
		if i > 0 {
			msg = proto.Clone(msg)
		}
		n.send(c, msg)
	}
	take := func() {
		m := next(fmt.Sprintf("answer (owed: %v)", owed))
		if e, ok := m.(*exov1.GwError); ok && e.GetText() == "" {
			t.Fatalf("%T %v: a GwError without a text: %v", msg, msg, e)
		}
		k, ok := answerKey(m, want)
		if !ok {
			return // an event, a blast's done of a call not asked for...
		}
		if owed[k] == 0 {
			t.Fatalf("%T %v: answer %T %v to call %d, which is owed none (owed: %v)", msg, msg, m, m, k, owed)
		}
		if owed[k]--; owed[k] == 0 {
			delete(owed, k)
		}
	}
	for len(owed) > 0 {
		take()
	}
	n.send(c, &exov1.GwBye{CallId: bye})
	owed[bye] = 1
	for len(owed) > 0 {
		take()
	}
	if st := n.fx.gw.Stats(); st.Sessions != 0 || st.Subscriptions != 0 || st.OpenTasks != 0 {
		t.Fatalf("%T %v: after the client's goodbye the gateway holds %+v", msg, msg, st)
	}
	if faults := n.faults.take(); len(faults) > 0 {
		t.Fatalf("%T %v: the node logged a fault:\n%s", msg, msg, strings.Join(faults, "\n"))
	}
	c.mu.Lock()
	bad := c.bad
	c.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%T %v: the gateway sent what cannot go over the wire: %v", msg, msg, bad)
	}
	n.keepRunner(t)
}

// FuzzGatewayRequests sends the gateway one request of a type the first
// byte picks, decoded from the rest (inputs proto.Unmarshal refuses are
// skipped: protoactor's remote refuses them too), with or without a
// session, once or twice. Whatever it holds, the gateway answers each
// request that carries a call (its answer or a GwError with a text)
// within fuzzWait, its actor never panics nor restarts, what it sends
// marshals, no runner of a kind outside the config is spawned, and the
// client's goodbye leaves no session, subscription or open task behind.
func FuzzGatewayRequests(f *testing.F) {
	seed := func(sel byte, msg proto.Message) {
		b, err := proto.Marshal(msg)
		if err != nil {
			f.Fatal(err)
		}
		idx := -1
		for i, r := range fuzzRequests {
			if proto.MessageName(r.req()) == proto.MessageName(msg) {
				idx = i
			}
		}
		if idx < 0 {
			f.Fatalf("no request %T", msg)
		}
		for _, flags := range []byte{0, fuzzHello, fuzzHello | fuzzAcks} {
			f.Add(append([]byte{byte(idx) | flags | sel}, b...))
		}
	}
	d := func(s int64, ns int32) *durationpb.Duration { return &durationpb.Duration{Seconds: s, Nanos: ns} }
	odd := "a/b\nc\x00d" // slashes, a newline, a NUL
	big := strings.Repeat("k", 900)
	for _, m := range []proto.Message{
		&exov1.GwHello{},
		&exov1.GwHello{CallId: math.MaxUint64, ClientName: odd, Acks: true, MaxReceive: -1},
		&exov1.GwHello{Acks: true, MaxReceive: 1},
		&exov1.GwHello{Acks: true, MaxReceive: math.MaxInt64, Heartbeat: d(-5, 0)},
		&exov1.GwHello{Heartbeat: d(math.MaxInt64, -1)},
		&exov1.GwSpawnRunner{CallId: 2, Kind: "echo"},
		&exov1.GwSpawnRunner{CallId: 2, Kind: "echo", Settle: true, HandOff: true, Lease: true},
		&exov1.GwSpawnRunner{CallId: 2, Kind: "echo", Lease: true},
		&exov1.GwSpawnRunner{CallId: 2, Kind: "echo", Settle: true},
		&exov1.GwSpawnRunner{Kind: ""},
		&exov1.GwSpawnRunner{CallId: math.MaxUint64, Kind: "llama"},
		&exov1.GwSpawnRunner{CallId: 3, Kind: "../echo"},
		&exov1.GwSpawnRunner{CallId: 3, Kind: "echo\n"},
		&exov1.GwSpawnRunner{CallId: 3, Kind: "ECHO"},
		&exov1.GwSpawnRunner{CallId: 3, Kind: odd},
		&exov1.GwSpawnRunner{CallId: 3, Kind: big},
		&exov1.GwStopRunner{CallId: 4, RunnerId: fuzzRunner},
		&exov1.GwStopRunner{CallId: 4},
		&exov1.GwStopRunner{CallId: 4, RunnerId: "echo-000000000000"},
		&exov1.GwStopRunner{CallId: 4, RunnerId: odd},
		&exov1.GwListRunners{CallId: 5},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: "t", Kind: "echo", Payload: []byte("hi")},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: "t", Kind: "echo", Timeout: d(-1, 0)},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: "t", Kind: "echo", Timeout: d(math.MaxInt64, 999_999_999)},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: "t", Kind: "echo", Timeout: d(1, -1)},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: "t", Kind: "echo", Timeout: d(0, 1)},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, Kind: "echo"},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: strings.Repeat("t", 300), Kind: "echo"},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: odd, Kind: odd, Payload: make([]byte, 1000), Retryable: true},
		&exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: "t", Kind: "echo", Params: map[string]string{"": "", odd: big}},
		&exov1.GwSubmit{CallId: 6, RunnerId: "nope", TaskId: "t", Kind: "echo"},
		&exov1.GwCancel{CallId: 7, RunnerId: fuzzRunner},
		&exov1.GwCancel{CallId: 7, RunnerId: fuzzRunner, TaskId: "t"},
		&exov1.GwCancel{CallId: 7},
		&exov1.GwSubscribe{CallId: 8, Topic: "tasks"},
		&exov1.GwSubscribe{CallId: 8, Topic: "runner-status", RunnerId: fuzzRunner, Window: 1, Buffer: 1},
		&exov1.GwSubscribe{CallId: 8, Topic: "alerts", Window: -1},
		&exov1.GwSubscribe{CallId: 8, Topic: "alerts", Buffer: -1},
		&exov1.GwSubscribe{CallId: 8, Topic: "alerts", Buffer: math.MaxInt32, Window: math.MaxInt32},
		&exov1.GwSubscribe{CallId: 8, Topic: "alerts", Buffer: math.MinInt32, Window: math.MinInt32},
		&exov1.GwSubscribe{CallId: 8, Topic: "nope"},
		&exov1.GwSubscribe{CallId: 8},
		&exov1.GwSubscribe{CallId: 8, Topic: "tasks", RunnerId: odd, TaskId: odd, Kinds: []string{odd, ""}},
		&exov1.GwSubscribe{CallId: 8, Topic: "tasks", Kinds: make([]string, 2000)},
		&exov1.GwCredit{CallId: 8, N: -1},
		&exov1.GwCredit{CallId: 8, N: math.MaxInt32},
		&exov1.GwUnsubscribe{CallId: 8},
		&exov1.GwNodeStatus{CallId: 9},
		&exov1.GwNodeStatus{CallId: 9, ShuttingOnly: true},
		&exov1.GwShutdown{CallId: 10},
		&exov1.GwShutdownPhase{CallId: 11},
		&exov1.GwShutdownPhase{CallId: 11, Phase: exov1.GwPhase(1), Deadline: d(-1, 0)},
		&exov1.GwShutdownPhase{CallId: 11, Phase: exov1.GwPhase(2), GoOnAfter: d(math.MaxInt64, 0)},
		&exov1.GwShutdownPhase{CallId: 11, Phase: exov1.GwPhase(99)},
		&exov1.GwShutdownPhase{CallId: 11, Phase: exov1.GwPhase(-1)},
		&exov1.GwEcho{},
		&exov1.GwEcho{CallId: math.MaxUint64},
		&exov1.GwBlast{CallId: 12, Count: 10, Size: 10},
		&exov1.GwBlast{CallId: 12, Count: -1, Size: -1},
		&exov1.GwBlast{CallId: 12, Count: math.MaxInt32, Size: math.MaxInt32},
		&exov1.GwBlast{CallId: 12, Count: 3000, Size: 512},
		&exov1.GwBlast{CallId: 12},
		&exov1.GwStatusDoc{CallId: 13},
		&exov1.GwInjectFault{CallId: 14, RunnerId: fuzzRunner, Generation: 1, Kind: "crash"},
		&exov1.GwInjectFault{CallId: 14, Kind: odd},
		&exov1.GwBye{},
		&exov1.GwBye{CallId: 15},
		&exov1.GwSpawnSettle{SpawnCallId: 2, CallId: 16},
		&exov1.GwSpawnSettle{SpawnCallId: 2, Learned: true, Handed: true},
		&exov1.GwSpawnSettle{},
		&exov1.GwPing{},
		&exov1.GwPing{Seq: math.MaxUint64},
		&exov1.GwAck{Through: math.MaxUint64},
		&exov1.GwAck{},
		&exov1.Ping{Nonce: 7},
	} {
		seed(0, m)
	}
	// Duplicate call_ids: the same request twice.
	seed(fuzzTwice, &exov1.GwSubmit{CallId: 6, RunnerId: fuzzRunner, TaskId: "t", Kind: "echo"})
	seed(fuzzTwice, &exov1.GwSubscribe{CallId: 8, Topic: "alerts"})
	seed(fuzzTwice, &exov1.GwSpawnRunner{CallId: 2, Kind: "echo", Settle: true})
	seed(fuzzTwice, &exov1.GwHello{CallId: 1})
	seed(fuzzTwice, &exov1.GwEcho{})
	seed(fuzzTwice, &exov1.GwBye{CallId: 1})
	// Bytes that do not decode (skipped), and no bytes at all.
	f.Add([]byte{4, 0xff})
	f.Add([]byte{})

	node := newFuzzNode(f) // one per fuzz worker, for all its inputs
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || len(data) > fuzzMaxInput {
			return
		}
		r := fuzzRequests[int(data[0]&0x1f)%len(fuzzRequests)]
		msg := r.req()
		if err := proto.Unmarshal(data[1:], msg); err != nil {
			return
		}
		node.run(t, msg, r.reply, data[0]&fuzzHello != 0, data[0]&fuzzAcks != 0, data[0]&fuzzTwice != 0)
	})
}
