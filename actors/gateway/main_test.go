package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/builtinrunner"
)

func TestMain(m *testing.M) {
	// The fixture's "echo" kind is the built-in runner, whose binary is
	// this test binary (NodeConfig.BuiltinBinary defaults to
	// os.Executable): started as "runner …", it is that runner. Checked
	// before goleak (traps.md).
	if len(os.Args) > 1 && os.Args[1] == "runner" {
		os.Exit(helperRunner())
	}
	goleak.VerifyTestMain(m)
}

// helperRunner runs the built-in runner with its defaults on the process's
// stdin and stdout until Shutdown, stdin's end or SIGTERM.
func helperRunner() int {
	cfg := builtinrunner.DefaultConfig()
	cfg.Stdin, cfg.Stdout, cfg.Stderr = os.Stdin, os.Stdout, os.Stderr
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := builtinrunner.Run(ctx, cfg); err != nil {
		return 1
	}
	return 0
}
