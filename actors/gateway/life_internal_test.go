package gateway

import (
	"slices"
	"testing"
)

// TestGatewayLifeTransitions: every (from, to) pair of the gateway's
// lifecycle moves exactly when gatewayTransitions allows it, and stays put
// otherwise: leaving is irreversible, stopping final (a SetLeaving after
// the actor stopped changes nothing).
func TestGatewayLifeTransitions(t *testing.T) {
	want := map[[2]gatewayLife]bool{
		{gatewayServing, gatewayLeaving}:  true,
		{gatewayServing, gatewayClosing}:  true,
		{gatewayServing, gatewayStopping}: true,
		{gatewayLeaving, gatewayClosing}:  true,
		{gatewayLeaving, gatewayStopping}: true,
		{gatewayClosing, gatewayStopping}: true,
	}
	for from := range numGatewayLives {
		for to := range numGatewayLives {
			g := &Gateway{}
			g.lifeV.Store(int32(from))
			moved := g.to(to)
			if moved != want[[2]gatewayLife{from, to}] {
				t.Errorf("%s → %s: moved %v, want %v", from, to, moved, !moved)
			}
			if now := g.life(); moved && now != to || !moved && now != from {
				t.Errorf("%s → %s (moved %v): now %s", from, to, moved, now)
			}
			if slices.Contains(gatewayTransitions[from], to) != want[[2]gatewayLife{from, to}] {
				t.Errorf("table and test disagree on %s → %s", from, to)
			}
		}
	}
	g := &Gateway{}
	g.SetLeaving()
	g.SetLeaving() // irreversible and idempotent
	if g.life() != gatewayLeaving {
		t.Fatalf("after SetLeaving: %s, want leaving", g.life())
	}
	g.to(gatewayStopping)
	g.SetLeaving()
	if g.life() != gatewayStopping {
		t.Fatalf("SetLeaving on a stopping gateway: %s, want stopping", g.life())
	}
	if s := gatewayLife(7).String(); s != "gatewayLife(7)" {
		t.Errorf("unknown state prints %q", s)
	}
}
