package runtime

import (
	"context"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// spawnSettled asks the node for a runner of kind and settles the spawn
// (gateway's spawnsettle.go): when the node tracks spawns (its welcome's
// spawn_settle), the request carries settle, and once the call is over the
// client tells the node whether its caller learned the runner's ID. Not
// learned (ctx ended, or the answer did not match), the node stops the
// runner. When the client itself ended (closed or lost), nothing is sent:
// the session's end makes the node stop every spawn still unsettled. A
// client's messages reach the gateway in order, so the settle always comes
// after its spawn.
func (c *Client) spawnSettled(ctx context.Context, kind string) (string, error) {
	id := c.ids.Add(1)
	res, err := answer[*exov1.GwRunnerSpawned](c.callAs(ctx, id, &exov1.GwSpawnRunner{CallId: id, Kind: kind, Settle: c.settleSpawns}))
	if c.settleSpawns && c.Err() == nil {
		c.send(&exov1.GwSpawnSettle{SpawnCallId: id, Learned: err == nil})
	}
	if err != nil {
		return "", err
	}
	return res.GetRunnerId(), nil
}
