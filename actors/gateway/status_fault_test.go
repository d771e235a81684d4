package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestStatusDoc: GwStatusDoc answers the node's /status document as JSON.
func TestStatusDoc(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwStatusDoc{CallId: 2})
	r, ok := f.next(t).(*exov1.GwStatusDocReply)
	if !ok || r.GetCallId() != 2 {
		t.Fatalf("got %T %v, want GwStatusDocReply call 2", r, r)
	}
	var doc struct {
		Schema  string            `json:"schema"`
		Runners []json.RawMessage `json:"runners"`
		Tree    struct{ Kind string }
	}
	if err := json.Unmarshal(r.GetJson(), &doc); err != nil || doc.Schema != "exo-actors/status/v1" || doc.Tree.Kind != "node" || doc.Runners == nil {
		t.Fatalf("status doc %s: %v", r.GetJson(), err)
	}
}

// TestInjectFaultRefusedUnlessAllowed: a node without an InjectFault hook
// refuses every GwInjectFault, naming the flag that allows them.
func TestInjectFaultRefusedUnlessAllowed(t *testing.T) {
	f := newFixture(t)
	f.hello(t)
	f.send(&exov1.GwInjectFault{CallId: 2, RunnerId: "echo-000001", Generation: 1, Kind: "crash"})
	wantError(t, f.next(t), 2, gateway.ErrUnsupported, "node unit: this node does not allow fault injection: start it with --allow-faults")
}

// TestInjectFaultAllowed: with a hook, the request reaches it whole and
// its answer, or its error with the error's code, goes back.
func TestInjectFaultAllowed(t *testing.T) {
	type call struct {
		id   string
		gen  uint64
		kind string
	}
	calls := make(chan call, 4) // never closed
	f := newFixtureWith(t, func(c *gateway.Config) {
		c.InjectFault = func(ctx context.Context, id string, gen uint64, kind string) (string, error) {
			calls <- call{id, gen, kind}
			if id == "nope" {
				return "", fmt.Errorf("%w %q", actors.ErrUnknownRunner, id)
			}
			return "SIGKILL sent to pid 42", nil
		}
	})
	f.hello(t)
	f.send(&exov1.GwInjectFault{CallId: 2, RunnerId: "echo-000001", Generation: 3, Kind: "crash"})
	r, ok := f.next(t).(*exov1.GwFaultInjected)
	if !ok || r.GetCallId() != 2 || r.GetResult() != "SIGKILL sent to pid 42" {
		t.Fatalf("got %T %v", r, r)
	}
	if c := <-calls; c != (call{"echo-000001", 3, "crash"}) {
		t.Fatalf("hook called with %+v", c)
	}
	f.send(&exov1.GwInjectFault{CallId: 3, RunnerId: "nope", Generation: 1, Kind: "hang"})
	wantError(t, f.next(t), 3, actors.ErrUnknownRunner, `"nope"`)
}
