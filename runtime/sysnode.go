package runtime

import (
	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/sysnode"
)

// The module's internal tools (the demo's web page and live view) reach the
// node through internal/sysnode; hosts cannot import it.
func init() {
	sysnode.Of = func(system any) *actors.Node { return system.(*System).node }
}
