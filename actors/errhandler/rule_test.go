package errhandler_test

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	eh "github.com/exo-actors/exo-actors/actors/errhandler"
)

func newHandler(t *testing.T, cfg eh.Config) *eh.Handler {
	t.Helper()
	h, err := eh.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

// TestDefaultRules has one case per row of docs/errors.md, in table order,
// and fails if a row has no case.
func TestDefaultRules(t *testing.T) {
	const (
		R  = eh.Retry
		S  = eh.Skip
		FC = eh.ForceCleanup
		E  = eh.Escalate
	)
	sd := func(f eh.Failure) eh.Failure { f.ShuttingDown = true; return f }
	cases := []struct {
		rule     string
		failure  eh.Failure
		severity eh.Severity
		action   eh.Action
		then     eh.Action
	}{
		{"exec-not-found", eh.Failure{Kind: eh.KindExecNotFound}, eh.Critical, E, 0},
		{"spawn-failed", eh.Failure{Kind: eh.KindSpawnFailed}, eh.Critical, E, 0},
		{"version-mismatch", eh.Failure{Kind: eh.KindVersionMismatch}, eh.Critical, E, 0},
		{"not-a-runner", eh.Failure{Kind: eh.KindNotARunner}, eh.Critical, E, 0},
		{"node-fault", eh.Failure{Kind: eh.KindNodeFault, Component: "spawner"}, eh.Critical, E, 0},
		{"actor-panic", eh.Failure{Kind: eh.KindActorPanic, Component: "runner", RunnerID: "llama-1"}, eh.Critical, E, 0},
		{"node-lost", eh.Failure{Kind: eh.KindNodeLost, Component: "cluster", RunnerID: "llama-1"}, eh.High, R, 0},
		{"resource-close-failed", sd(eh.Failure{Kind: eh.KindResourceCloseFailed}), eh.Medium, FC, S},
		{"shutdown-handshake-timeout", sd(eh.Failure{Kind: eh.KindHandshakeTimeout}), eh.Medium, FC, S},
		{"shutdown-protocol-error", sd(eh.Failure{Kind: eh.KindProtocolError}), eh.Medium, FC, S},
		{"shutdown-garbage", sd(eh.Failure{Kind: eh.KindGarbage}), eh.Medium, FC, S},
		{"shutdown-hang", sd(eh.Failure{Kind: eh.KindHang}), eh.Medium, FC, S},
		{"shutdown-no-progress", sd(eh.Failure{Kind: eh.KindNoProgress}), eh.Medium, FC, S},
		{"shutdown-loading-stall", sd(eh.Failure{Kind: eh.KindLoadingStall}), eh.Medium, FC, S},
		{"shutdown-unhealthy", sd(eh.Failure{Kind: eh.KindUnhealthy}), eh.Medium, FC, S},
		{"shutting-down", sd(eh.Failure{Kind: eh.KindWriteClosedPipe}), eh.Low, S, 0},
		{"handshake-timeout", eh.Failure{Kind: eh.KindHandshakeTimeout}, eh.High, FC, R},
		{"protocol-error", eh.Failure{Kind: eh.KindProtocolError}, eh.High, FC, R},
		{"garbage", eh.Failure{Kind: eh.KindGarbage}, eh.High, FC, R},
		{"hang", eh.Failure{Kind: eh.KindHang}, eh.High, FC, R},
		{"no-progress", eh.Failure{Kind: eh.KindNoProgress}, eh.High, FC, R},
		{"loading-stall", eh.Failure{Kind: eh.KindLoadingStall}, eh.High, FC, R},
		{"unhealthy", eh.Failure{Kind: eh.KindUnhealthy}, eh.High, FC, R},
		{"ack-timeout", eh.Failure{Kind: eh.KindAckTimeout}, eh.Medium, S, 0},
		{"task-timeout", eh.Failure{Kind: eh.KindTaskTimeout}, eh.Medium, S, 0},
		{"write-closed-pipe", eh.Failure{Kind: eh.KindWriteClosedPipe}, eh.Medium, S, 0},
		{"send-to-stopped", eh.Failure{Kind: eh.KindSendToStopped}, eh.Medium, S, 0},
		{"stream-closed", eh.Failure{Kind: eh.KindStreamClosed}, eh.Medium, S, 0},
		{"exit-zero", eh.Failure{Kind: eh.KindExitZero}, eh.Medium, R, 0},
		{"exit-126", eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 126}, eh.Critical, E, 0},
		{"exit-127", eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 127}, eh.Critical, E, 0},
		{"exit-nonzero", eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 1}, eh.High, R, 0},
		{"termination-error", eh.Failure{Kind: eh.KindTerminationError, Message: "CUDA out of memory"}, eh.High, R, 0},
		{"sigkill", eh.Failure{Kind: eh.KindSignal, ExitCode: -1, Signal: syscall.SIGKILL}, eh.High, R, 0},
		{"sigsegv", eh.Failure{Kind: eh.KindSignal, ExitCode: -1, Signal: syscall.SIGSEGV}, eh.High, R, 0},
		{"sigabrt", eh.Failure{Kind: eh.KindSignal, ExitCode: -1, Signal: syscall.SIGABRT}, eh.High, R, 0},
		{"sigterm", eh.Failure{Kind: eh.KindSignal, ExitCode: -1, Signal: syscall.SIGTERM}, eh.Medium, R, 0},
		{"signal", eh.Failure{Kind: eh.KindSignal, ExitCode: -1, Signal: syscall.SIGBUS}, eh.High, R, 0},
		{"unclassified", eh.Failure{Kind: "made_up"}, eh.Critical, E, 0},
	}

	rules := eh.DefaultRules()
	if len(cases) != len(rules) {
		t.Errorf("%d cases for %d default rules: every row of docs/errors.md needs exactly one case", len(cases), len(rules))
	}
	h := newHandler(t, eh.Config{})
	for i, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			if i < len(rules) && rules[i].Name != tc.rule {
				t.Errorf("case %d is %q, table row %d is %q: keep the cases in table order", i, tc.rule, i+1, rules[i].Name)
			}
			want := eh.Decision{Rule: tc.rule, Severity: tc.severity, Action: tc.action, Then: tc.then}
			if got := h.Classify(tc.failure); got != want {
				t.Errorf("Classify(%v) = %v, want %v", tc.failure, got, want)
			}
		})
	}
}

// TestEveryKindHasARule: no known kind falls through to "unclassified",
// shutting down or not.
func TestEveryKindHasARule(t *testing.T) {
	kinds := []eh.Kind{
		eh.KindExecNotFound, eh.KindSpawnFailed, eh.KindVersionMismatch, eh.KindHandshakeTimeout,
		eh.KindNotARunner, eh.KindProtocolError, eh.KindGarbage, eh.KindAckTimeout, eh.KindTaskTimeout,
		eh.KindWriteClosedPipe, eh.KindSendToStopped, eh.KindResourceCloseFailed, eh.KindStreamClosed,
		eh.KindExitZero, eh.KindExitNonZero, eh.KindSignal, eh.KindTerminationError, eh.KindHang,
		eh.KindNoProgress, eh.KindLoadingStall, eh.KindUnhealthy, eh.KindNodeFault,
	}
	h := newHandler(t, eh.Config{})
	for _, k := range kinds {
		for _, shuttingDown := range []bool{false, true} {
			f := eh.Failure{Kind: k, ExitCode: 1, Signal: syscall.SIGHUP, ShuttingDown: shuttingDown}
			if d := h.Classify(f); d.Rule == "unclassified" {
				t.Errorf("kind %q (shutting down %v) has no rule", k, shuttingDown)
			}
		}
		if msg := (eh.Failure{Kind: k}).Error(); msg == string(k) {
			t.Errorf("kind %q has no phrase for Failure.Error", k)
		}
	}
}

func TestDefaultRulesAreValid(t *testing.T) {
	names := map[string]bool{}
	for _, r := range eh.DefaultRules() {
		if names[r.Name] {
			t.Errorf("duplicate rule name %q", r.Name)
		}
		names[r.Name] = true
		if r.Reason == "" {
			t.Errorf("rule %q has no Reason", r.Name)
		}
	}
	// New validates user rules the same way: the defaults must pass.
	if _, err := eh.New(eh.Config{Rules: eh.DefaultRules()}); err != nil {
		t.Fatalf("default rules fail validation: %v", err)
	}
}

func TestUserRuleOverridesDefault(t *testing.T) {
	three, no := 3, false
	h := newHandler(t, eh.Config{Rules: []eh.Rule{
		{Name: "corrupt-model", Kind: eh.KindExitNonZero, ExitCode: &three, Severity: eh.Critical, Action: eh.Escalate},
		{Name: "llm-slow-load", Kind: eh.KindLoadingStall, Component: "llm", ShuttingDown: &no, Severity: eh.Medium, Action: eh.Skip},
		{Name: "tolerate-sigterm", Signal: syscall.SIGTERM, Severity: eh.Low, Action: eh.Skip},
	}})
	cases := []struct {
		failure eh.Failure
		rule    string
	}{
		{eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 3}, "corrupt-model"},
		{eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 4}, "exit-nonzero"},
		{eh.Failure{Kind: eh.KindLoadingStall, Component: "llm"}, "llm-slow-load"},
		{eh.Failure{Kind: eh.KindLoadingStall, Component: "llm", ShuttingDown: true}, "shutdown-loading-stall"},
		{eh.Failure{Kind: eh.KindLoadingStall, Component: "tts"}, "loading-stall"},
		{eh.Failure{Kind: eh.KindSignal, Signal: syscall.SIGTERM}, "tolerate-sigterm"},
		{eh.Failure{Kind: eh.KindSignal, Signal: syscall.SIGKILL}, "sigkill"},
	}
	for _, tc := range cases {
		if got := h.Classify(tc.failure).Rule; got != tc.rule {
			t.Errorf("Classify(%+v).Rule = %q, want %q", tc.failure, got, tc.rule)
		}
	}
}

func TestFirstMatchWins(t *testing.T) {
	h := newHandler(t, eh.Config{Rules: []eh.Rule{
		{Name: "first", Kind: eh.KindTaskTimeout, Severity: eh.High, Action: eh.ForceCleanup, Then: eh.Retry},
		{Name: "second", Kind: eh.KindTaskTimeout, Severity: eh.Low, Action: eh.Skip},
		{Name: "catch-all", Severity: eh.Low, Action: eh.Skip},
	}})
	want := eh.Decision{Rule: "first", Severity: eh.High, Action: eh.ForceCleanup, Then: eh.Retry}
	if got := h.Classify(eh.Failure{Kind: eh.KindTaskTimeout}); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	// A user catch-all shadows every default, even configuration errors.
	if got := h.Classify(eh.Failure{Kind: eh.KindExecNotFound}).Rule; got != "catch-all" {
		t.Errorf("got rule %q, want catch-all", got)
	}
}

func TestRuleMatch(t *testing.T) {
	zero, one, yes := 0, 1, true
	f := eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 1, Component: "runner", ShuttingDown: true}
	cases := []struct {
		name string
		rule eh.Rule
		f    eh.Failure
		want bool
	}{
		{"empty rule matches anything", eh.Rule{}, f, true},
		{"kind", eh.Rule{Kind: eh.KindExitNonZero}, f, true},
		{"other kind", eh.Rule{Kind: eh.KindExitZero}, f, false},
		{"exit code", eh.Rule{ExitCode: &one}, f, true},
		{"other exit code", eh.Rule{ExitCode: &zero}, f, false},
		{"exit code only matches exits", eh.Rule{ExitCode: &zero}, eh.Failure{Kind: eh.KindTaskTimeout}, false},
		{"exit code 0 matches exit_zero", eh.Rule{ExitCode: &zero}, eh.Failure{Kind: eh.KindExitZero}, true},
		{"signal", eh.Rule{Signal: syscall.SIGKILL}, eh.Failure{Kind: eh.KindSignal, Signal: syscall.SIGKILL}, true},
		{"other signal", eh.Rule{Signal: syscall.SIGKILL}, eh.Failure{Kind: eh.KindSignal, Signal: syscall.SIGTERM}, false},
		{"signal needs one", eh.Rule{Signal: syscall.SIGKILL}, f, false},
		{"component", eh.Rule{Component: "runner"}, f, true},
		{"other component", eh.Rule{Component: "stream"}, f, false},
		{"shutting down", eh.Rule{ShuttingDown: &yes}, f, true},
		{"not shutting down", eh.Rule{ShuttingDown: &yes}, eh.Failure{}, false},
		{"all fields", eh.Rule{Kind: eh.KindExitNonZero, ExitCode: &one, Component: "runner", ShuttingDown: &yes}, f, true},
	}
	for _, tc := range cases {
		if got := tc.rule.Match(tc.f); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNewRejectsInvalidRules(t *testing.T) {
	cases := map[string]eh.Rule{
		"no name":                 {Severity: eh.Low, Action: eh.Skip},
		"no severity":             {Name: "x", Action: eh.Skip},
		"no action":               {Name: "x", Severity: eh.Low},
		"force cleanup, no then":  {Name: "x", Severity: eh.Low, Action: eh.ForceCleanup},
		"force cleanup then self": {Name: "x", Severity: eh.Low, Action: eh.ForceCleanup, Then: eh.ForceCleanup},
		"then without cleanup":    {Name: "x", Severity: eh.Low, Action: eh.Retry, Then: eh.Skip},
	}
	for name, r := range cases {
		if _, err := eh.New(eh.Config{Rules: []eh.Rule{r}}); !errors.Is(err, eh.ErrInvalidRule) {
			t.Errorf("%s: New error = %v, want ErrInvalidRule", name, err)
		}
	}
}

func TestDecisionRestartsAndString(t *testing.T) {
	cases := []struct {
		d        eh.Decision
		restarts bool
		str      string
	}{
		{eh.Decision{Rule: "hang", Severity: eh.High, Action: eh.ForceCleanup, Then: eh.Retry}, true, "HIGH FORCE_CLEANUP then RETRY (rule hang)"},
		{eh.Decision{Severity: eh.High, Action: eh.Retry}, true, "HIGH RETRY"},
		{eh.Decision{Severity: eh.Medium, Action: eh.ForceCleanup, Then: eh.Skip}, false, "MEDIUM FORCE_CLEANUP then SKIP"},
		{eh.Decision{Severity: eh.Low, Action: eh.Skip}, false, "LOW SKIP"},
		{eh.Decision{Severity: eh.Critical, Action: eh.Escalate}, false, "CRITICAL ESCALATE"},
	}
	for _, tc := range cases {
		if got := tc.d.Restarts(); got != tc.restarts {
			t.Errorf("%v.Restarts() = %v, want %v", tc.d, got, tc.restarts)
		}
		if got := tc.d.String(); got != tc.str {
			t.Errorf("String() = %q, want %q", got, tc.str)
		}
	}
}

func TestTextRoundTrip(t *testing.T) {
	for s := eh.Low; s <= eh.Critical; s++ {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back eh.Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("severity %v round trip: %v, %v", s, back, err)
		}
	}
	for a := eh.Action(0); a <= eh.Escalate; a++ {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back eh.Action
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Errorf("action %v round trip: %v, %v", a, back, err)
		}
	}
	var s eh.Severity
	if err := s.UnmarshalText([]byte("SEVERE")); err == nil {
		t.Error("UnmarshalText accepted SEVERE")
	}
	if _, err := eh.Severity(0).MarshalText(); err == nil {
		t.Error("MarshalText accepted the zero Severity")
	}
}

// TestNewRefusesUnknownKind: a rule whose Kind no failure has would never
// match; New refuses it, naming the nearest kind. A new user's trial wrote
// the default rule's name, node-lost, for the kind node_lost, and the rule
// was taken and silently never applied.
func TestNewRefusesUnknownKind(t *testing.T) {
	_, err := eh.New(eh.Config{Rules: []eh.Rule{{Name: "x", Kind: "node-lost", Severity: eh.Medium, Action: eh.Skip}}})
	if !errors.Is(err, eh.ErrInvalidRule) {
		t.Fatalf("New with Kind node-lost: %v; want ErrInvalidRule", err)
	}
	for _, want := range []string{`invalid error policy rule "x"`, `Kind "node-lost" is no failure kind`, `did you mean "node_lost"?`, "exit_nonzero"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want %q", err, want)
		}
	}
	// Every known kind, and none, is taken.
	for _, k := range append(eh.Kinds(), "") {
		if _, err := eh.New(eh.Config{Rules: []eh.Rule{{Name: "k", Kind: k, Severity: eh.Low, Action: eh.Skip}}}); err != nil {
			t.Errorf("Kind %q: %v", k, err)
		}
	}
}

// TestNewNamesEveryBadRule: New names every malformed rule and every fault
// of each, in one line (it named the first fault of the first rule only:
// a config with three faults took three starts to fix).
func TestNewNamesEveryBadRule(t *testing.T) {
	_, err := eh.New(eh.Config{Rules: []eh.Rule{
		{Name: "fine", Severity: eh.Low, Action: eh.Skip},
		{Name: "bare", Kind: eh.KindHang},
		{Name: "typo", Kind: "hnag", Severity: eh.High, Action: eh.Retry},
		{Severity: eh.Low},
	}})
	if !errors.Is(err, eh.ErrInvalidRule) {
		t.Fatalf("New: %v; want ErrInvalidRule", err)
	}
	for _, want := range []string{
		`rule "bare": Severity is not set`, "Action is not set",
		`rule "typo": Kind "hnag" is no failure kind`, `did you mean "hang"?`,
		"rule without a Name", "; and Action is not set",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want %q", err, want)
		}
	}
	if strings.Contains(err.Error(), `"fine"`) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line naming only the bad rules", err)
	}
}
