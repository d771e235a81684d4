package runtime_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestClusterFullKindSaysLimit: a SpawnRunner for a kind whose every
// member is at its max_runners wraps ErrGatewayLimit (as a Client's does)
// besides ErrNoPlacement, not ErrUnknownKind, and says what to do. Before,
// it wrapped ErrNoPlacement only, as for a kind no member registers, so a
// host could not tell a passing state from its own mistake (a user's
// trial).
func TestClusterFullKindSaysLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test (about 5 s)")
	}
	kind := `{"builtin": true, "max_runners": 1, "args": ["--layers", "1", "--layer-delay", "0s", "--warmup-delay", "0s", "--log-level", "error"]}`
	cfg := writeConfig(t, map[string]string{"gen": kind}, "")
	ports := testutil.ReservePorts(t, 2)
	peers := []string{"127.0.0.1:" + strconv.Itoa(ports[0]), "127.0.0.1:" + strconv.Itoa(ports[1])}
	for i, name := range []string{"full-a", "full-b"} {
		startNode(t, name, cfg, "--cluster", "full-test", "--cluster-port", strconv.Itoa(ports[i]), "--cluster-peers", strings.Join(peers, ","))
	}
	rec := testutil.NewRecorder[exo.ClusterEvent]()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: "full-test", Peers: peers, Hook: rec.Hook})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	rec.Wait(t, 20*time.Second, "the client connected to 2 members", func([]exo.ClusterEvent) bool { return len(cc.Members()) == 2 })
	for range 2 {
		id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = cc.StopRunner(context.Background(), id) })
	}
	_, err = cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen"})
	t.Logf("third spawn: %v", err)
	if !errors.Is(err, exo.ErrNoPlacement) || !errors.Is(err, exo.ErrGatewayLimit) || errors.Is(err, exo.ErrUnknownKind) ||
		!strings.Contains(err.Error(), "stop a runner of the kind first (ClusterClient.Runners lists them), or raise kinds.gen.max_runners") {
		t.Fatalf("third spawn with every member at max_runners 1: %v; want ErrNoPlacement and ErrGatewayLimit, not ErrUnknownKind, saying what to do", err)
	}
}
