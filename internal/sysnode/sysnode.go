// Package sysnode lets the module's own internal packages (the CLI's web
// page and live view) reach the actors.Node behind a *runtime.System,
// which a host never needs: the System keeps it unexported so that the
// host API names no internal type. Package runtime sets Of in its init;
// nothing else writes it.
package sysnode

import "github.com/exo-actors/exo-actors/actors"

// Of returns the node of a *runtime.System (set by package runtime's init;
// it panics for anything else).
var Of func(system any) *actors.Node
