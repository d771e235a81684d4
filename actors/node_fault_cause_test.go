package actors_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
)

// TestNodeFaultAfterAClientsShutdownIsNotItsCause: a node-wide fault that
// comes after a shutdown began (here a stepped one, as a client's) is not
// recorded as what shut the node down: Fault stays nil, and the node
// (exo-actors node reads Fault after ShutdownBegan) does not say it shut
// itself down. Before, the fault was recorded whenever it came. A fault
// on a running node still begins the shutdown and is its cause.
func TestNodeFaultAfterAClientsShutdownIsNotItsCause(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	n, err := actors.StartNode(actors.NodeConfig{Logger: quietLogger(), BuiltinBinary: binary, DeadLetterThrottle: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.ShutdownPhase(ctx, actors.PhaseSignaling, 0, 0); err != nil {
		t.Fatal(err)
	}
	n.NodeFaultForTest(errors.New("out of files"))
	<-n.Done() // the fault's Shutdown finishes the stepped one
	if err := n.Fault(); err != nil {
		t.Errorf("Fault after a shutdown a client began: %v, want nil", err)
	}

	m, err := actors.StartNode(actors.NodeConfig{Logger: quietLogger(), BuiltinBinary: binary, DeadLetterThrottle: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fault := errors.New("cannot fork")
	m.NodeFaultForTest(fault)
	select {
	case <-m.ShutdownBegan():
	default:
		t.Error("a fault on a running node did not begin its shutdown at once")
	}
	<-m.Done()
	if err := m.Fault(); !errors.Is(err, fault) {
		t.Errorf("Fault: %v, want %v", err, fault)
	}
}
