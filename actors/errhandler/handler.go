package errhandler

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Defaults for Config's zero fields (backoff defaults are in backoff.go).
const (
	defaultMaxRestarts     = 5
	defaultIntensityWindow = 60 * time.Second
	defaultHistoryLimit    = 1000
)

// Intensity limits restarts, as OTP's restart intensity does: a restart that
// would make more than MaxRestarts restarts of one runner within Window is
// turned into ESCALATE.
type Intensity struct {
	// MaxRestarts is the number of restarts allowed within Window. Zero means
	// 5; a negative value means no limit.
	MaxRestarts int
	// Window is the sliding window. Zero means 60s.
	Window time.Duration
}

// Config configures a Handler. Every zero field takes the default given in
// its comment.
type Config struct {
	// Clock is the time source. Nil means clock.Real().
	Clock clock.Clock
	// Rand is the source of backoff jitter. Nil means a randomly seeded one;
	// tests pass e.g. rand.NewPCG(1, 2) for a repeatable run.
	Rand rand.Source
	// Rules are the user's rules, consulted in order before DefaultRules.
	Rules []Rule
	// Backoff configures restart delays.
	Backoff BackoffConfig
	// Intensity limits restarts.
	Intensity Intensity
	// HistoryLimit is the number of records kept; older ones are dropped,
	// their counts stay in Stats. Zero means 1000.
	HistoryLimit int
}

// Handler is the error handler of one node: it classifies failures, counts
// restarts per runner, plans backoff delays, applies the restart intensity
// and keeps the records and statistics. It is safe for concurrent use.
//
// Per-runner state is keyed by Failure.RunnerID; a failure without a runner
// ID is keyed by its Component, and since such a component has no Ready
// signal, it counts as Ready again right after each failure.
type Handler struct {
	clock     clock.Clock
	rules     []Rule // user rules, then DefaultRules; read-only after New
	backoff   BackoffConfig
	intensity Intensity
	limit     int

	mu      sync.Mutex
	rnd     *rand.Rand
	runners map[stateKey]*runnerState
	history []Record // oldest first; IDs are consecutive
	lastID  uint64
	stats   Stats
}

// stateKey names the owner of per-runner state: a runner, or else a component.
type stateKey struct{ runnerID, component string }

// runnerState is what the handler remembers about one runner.
type runnerState struct {
	backoff    *Backoff
	attempts   int         // restarts since the runner was last stable
	restarts   []time.Time // restart times within the intensity window
	ready      bool
	readySince time.Time
	stable     bool     // the reset for this Ready period has been done
	open       []uint64 // IDs of records whose restart awaits Ready
}

// New returns a Handler for cfg. It fails, with an error wrapping
// ErrInvalidRule, if a user rule is malformed; the error names every
// malformed rule and each of its faults, in one line.
func New(cfg Config) (*Handler, error) {
	// Every bad rule in one line, not the first alone: a config with
	// several faults took one start per fault (a new user's trial).
	var bad []error
	for _, r := range cfg.Rules {
		bad = append(bad, r.validate())
	}
	if err := errjoin.OneLine(bad...); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	if cfg.Intensity.MaxRestarts == 0 {
		cfg.Intensity.MaxRestarts = defaultMaxRestarts
	}
	if cfg.Intensity.Window <= 0 {
		cfg.Intensity.Window = defaultIntensityWindow
	}
	if cfg.HistoryLimit <= 0 {
		cfg.HistoryLimit = defaultHistoryLimit
	}
	rules := append([]Rule(nil), cfg.Rules...)
	rules = append(rules, DefaultRules()...)
	return &Handler{
		clock:     cfg.Clock,
		rules:     rules,
		backoff:   cfg.Backoff.withDefaults(),
		intensity: cfg.Intensity,
		limit:     cfg.HistoryLimit,
		rnd:       rand.New(cfg.Rand),
		runners:   make(map[stateKey]*runnerState),
		stats: Stats{
			ByKind:     make(map[Kind]int),
			BySeverity: make(map[Severity]int),
			ByAction:   make(map[Action]int),
		},
	}, nil
}

// Classify returns the decision of the first rule matching f: user rules
// first, then DefaultRules. It only looks up the table; it changes nothing.
func (h *Handler) Classify(f Failure) Decision {
	for _, r := range h.rules {
		if r.Match(f) {
			return r.decision()
		}
	}
	// Unreachable: DefaultRules ends with a rule that matches anything.
	return Decision{Rule: "none", Severity: Critical, Action: Escalate}
}

// Handle classifies f and acts on the handler's books: it resets the
// runner's backoff if the runner has been Ready for the stable period, turns
// a restart beyond the restart intensity into ESCALATE, plans the backoff
// delay of a restart, and records the failure. It returns the Record; the
// caller carries out Record.Decision, waiting Record.Delay before a restart.
func (h *Handler) Handle(f Failure) Record {
	h.mu.Lock()
	defer h.mu.Unlock()

	now := h.clock.Now()
	key := keyOf(f)
	st := h.stateLocked(key)
	h.resetIfStableLocked(st, now)

	d := h.Classify(f)
	rec := Record{
		Time:       now,
		Component:  f.Component,
		Operation:  f.Operation,
		RunnerID:   f.RunnerID,
		Generation: f.Generation,
		Kind:       f.Kind,
		ExitCode:   f.ExitCode,
		Signal:     f.Signal,
		Message:    f.Error(),
		Causes:     causeChain(f.Cause),
	}

	if d.Restarts() {
		st.restarts = pruneBefore(st.restarts, now.Add(-h.intensity.Window))
		if limit := h.intensity.MaxRestarts; limit >= 0 && len(st.restarts)+1 > limit {
			rec.Note = fmt.Sprintf("restart intensity exceeded: this would be restart %d within %v (limit %d); table said %v",
				len(st.restarts)+1, h.intensity.Window, limit, d)
			d = Decision{Rule: d.Rule, Severity: Critical, Action: Escalate}
			h.stats.IntensityExceeded++
		} else {
			st.restarts = append(st.restarts, now)
			st.attempts++
			rec.Attempt = st.attempts
			rec.Delay = st.backoff.Next()
		}
	}
	rec.Decision = d

	h.lastID++
	rec.ID = h.lastID
	switch {
	case d.Restarts():
		h.stats.Retries++
		if key.runnerID != "" { // only a runner says Ready
			st.open = append(h.liveLocked(st.open), rec.ID)
		}
	case d.Action == Escalate || d.Then == Escalate:
		rec.Resolution, rec.ResolvedAt = Escalated, now
		st.open = nil // those restarts did not help; they stay unresolved
	default: // Skip, or ForceCleanup then Skip
		rec.Resolution, rec.ResolvedAt = Skipped, now
	}

	// A plain SKIP leaves the runner as it was; anything else takes it out of
	// service. A component without a runner counts as Ready again at once.
	if d.Action != Skip {
		st.ready = false
	}
	if key.runnerID == "" {
		st.ready, st.readySince, st.stable = true, now, false
	}

	h.appendLocked(rec)
	h.stats.Total++
	h.stats.ByKind[rec.Kind]++
	h.stats.BySeverity[d.Severity]++
	h.stats.ByAction[d.Action]++
	return rec
}

// RunnerReady tells the handler that the runner is Ready. Its records still
// waiting on a restart are resolved, and its stable period starts: if it is
// still Ready StablePeriod later, the next Handle or NextDelay starts its
// backoff and attempt count over. Calling it again while Ready changes
// nothing.
func (h *Handler) RunnerReady(runnerID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.clock.Now()
	st := h.stateLocked(stateKey{runnerID: runnerID})
	if len(st.open) > 0 {
		for _, id := range st.open {
			if r := h.recordLocked(id); r != nil {
				r.Resolution, r.ResolvedAt = Resolved, now
			}
		}
		st.open = nil
		h.stats.SuccessesAfterRetry++
	}
	if !st.ready {
		st.ready, st.readySince, st.stable = true, now, false
	}
}

// RunnerStopped forgets the runner: its backoff, attempts and restart times.
// Its records still waiting on a restart stay unresolved.
func (h *Handler) RunnerStopped(runnerID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.runners, stateKey{runnerID: runnerID})
}

// NextDelay returns the backoff delay the runner's next restart would wait,
// exactly as the next Handle that restarts it will plan it, or false if the
// handler knows nothing of the runner (it has neither failed nor been Ready
// since it was last forgotten).
func (h *Handler) NextDelay(runnerID string) (time.Duration, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	st, ok := h.runners[stateKey{runnerID: runnerID}]
	if !ok {
		return 0, false
	}
	h.resetIfStableLocked(st, h.clock.Now())
	return st.backoff.Peek(), true
}

// Records returns a copy of the history, oldest first.
func (h *Handler) Records() []Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Record(nil), h.history...)
}

// Stats returns a copy of the statistics.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats.clone()
}

func keyOf(f Failure) stateKey {
	if f.RunnerID != "" {
		return stateKey{runnerID: f.RunnerID}
	}
	return stateKey{component: f.Component}
}

func (h *Handler) stateLocked(key stateKey) *runnerState {
	st, ok := h.runners[key]
	if !ok {
		st = &runnerState{backoff: newBackoff(h.backoff, h.rnd)}
		h.runners[key] = st
	}
	return st
}

// resetIfStableLocked starts the backoff and attempts over if the runner has
// been Ready for the stable period by now.
func (h *Handler) resetIfStableLocked(st *runnerState, now time.Time) {
	if st.ready && !st.stable && now.Sub(st.readySince) >= h.backoff.StablePeriod {
		st.backoff.Reset()
		st.attempts = 0
		st.stable = true
	}
}

// NoteCleanup records the steps FORCE_CLEANUP carried out for record id and
// returns the record as it is now (false if it left the history).
func (h *Handler) NoteCleanup(id uint64, steps []string) (Record, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.recordLocked(id)
	if r == nil {
		return Record{}, false
	}
	r.Cleanup = append([]string(nil), steps...)
	return *r, true
}

// appendLocked adds rec to the history, dropping the oldest beyond the limit.
func (h *Handler) appendLocked(rec Record) {
	if len(h.history) >= h.limit {
		n := len(h.history) - h.limit + 1
		clear(h.history[:n]) // let the dropped records' strings go
		h.history = h.history[n:]
		h.stats.Dropped += n
	}
	h.history = append(h.history, rec)
}

// recordLocked returns the record with the given ID, or nil if it has been
// dropped.
func (h *Handler) recordLocked(id uint64) *Record {
	if len(h.history) == 0 || id < h.history[0].ID {
		return nil
	}
	i := id - h.history[0].ID
	if i >= uint64(len(h.history)) {
		return nil
	}
	return &h.history[i]
}

// liveLocked drops from ids those whose records left the history.
func (h *Handler) liveLocked(ids []uint64) []uint64 {
	i := 0
	for i < len(ids) && h.recordLocked(ids[i]) == nil {
		i++
	}
	return ids[i:]
}

// pruneBefore drops the times before cutoff from the sorted slice ts.
func pruneBefore(ts []time.Time, cutoff time.Time) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(cutoff) {
		i++
	}
	return append(ts[:0], ts[i:]...)
}
