package cli

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/internal/conformance"
)

// newConformanceCmd builds `exo-actors conformance`: the protocol
// conformance suite against any runner command.
func newConformanceCmd(e *env) *cobra.Command {
	var (
		cfg    conformance.Config
		asJSON bool
		params []string
	)
	cmd := &cobra.Command{
		Use:   "conformance [--json] -- CMD [ARGS...]",
		Short: "Check that a runner command speaks the runner protocol",
		Long: "conformance runs a suite of cases against a runner command, each on a fresh process\n" +
			"(own process group, killed and reaped when the case ends), and prints pass/fail per\n" +
			"case with the evidence. It exits 0 only when no case failed (a case about a\n" +
			"capability the runner does not announce is skipped), 1 otherwise.\n\n" +
			"Cases: " + strings.Join(conformance.Names(), ", ") + ".\n\n" +
			"In every case, while a task runs, heartbeats must keep coming: a gap longer than\n" +
			"max(20 x the interval asked in HelloAccepted (100ms), 2s) fails the case. A runner\n" +
			"that ends unasked (before a Shutdown it answers or the end of its stdin) without\n" +
			"saying why fails the case with \"the runner exited unasked\" first.\n" +
			"(docs/runners.md describes the cases.)\n\n" +
			"Example: exo-actors conformance -- /usr/bin/python3 sdk/python/examples/text_generation.py",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrorf("conformance needs the runner command after --, e.g. exo-actors conformance -- exo-actors runner")
			}
			if at := cmd.ArgsLenAtDash(); at != 0 {
				return usageErrorf("conformance: put the runner command after --; got %q before it", args[0])
			}
			cfg.Command = args
			cfg.Params = map[string]string{}
			for _, p := range params {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return usageErrorf("--param %q: want KEY=VALUE", p)
				}
				cfg.Params[k] = v
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			rep, err := conformance.Run(ctx, cfg)
			if rep == nil {
				return usageErrorf("conformance: %w", err)
			}
			if asJSON {
				_ = rep.WriteJSON(e.stdout)
			} else {
				_ = rep.WriteText(e.stdout)
			}
			if err != nil {
				return &interruptedError{msg: err.Error()}
			}
			if !rep.OK() {
				var failed []string
				for _, c := range rep.Cases {
					if c.Outcome == conformance.Fail {
						failed = append(failed, c.Name)
					}
				}
				return errors.New(fmt.Sprintf("conformance: %d case(s) failed: %s", rep.Failed, strings.Join(failed, ", ")))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print the report as JSON (for CI)")
	f.StringSliceVar(&cfg.Only, "only", nil, "run only these cases (comma-separated names)")
	f.StringVar(&cfg.TaskKind, "task-kind", "text_generation", "kind of the tasks sent (they carry max_tokens)")
	f.StringArrayVar(&params, "param", nil, "extra task parameter KEY=VALUE (repeatable)")
	f.DurationVar(&cfg.ReadyTimeout, "ready-timeout", 0, "longest wait from HelloAccepted to Ready (default 30s)")
	f.StringArrayVar(&cfg.Env, "env", nil, "extra environment variable KEY=VALUE for the runner (repeatable)")
	return cmd
}
