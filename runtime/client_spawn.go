package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/exo-actors/exo-actors/actors/gateway"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// spawnSettled asks the node for a runner of kind and settles the spawn
// (gateway's spawnsettle.go) when the node tracks spawns (its welcome's
// spawn_settle): the request carries settle, and once the call is over the
// client tells the node whether its caller learned the runner's ID.
//
//   - The answer came: the client says learned and waits for the node's
//     GwSpawnSettled before it returns the ID, so a runner whose ID its
//     caller holds (and may print) is never stopped by the node as
//     unsettled. Then it says handed (with a node that takes hand_off; no
//     answer awaited) and returns the ID: a node that loses this client
//     before it reads that names the runner in a warning as possibly known
//     to nobody (it keeps it: it cannot tell). If ctx or the client ends
//     during the wait, the ID is returned all the same (handed sent while
//     the client is up): the settle went out first, and the caller had
//     better know the runner. But if the node answers that it had dropped
//     this client's session (gateway.ErrNoSession), the spawn was
//     unsettled at the session's end and the node is stopping the runner:
//     the call fails, naming the runner, instead of returning its ID.
//   - ctx ended first: the client says not learned (no answer awaited),
//     and the node stops the runner.
//   - The client ended first (closed or lost): nothing is sent; the
//     session's end makes the node stop every spawn still unsettled.
//
// A client's messages reach the gateway in order, so a settle always comes
// after its spawn.
func (c *Client) spawnSettled(ctx context.Context, kind string) (string, error) {
	id := c.ids.Add(1)
	res, err := answer[*exov1.GwRunnerSpawned](c.callAs(ctx, id, &exov1.GwSpawnRunner{CallId: id, Kind: kind, Settle: c.settleSpawns, HandOff: c.handOff, Lease: c.opts.lease}))
	if !c.settleSpawns {
		if err != nil {
			return "", err
		}
		return res.GetRunnerId(), nil
	}
	if err != nil {
		if c.Err() == nil {
			c.send(&exov1.GwSpawnSettle{SpawnCallId: id})
		}
		return "", err
	}
	_, err = c.call(ctx, &exov1.GwSpawnSettle{SpawnCallId: id, Learned: true})
	if errors.Is(err, gateway.ErrNoSession) {
		// The node had dropped this client's session (it sent nothing for
		// the session timeout): the spawn was unsettled at the session's
		// end, and the node is stopping the runner. An ID handed over now
		// would name a runner about to end.
		return "", fmt.Errorf("spawn of a runner of kind %q: the node dropped this client's session before it learned the runner's ID (%s), and stops that runner: %w",
			kind, res.GetRunnerId(), err)
	}
	if c.handOff && c.Err() == nil {
		c.send(&exov1.GwSpawnSettle{SpawnCallId: id, Learned: true, Handed: true})
	}
	return res.GetRunnerId(), nil
}
