package actors

import (
	"io"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// A late reply to a client that said goodbye (the SRE trial: a
// GwRunnerStopped after `remote stop` gave up) is normal: counted in
// ForwardStats.ToDeparted and logged at debug, with no error record.
// Before, it was a MEDIUM send_to_stopped record with a warning ending "see
// ForwardStats", a counter only the Go API shows. A dead letter to any
// other address still is send_to_stopped.
func TestDeadLetterToDepartedClientIsDebugOnly(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	policy, err := errhandler.New(errhandler.Config{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	logger, hook := logtest.NewNullLogger()
	logger.SetOutput(io.Discard)
	logger.SetLevel(logrus.DebugLevel)
	nc := &nodeConfig{logger: logger, clock: fake, runnerClock: fake, policy: policy}
	n := &Node{cfg: nc}

	client := &actor.PID{Address: "127.0.0.1:40265", Id: "client$3"}
	n.ClientDeparted(client)
	nc.onDeadLetter(&actor.DeadLetterEvent{PID: client, Message: &exov1.GwRunnerStopped{}})
	st := nc.fwd.stats()
	if st.ToDeparted != 1 || st.DeadLetters != 0 || st.Records != 0 || len(recordsOf(policy, errhandler.KindSendToStopped)) != 0 {
		t.Errorf("late reply to a departed client: %+v; want ToDeparted 1, no dead letter, no record", st)
	}
	for _, e := range hook.AllEntries() {
		if e.Level < logrus.DebugLevel {
			t.Errorf("logged at %s: %s", e.Level, e.Message)
		}
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.DebugLevel {
		t.Errorf("no debug line for the late reply")
	}

	// The same address back with a new session: undeliverable messages
	// count again.
	n.ClientArrived(client)
	hook.Reset()
	nc.onDeadLetter(&actor.DeadLetterEvent{PID: client, Message: &exov1.GwRunnerStopped{}})
	if st := nc.fwd.stats(); st.DeadLetters != 1 || len(recordsOf(policy, errhandler.KindSendToStopped)) != 1 {
		t.Errorf("after the client came back: %+v; want a send_to_stopped record", st)
	}
	if e := hook.LastEntry(); e == nil || e.Level != logrus.WarnLevel {
		t.Errorf("send_to_stopped not warned: %v", hook.AllEntries())
	}
}

// The set of departed clients is bounded: the oldest goes first.
func TestDepartedClientsBounded(t *testing.T) {
	var d departedClients
	for i := range maxDeparted + 10 {
		d.add(string(rune('a'+i%26)) + "-" + time.Duration(i).String())
	}
	if len(d.set) != maxDeparted || len(d.order) != maxDeparted {
		t.Fatalf("%d clients held, %d in order; want %d", len(d.set), len(d.order), maxDeparted)
	}
	if d.has("a-0s") || !d.has(d.order[0]) {
		t.Error("the oldest client was not the one forgotten")
	}
}

// Two Clients of one process share its address but not their client
// actor: one's goodbye must not make the other's undeliverable messages
// look expected. Before, departed clients were remembered by address, so
// a message the node could not deliver to the second Client (still in
// session) was counted ToDeparted and logged at debug, hiding a real
// send_to_stopped.
func TestDepartedIsPerClientNotPerAddress(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	policy, err := errhandler.New(errhandler.Config{Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	logger, _ := logtest.NewNullLogger()
	logger.SetOutput(io.Discard)
	nc := &nodeConfig{logger: logger, clock: fake, runnerClock: fake, policy: policy}
	n := &Node{cfg: nc}

	gone := &actor.PID{Address: "127.0.0.1:40265", Id: "client$3"}
	other := &actor.PID{Address: "127.0.0.1:40265", Id: "client$4"} // same process, another Client
	n.ClientArrived(gone)
	n.ClientArrived(other)
	n.ClientDeparted(gone)
	nc.onDeadLetter(&actor.DeadLetterEvent{PID: other, Message: &exov1.GwRunnerStopped{}})
	if st := nc.fwd.stats(); st.ToDeparted != 0 || st.DeadLetters != 1 {
		t.Errorf("undeliverable message to the Client still in session, after another Client of its process said goodbye: %+v; want DeadLetters 1, ToDeparted 0", st)
	}
	nc.onDeadLetter(&actor.DeadLetterEvent{PID: gone, Message: &exov1.GwRunnerStopped{}})
	if st := nc.fwd.stats(); st.ToDeparted != 1 {
		t.Errorf("late message to the Client that said goodbye: %+v; want ToDeparted 1", st)
	}
}
