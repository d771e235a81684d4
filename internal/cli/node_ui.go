package cli

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/sysnode"
	"github.com/exo-actors/exo-actors/internal/webui"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// startNodeUI serves the web page of the node's System when --ui was given
// (nil, nil otherwise), before the node's listening line, so that a --ui
// that cannot listen fails the node before that line (before, the error
// came after it, and a script that waits for the line took the node for
// started). printNodeUI prints its address after the line. runNode stops
// it with stopUI before the System shuts down.
func startNodeUI(e *env, sys *exo.System, o nodeOptions) (*webui.Server, error) {
	if o.ui.addr == "" {
		return nil, nil
	}
	srv, err := webui.Start(webui.NodeOf(sysnode.Of(sys)), o.ui.config("the node"), e.logger)
	if err != nil {
		return nil, uiStartError(o.ui.addr, err)
	}
	return srv, nil
}

// printNodeUI prints the address of the node's web page, if it has one.
func printNodeUI(e *env, srv *webui.Server, o nodeOptions) {
	if srv != nil {
		fmt.Fprintf(e.stdout, "node %s web page of the supervision tree: %s (%s)\n", o.name, srv.URL(), o.ui.buttonsNote())
	}
}

// nodeFaults is the node's answer to Client.InjectFault: with
// --allow-faults, the web page's own fault injection (webui.Inject) on the
// node's runners; without, nil, and the gateway refuses every request.
func nodeFaults(sys *exo.System, o nodeOptions) func(ctx context.Context, id string, gen uint64, kind string) (string, error) {
	if !o.allowFaults {
		return nil
	}
	n := webui.NodeOf(sysnode.Of(sys))
	return func(ctx context.Context, id string, gen uint64, kind string) (string, error) {
		return webui.Inject(ctx, n, id, gen, kind)
	}
}

// uiStartError is --ui's error when the page could not listen: an address
// in use says what to do, as --listen's and --http's do (before, the raw
// "UI: listen on …: bind: address already in use"; a new user's trial).
func uiStartError(addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("the address %s is in use (another process listens there: a node you stopped holds its ports until it exits, after its shutdown's phases); pick another port with --ui (or :0 for any)", addr)
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("%s: %s", addr, httpapi.NotThisHost(addr, "--ui"))
	}
	return err
}
