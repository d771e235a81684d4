package actors_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// restartPolicy puts supervision on a fake clock with the default rules,
// 1s base backoff and an intensity limit of 3 restarts a minute.
func restartPolicy(fc *clock.Fake) func(*actors.NodeConfig) {
	return func(c *actors.NodeConfig) {
		c.Clock = fc
		c.ErrorPolicy = errhandler.Config{
			Rand:      rand.NewPCG(42, 42),
			Backoff:   errhandler.BackoffConfig{Base: time.Second, Max: 30 * time.Second, StablePeriod: time.Minute},
			Intensity: errhandler.Intensity{MaxRestarts: 3, Window: time.Minute},
		}
	}
}

func decisions(evs []actors.Event, id string) []*actors.SupervisionDecision {
	var out []*actors.SupervisionDecision
	for _, e := range evs {
		if d, ok := e.(*actors.SupervisionDecision); ok && d.RunnerID == id {
			out = append(out, d)
		}
	}
	return out
}

func nDecisions(id string, n int) func([]actors.Event) bool {
	return func(evs []actors.Event) bool { return len(decisions(evs, id)) >= n }
}

func alerts(evs []actors.Event, id string) []*actors.Alert {
	var out []*actors.Alert
	for _, e := range evs {
		if a, ok := e.(*actors.Alert); ok && a.RunnerID == id {
			out = append(out, a)
		}
	}
	return out
}

// advanceRestart waits until the restart timer is armed on the fake clock,
// then steps the clock by d so it fires.
func advanceRestart(t *testing.T, fc *clock.Fake, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fc.WaitForTimers(ctx, 1); err != nil {
		t.Fatalf("no restart timer armed: %v", err)
	}
	fc.Advance(d)
}

func TestCrashLoopGrowsThenEscalates(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	ctx := ctxT(t)
	sibling := readyRunner(t, n)
	id, err := n.SpawnRunner(ctx, builtin("--fault", "exit:3"))
	if err != nil {
		t.Fatal(err)
	}
	var delays []time.Duration
	for k := 1; ; k++ {
		evs := n.rec.waitFor(t, 20*time.Second, "decision", nDecisions(id, k))
		d := decisions(evs, id)[k-1]
		rec := d.Record
		if rec.Decision.Action == errhandler.Escalate {
			if k != 4 {
				t.Errorf("escalated at failure %d, want 4 (3 restarts allowed)", k)
			}
			break
		}
		if rec.Decision.Action != errhandler.Retry || rec.Attempt != k {
			t.Fatalf("failure %d: decision %s attempt %d", k, rec.Decision, rec.Attempt)
		}
		nominal := time.Second << (k - 1)
		if rec.Delay < nominal/2 || rec.Delay > nominal {
			t.Errorf("attempt %d: delay %s outside [%s, %s]", k, rec.Delay, nominal/2, nominal)
		}
		if len(delays) > 0 && rec.Delay < delays[len(delays)-1] {
			t.Errorf("delay shrank: %v then %s", delays, rec.Delay)
		}
		delays = append(delays, rec.Delay)
		// While it waits, the supervisor answers for it.
		infos, _ := n.Runners(ctx)
		for _, in := range infos {
			if in.ID == id && (!in.Restarting || in.RestartAttempt != k || in.LastRecord == nil || !strings.HasPrefix(in.StatusText(), "restarting in")) {
				t.Errorf("status while waiting: %+v (%s)", in, in.StatusText())
			}
		}
		advanceRestart(t, fc, rec.Delay)
	}
	t.Logf("delays: %v", delays)
	evs := n.rec.waitFor(t, 20*time.Second, "the alert after the escalation", func(evs []actors.Event) bool { return len(alerts(evs, id)) > 0 })
	al := alerts(evs, id)
	if len(al) != 1 || al[0].Severity != errhandler.Critical {
		t.Errorf("alerts: %+v, want one CRITICAL", al)
	}
	var last errhandler.Record
	for _, r := range n.Policy().Records() {
		if r.RunnerID == id {
			last = r
		}
	}
	if last.Resolution != errhandler.Escalated {
		t.Errorf("last record resolution %v, want escalated", last.Resolution)
	}
	if fc.Pending() != 0 {
		t.Errorf("%d timers still armed after escalation", fc.Pending())
	}
	// Four processes (1 + 3 restarts), then nothing more.
	if p := pidOf(evs, id, 5); p != 0 {
		t.Errorf("a fifth process started")
	}
	// The sibling still serves.
	if o := wait(t, mustSubmit(t, n, sibling, textTask("still-serving", 5))); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("sibling task: %+v", o)
	}
}

func TestCrashOnceRestartsAndResolves(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc), func(c *actors.NodeConfig) { c.Tasks.InFlight = 2 })
	ctx := ctxT(t)
	id := readyRunner(t, n, "--token-delay", "2ms")
	retry := textTask("retryable", 30)
	retry.Retryable = true
	hr := mustSubmit(t, n, id, retry)
	hn := mustSubmit(t, n, id, textTask("not-retryable", 100000))
	for _, h := range []*actors.TaskHandle{hr, hn} {
		if _, err := h.Chunk(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	_ = syscall.Kill(pidOf(n.rec.snapshot(), id, 1), syscall.SIGKILL)

	// The non-retryable task ends Failed at the crash, before any restart.
	if o := wait(t, hn); o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, "signal=9") {
		t.Errorf("non-retryable: %+v", o)
	}
	evs := n.rec.waitFor(t, 20*time.Second, "decision", nDecisions(id, 1))
	rec := decisions(evs, id)[0].Record
	if rec.Decision.Action != errhandler.Retry {
		t.Fatalf("decision %s", rec.Decision)
	}
	if hr.Outcome() != nil {
		t.Fatalf("retryable task ended before the restart: %+v", hr.Outcome())
	}
	advanceRestart(t, fc, rec.Delay)
	// The retryable task completes on the new process (generation 2).
	if o := wait(t, hr); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("retryable: %+v", o)
	}
	if pidOf(n.rec.snapshot(), id, 2) == 0 {
		t.Error("no second process")
	}
	var got errhandler.Record
	for _, r := range n.Policy().Records() {
		if r.RunnerID == id {
			got = r
		}
	}
	if got.Resolution != errhandler.Resolved {
		t.Errorf("record resolution %v, want resolved once Ready again", got.Resolution)
	}
}

func TestConfigurationErrorsNeverRetried(t *testing.T) {
	self := helperBinary(t)
	for _, c := range []struct {
		name string
		spec actors.RunnerSpec
		kind errhandler.Kind
	}{
		{"version mismatch", actors.RunnerSpec{Kind: "old", Command: self, Env: []string{"EXO_ACTORS_HELPER=version-mismatch"}}, errhandler.KindVersionMismatch},
		{"executable not found", actors.RunnerSpec{Kind: "gone", Command: "/no/such/runner"}, errhandler.KindExecNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			fc := clock.NewFake(time.Unix(1_700_000_000, 0))
			n := startNode(t, restartPolicy(fc))
			id, err := n.SpawnRunner(ctxT(t), c.spec)
			if err != nil {
				t.Fatal(err)
			}
			// The alert follows its decision: wait for it.
			evs := n.rec.waitFor(t, 20*time.Second, "decision and alert", func(evs []actors.Event) bool {
				return len(decisions(evs, id)) >= 1 && len(alerts(evs, id)) >= 1
			})
			d := decisions(evs, id)[0]
			if d.Record.Kind != c.kind || d.Record.Decision.Action != errhandler.Escalate || d.Record.Decision.Severity != errhandler.Critical {
				t.Errorf("decision %+v", d.Record)
			}
			if fc.Pending() != 0 || len(alerts(evs, id)) != 1 {
				t.Errorf("timers %d, alerts %d; want no restart and one alert", fc.Pending(), len(alerts(evs, id)))
			}
			// A task for it is refused saying no restart is planned (the
			// retired actor or, once it is gone, the supervisor answers).
			_, err = n.Submit(ctxT(t), id, textTask("after-escalation", 1))
			if !errors.Is(err, actors.ErrRunnerNotAvailable) || !strings.Contains(err.Error(), "no restart is planned") ||
				strings.Contains(err.Error(), "wait for its restart") {
				t.Errorf("submit after escalation: %v", err)
			}
		})
	}
}

func TestHangForceCleanupThenRetry(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	id, err := n.SpawnRunner(ctxT(t), builtin("--fault", "hang"))
	if err != nil {
		t.Fatal(err)
	}
	evs := n.rec.waitFor(t, 20*time.Second, "decision", nDecisions(id, 1))
	d := decisions(evs, id)[0]
	if d.Record.Decision.Action != errhandler.ForceCleanup || d.Record.Decision.Then != errhandler.Retry {
		t.Fatalf("decision %s, want FORCE_CLEANUP then RETRY", d.Record.Decision)
	}
	if len(d.Cleaned) == 0 || !strings.Contains(strings.Join(d.Cleaned, "; "), "SIGKILL to process group") {
		t.Errorf("cleaned: %v", d.Cleaned)
	}
	advanceRestart(t, fc, d.Record.Delay)
	n.rec.waitFor(t, 20*time.Second, "second process", func(evs []actors.Event) bool { return pidOf(evs, id, 2) > 0 })
}

func TestStopAndShutdownDuringBackoff(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	ctx := ctxT(t)
	a, _ := n.SpawnRunner(ctx, builtin("--fault", "exit:3"))
	b, _ := n.SpawnRunner(ctx, builtin("--fault", "exit:3"))
	n.rec.waitFor(t, 20*time.Second, "both waiting", func(evs []actors.Event) bool {
		return len(decisions(evs, a)) == 1 && len(decisions(evs, b)) == 1
	})
	// Submitted during the wait: queued for the next process, answered by the supervisor.
	h, err := n.Submit(ctx, a, textTask("during-backoff", 3))
	if err != nil {
		t.Fatalf("submit during backoff: %v", err)
	}
	res, err := n.StopRunner(ctx, a)
	if err != nil || res.EndedBy != "restart cancelled" {
		t.Fatalf("stop during backoff: %+v %v", res, err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_FAILED {
		t.Errorf("task of the stopped runner: %+v", o)
	}
	if _, err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if fc.Pending() != 0 {
		t.Errorf("%d restart timers left armed", fc.Pending())
	}
	fc.Advance(time.Hour) // nothing may restart now
	evs := n.rec.snapshot()
	for _, id := range []string{a, b} {
		if pidOf(evs, id, 2) != 0 {
			t.Errorf("runner %s restarted after stop/shutdown", id)
		}
	}
}

func TestDecisionLogFields(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	n := startNode(t, restartPolicy(fc))
	id, _ := n.SpawnRunner(ctxT(t), builtin("--fault", "exit:3"))
	n.rec.waitFor(t, 20*time.Second, "decision", nDecisions(id, 1))
	found := false
	for _, e := range n.logs.all() {
		if e.Message != "runner failure: supervision decision" || e.Data["runner_id"] != id {
			continue
		}
		found = true
		for _, k := range []string{"runner_id", "generation", "kind", "severity", "action", "attempt", "next_delay"} {
			if _, ok := e.Data[k]; !ok {
				t.Errorf("decision log line lacks %q: %v", k, e.Data)
			}
		}
		if e.Data["action"] != "RETRY" || e.Data["kind"] != "exit_nonzero" || e.Data["severity"] != "HIGH" || e.Data["attempt"] != 1 {
			t.Errorf("decision fields: %v", e.Data)
		}
	}
	if !found {
		t.Error("no decision log line")
	}
}
