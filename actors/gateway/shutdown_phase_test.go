package gateway_test

import (
	"context"
	"io"
	"strings"
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

// newPhaseFixture is newFixture with ShutdownPhase wired to the node.
func newPhaseFixture(t *testing.T) *fixture {
	t.Helper()
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	n, err := actors.StartNode(actors.NodeConfig{Logger: logger, DeadLetterThrottle: time.Millisecond, BuiltinBinary: exoBin})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.Start(gateway.Config{Name: "unit", Node: n, Logger: logger, SessionTimeout: time.Minute, ShutdownPhase: n.ShutdownPhase})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{node: n, gw: gw, replies: make(chan proto.Message, 256)}
	f.probe = n.System().Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *sendVia:
			ctx.Request(gw.PID(), m.msg)
		case proto.Message:
			f.replies <- m
		}
	}))
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

func TestShutdownPhaseRefusedWithoutConfig(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwShutdownPhase{CallId: 2, Phase: exov1.GwPhase_GW_PHASE_SIGNALING})
	wantError(t, f.next(t), 2, gateway.ErrUnsupported, "this node does not accept remote shutdown: it was started with --allow-remote-shutdown=false (ServeConfig.AllowShutdown false); stop it with SIGTERM on its host")
}

// TestRemoteShutdownRefusedText: a node that does not accept remote
// shutdown says how it was started and how to stop it, without the
// misleading "not a gateway request" of its wire code's sentinel.
func TestRemoteShutdownRefusedText(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwShutdown{CallId: 2})
	m := f.next(t)
	wantError(t, m, 2, gateway.ErrUnsupported, "node unit: this node does not accept remote shutdown: it was started with --allow-remote-shutdown=false")
	if text := m.(*exov1.GwError).GetText(); strings.Contains(text, gateway.ErrUnsupported.Error()) || !strings.HasSuffix(text, "stop it with SIGTERM on its host") {
		t.Errorf("text %q", text)
	}
}

func TestShutdownPhaseOverTheGateway(t *testing.T) {
	f := newPhaseFixture(t)
	f.hello(t)
	f.send(&exov1.GwShutdownPhase{CallId: 2})
	wantError(t, f.next(t), 2, gateway.ErrInvalidArgument, "shutdown phase GW_PHASE_UNSPECIFIED: want SIGNALING, DRAINING or CLOSING")
	f.send(&exov1.GwShutdownPhase{CallId: 3, Phase: exov1.GwPhase_GW_PHASE_DRAINING, Deadline: durationpb.New(-time.Second)})
	wantError(t, f.next(t), 3, gateway.ErrInvalidArgument, "negative deadline -1s")

	f.send(&exov1.GwShutdownPhase{CallId: 4, Phase: exov1.GwPhase_GW_PHASE_SIGNALING, Deadline: durationpb.New(time.Second)})
	r, ok := f.next(t).(*exov1.GwShutdownPhaseReport)
	if !ok || r.GetCallId() != 4 || r.GetPhase() != exov1.GwPhase_GW_PHASE_SIGNALING {
		t.Fatalf("SIGNALING: %v", r)
	}
	if ph := r.GetReport().GetRoot().GetPhases(); len(ph) != 1 || ph[0].GetPhase() != exov1.GwPhase_GW_PHASE_SIGNALING || ph[0].GetOutcome() != "ok" {
		t.Errorf("after SIGNALING the node's phases are %v", ph)
	}
	f.send(&exov1.GwShutdownPhase{CallId: 5, Phase: exov1.GwPhase_GW_PHASE_CLOSING, Deadline: durationpb.New(time.Second)})
	r, ok = f.next(t).(*exov1.GwShutdownPhaseReport)
	if !ok || r.GetCallId() != 5 {
		t.Fatalf("CLOSING: %v", r)
	}
	if ph := r.GetReport().GetRoot().GetPhases(); len(ph) != 3 || r.GetReport().GetTotal().AsDuration() <= 0 {
		t.Errorf("after CLOSING: %d phases, total %v", len(ph), r.GetReport().GetTotal().AsDuration())
	}
	select {
	case <-f.node.Done():
	case <-time.After(wait):
		t.Fatal("the node did not stop after CLOSING")
	}
}
