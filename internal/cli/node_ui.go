package cli

import (
	"fmt"

	"github.com/exo-actors/exo-actors/internal/sysnode"
	"github.com/exo-actors/exo-actors/internal/webui"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// startNodeUI serves the web page of the node's System when --ui was given
// (nil, nil otherwise) and prints its address. runNode stops it with stopUI
// before the System shuts down.
func startNodeUI(e *env, sys *exo.System, o nodeOptions) (*webui.Server, error) {
	if o.ui.addr == "" {
		return nil, nil
	}
	srv, err := webui.Start(webui.NodeOf(sysnode.Of(sys)), o.ui.config(), e.logger)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(e.stdout, "node %s web page of the supervision tree: %s (%s)\n", o.name, srv.URL(), o.ui.buttonsNote())
	return srv, nil
}
