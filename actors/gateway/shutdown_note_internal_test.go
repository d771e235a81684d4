package gateway

import (
	"errors"
	"strings"
	"testing"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestShutdownNoteSaysAFault: the note of a node that shut itself down
// over a node-wide fault carries the detail NODE_FAULT and says so, so a
// cluster client does not take it for a planned leave; a shutdown on
// request carries no detail (a review found both alike on the wire).
func TestShutdownNoteSaysAFault(t *testing.T) {
	plain := noteOf("n1", true, nil, false)
	if plain.GetCode() != exov1.GwCode_GW_CODE_SHUTTING_DOWN || plain.GetDetail() != exov1.GwCode_GW_CODE_UNSPECIFIED ||
		plain.GetText() != "node n1 shut down: "+NodeShutDownText {
		t.Errorf("note on request: %v", plain)
	}
	fault := noteOf("n1", false, errors.New("runner echo-1: too many open files"), false)
	if fault.GetCode() != exov1.GwCode_GW_CODE_SHUTTING_DOWN || fault.GetDetail() != exov1.GwCode_GW_CODE_NODE_FAULT ||
		fault.GetText() != "node n1 is shutting down: "+NodeShutDownText+" (it shut itself down: node-wide fault: runner echo-1: too many open files)" {
		t.Errorf("note after a fault: %v", fault)
	}
}

// TestShutdownNoteSaysItWasForced: the note of a node whose shutdown was
// forced (ForceKill: a second SIGTERM) carries the detail SHUTDOWN_FORCED
// and says so, so a cluster client does not call the leave graceful;
// after a fault too, whose detail (it decides the backoff) stays. Before,
// a forced shutdown's note read as a graceful one's (a docs-only trial).
func TestShutdownNoteSaysItWasForced(t *testing.T) {
	const said = " (its shutdown was forced: every runner's process group got SIGKILL)"
	forced := noteOf("n1", true, nil, true)
	if forced.GetCode() != exov1.GwCode_GW_CODE_SHUTTING_DOWN || forced.GetDetail() != exov1.GwCode_GW_CODE_SHUTDOWN_FORCED ||
		forced.GetText() != "node n1 shut down: "+NodeShutDownText+said {
		t.Errorf("forced note: %v", forced)
	}
	both := noteOf("n1", true, errors.New("fork failed"), true)
	if both.GetDetail() != exov1.GwCode_GW_CODE_NODE_FAULT || !strings.HasSuffix(both.GetText(), "(it shut itself down: node-wide fault: fork failed)"+said) {
		t.Errorf("forced note after a fault: %v", both)
	}
}
