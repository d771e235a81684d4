package actors_test

import (
	"context"
	"errors"
	"sync/atomic"
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
	if _, err := n.Shutdown(ctx); err != nil { // waits for the fault's goroutine
		t.Error(err)
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
	if _, err := m.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// TestShutdownWaitsForTheFaultsGoroutine: a node that shut itself down
// after a node-wide fault ran its shutdown on a goroutine of its own; a
// Shutdown call returns only once that goroutine has ended, so nothing of
// the node outlives it (every goroutine has an owner that waits for it).
// Before, nothing waited for it by name.
func TestShutdownWaitsForTheFaultsGoroutine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	entered, release := make(chan struct{}), make(chan struct{})
	var ended atomic.Bool
	defer actors.SetFaultRunEndHookForTest(func() {
		close(entered) // sole sender: the one fault of this test
		<-release
		ended.Store(true)
	})()
	n, err := actors.StartNode(actors.NodeConfig{Logger: quietLogger(), BuiltinBinary: binary, DeadLetterThrottle: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n.NodeFaultForTest(errors.New("cannot fork"))
	<-entered
	<-n.Done()
	returned := make(chan bool, 1)
	go func() {
		_, _ = n.Shutdown(ctx)
		returned <- ended.Load()
	}()
	close(release) // sole sender: the test goroutine
	if !<-returned {
		t.Error("Shutdown returned while the fault's shutdown goroutine still ran")
	}
}
