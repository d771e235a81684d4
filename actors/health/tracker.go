package health

import (
	"fmt"
	"time"
)

// Observation is one check of one runner, as the tracker needs it.
type Observation struct {
	At time.Time
	// Live: the runner has a running incarnation that can be recovered (not
	// waiting to restart, not being stopped, not gone).
	Live       bool
	Generation uint64
	Score      Score
	// ErroredResources names the runner's resources in error now.
	ErroredResources []string
}

// Action is what the tracker asks the monitor to do about a runner.
type Action int

// The actions.
const (
	// None: nothing to do.
	None Action = iota
	// ResetResources: reset Decision.Resources (recovery step 1); report
	// the outcome with StepDone.
	ResetResources
	// Restart: ask the supervisor for a forced restart (FORCE_CLEANUP then
	// RETRY, recovery step 2); report whether it was accepted with StepDone.
	Restart
	// StopPersistent: the runner is persistently failed: stop it gracefully
	// and raise one CRITICAL alert.
	StopPersistent
)

// String names the action.
func (a Action) String() string {
	return [...]string{"none", "reset_resources", "force_restart", "stop_persistent"}[a]
}

// Decision is the tracker's answer to an observation.
type Decision struct {
	Action    Action
	Resources []string // for ResetResources
	Reason    string
	// Recovery is the record the action belongs to (a copy).
	Recovery Recovery
}

// Step names, in the order a recovery takes them.
const (
	StepResetResources = "reset_resources"
	StepForceRestart   = "force_restart"
	StepStop           = "stop_persistent"
)

// Recovery outcomes. A recovery is "in progress" until it ends with one of
// the others (RecoveryOutcomes lists them: exo_health_recoveries_total's
// outcome label takes no other value).
const (
	RecoveryInProgress = "in progress"
	// RecoverySucceeded: a check found the runner healthy.
	RecoverySucceeded = "succeeded"
	// RecoveryFailed: the runner was not recovered: unhealthy K checks in
	// a row after its restart, its restart refused or not live within its
	// bound, not live during the reset, retired or removed; the end step's
	// note says which.
	RecoveryFailed = "failed"
	// RecoveryDegraded: the restarted runner runs but settled at degraded:
	// neither healthy nor unhealthy K checks in a row within SettleChecks
	// checks of its first live check.
	RecoveryDegraded = "degraded"
	// RecoveryStopped: the runner was persistently failed and stopped
	// gracefully (the record of the stop, not of a recovery's steps).
	RecoveryStopped = "stopped"
	// RecoveryCancelled: the runner was stopped on request (StopRunner, a
	// cancelled restart, the node's shutdown) while the recovery was under
	// way: no verdict on the recovery. Before, it ended "failed", so an
	// alert on failed recoveries fired for an operator's own stop.
	RecoveryCancelled = "cancelled"
)

// RecoveryOutcomes returns the outcomes a recovery can end with.
func RecoveryOutcomes() []string {
	return []string{RecoverySucceeded, RecoveryFailed, RecoveryDegraded, RecoveryStopped, RecoveryCancelled}
}

// RecoveryStep is one recorded step of a recovery.
type RecoveryStep struct {
	Name    string    `json:"name"`
	At      time.Time `json:"at"`
	Outcome string    `json:"outcome"` // "requested", "ok", "skipped", "failed", "refused", ...
	Note    string    `json:"note,omitempty"`
}

// Recovery is the record of one automatic recovery of a runner.
type Recovery struct {
	ID       uint64         `json:"id"`
	RunnerID string         `json:"runner_id"`
	Started  time.Time      `json:"started"`
	Score    float64        `json:"score"`  // when it started
	Reason   string         `json:"reason"` // why the runner was unhealthy
	Steps    []RecoveryStep `json:"steps"`
	Outcome  string         `json:"outcome"`
	Ended    time.Time      `json:"ended,omitzero"`
}

// phase is where a runner's recovery is: one value per tracker, changed
// only by Observe, StepDone and Removed. "Ends X" records the recovery
// with outcome X and goes to idle (from stopping: to persistent).
//
//	from        to          when
//	idle        resetting   K unhealthy live checks in a row, resources in error (ResetResources)
//	idle        restarting  the same, no resource in error: reset_resources skipped (Restart)
//	idle        stopping    the same, MaxRecoveries already started within RecoveryWindow (StopPersistent)
//	resetting   resetDone   every reset answered (StepDone)
//	resetting   restarting  no answer within 10·K live checks: going on (Restart)
//	resetDone   restarting  the next live check is not healthy (Restart)
//	restarting  watching    a live check of a newer generation, not healthy
//	resetting,  idle        a live check is healthy: ends succeeded;
//	resetDone               a check finds it not live: ends failed
//	restarting  idle        a live check of a newer generation is healthy: ends succeeded;
//	                        the restart refused (StepDone), or RestartChecks checks
//	                        (live or not) without a live newer generation: ends failed
//	watching    idle        a live check is healthy: ends succeeded; SettleChecks checks
//	                        (live or not) after the first without either verdict: ends
//	                        degraded if the last found it live and degraded, else failed
//	watching    (as idle)   K unhealthy live checks in a row: ends failed, and the same
//	                        check starts the next recovery as from idle
//	resetting,  idle        Removed (retired, stopped or forgotten: never checked
//	resetDone,              again): ends failed
//	restarting,
//	watching
//	stopping    persistent  the stop answered (StepDone): ends stopped, or failed;
//	                        Removed: ends failed
//
// persistent is final: Observe does nothing any more.
type phase int

const (
	idle       phase = iota
	resetting        // step 1 asked, answers pending
	resetDone        // step 1 done; the next check decides on step 2
	restarting       // step 2 asked; waiting for a live new generation
	watching         // restarted; waiting for a verdict
	stopping         // persistently failed: its graceful stop asked
	persistent       // persistently failed, its stop over: final
)

// RestartChecks bounds the wait for a recovery's restarted runner: the
// recovery fails when no check of a new generation found it live within
// this many checks of the restart request (live or not): 20·K, 60 checks
// (60s) at the defaults, room for the error policy's backoff (at most 30s
// by default) and the new process's handshake (5s).
func (c Config) RestartChecks() int { return 20 * c.UnhealthyChecks }

// SettleChecks bounds the wait for a restarted runner's verdict: when
// neither a healthy check nor K unhealthy checks in a row came within
// this many checks after the first check of its new process (live or
// not), the recovery ends degraded (the last check found it live and
// degraded) or failed: 10·K, 30 checks at the defaults.
func (c Config) SettleChecks() int { return 10 * c.UnhealthyChecks }

// Tracker follows one runner across checks and decides its recovery. It is
// not safe for concurrent use: the monitor actor owns it.
type Tracker struct {
	cfg         Config
	id          string
	seq         *uint64 // recovery IDs, shared by a monitor's trackers
	consecutive int     // unhealthy live checks in a row (idle, watching)
	ph          phase
	since       int // checks in the current phase
	gen         uint64
	cur         *Recovery   // the recovery of ph (nil in idle and persistent)
	starts      []time.Time // recovery starts within RecoveryWindow
	records     []Recovery
	dropped     int
}

// NewTracker returns the tracker of runner id; seq numbers the recoveries of
// every tracker that shares it.
func NewTracker(cfg Config, id string, seq *uint64) *Tracker {
	return &Tracker{cfg: cfg, id: id, seq: seq}
}

// Persistent reports whether the runner was found persistently failed.
func (t *Tracker) Persistent() bool { return t.ph == stopping || t.ph == persistent }

// Consecutive is the number of unhealthy checks in a row.
func (t *Tracker) Consecutive() int { return t.consecutive }

// Recoveries returns the recovery records, oldest first (at most History),
// and how many older ones were dropped.
func (t *Tracker) Recoveries() ([]Recovery, int) {
	out := make([]Recovery, len(t.records))
	for i, r := range t.records {
		r.Steps = append([]RecoveryStep(nil), r.Steps...)
		out[i] = r
	}
	return out, t.dropped
}

// InWindow is the number of recoveries started within RecoveryWindow of at.
func (t *Tracker) InWindow(at time.Time) int {
	t.prune(at)
	return len(t.starts)
}

// Observe takes one check and says what to do (the phase table above).
func (t *Tracker) Observe(o Observation) Decision {
	switch t.ph {
	case stopping, persistent:
		return Decision{}
	case idle:
		return t.observeIdle(o)
	}
	t.since++
	lvl := o.Score.Level
	switch t.ph {
	case resetting, resetDone:
		if !o.Live {
			t.consecutive = 0
			t.end(o.At, RecoveryFailed, "the runner stopped being live during the recovery")
			return Decision{}
		}
		if lvl == Healthy {
			t.end(o.At, RecoverySucceeded, "")
			return Decision{}
		}
		if t.ph == resetting {
			// The manager bounds each reset by its timeout and always
			// answers; this bound only guards against a lost answer.
			if t.since < 10*t.cfg.UnhealthyChecks {
				return Decision{}
			}
			t.step(StepResetResources, o.At, "no answer", fmt.Sprintf("no answer within %d checks: going on", t.since))
		}
		return t.restart(o)
	case restarting:
		if o.Live && o.Generation > t.gen {
			t.ph, t.since, t.consecutive = watching, 0, 0
			if lvl == Healthy {
				t.end(o.At, RecoverySucceeded, "")
			}
			return Decision{}
		}
		if !o.Live {
			t.consecutive = 0
		}
		if t.since >= t.cfg.RestartChecks() {
			t.end(o.At, RecoveryFailed, fmt.Sprintf("no live new process within %d checks of the restart request", t.since))
		}
		return Decision{}
	case watching:
		return t.observeWatching(o)
	}
	return Decision{}
}

// observeIdle counts unhealthy live checks and starts a recovery at K.
func (t *Tracker) observeIdle(o Observation) Decision {
	if !o.Live || o.Score.Level != Unhealthy {
		// Not live: waiting to restart, being stopped, or gone: the
		// supervisor has it.
		t.consecutive = 0
		return Decision{}
	}
	t.consecutive++
	if t.consecutive < t.cfg.UnhealthyChecks {
		return Decision{}
	}
	return t.start(o)
}

// observeWatching judges the restarted runner: healthy, K unhealthy checks
// in a row, or neither within SettleChecks.
func (t *Tracker) observeWatching(o Observation) Decision {
	switch {
	case !o.Live:
		// Its new process failed or is being stopped: the supervisor has it.
		t.consecutive = 0
	case o.Score.Level == Healthy:
		t.end(o.At, RecoverySucceeded, "")
		t.consecutive = 0
		return Decision{}
	case o.Score.Level == Unhealthy:
		t.consecutive++
		if t.consecutive >= t.cfg.UnhealthyChecks {
			t.end(o.At, RecoveryFailed, fmt.Sprintf("unhealthy again for %d checks after the restart", t.consecutive))
			return t.start(o)
		}
	default:
		t.consecutive = 0
	}
	if t.since < t.cfg.SettleChecks() {
		return Decision{}
	}
	within := fmt.Sprintf("neither healthy nor unhealthy %d checks in a row within %d checks of the restarted process", t.cfg.UnhealthyChecks, t.since)
	switch {
	case !o.Live:
		t.end(o.At, RecoveryFailed, within+"; not live at the last (its process failed again, or is being stopped)")
	case o.Score.Level == Degraded:
		t.end(o.At, RecoveryDegraded, fmt.Sprintf("%s: it runs, degraded (score %.2f): %s", within, o.Score.Value, o.Score.Reason))
	default:
		t.end(o.At, RecoveryFailed, fmt.Sprintf("%s; unhealthy at the last (score %.2f): %s", within, o.Score.Value, o.Score.Reason))
	}
	return Decision{}
}

// Removed tells the tracker that the runner is removed for good (retired
// after an escalation, forgotten by retention): it is never checked
// again, so a recovery in progress ends failed now, why naming what
// happened. A runner without one is left as it is. A runner stopped on
// request goes to Cancelled instead.
func (t *Tracker) Removed(at time.Time, why string) { t.removed(at, RecoveryFailed, why) }

// Cancelled is Removed for a runner stopped on request (StopRunner, a
// cancelled restart, the node's shutdown): a recovery under way ends
// RecoveryCancelled, no verdict on it.
func (t *Tracker) Cancelled(at time.Time, why string) { t.removed(at, RecoveryCancelled, why) }

func (t *Tracker) removed(at time.Time, outcome, why string) {
	t.consecutive = 0
	if t.cur == nil {
		return
	}
	t.end(at, outcome, why)
}

// start begins a recovery, or declares the runner persistently failed.
func (t *Tracker) start(o Observation) Decision {
	t.consecutive = 0
	reason := o.Score.Reason
	if n := t.InWindow(o.At); n >= t.cfg.MaxRecoveries {
		*t.seq++
		t.cur = &Recovery{ID: *t.seq, RunnerID: t.id, Started: o.At, Score: o.Score.Value, Reason: reason, Outcome: RecoveryInProgress}
		t.ph, t.since = stopping, 0
		t.step(StepStop, o.At, "requested", fmt.Sprintf("%d recoveries within %s (limit %d): persistently failed", n, t.cfg.RecoveryWindow, t.cfg.MaxRecoveries))
		return Decision{Action: StopPersistent, Reason: reason, Recovery: t.snapshot()}
	}
	*t.seq++
	t.cur = &Recovery{ID: *t.seq, RunnerID: t.id, Started: o.At, Score: o.Score.Value, Reason: reason, Outcome: RecoveryInProgress}
	t.starts = append(t.starts, o.At)
	t.since = 0
	if len(o.ErroredResources) == 0 {
		t.step(StepResetResources, o.At, "skipped", "no resource in error")
		return t.restart(o)
	}
	t.ph = resetting
	t.step(StepResetResources, o.At, "requested", fmt.Sprint(o.ErroredResources))
	return Decision{Action: ResetResources, Resources: append([]string(nil), o.ErroredResources...), Reason: reason, Recovery: t.snapshot()}
}

func (t *Tracker) restart(o Observation) Decision {
	t.ph, t.since, t.gen = restarting, 0, o.Generation
	t.step(StepForceRestart, o.At, "requested", "FORCE_CLEANUP then RETRY through the supervisor")
	return Decision{Action: Restart, Reason: t.cur.Reason, Recovery: t.snapshot()}
}

// StepDone records the outcome of a step the monitor carried out (the
// answers of the resource manager or the supervisor). A refused restart
// ends the recovery as failed.
func (t *Tracker) StepDone(step string, at time.Time, outcome, note string) {
	if t.cur == nil {
		return
	}
	t.step(step, at, outcome, note)
	switch {
	case step == StepResetResources && t.ph == resetting:
		t.ph = resetDone
	case step == StepForceRestart && outcome != "ok" && t.ph == restarting:
		t.end(at, RecoveryFailed, "restart refused: "+note)
	case step == StepStop && t.ph == stopping:
		t.end(at, map[bool]string{true: RecoveryStopped, false: RecoveryFailed}[outcome == "ok"], note)
	}
}

func (t *Tracker) step(name string, at time.Time, outcome, note string) {
	t.cur.Steps = append(t.cur.Steps, RecoveryStep{Name: name, At: at, Outcome: outcome, Note: note})
}

func (t *Tracker) snapshot() Recovery {
	r := *t.cur
	r.Steps = append([]RecoveryStep(nil), r.Steps...)
	return r
}

// Current returns the recovery in progress, if any.
func (t *Tracker) Current() (Recovery, bool) {
	if t.cur == nil {
		return Recovery{}, false
	}
	return t.snapshot(), true
}

func (t *Tracker) end(at time.Time, outcome, note string) {
	r := t.cur
	r.Outcome, r.Ended = outcome, at
	if note != "" {
		r.Steps = append(r.Steps, RecoveryStep{Name: "end", At: at, Outcome: outcome, Note: note})
	}
	t.records = append(t.records, *r)
	if len(t.records) > t.cfg.History {
		t.records = t.records[1:]
		t.dropped++
	}
	next := idle
	if t.ph == stopping {
		next = persistent
	}
	t.cur, t.ph, t.since = nil, next, 0
}

func (t *Tracker) prune(at time.Time) {
	cut := at.Add(-t.cfg.RecoveryWindow)
	i := 0
	for i < len(t.starts) && !t.starts[i].After(cut) {
		i++
	}
	t.starts = t.starts[i:]
}
