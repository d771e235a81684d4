package runtime

import (
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
)

// TestClusterShutdownWireLosesNoField: a node's shutdown report survives the
// gateway's wire form (GwNodeShutdownReport) with every field set, and reads
// back the same.
func TestClusterShutdownWireLosesNoField(t *testing.T) {
	in := filled[actors.ShutdownReport]()
	// Each actor's Phases is indexed by its phase: make every entry say so,
	// and give the tree a child with a nested phase report.
	fix := func(r *actors.ActorReport) {
		for i, p := range r.Phases {
			cp := *p
			cp.Phase = actors.Phase(i)
			child := filled[actors.PhaseReport]()
			child.Phase = actors.Phase(i)
			cp.Children = []*actors.PhaseReport{&child}
			r.Phases[i] = &cp
		}
	}
	fix(in.Root)
	kid := filled[actors.ActorReport]()
	fix(&kid)
	in.Root.Children = []*actors.ActorReport{&kid}
	out := fromGwShutdownReport(gateway.ShutdownReportToProto(in))
	// Phase SIGNALING is the zero Phase: Phases[0].Phase is zero by design.
	checkAllSet(t, "ShutdownReport over the wire", out, "Root.Phases[i].Phase")
	if got, want := out.String(), fromShutdownReport(in).String(); got != want {
		t.Errorf("report over the wire renders\n%s\nwant\n%s", got, want)
	}
	if !out.Start.Equal(in.Start) || !out.PhaseStart[2].Equal(in.PhaseStart[2]) || out.PhaseDuration != in.PhaseDuration ||
		!out.Root.Children[0].Phases[1].Children[0].Start.Equal(kid.Phases[1].Children[0].Start) {
		t.Errorf("times differ over the wire: %+v", out)
	}
	for ph := actors.PhaseSignaling; ph <= actors.PhaseClosing; ph++ {
		if back, ok := gateway.PhaseFromProto(gateway.PhaseToProto(ph)); !ok || back != ph {
			t.Errorf("phase %s: back %v %v", ph, back, ok)
		}
	}
	if _, ok := gateway.PhaseFromProto(0); ok {
		t.Error("GW_PHASE_UNSPECIFIED was taken for a phase")
	}
}
