package errhandler

import (
	"strings"
	"testing"
)

// TestHintsNameTheNodeConfigKey: a hint that says to raise a RunnerTimeouts
// field also names the key of an `exo-actors node` config that sets it, so
// a node operator (who has no Go API) knows what to change.
func TestHintsNameTheNodeConfigKey(t *testing.T) {
	for _, tc := range []struct {
		kind      Kind
		goField   string
		configKey string
	}{
		{KindHang, "RunnerTimeouts.HeartbeatTimeout", "timeouts.heartbeat_timeout"},
		{KindNoProgress, "RunnerTimeouts.ProgressTimeout", "timeouts.progress_timeout"},
		{KindLoadingStall, "RunnerTimeouts.LoadingStall", "timeouts.loading_stall"},
		{KindHandshakeTimeout, "RunnerTimeouts.Handshake", "timeouts.handshake"},
	} {
		h := tc.kind.Hint()
		if !strings.Contains(h, tc.goField) || !strings.Contains(h, "(node config: "+tc.configKey+")") {
			t.Errorf("%s: hint %q: want it to name %s and (node config: %s)", tc.kind, h, tc.goField, tc.configKey)
		}
	}
}

// TestHandshakeTimeoutTextPresumesNothing: a process alive but silent past
// the handshake timeout may be a runner that only starts slowly (the trial's
// built-in runner with --hello-delay), one stuck before its Hello, or no
// runner. The text says what a runner does and what to raise, and does not
// ask whether the command is a runner (the trial's `never said Hello within
// 2s: is "…/exo-actors" a runner?` for the built-in runner itself).
func TestHandshakeTimeoutTextPresumesNothing(t *testing.T) {
	f := Failure{Kind: KindHandshakeTimeout, RunnerID: "mute-1", Generation: 1, Message: "never said Hello within 2s"}
	got := f.Error()
	for _, want := range []string{
		"never said Hello within 2s",
		"a runner says Hello as soon as it starts (docs/protocol.md)",
		"if it only starts slowly, raise RunnerTimeouts.Handshake (node config: timeouts.handshake)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "a runner?") || strings.Contains(got, "check that the command starts a runner") {
		t.Errorf("%q presumes the command is no runner", got)
	}
}

// TestHintNamesTheRunnersKind: a hint naming a kind's config key
// (kinds.<kind>.command) names the failure's RunnerKind, once, even when
// the message already named it; without a RunnerKind it keeps the
// placeholder, whatever the runner's ID looks like (an ID is not parsed
// for its kind: a kind may hold '-').
func TestHintNamesTheRunnersKind(t *testing.T) {
	f := Failure{Kind: KindExecNotFound, RunnerID: "llama-3b-0123456789ab", RunnerKind: "llama-3b"}
	if s := f.Error(); !strings.Contains(s, "kinds.llama-3b.command") || strings.Contains(s, "<kind>") {
		t.Errorf("%q: want kinds.llama-3b.command", s)
	}
	f.Message = "not found; check the runner's command and PATH (RunnerSpec.Command; on a node, kinds.llama-3b.command in its config)"
	if s := f.Error(); strings.Count(s, "kinds.llama-3b.command") != 1 {
		t.Errorf("%q: want the key once", s)
	}
	for _, id := range []string{"", "d", "echo-0123456789ab"} {
		if s := (Failure{Kind: KindSpawnFailed, RunnerID: id}).Error(); !strings.Contains(s, "kinds.<kind>.dir") {
			t.Errorf("ID %q: %q: want the placeholder kept", id, s)
		}
	}
	if h, want := KindSpawnFailed.HintFor("echo"), "kinds.echo.dir"; !strings.Contains(h, want) {
		t.Errorf("HintFor(echo) = %q: want %q", h, want)
	}
}

// TestUnhealthyTextSaysWhatToDo: a runner the health monitor ends (with the
// monitor on, every silent runner is found by it first) gets advice as a
// hang does: the heartbeat thread, and the limits to raise for memory or
// CPU. Before, "health monitor: unhealthy (score 0.00): no heartbeat for
// 3.574s (limit 2.5s)" ended there (a new user's trial).
func TestUnhealthyTextSaysWhatToDo(t *testing.T) {
	f := Failure{Kind: KindUnhealthy, RunnerID: "js-1", Generation: 1, Message: "health monitor: unhealthy (score 0.00): no heartbeat for 3.574s (limit 2.5s)"}
	got := f.Error()
	for _, want := range []string{
		"no heartbeat for 3.574s (limit 2.5s); the reason names what the health monitor found",
		"a runner sends a Heartbeat every heartbeat_interval (HelloAccepted says it) from a thread of its own, idle or busy",
		// Memory and CPU never make a runner unhealthy alone (at most 0.2
		// off a score); the hint once told an unhealthy runner to raise
		// the limits, while a runner past them had no alert at all (an
		// SRE's trial): its over_limit alert says so now.
		"memory or CPU past its limit takes at most 0.2 off a score: its own over_limit alert says so",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("text %q\nlacks %q", got, want)
		}
	}
}
