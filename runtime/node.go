package runtime

import "context"

// Node is what a host does with exo-actors, embedded (System), on a
// remote node (Client, from Dial) or over a cluster (ClusterClient, from
// DialCluster): code written against Node runs on each. The handles are
// the same types either way. Differences: how the Node is made (New, Dial,
// DialCluster) and ended (System.Shutdown; Client.ShutdownNode or Close);
// a Client spawns only the kinds its node's configuration names (the
// spec's Kind alone; Command, Builtin and the rest come from the node's
// config, and a System refuses a spec without them); and its calls can
// also fail with ErrNodeLost.
type Node interface {
	SpawnRunner(ctx context.Context, spec RunnerSpec) (string, error)
	WaitReady(ctx context.Context, id string) error
	StopRunner(ctx context.Context, id string) (*StopResult, error)
	Runners(ctx context.Context) ([]RunnerInfo, error)
	Submit(ctx context.Context, runnerID string, t Task) (*TaskHandle, error)
	Cancel(ctx context.Context, runnerID, taskID string) (int, error)
	Subscribe(topic string, f Filter, o SubscribeOptions) (*Subscription, error)
}

// Both satisfy Node.
var (
	_ Node = (*System)(nil)
	_ Node = (*Client)(nil)
)
