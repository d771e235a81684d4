package runtime

import (
	"context"
	"crypto/tls"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Probe runs Dial's connection check alone, for the tests of its texts.
func Probe(ctx context.Context, addr string, cfg *tls.Config) error { return probe(ctx, addr, cfg) }

// HelloTimeout is Dial's text for a hello that got no answer in time.
func HelloTimeout(addr, listen string, withTLS bool, err error) error {
	return helloTimeout(addr, listen, withTLS, err)
}

// ActorIDForTest is the ID of the client's session actor, by which the
// node keys its session.
func (c *Client) ActorIDForTest() string { return c.self.Id }

// DialLossesForTest is how often the node's endpoint was lost while this
// client dialed (each made the dial say hello again).
func (c *Client) DialLossesForTest() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dialLosses
}

// PokeGatewayForTest sends a GwPing to the gateway at addr through this
// process's client endpoint (started with c's settings, held meanwhile):
// to a dead address, it starts an endpoint writer that fails its connect
// for 2 s and then reports the address terminated, as any message to a
// node that died does.
func (c *Client) PokeGatewayForTest(addr string) {
	c.ep.system.Root.Send(actor.NewPID(addr, gateway.Name), &exov1.GwPing{})
}
