package errhandler_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	eh "github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

var t0 = time.Date(2025, 9, 9, 12, 0, 0, 0, time.UTC)

// noLimit turns restart intensity off, for tests about something else.
var noLimit = eh.Intensity{MaxRestarts: -1}

// fixture builds a Handler on a fake clock with seeded jitter.
func fixture(t *testing.T, cfg eh.Config) (*eh.Handler, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	cfg.Clock = clk
	cfg.Rand = rand.NewPCG(1, 2)
	return newHandler(t, cfg), clk
}

func crash(runner string) eh.Failure {
	return eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 1, RunnerID: runner, Component: "runner", Operation: "wait"}
}

func TestHandleRecordFields(t *testing.T) {
	h, clk := fixture(t, eh.Config{})
	clk.Advance(time.Minute)
	cause := fmt.Errorf("write stdin: %w", io.ErrClosedPipe)
	rec := h.Handle(eh.Failure{
		Kind: eh.KindWriteClosedPipe, Component: "pipe", Operation: "submit", RunnerID: "llama-3f2a",
		Generation: 2, Cause: cause,
	})
	want := eh.Record{
		ID: 1, Time: t0.Add(time.Minute), Component: "pipe", Operation: "submit", RunnerID: "llama-3f2a",
		Generation: 2, Kind: eh.KindWriteClosedPipe,
		Decision:   eh.Decision{Rule: "write-closed-pipe", Severity: eh.Medium, Action: eh.Skip},
		Message:    "runner llama-3f2a gen 2: submit: write to closed pipe: write stdin: io: read/write on closed pipe; the runner stopped reading its stdin: check its stderr",
		Causes:     []string{"write stdin: io: read/write on closed pipe", "io: read/write on closed pipe"},
		Resolution: eh.Skipped, ResolvedAt: t0.Add(time.Minute),
	}
	if !reflect.DeepEqual(rec, want) {
		t.Fatalf("record\n got %+v\nwant %+v", rec, want)
	}
	if got := h.Records(); len(got) != 1 || got[0].ID != 1 {
		t.Fatalf("Records = %+v", got)
	}
}

func TestHandleDelaysGrowWithinJitterAndCap(t *testing.T) {
	const base, maxDelay = time.Second, 8 * time.Second
	h, clk := fixture(t, eh.Config{Backoff: eh.BackoffConfig{Base: base, Max: maxDelay}, Intensity: noLimit})
	var prev time.Duration
	for n := range 8 {
		planned, ok := h.NextDelay("llama")
		if n > 0 && !ok {
			t.Fatal("NextDelay does not know a runner that failed")
		}
		rec := h.Handle(crash("llama"))
		if rec.Decision.Action != eh.Retry || rec.Attempt != n+1 {
			t.Fatalf("failure %d: %v attempt %d, want RETRY attempt %d", n, rec.Decision, rec.Attempt, n+1)
		}
		if n > 0 && rec.Delay != planned {
			t.Fatalf("failure %d: delay %v, NextDelay said %v", n, rec.Delay, planned)
		}
		nominal := min(maxDelay, base<<n)
		if !inJitter(rec.Delay, nominal) {
			t.Fatalf("failure %d: delay %v outside [%v, %v]", n, rec.Delay, nominal/2, nominal)
		}
		if base<<n <= maxDelay && rec.Delay < prev {
			t.Fatalf("failure %d: delay %v shorter than the previous %v", n, rec.Delay, prev)
		}
		prev = rec.Delay
		clk.Advance(rec.Delay) // the restart happens, and fails again at once
	}
}

func TestBackoffResetsAfterStableRun(t *testing.T) {
	const stable = time.Minute
	h, clk := fixture(t, eh.Config{
		Backoff:   eh.BackoffConfig{Base: time.Second, Max: time.Hour, StablePeriod: stable},
		Intensity: noLimit,
	})
	for range 3 {
		h.Handle(crash("llama"))
	}
	h.RunnerReady("llama")

	clk.Advance(stable - time.Nanosecond)
	if d, _ := h.NextDelay("llama"); !inJitter(d, 8*time.Second) {
		t.Fatalf("Ready for less than the stable period: next delay %v, want the 4th, within [4s, 8s]", d)
	}
	clk.Advance(time.Nanosecond)
	d, _ := h.NextDelay("llama")
	if !inJitter(d, time.Second) {
		t.Fatalf("after a stable run: next delay %v, want within [500ms, 1s]", d)
	}
	rec := h.Handle(crash("llama"))
	if rec.Attempt != 1 || rec.Delay != d {
		t.Fatalf("after a stable run: attempt %d delay %v, want attempt 1 delay %v", rec.Attempt, rec.Delay, d)
	}
}

func TestBackoffDoesNotResetWithoutStableRun(t *testing.T) {
	const stable = time.Minute
	h, clk := fixture(t, eh.Config{
		Backoff:   eh.BackoffConfig{Base: time.Second, Max: time.Hour, StablePeriod: stable},
		Intensity: noLimit,
	})
	h.Handle(crash("llama"))
	h.RunnerReady("llama")
	clk.Advance(stable / 2)
	if rec := h.Handle(crash("llama")); rec.Attempt != 2 {
		t.Fatalf("failed again before the stable period: attempt %d, want 2", rec.Attempt)
	}
	// The runner is down now: time passing without Ready resets nothing.
	clk.Advance(10 * stable)
	if rec := h.Handle(crash("llama")); rec.Attempt != 3 {
		t.Fatalf("not Ready in between: attempt %d, want 3", rec.Attempt)
	}
}

func TestSkipKeepsRunnerReady(t *testing.T) {
	const stable = time.Minute
	h, clk := fixture(t, eh.Config{Backoff: eh.BackoffConfig{StablePeriod: stable}, Intensity: noLimit})
	h.Handle(crash("llama"))
	h.Handle(crash("llama"))
	h.RunnerReady("llama")
	clk.Advance(stable / 2)
	if rec := h.Handle(eh.Failure{Kind: eh.KindTaskTimeout, RunnerID: "llama"}); rec.Decision.Action != eh.Skip || rec.Attempt != 0 {
		t.Fatalf("task timeout: %v attempt %d, want SKIP attempt 0", rec.Decision, rec.Attempt)
	}
	clk.Advance(stable / 2)
	if rec := h.Handle(crash("llama")); rec.Attempt != 1 {
		t.Fatalf("Ready through a SKIP for the stable period: attempt %d, want 1", rec.Attempt)
	}
}

func TestIntensityExceededEscalates(t *testing.T) {
	h, clk := fixture(t, eh.Config{Intensity: eh.Intensity{MaxRestarts: 3, Window: 10 * time.Second}})
	hang := eh.Failure{Kind: eh.KindHang, RunnerID: "llama"}
	for n, f := range []eh.Failure{crash("llama"), hang, crash("llama")} {
		if rec := h.Handle(f); !rec.Decision.Restarts() || rec.Note != "" {
			t.Fatalf("restart %d within the limit: %v, note %q", n+1, rec.Decision, rec.Note)
		}
		clk.Advance(time.Second)
	}
	rec := h.Handle(hang) // FORCE_CLEANUP then RETRY beyond the limit
	want := eh.Decision{Rule: "hang", Severity: eh.Critical, Action: eh.Escalate}
	if rec.Decision != want || rec.Resolution != eh.Escalated || rec.Attempt != 0 || rec.Delay != 0 || rec.Note == "" {
		t.Fatalf("4th restart in 10s: %+v, want %v, escalated, with a note", rec, want)
	}
	t.Logf("note: %s", rec.Note)
	if s := h.Stats(); s.IntensityExceeded != 1 || s.ByAction[eh.Escalate] != 1 || s.Retries != 3 {
		t.Fatalf("stats %+v", s)
	}

	// Other runners have their own counters.
	if rec := h.Handle(crash("tts")); rec.Decision.Action != eh.Retry {
		t.Fatalf("another runner: %v, want RETRY", rec.Decision)
	}
}

func TestIntensityWindowSlides(t *testing.T) {
	h, clk := fixture(t, eh.Config{Intensity: eh.Intensity{MaxRestarts: 3, Window: 10 * time.Second}})
	for range 3 { // restarts at 0s, 1s, 2s
		h.Handle(crash("llama"))
		clk.Advance(time.Second)
	}
	clk.Set(t0.Add(10 * time.Second)) // the restart at 0s has left the window
	if rec := h.Handle(crash("llama")); rec.Decision.Action != eh.Retry {
		t.Fatalf("at 10s: %v (%s), want RETRY", rec.Decision, rec.Note)
	}
	if rec := h.Handle(crash("llama")); rec.Decision.Action != eh.Escalate {
		t.Fatalf("4th restart within (0s, 10s]: %v, want ESCALATE", rec.Decision)
	}
}

func TestResolution(t *testing.T) {
	h, clk := fixture(t, eh.Config{Intensity: noLimit})
	first := h.Handle(crash("llama"))
	second := h.Handle(eh.Failure{Kind: eh.KindGarbage, RunnerID: "llama"})
	skipped := h.Handle(eh.Failure{Kind: eh.KindTaskTimeout, RunnerID: "llama"})
	escalated := h.Handle(eh.Failure{Kind: eh.KindVersionMismatch, RunnerID: "tts"})
	abandoned := h.Handle(crash("whisper"))
	for _, r := range []eh.Record{first, second, abandoned} {
		if r.Resolution != eh.Unresolved || !r.ResolvedAt.IsZero() {
			t.Fatalf("record %d: %v at %v, want unresolved", r.ID, r.Resolution, r.ResolvedAt)
		}
	}
	if skipped.Resolution != eh.Skipped || escalated.Resolution != eh.Escalated {
		t.Fatalf("skip/escalate resolutions: %v, %v", skipped.Resolution, escalated.Resolution)
	}

	clk.Advance(3 * time.Second)
	h.RunnerReady("llama")
	h.RunnerReady("llama") // still Ready: no second success
	h.RunnerStopped("whisper")
	h.RunnerReady("whisper") // a new life: the old record is not resolved by it

	want := map[uint64]eh.Resolution{
		first.ID: eh.Resolved, second.ID: eh.Resolved, skipped.ID: eh.Skipped,
		escalated.ID: eh.Escalated, abandoned.ID: eh.Unresolved,
	}
	for _, r := range h.Records() {
		if r.Resolution != want[r.ID] {
			t.Errorf("record %d (%s): %v, want %v", r.ID, r.Kind, r.Resolution, want[r.ID])
		}
		if r.Resolution == eh.Resolved && !r.ResolvedAt.Equal(t0.Add(3*time.Second)) {
			t.Errorf("record %d resolved at %v", r.ID, r.ResolvedAt)
		}
	}
	if s := h.Stats(); s.SuccessesAfterRetry != 1 || s.Retries != 3 {
		t.Fatalf("SuccessesAfterRetry %d Retries %d, want 1 and 3", s.SuccessesAfterRetry, s.Retries)
	}
}

func TestRestartsBeforeEscalationStayUnresolved(t *testing.T) {
	h, _ := fixture(t, eh.Config{Intensity: eh.Intensity{MaxRestarts: 1, Window: time.Minute}})
	retried := h.Handle(crash("llama"))
	if h.Handle(crash("llama")).Decision.Action != eh.Escalate {
		t.Fatal("2nd restart with MaxRestarts 1 not escalated")
	}
	h.RunnerReady("llama")
	if r := h.Records()[0]; r.ID != retried.ID || r.Resolution != eh.Unresolved {
		t.Fatalf("record before the escalation: %v, want unresolved", r.Resolution)
	}
	if s := h.Stats(); s.SuccessesAfterRetry != 0 {
		t.Fatalf("SuccessesAfterRetry = %d, want 0", s.SuccessesAfterRetry)
	}
}

func TestStatsAddUp(t *testing.T) {
	h, clk := fixture(t, eh.Config{HistoryLimit: 4, Intensity: eh.Intensity{MaxRestarts: 2, Window: time.Hour}})
	failures := []eh.Failure{
		crash("a"), crash("a"), crash("a"), // the 3rd is escalated by intensity
		{Kind: eh.KindHang, RunnerID: "b"},
		{Kind: eh.KindTaskTimeout, RunnerID: "b"},
		{Kind: eh.KindWriteClosedPipe, RunnerID: "c", ShuttingDown: true},
		{Kind: eh.KindExecNotFound, RunnerID: "d"},
		{Kind: eh.KindSignal, Signal: syscall.SIGKILL, RunnerID: "e"},
		{Kind: eh.KindStreamClosed, Component: "stream"},
	}
	var recs []eh.Record
	for _, f := range failures {
		recs = append(recs, h.Handle(f))
		clk.Advance(time.Second)
	}
	h.RunnerReady("b")
	h.RunnerReady("e")

	s := h.Stats()
	sum := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	byKind, bySev, byAction := map[string]int{}, map[string]int{}, map[string]int{}
	retries := 0
	for _, r := range recs {
		byKind[string(r.Kind)]++
		bySev[r.Decision.Severity.String()]++
		byAction[r.Decision.Action.String()]++
		if r.Decision.Restarts() {
			retries++
		}
	}
	conv := func(m any) map[string]int {
		out := map[string]int{}
		switch m := m.(type) {
		case map[eh.Kind]int:
			for k, v := range m {
				out[string(k)] = v
			}
		case map[eh.Severity]int:
			for k, v := range m {
				out[k.String()] = v
			}
		case map[eh.Action]int:
			for k, v := range m {
				out[k.String()] = v
			}
		}
		return out
	}
	switch {
	case s.Total != len(failures):
		t.Errorf("Total %d, want %d", s.Total, len(failures))
	case sum(conv(s.ByKind)) != s.Total || sum(conv(s.BySeverity)) != s.Total || sum(conv(s.ByAction)) != s.Total:
		t.Errorf("by kind/severity/action do not add up to %d: %+v", s.Total, s)
	case fmt.Sprint(conv(s.ByKind)) != fmt.Sprint(byKind):
		t.Errorf("ByKind %v, records say %v", s.ByKind, byKind)
	case fmt.Sprint(conv(s.BySeverity)) != fmt.Sprint(bySev):
		t.Errorf("BySeverity %v, records say %v", s.BySeverity, bySev)
	case fmt.Sprint(conv(s.ByAction)) != fmt.Sprint(byAction):
		t.Errorf("ByAction %v, records say %v", s.ByAction, byAction)
	case s.Retries != retries || retries != 4: // a twice, b's hang, e's SIGKILL
		t.Errorf("Retries %d, records say %d, want 4", s.Retries, retries)
	case s.SuccessesAfterRetry != 2:
		t.Errorf("SuccessesAfterRetry %d, want 2", s.SuccessesAfterRetry)
	case s.IntensityExceeded != 1:
		t.Errorf("IntensityExceeded %d, want 1", s.IntensityExceeded)
	case s.Dropped != len(failures)-4 || len(h.Records()) != 4:
		t.Errorf("Dropped %d with %d records kept, want %d and 4", s.Dropped, len(h.Records()), len(failures)-4)
	}

	// Stats is a copy.
	s.ByKind[eh.KindHang] = 100
	if h.Stats().ByKind[eh.KindHang] != 1 {
		t.Error("Stats shares its maps with the handler")
	}
}

func TestHistoryIsBounded(t *testing.T) {
	h, _ := fixture(t, eh.Config{HistoryLimit: 3, Intensity: noLimit})
	for range 5 {
		h.Handle(crash("llama"))
	}
	recs := h.Records()
	ids := make([]uint64, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	if !slices.Equal(ids, []uint64{3, 4, 5}) {
		t.Fatalf("kept IDs %v, want [3 4 5]", ids)
	}
	h.RunnerReady("llama") // resolves what is left, ignores what was dropped
	for _, r := range h.Records() {
		if r.Resolution != eh.Resolved {
			t.Errorf("record %d: %v, want resolved", r.ID, r.Resolution)
		}
	}
	if s := h.Stats(); s.Dropped != 2 || s.Total != 5 || s.Retries != 5 || s.SuccessesAfterRetry != 1 {
		t.Fatalf("stats %+v", s)
	}
	// Records returns a copy.
	h.Records()[0].Message = "changed"
	if h.Records()[0].Message == "changed" {
		t.Error("Records shares the history")
	}
}

func TestNextDelayUnknownRunner(t *testing.T) {
	h, _ := fixture(t, eh.Config{})
	if _, ok := h.NextDelay("nobody"); ok {
		t.Fatal("NextDelay knows a runner never seen")
	}
	h.RunnerReady("llama")
	if d, ok := h.NextDelay("llama"); !ok || !inJitter(d, 500*time.Millisecond) {
		t.Fatalf("Ready runner: NextDelay = %v, %v; want within [250ms, 500ms]", d, ok)
	}
	h.RunnerStopped("llama")
	if _, ok := h.NextDelay("llama"); ok {
		t.Fatal("NextDelay knows a stopped runner")
	}
}

func TestNoDelayBase(t *testing.T) {
	h, _ := fixture(t, eh.Config{Backoff: eh.BackoffConfig{Base: eh.NoDelay}, Intensity: noLimit})
	for n := range 5 {
		if rec := h.Handle(crash("llama")); rec.Decision.Action != eh.Retry || rec.Delay != 0 {
			t.Fatalf("failure %d: %v after %v, want RETRY after 0", n, rec.Decision, rec.Delay)
		}
	}
}

// A failure without a runner ID is counted under its component, which counts
// as Ready again right after each failure.
func TestComponentFailures(t *testing.T) {
	const stable = time.Minute
	h, clk := fixture(t, eh.Config{
		Rules:     []eh.Rule{{Name: "restart-stream", Kind: eh.KindStreamClosed, Component: "stream", Severity: eh.High, Action: eh.Retry}},
		Backoff:   eh.BackoffConfig{StablePeriod: stable},
		Intensity: eh.Intensity{MaxRestarts: 2, Window: time.Hour},
	})
	stream := eh.Failure{Kind: eh.KindStreamClosed, Component: "stream"}
	if r := h.Handle(stream); r.Attempt != 1 {
		t.Fatalf("attempt %d, want 1", r.Attempt)
	}
	clk.Advance(stable)
	if r := h.Handle(stream); r.Attempt != 1 {
		t.Fatalf("after a stable period without failure: attempt %d, want 1", r.Attempt)
	}
	if r := h.Handle(stream); r.Decision.Action != eh.Escalate {
		t.Fatalf("3rd restart in the window: %v, want ESCALATE", r.Decision)
	}
	if r := h.Handle(eh.Failure{Kind: eh.KindStreamClosed, Component: "health"}); r.Decision.Rule != "stream-closed" {
		t.Fatalf("other component: rule %q, want the default stream-closed", r.Decision.Rule)
	}
}

// TestConcurrentUse is for the race detector.
func TestConcurrentUse(t *testing.T) {
	h, clk := fixture(t, eh.Config{HistoryLimit: 50})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runner := fmt.Sprintf("r%d", w)
			for i := range 100 {
				switch i % 5 {
				case 0:
					h.RunnerReady(runner)
				case 1:
					h.NextDelay(runner)
				case 2:
					h.Stats()
					h.Records()
				case 3:
					clk.Advance(time.Second)
				default:
					h.Handle(crash(runner))
				}
			}
			h.RunnerStopped(runner)
		}()
	}
	wg.Wait()
	if s := h.Stats(); s.Total != 4*20 || s.Total-s.Dropped != len(h.Records()) {
		t.Fatalf("stats %+v with %d records", s, len(h.Records()))
	}
}

func TestFailureError(t *testing.T) {
	cases := []struct {
		f    eh.Failure
		want string
	}{
		{eh.Failure{Kind: eh.KindSignal, RunnerID: "llama-3f2a", Generation: 2, ExitCode: -1, Signal: syscall.SIGKILL},
			"runner llama-3f2a gen 2: process exited: signal=9 (killed); check the runner's stderr for why it died (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)"},
		{eh.Failure{Kind: eh.KindExitNonZero, RunnerID: "llama-3f2a", ExitCode: 3},
			"runner llama-3f2a: process exited: exit=3; check the runner's stderr for why it died (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)"},
		{eh.Failure{Kind: eh.KindExitZero, RunnerID: "tts", Generation: 1},
			"runner tts gen 1: process exited unexpectedly: exit=0; check the runner's stderr for why it died (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)"},
		{eh.Failure{Kind: eh.KindTaskTimeout, RunnerID: "tts", Generation: 1, Operation: "task 17", Message: "no result after 30s"},
			"runner tts gen 1: task 17: task timed out: no result after 30s; raise the task's Timeout if it needs longer"},
		{eh.Failure{Kind: eh.KindNodeFault, Component: "spawner", Operation: "fork", Cause: syscall.EAGAIN},
			"spawner: fork: node fault: resource temporarily unavailable; free memory, processes or file descriptors on the node"},
		{eh.Failure{Kind: eh.KindTerminationError, RunnerID: "x", Message: "CUDA out of memory"},
			"runner x: runner reported a termination error: CUDA out of memory; the runner said why (its TerminationError or Failed status, in this message): fix that; its stderr may say more (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)"},
		{eh.Failure{}, "failure"},
		// WithHint replaces the kind's advice where it does not fit.
		{eh.Failure{Kind: eh.KindProtocolError, RunnerID: "x", Message: "runner closed its stdout but kept running"}.WithHint("keep stdout open"),
			"runner x: protocol error: runner closed its stdout but kept running; keep stdout open"},
	}
	for _, tc := range cases {
		if got := tc.f.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestFailureUnwrap(t *testing.T) {
	var err error = eh.Failure{Kind: eh.KindNodeFault, Cause: fmt.Errorf("pipe: %w", syscall.EMFILE)}
	err = fmt.Errorf("spawn llama: %w", err)
	if !errors.Is(err, syscall.EMFILE) {
		t.Error("errors.Is does not reach the cause")
	}
	var f eh.Failure
	if !errors.As(err, &f) || f.Kind != eh.KindNodeFault || !f.Kind.NodeWide() {
		t.Errorf("errors.As: %+v", f)
	}
	if eh.KindHang.NodeWide() {
		t.Error("a hang is not node-wide")
	}
}

func TestCauseChainWithJoin(t *testing.T) {
	h, _ := fixture(t, eh.Config{})
	cause := fmt.Errorf("close runner: %w", errors.Join(os.ErrClosed, io.ErrShortWrite))
	rec := h.Handle(eh.Failure{Kind: eh.KindResourceCloseFailed, Cause: cause})
	want := []string{cause.Error(), errors.Join(os.ErrClosed, io.ErrShortWrite).Error(), os.ErrClosed.Error(), io.ErrShortWrite.Error()}
	if !slices.Equal(rec.Causes, want) {
		t.Fatalf("Causes = %q, want %q", rec.Causes, want)
	}
}

func TestStatsAndRecordsEncodeAsJSON(t *testing.T) {
	h, _ := fixture(t, eh.Config{})
	h.Handle(crash("llama"))
	h.Handle(eh.Failure{Kind: eh.KindHang, RunnerID: "tts"})
	h.RunnerReady("llama")
	stats, err := json.Marshal(h.Stats())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"HIGH":2`, `"RETRY":1`, `"FORCE_CLEANUP":1`, `"exit_nonzero":1`} {
		if !strings.Contains(string(stats), want) {
			t.Errorf("stats JSON %s lacks %s", stats, want)
		}
	}
	recs, err := json.Marshal(h.Records())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Resolution":"resolved"`, `"Resolution":"unresolved"`, `"Then":"RETRY"`} {
		if !strings.Contains(string(recs), want) {
			t.Errorf("records JSON %s lacks %s", recs, want)
		}
	}
}
