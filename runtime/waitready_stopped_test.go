package runtime_test

import (
	"context"
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
	failures, err := sys.Subscribe(exo.TopicRunnerStatus, exo.Filter{Kinds: []string{exo.KindRunnerFailed}}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer failures.Close()
	id, err := sys.SpawnRunner(ctx, fastRunner("crash", "--fault", "crash-loading:1"))
	if err != nil {
		t.Fatal(err)
	}
	// The failure, then the decision (RETRY, an hour's backoff): the stop
	// must come during the backoff. Before the wait for the decision, a
	// StopRunner that reached the failed actor first ended by "failure".
	// The failure is waited for on its event, not by WaitReady: WaitReady
	// returns the failure only when it sees it happen; one that looks after
	// the decision finds the runner waiting to restart and waits for the
	// restart, an hour here (the test failed so when the runner crashed
	// before WaitReady's first look).
	for _, sub := range []*exo.Subscription{failures, decisions} {
		for {
			e, err := sub.Next(ctx)
			if err != nil {
				t.Fatalf("no %s for %s: %v", sub.Stream(), id, err)
			}
			if e.RunnerID == id {
				break
			}
		}
	}
	// WaitReady now, in the backoff: it waits for the restart (the runner
	// will come back), and does not return the failure it did not see.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = sys.WaitReady(short, id)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, exo.ErrRunnerFailed) || errors.Is(err, exo.ErrRunnerNotAvailable) {
		t.Fatalf("WaitReady during the backoff = %v; want it to wait for the restart until its ctx ended", err)
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
