package runtime_test

import (
	"strings"
	"testing"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestBuiltinThatIsNoRunnerPointsAtBuiltinBinary: a built-in runner whose
// BuiltinBinary is not exo-actors (a host's own program, here /bin/echo)
// fails with advice about BuiltinBinary, not about the spec's Command and
// Args, which a built-in spec does not have (a host's trial).
func TestBuiltinThatIsNoRunnerPointsAtBuiltinBinary(t *testing.T) {
	cfg := config()
	cfg.BuiltinBinary = "/bin/echo"
	sys := newSystem(t, cfg)
	ctx := t.Context()
	id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "gen", Builtin: true})
	if err != nil {
		t.Fatal(err)
	}
	err = sys.WaitReady(ctx, id)
	t.Logf("WaitReady: %v", err)
	if err == nil || !strings.Contains(err.Error(), "a built-in runner runs the exo-actors binary with the spec's Args: check that /bin/echo is one (Config.BuiltinBinary") ||
		strings.Contains(err.Error(), "RunnerSpec.Command and Args") {
		t.Fatalf("WaitReady: %v; want the advice to set BuiltinBinary, not Command and Args", err)
	}
}
