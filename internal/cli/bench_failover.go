package cli

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/internal/bench"
)

// newBenchFailoverClientCmd builds the hidden `exo-actors
// bench-failover-client CLUSTER PEERS PID`: the client process of the
// bench's failover_ms row (one protoactor Remote per process), which kill
// -9s PID mid-task and prints its measurement as JSON.
func newBenchFailoverClientCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "bench-failover-client CLUSTER PEERS PID",
		Short:  "The client process of exo-actors bench's failover row (internal)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 3 {
				return usageErrorf("want CLUSTER PEERS PID, got %d arguments", len(args))
			}
			pid, err := strconv.Atoi(args[2])
			if err != nil || pid <= 1 {
				return usageErrorf("PID %q: want the node's process ID", args[2])
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			m, err := bench.FailoverClient(ctx, args[0], strings.Split(args[1], ","), pid)
			if err != nil {
				return err
			}
			return json.NewEncoder(e.stdout).Encode(m)
		},
	}
}
