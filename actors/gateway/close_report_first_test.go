package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestCloseTellsOthersAtOnceAndTheRequesterAfterItsReport: a node closes
// its gateway once a client's GwShutdown shut it down. Every other client
// is told at once that the node shut down; the client that asked gets its
// GwShutdownReport first and the note after it, even while its report is
// still on its way (the call has not answered when Close begins), and
// however late that report comes (Close waits for it before its grace
// for goodbyes begins). Before, the note went to every client at once, so
// `exo-actors node` waited up to 2 s for the requesting client's goodbye
// before it closed its gateway, and a client beside it (a `remote run`)
// learnt of the shutdown 2 s late. With helloAgain the requesting client
// says hello again while its call runs (a new session under the same
// client actor): the note still waits for the report (review: it went
// first when the count was the session's).
func TestCloseTellsOthersAtOnceAndTheRequesterAfterItsReport(t *testing.T) {
	for _, helloAgain := range []bool{false, true} {
		name := "one session"
		if helloAgain {
			name = "hello again during the call"
		}
		t.Run(name, func(t *testing.T) { closeReportFirst(t, helloAgain) })
	}
}

func closeReportFirst(t *testing.T, helloAgain bool) {
	f, beside, bpid, release := heldShutdown(t)
	root := f.node.System().Root
	if helloAgain {
		f.send(&exov1.GwHello{CallId: 3, ClientName: "unit-test"})
		if w, ok := f.next(t).(*exov1.GwWelcome); !ok {
			t.Fatalf("hello again: got %T %v", w, w)
		}
	}
	closed := make(chan struct{})
	go func() {
		defer close(closed) // sole sender: this goroutine, which the test waits for
		f.gw.Close()
	}()
	beside.waitFor(t, "the note to the client beside, while the requester's report is held", func(got []proto.Message, _ int) bool {
		return len(got) == 2
	})
	beside.mu.Lock()
	note := beside.got[1]
	beside.mu.Unlock()
	wantError(t, note, 0, actors.ErrShuttingDown, "node unit shut down")
	// A client that says hello now would miss the note and keep Close
	// waiting for its goodbye: it is refused (review: it got a welcome).
	late := &silentClient{notify: make(chan struct{}, 1)}
	lpid := root.Spawn(actor.PropsFromProducer(func() actor.Actor { return late }))
	root.RequestWithCustomSender(f.gw.PID(), &exov1.GwHello{CallId: 1, ClientName: "late"}, lpid)
	late.waitFor(t, "the late client's answer", func(got []proto.Message, _ int) bool { return len(got) == 1 })
	late.mu.Lock()
	refusal := late.got[0]
	late.mu.Unlock()
	wantError(t, refusal, 1, actors.ErrShuttingDown, "node unit closes its gateway: no new session")
	close(release) // sole sender: the test goroutine
	if m := f.next(t); func() bool { r, _ := m.(*exov1.GwShutdownReport); return r == nil || r.GetCallId() != 2 }() {
		t.Fatalf("the requester got %T %v first, want its GwShutdownReport", m, m)
	}
	wantError(t, f.next(t), 0, actors.ErrShuttingDown, "node unit shut down")
	// Both say goodbye, as clients do on the note: Close need not wait out
	// its grace.
	f.send(&exov1.GwBye{CallId: 4})
	root.RequestWithCustomSender(f.gw.PID(), &exov1.GwBye{CallId: 2}, bpid)
	<-closed
}

// TestCloseGraceFollowsTheRequester: Close waits RequesterGrace for
// goodbyes only while the client that asked for the shutdown is
// connected; once it said goodbye, a client that never does (frozen, or
// older than the note) is waited for CloseGrace only. Before, the longer
// grace was chosen once, when Close began, so a host closed 3 s after a
// `remote shutdown` whose client had left at once (new-user trial, a
// client frozen beside it). Here RequesterGrace is an hour and CloseGrace
// a millisecond: Close returns only because the requester left.
func TestCloseGraceFollowsTheRequester(t *testing.T) {
	f := newFixtureWith(t, func(c *gateway.Config) {
		c.CloseGrace, c.RequesterGrace = time.Millisecond, time.Hour
		c.Shutdown = func(ctx context.Context) (string, actors.ShutdownReport, error) {
			rep, err := c.Node.Shutdown(ctx)
			return rep.String(), rep, err
		}
	})
	f.hello(t)
	frozen := &silentClient{notify: make(chan struct{}, 1)} // never says goodbye
	root := f.node.System().Root
	fpid := root.Spawn(actor.PropsFromProducer(func() actor.Actor { return frozen }))
	root.RequestWithCustomSender(f.gw.PID(), &exov1.GwHello{CallId: 1, ClientName: "frozen"}, fpid)
	frozen.waitFor(t, "the frozen client's welcome", func(got []proto.Message, _ int) bool { return len(got) == 1 })

	f.send(&exov1.GwShutdown{CallId: 2})
	if m := f.next(t); func() bool { r, _ := m.(*exov1.GwShutdownReport); return r == nil }() {
		t.Fatalf("got %T %v, want the GwShutdownReport", m, m)
	}
	// A WaitIdle beside Close: both wait on the same changes (review: one
	// signal for both, so one of them missed the requester's goodbye).
	idle := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		idle <- f.gw.WaitIdle(ctx)
	}()
	closed := make(chan struct{})
	go func() {
		defer close(closed) // sole sender: this goroutine, which the test waits for
		f.gw.Close()
	}()
	wantError(t, f.next(t), 0, actors.ErrShuttingDown, "node unit shut down")
	select {
	case <-closed:
		t.Fatal("Close returned while the client that asked for the shutdown was connected (RequesterGrace is an hour)")
	default:
	}
	f.send(&exov1.GwBye{CallId: 3})
	select {
	case <-closed:
	case <-time.After(wait):
		t.Fatal("Close still waited after the requester's goodbye: the frozen client kept it to RequesterGrace")
	}
	if err := <-idle; err != nil { // the actor stopped: every session ended
		t.Errorf("WaitIdle beside Close: %v", err)
	}
}

// TestCloseSurvivesTheActorsRestartAndASecondClose: Close waits for the
// notes it holds for clients whose shutdown call is unanswered. If the
// gateway's actor restarts meanwhile (a panic, a bug: protoactor restarts
// a root actor with a fresh state), the held notes go out and Close is
// answered; and a second Close at the same time waits for the first
// instead of sending the notes again. Before (review), Close then waited
// closeNotesWait (2m10s), and two Closes sent every client two notes and
// one of them waited 2m10s.
func TestCloseSurvivesTheActorsRestartAndASecondClose(t *testing.T) {
	f, beside, _, release := heldShutdown(t)
	closed := make(chan struct{}, 2)
	for range 2 {
		go func() {
			f.gw.Close()
			closed <- struct{}{}
		}()
	}
	beside.waitFor(t, "the note to the client beside", func(got []proto.Message, _ int) bool { return len(got) >= 2 })
	f.gw.PanicActorForTest()
	// The requester's held note goes out at the restart, its session ends.
	wantError(t, f.next(t), 0, actors.ErrShuttingDown, "node unit shut down")
	// The report comes late, to no session (Close waits for the call's
	// goroutine at its very end, so it cannot return before this).
	close(release) // sole sender: the test goroutine
	for i := range 2 {
		select {
		case <-closed:
		case <-time.After(wait):
			t.Fatalf("Close %d of 2 still waited after the actor restarted", i+1)
		}
	}
	beside.mu.Lock()
	notes := 0
	for _, m := range beside.got {
		if e, ok := m.(*exov1.GwError); ok && e.GetCallId() == 0 {
			notes++
		}
	}
	beside.mu.Unlock()
	if notes != 1 {
		t.Errorf("the client beside got %d notes that the node shut down, want 1", notes)
	}
}

// heldShutdown starts a fixture with two clients: the probe, whose
// GwShutdown (call 2) has shut the node down when this returns but whose
// report is held until release is closed (the test closes it), and
// beside (bpid), a silent client.
func heldShutdown(t *testing.T) (f *fixture, beside *silentClient, bpid *actor.PID, release chan struct{}) {
	t.Helper()
	shutDown := make(chan struct{})
	release = make(chan struct{})
	f = newFixtureWith(t, func(c *gateway.Config) {
		c.Shutdown = func(ctx context.Context) (string, actors.ShutdownReport, error) {
			rep, err := c.Node.Shutdown(ctx)
			close(shutDown) // sole sender: the one GwShutdown of the test
			<-release       // the report is late: Close has begun
			return rep.String(), rep, err
		}
	})
	f.hello(t)
	beside = &silentClient{notify: make(chan struct{}, 1)}
	root := f.node.System().Root
	bpid = root.Spawn(actor.PropsFromProducer(func() actor.Actor { return beside }))
	root.RequestWithCustomSender(f.gw.PID(), &exov1.GwHello{CallId: 1, ClientName: "beside"}, bpid)
	beside.waitFor(t, "the second client's welcome", func(got []proto.Message, _ int) bool { return len(got) == 1 })
	f.send(&exov1.GwShutdown{CallId: 2})
	<-shutDown
	return f, beside, bpid, release
}
