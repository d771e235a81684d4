package cli

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/internal/builtinrunner"
	"github.com/exo-actors/exo-actors/internal/logbridge"
)

// newRunnerCmd builds `exo-actors runner`: the built-in runner, speaking the
// runner protocol on stdin/stdout for the supervisor that started it.
func newRunnerCmd(e *env) *cobra.Command {
	cfg := builtinrunner.DefaultConfig()
	var fault string
	cmd := &cobra.Command{
		Use:   "runner",
		Short: "Run the built-in runner on stdin/stdout (started by a supervisor)",
		Long: "runner imitates an exo model runner: it speaks the runner protocol on stdin/stdout,\n" +
			"loads --layers layers, then streams tokens for text_generation tasks (parameter\n" +
			"max_tokens, default 20) and completes noop tasks. Logs go to stderr.\n\n" +
			"It exits 0 after Shutdown, at the end of stdin and on SIGTERM/SIGINT, 1 on error.\n\n" +
			"--fault (or a task's \"fault\" parameter) makes it misbehave on purpose; forms:\n  " +
			builtinrunner.ValidFaultForms + "\n" +
			"Before a fault acts it prints \"exo-runner: fault KIND now\" on stderr.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.Layers < 1 {
				return usageErrorf("--layers %d: want at least 1", cfg.Layers)
			}
			if fault != "" {
				f, err := builtinrunner.ParseFault(fault)
				if err != nil {
					return usageErrorf("--fault: %w", err)
				}
				cfg.Fault = f
			}
			if err := cfg.Validate(); err != nil {
				return usageErrorf("runner: %w", err)
			}
			cfg.Stdin, cfg.Stdout, cfg.Stderr = e.stdin, e.stdout, e.stderr
			cfg.Logger = logbridge.NewSlog(e.logger)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return builtinrunner.Run(ctx, cfg)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Layers, "layers", cfg.Layers, "layers to load")
	f.DurationVar(&cfg.HelloDelay, "hello-delay", cfg.HelloDelay, "wait before the Hello frame (a runner slow to start; past the node's timeouts.handshake it never says Hello in time)")
	f.DurationVar(&cfg.ConnectDelay, "connect-delay", cfg.ConnectDelay, "time spent Connecting (a runner waiting for its peers; the node bounds no time there)")
	f.DurationVar(&cfg.LayerDelay, "layer-delay", cfg.LayerDelay, "time to load one layer")
	f.DurationVar(&cfg.WarmupDelay, "warmup-delay", cfg.WarmupDelay, "time spent WarmingUp")
	f.DurationVar(&cfg.TokenDelay, "token-delay", cfg.TokenDelay, "time to generate one token")
	f.StringVar(&fault, "fault", "", "inject a fault, e.g. exit:3, signal:SEGV, hang, crash-after:5 (see --help)")
	return cmd
}
