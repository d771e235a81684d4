package runtime

import (
	"context"
	"strings"
	"testing"
	"time"

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
