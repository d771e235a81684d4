package gateway

import (
	"errors"
	"testing"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestShutdownNoteSaysAFault: the note of a node that shut itself down
// over a node-wide fault carries the detail NODE_FAULT and says so, so a
// cluster client does not take it for a planned leave; a shutdown on
// request carries no detail (a review found both alike on the wire).
func TestShutdownNoteSaysAFault(t *testing.T) {
	plain := noteOf("n1", true, nil)
	if plain.GetCode() != exov1.GwCode_GW_CODE_SHUTTING_DOWN || plain.GetDetail() != exov1.GwCode_GW_CODE_UNSPECIFIED ||
		plain.GetText() != "node n1 shut down: "+NodeShutDownText {
		t.Errorf("note on request: %v", plain)
	}
	fault := noteOf("n1", false, errors.New("runner echo-1: too many open files"))
	if fault.GetCode() != exov1.GwCode_GW_CODE_SHUTTING_DOWN || fault.GetDetail() != exov1.GwCode_GW_CODE_NODE_FAULT ||
		fault.GetText() != "node n1 is shutting down: "+NodeShutDownText+" (it shut itself down: node-wide fault: runner echo-1: too many open files)" {
		t.Errorf("note after a fault: %v", fault)
	}
}
