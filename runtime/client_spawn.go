package runtime

import (
	"context"

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
//     unsettled. If ctx or the client ends during that wait, the ID is
//     returned all the same: the settle went out first, and the caller had
//     better know the runner.
//   - ctx ended first: the client says not learned (no answer awaited),
//     and the node stops the runner.
//   - The client ended first (closed or lost): nothing is sent; the
//     session's end makes the node stop every spawn still unsettled.
//
// A client's messages reach the gateway in order, so a settle always comes
// after its spawn.
func (c *Client) spawnSettled(ctx context.Context, kind string) (string, error) {
	id := c.ids.Add(1)
	res, err := answer[*exov1.GwRunnerSpawned](c.callAs(ctx, id, &exov1.GwSpawnRunner{CallId: id, Kind: kind, Settle: c.settleSpawns}))
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
	_, _ = c.call(ctx, &exov1.GwSpawnSettle{SpawnCallId: id, Learned: true})
	return res.GetRunnerId(), nil
}
