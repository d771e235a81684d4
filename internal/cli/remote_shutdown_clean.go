package cli

import (
	"fmt"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// remoteShutdownUnclean is the line `remote shutdown` prints under a
// node's report when its shutdown was not clean, the one the node itself
// prints: "node N: shut down (asked by a client), not cleanly: DRAINING
// timed out after 3s (1 task cut short); raise shutdown.draining in the
// node config (3s) to let tasks finish". Empty for a clean shutdown, or for a node too old to
// send its report (RemoteShutdownReport.Report.Root nil: only the text).
// Before, remote shutdown printed the report tree alone and exited 0
// while the node exited 4.
func remoteShutdownUnclean(rep exo.RemoteShutdownReport) string {
	if rep.Report.Root == nil {
		return ""
	}
	cut := cutShortWithHint(rep.Report, exo.ShutdownDeadlines{}, exo.RunnerTimeouts{}, false) // nodeconfig_shutdown.go
	if cut == "" {
		return ""
	}
	return fmt.Sprintf("node %s: shut down (asked by a client), not cleanly: %s\n", rep.Node, cut)
}

// remoteUncleanError is the exit of `remote shutdown` when every node shut
// down but n of them not cleanly: exit 4 (ExitUnclean), as the nodes'.
func remoteUncleanError(n, of int) error {
	if of == 1 {
		return &uncleanError{msg: "the node shut down, not cleanly (above)"}
	}
	return &uncleanError{msg: fmt.Sprintf("%d of %d nodes shut down, not cleanly (above)", n, of)}
}
