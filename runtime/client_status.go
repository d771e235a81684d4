package runtime

import (
	"context"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// StatusJSON returns the node's status document as JSON: the document of
// GET /status on the node (schema "exo-actors/status/v1", see
// docs/operations.md): the supervision tree, every runner's status, health
// score, restarts, next backoff and error records, and the active alerts.
func (c *Client) StatusJSON(ctx context.Context) ([]byte, error) {
	res, err := answer[*exov1.GwStatusDocReply](c.callLarge(ctx, &exov1.GwStatusDoc{}))
	if err != nil {
		return nil, err
	}
	return res.GetJson(), nil
}

// InjectFault injects a fault into runner id of the node, if the runner is
// at generation gen: "crash" (SIGKILL to its process), "hang" (SIGSTOP) or
// "garbage" (a task that makes the built-in runner write bytes that are no
// frame). It returns what the node did. A node refuses it (ErrUnsupported)
// unless it was started to allow faults (ServeConfig.InjectFault,
// exo-actors node --allow-faults).
func (c *Client) InjectFault(ctx context.Context, id string, gen uint64, kind string) (string, error) {
	res, err := answer[*exov1.GwFaultInjected](c.call(ctx, &exov1.GwInjectFault{RunnerId: id, Generation: gen, Kind: kind}))
	if err != nil {
		return "", err
	}
	return res.GetResult(), nil
}
