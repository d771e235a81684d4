package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

func newRunnerCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "runner",
		Short: "Run the built-in runner on stdin/stdout (started by a supervisor)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("runner: not built yet")
		},
	}
}

func newDemoCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start a local demo cluster of runners, inject faults, shut down",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("demo: not built yet")
		},
	}
}
