package actors

import (
	"slices"
	"sync"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Bounds of the health history (each documented in docs/operations.md).
const (
	historyEvents    = 64   // failures and restarts kept per runner (oldest dropped)
	historyLatencies = 256  // task latencies kept per runner for mean and p99 (oldest dropped)
	historyOpenTasks = 1024 // tasks per runner whose start is remembered (beyond: no latency)
	historyDecisions = 256  // supervision decisions waiting for the monitor's next check (oldest dropped, counted)
)

// healthHistory is what the health monitor learns from the node's events
// (the node's emit feeds it, on the emitting actor's goroutine): failures,
// restarts and whether they reached Ready, task latencies, the last stop,
// and the supervision decisions to turn into alerts. It holds no actor's
// state, only what the events said; it is guarded by its mutex.
type healthHistory struct {
	// clk stamps what its event carries no time for (a task's error
	// record): the runner clock, the monitor's.
	clk              clock.Clock
	mu               sync.Mutex
	runners          map[string]*runnerHistory
	decisions        []*SupervisionDecision
	escalations      []*Alert
	droppedDecisions uint64
}

type restartOutcome struct {
	at      time.Time
	done    bool
	reached bool // reached Ready before failing again
}

type runnerHistory struct {
	// failures are the runner's errors, for the error rate: its process's
	// failures and its tasks' errors (task_timeout, ack_timeout: every
	// error record of the runner except its resources', which the resources
	// part counts).
	failures   []time.Time
	restarts   []restartOutcome
	open       map[string]time.Time // task ID → Pending time
	latencies  []time.Duration
	completed  uint64
	ended      uint64
	lastStop   *StopResult
	lastStatus exov1.RunnerStatusKind
}

func newHealthHistory(clk clock.Clock) *healthHistory {
	return &healthHistory{clk: clk, runners: map[string]*runnerHistory{}}
}

func (h *healthHistory) runner(id string) *runnerHistory {
	r := h.runners[id]
	if r == nil {
		r = &runnerHistory{open: map[string]time.Time{}}
		h.runners[id] = r
	}
	return r
}

func pushBounded[T any](s []T, v T, limit int) []T {
	if len(s) >= limit {
		s = slices.Delete(s, 0, len(s)-limit+1)
	}
	return append(s, v)
}

// observe takes one event.
func (h *healthHistory) observe(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch e := e.(type) {
	case *RunnerFailed:
		r := h.runner(e.Failure.RunnerID)
		r.failures = pushBounded(r.failures, e.Failure.At, historyEvents)
		if e.Failure.stopAsked {
			// A StopRunner met this failure: the runner's last stop, so
			// the monitor counts it stopped on request, not retired.
			r.lastStop = &StopResult{RunnerID: e.Failure.RunnerID, Generation: e.Failure.Generation, Exit: e.Failure.Exit,
				Failure: e.Failure, EndedBy: "failure"}
		}
		if n := len(r.restarts); n > 0 && !r.restarts[n-1].done {
			r.restarts[n-1].done = true // failed before Ready
		}
	case *ProcessStarted:
		if e.Generation > 1 {
			r := h.runner(e.RunnerID)
			r.restarts = pushBounded(r.restarts, restartOutcome{at: e.At}, historyEvents)
		}
	case *StatusChanged:
		r := h.runner(e.RunnerID)
		r.lastStatus = e.To.GetKind()
		if e.To.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY {
			if n := len(r.restarts); n > 0 && !r.restarts[n-1].done {
				r.restarts[n-1].done, r.restarts[n-1].reached = true, true
			}
		}
	case *TaskStatusChanged:
		r := h.runner(e.RunnerID)
		switch e.Status {
		case exov1.TaskStatus_TASK_STATUS_PENDING:
			if len(r.open) < historyOpenTasks {
				r.open[e.TaskID] = e.At
			}
		case exov1.TaskStatus_TASK_STATUS_RUNNING:
		default:
			r.ended++
			if e.Status == exov1.TaskStatus_TASK_STATUS_COMPLETE {
				r.completed++
			}
			if at, ok := r.open[e.TaskID]; ok {
				delete(r.open, e.TaskID)
				r.latencies = pushBounded(r.latencies, e.At.Sub(at), historyLatencies)
			}
		}
	case *RunnerStopped:
		res := e.Result
		h.runner(res.RunnerID).lastStop = &res
	case *SupervisionDecision:
		if e.Record.Component == taskComponent && e.RunnerID != "" {
			// A task's error: the runner's error rate counts it (a
			// runner's own failure is counted from its RunnerFailed).
			r := h.runner(e.RunnerID)
			r.failures = pushBounded(r.failures, h.clk.Now(), historyEvents)
		}
		if len(h.decisions) >= historyDecisions {
			h.decisions = h.decisions[1:]
			h.droppedDecisions++
		}
		h.decisions = append(h.decisions, e)
	case *Alert:
		h.escalations = pushBounded(h.escalations, e, historyDecisions)
	}
}

// take returns the decisions and escalation alerts since the last call.
func (h *healthHistory) take() ([]*SupervisionDecision, []*Alert) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d, a := h.decisions, h.escalations
	h.decisions, h.escalations = nil, nil
	return d, a
}

// forget drops a runner that is gone for good.
func (h *healthHistory) forget(id string) {
	h.mu.Lock()
	delete(h.runners, id)
	h.mu.Unlock()
}

// errorCounts returns the failures within window before now, and the
// restarts in it that reached Ready or failed before (pending ones are not
// counted).
func (h *healthHistory) errorCounts(id string, now time.Time, window time.Duration) (failures, ok, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.runners[id]
	if r == nil {
		return 0, 0, 0
	}
	cut := now.Add(-window)
	for _, t := range r.failures {
		if t.After(cut) {
			failures++
		}
	}
	for _, x := range r.restarts {
		if x.at.After(cut) && x.done {
			if x.reached {
				ok++
			} else {
				bad++
			}
		}
	}
	return failures, ok, bad
}

// TaskStats are a runner's task figures reported beside its score.
type TaskStats struct {
	// Pending counts tasks queued or in flight now.
	Pending int `json:"pending"`
	// Ended and Completed count tasks that ended, and those that ended
	// Complete; CompletionRate is Completed/Ended (1 when none ended).
	Ended          uint64  `json:"ended"`
	Completed      uint64  `json:"completed"`
	CompletionRate float64 `json:"completion_rate"`
	// MeanLatency and P99Latency are over the last 256 tasks, submit to end.
	MeanLatency time.Duration `json:"mean_latency_ns"`
	P99Latency  time.Duration `json:"p99_latency_ns"`
}

func (h *healthHistory) taskStats(id string) (TaskStats, *StopResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ts := TaskStats{CompletionRate: 1}
	r := h.runners[id]
	if r == nil {
		return ts, nil
	}
	ts.Ended, ts.Completed = r.ended, r.completed
	if r.ended > 0 {
		ts.CompletionRate = float64(r.completed) / float64(r.ended)
	}
	if n := len(r.latencies); n > 0 {
		var sum time.Duration
		for _, d := range r.latencies {
			sum += d
		}
		ts.MeanLatency = sum / time.Duration(n)
		sorted := slices.Clone(r.latencies)
		slices.Sort(sorted)
		k := (n*99 + 99) / 100
		ts.P99Latency = sorted[min(max(k-1, 0), n-1)]
	}
	var stop *StopResult
	if r.lastStop != nil {
		s := *r.lastStop
		stop = &s
	}
	return ts, stop
}

// severityAlerts says whether a decision's severity raises an alert of its
// own: CRITICAL escalations already alert from the supervisor.
func severityAlerts(s errhandler.Severity) bool { return s != errhandler.Critical }
