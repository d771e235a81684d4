package cli

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/internal/bench"
)

// newBenchRemoteClientCmd builds the hidden `exo-actors bench-remote-client
// ADDR TOKENS REPS SAMPLES WARMUP`: the client process of the bench's
// remote rows (one protoactor Remote per process), which prints its
// measurements as JSON.
func newBenchRemoteClientCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "bench-remote-client ADDR TOKENS REPS SAMPLES WARMUP",
		Short:  "The client process of exo-actors bench's remote rows (internal)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 5 {
				return usageErrorf("want ADDR TOKENS REPS SAMPLES WARMUP, got %d arguments", len(args))
			}
			var n [4]int
			for i, a := range args[1:] {
				v, err := strconv.Atoi(a)
				if err != nil || v < 0 {
					return usageErrorf("argument %d %q: want a count", i+2, a)
				}
				n[i] = v
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 4*time.Minute)
			defer cancel()
			m, err := bench.RemoteClient(ctx, args[0], bench.Sizes{Tokens: n[0], EventReps: n[1], DispatchSamples: n[2], DispatchWarmup: n[3]})
			if err != nil {
				return err
			}
			return json.NewEncoder(e.stdout).Encode(m)
		},
	}
}
