package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestAnswerOfAnotherTypeIsAnError: a node that answers a call with a
// message of another type (another version of the protocol, or a hostile
// node) gets an error naming both types, never a panic in the caller
// (before: "interface conversion: proto.Message is *exov1.GwEchoed, not
// *exov1.GwRunnerSpawned").
func TestAnswerOfAnotherTypeIsAnError(t *testing.T) {
	c, sent := hostileClient(t)
	go func() { // owner: the test, which waits for SpawnRunner, answered by this
		m := <-sent
		c.reply(&exov1.GwEchoed{CallId: m.(*exov1.GwSpawnRunner).GetCallId()})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.SpawnRunner(ctx, RunnerSpec{Kind: "echo"})
	if err == nil || !strings.Contains(err.Error(), "exoactors.v1.GwEchoed") || !strings.Contains(err.Error(), "exoactors.v1.GwRunnerSpawned") {
		t.Fatalf("SpawnRunner answered with a GwEchoed: %v, want an error naming both types", err)
	}
}

// TestSubscribeRefusesWindowOrBufferBeyondTheWire: Window and Buffer
// travel as int32 and a node takes at most gateway.MaxSubscribeWindow and
// MaxSubscribeBuffer; a larger one is refused here, naming the bound,
// instead of going out truncated (1<<32+8 arrived as 8) or being refused
// by the node after a round trip.
func TestSubscribeRefusesWindowOrBufferBeyondTheWire(t *testing.T) {
	c, sent := hostileClient(t)
	for _, o := range []SubscribeOptions{{Window: 1<<32 + 8}, {Buffer: 1<<32 + 8}, {Window: gateway.MaxSubscribeWindow + 1}, {Buffer: gateway.MaxSubscribeBuffer + 1}} {
		_, err := c.Subscribe(TopicTasks, Filter{}, o)
		if !errors.Is(err, ErrInvalidRequest) || !strings.Contains(err.Error(), "at most") {
			t.Errorf("Subscribe with %+v: %v, want ErrInvalidRequest naming the bound", o, err)
		}
	}
	select {
	case m := <-sent:
		t.Fatalf("the client sent %T %v, want nothing", m, m)
	default:
	}
}
