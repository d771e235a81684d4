package runtime_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestWaitReadyOnARunnerStoppedInItsBackoff: a runner whose restart a
// StopRunner cancelled will not come back, and WaitReady says so
// (ErrRunnerNotAvailable) without giving the error policy's RETRY as the
// reason: the cancelled restart is. Before, it said "will not come back
// (runner cannot take tasks: the error policy decided HIGH RETRY (rule
// retry))", a contradiction a host cannot act on.
func TestWaitReadyOnARunnerStoppedInItsBackoff(t *testing.T) {
	ctx := testCtx(t)
	cfg := config()
	cfg.ErrorPolicy.Rules = []exo.Rule{{Name: "retry", Severity: exo.SeverityHigh, Action: exo.ActionRetry}}
	cfg.ErrorPolicy.Backoff = exo.BackoffConfig{Base: time.Hour, Max: time.Hour}
	sys := newSystem(t, cfg)
	decisions, err := sys.Subscribe(exo.TopicErrors, exo.Filter{Kinds: []string{exo.KindSupervisionDecision}}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer decisions.Close()
	id, err := sys.SpawnRunner(ctx, fastRunner("crash", "--fault", "crash-loading:1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitReady(ctx, id); !errors.Is(err, exo.ErrRunnerFailed) {
		t.Fatalf("first WaitReady = %v, want the failure", err)
	}
	// WaitReady returns at the RunnerFailed event, before the supervisor
	// has decided; the stop must come during the backoff, so wait for the
	// decision (RETRY, an hour's backoff). Before this wait, a StopRunner
	// that reached the failed actor first ended by "failure".
	for {
		e, err := decisions.Next(ctx)
		if err != nil {
			t.Fatalf("no supervision decision for %s: %v", id, err)
		}
		if e.RunnerID == id {
			break
		}
	}
	res, err := sys.StopRunner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.EndedBy != "restart cancelled" {
		t.Fatalf("StopRunner during the backoff ended by %q, want \"restart cancelled\"", res.EndedBy)
	}
	err = sys.WaitReady(ctx, id)
	if !errors.Is(err, exo.ErrRunnerNotAvailable) || strings.Contains(err.Error(), "decided HIGH RETRY") || !strings.Contains(err.Error(), "was cancelled") {
		t.Errorf("WaitReady after StopRunner cancelled the restart = %v; want ErrRunnerNotAvailable naming the cancelled restart, not the policy's RETRY as the reason", err)
	}
}
