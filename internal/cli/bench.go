package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/internal/bench"
	"github.com/exo-actors/exo-actors/internal/pollfd"
)

type benchOptions struct {
	json       bool
	quick      bool
	only       []string
	cpuprofile string
}

// newBenchCmd builds `exo-actors bench`: the runtime measured against floors
// taken in the same run on the same machine.
func newBenchCmd(e *env) *cobra.Command {
	var o benchOptions
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the runtime against floors measured on this machine",
		Long: "bench measures event streaming, task dispatch, crash detection, restart, shutdown\n" +
			"and memory per runner, each against a floor: the same work done by a child of this\n" +
			"binary without the runtime, with the same message and count. Each row's ratio\n" +
			"(value/floor) is checked against its goal; ok says whether it is met.\n\n" +
			"Rows: " + strings.Join(bench.Names(), ", ") + ".\n" +
			"Progress goes to stderr; the table (or with --json one JSON object) to stdout.\n" +
			"It exits 0 when every measurement ran, whether or not the goals are met.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := bench.CheckOnly(o.only); err != nil {
				return &UsageError{Err: err}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
			defer stop()
			return runBench(ctx, cmd, e, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.json, "json", false, "print one JSON object {commit, dirty, go, cpus, quick, results} instead of the table (dirty only when the binary's tree had uncommitted changes)")
	f.BoolVar(&o.quick, "quick", false, "smaller counts: about 35 s on 2 cores instead of about 4 minutes (the goals are set for full runs)")
	f.StringSliceVar(&o.only, "only", nil, "report only these rows (repeat or comma-separate); rows measured together are measured together, "+
		"e.g. crash_detect with restart (the progress line names them): "+strings.Join(bench.Names(), ", "))
	f.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of this process to `FILE` (samples are labelled bench=<measurement>)")
	return cmd
}

func runBench(ctx context.Context, cmd *cobra.Command, e *env, o benchOptions) (err error) {
	// The nodes log through the command's logger; unless --log-level was
	// given, only errors, so that logging is not what the rows measure.
	if fl := cmd.Flag("log-level"); fl == nil || !fl.Changed {
		e.logger.SetLevel(logrus.ErrorLevel)
	}
	cfg := bench.Config{Quick: o.quick, Only: o.only, Logger: e.logger, Progress: e.stderr}
	if f, ok := e.stderr.(*os.File); ok {
		cfg.ChildStderr = f
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("bench: --cpuprofile: %w", cerr)
			}
		}()
	}
	rep, err := bench.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return &interruptedError{msg: err.Error()}
		}
		return err
	}
	if o.json {
		return bench.WriteJSON(e.stdout, rep)
	}
	return bench.WriteTable(e.stdout, rep)
}

// newBenchChildCmd builds the hidden `exo-actors bench-child echo|stream N`:
// the children whose work is the floor of `exo-actors bench`.
func newBenchChildCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "bench-child echo | stream N",
		Short:  "A floor child of exo-actors bench (internal)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := bench.ParseChildArgs(args)
			if err != nil {
				return &UsageError{Err: err}
			}
			// The same write policy as the runners the bench measures
			// (runner.Serve): at once while the reader keeps up, coalesced
			// when the pipe is full.
			out, closeOut := pollfd.Out(e.stdout)
			defer closeOut()
			return bench.Child(spec, e.stdin, out)
		},
	}
}
