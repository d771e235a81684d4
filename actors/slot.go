package actors

import (
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// slot is a runner's state that outlives any one actor incarnation and any
// one process. The runner supervisor owns it; the runner actor updates it.
// Readers (the supervisor answering Runners()) take a snapshot under mu.
type slot struct {
	id   string
	spec RunnerSpec
	// tasks is touched by the runner actor, or by the supervisor while no
	// incarnation runs (the actor is suspended in backoff, or gone). It needs
	// no lock: the protoactor mailbox hands ownership over (the failure and
	// the restart are messages), which orders every access.
	tasks *ledger
	// timerSeq numbers every timer of every incarnation, so a timer armed by
	// an earlier incarnation can never match one of a later.
	timerSeq uint64
	// outbox collects the runner's events while its actor handles a batch
	// of stdout frames; nil otherwise (outbox.go). Owned like tasks.
	outbox *outbox
	box    outbox // what outbox points to; its topics slice is reused
	// spare holds events slices the tasks stream has finished with, handed
	// back for later batches (outbox.go, recycleEvents): a free list of at
	// most spareBatches, made with the first batch. The stream's goroutine
	// puts, the runner actor takes; neither waits.
	spare chan []streams.Event

	mu         sync.Mutex
	generation uint64 // of the newest process; 0 before the first
	attempts   int    // processes started
	pid        int
	status     *exov1.RunnerStatus
	since      time.Time
	staleDrops uint64 // messages from an older generation, dropped
	violations uint64 // protocol errors from the runner: logged, not applied
	lifeErrors uint64 // illegal lifecycle transitions (bugs): logged, not applied
	lastError  string
}

func newSlot(id string, spec RunnerSpec) *slot {
	return &slot{id: id, spec: spec, tasks: newLedger(), status: &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE}}
}

// nextGeneration starts a new process generation.
func (s *slot) nextGeneration() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.generation++
	s.attempts++
	return s.generation
}

func (s *slot) setStatus(st *exov1.RunnerStatus, at time.Time) {
	s.mu.Lock()
	s.status = proto.Clone(st).(*exov1.RunnerStatus)
	s.since = at
	if st.GetKind() == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED {
		s.lastError = st.GetErrorMessage()
	}
	s.mu.Unlock()
}

func (s *slot) setPid(pid int) {
	s.mu.Lock()
	s.pid = pid
	s.mu.Unlock()
}

func (s *slot) countViolation() {
	s.mu.Lock()
	s.violations++
	s.mu.Unlock()
}

func (s *slot) countLifecycleError() {
	s.mu.Lock()
	s.lifeErrors++
	s.mu.Unlock()
}

func (s *slot) dropStale() {
	s.mu.Lock()
	s.staleDrops++
	s.mu.Unlock()
}

// RunnerInfo is a snapshot of one runner.
type RunnerInfo struct {
	ID          string
	Kind        string
	Generation  uint64
	Attempts    int // processes started, the first included (= Generation)
	Pid         int
	Status      *exov1.RunnerStatus
	StatusSince time.Time
	StaleDrops  uint64
	// ProtocolErrors counts frames that broke the protocol's order (illegal
	// status transitions, task frames out of order): logged, never applied.
	ProtocolErrors uint64
	// LifecycleErrors counts illegal transitions of the runner actor's
	// lifecycle: bugs, logged at error and not applied. Always 0 unless
	// something is wrong in exo-actors itself.
	LifecycleErrors uint64
	LastError       string
	// Supervision: the last error record, the next planned backoff delay,
	// and whether the runner waits to restart (and for how long yet).
	LastRecord *errhandler.Record
	// LastFailure is the failure of the current generation, the value its
	// RunnerFailed carried (shared: do not change it); nil when that
	// generation has not failed. WaitReady's look after the fact returns
	// it, as its look at the live event does.
	LastFailure    *RunnerFailure
	NextDelay      time.Duration
	Restarting     bool
	RestartIn      time.Duration
	RestartAttempt int
	// removed: the runner's actor ended for good (Removed).
	removed bool
}

// Removed reports whether the runner's actor ended for good (stopped, or
// retired after an escalation): Runners lists it until retention forgets it
// (RetentionLimits). Only a node's own Runners says so (it does not cross
// the gateway).
func (in RunnerInfo) Removed() bool { return in.removed }

func (s *slot) info() RunnerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return RunnerInfo{
		ID: s.id, Kind: s.spec.Kind, Generation: s.generation, Attempts: s.attempts, Pid: s.pid,
		Status: proto.Clone(s.status).(*exov1.RunnerStatus), StatusSince: s.since,
		StaleDrops: s.staleDrops, ProtocolErrors: s.violations, LifecycleErrors: s.lifeErrors, LastError: s.lastError,
	}
}

// StatusText renders the runner's state for people: its status, or
// "restarting in 1.6s (attempt 2)" while it waits in backoff.
func (in RunnerInfo) StatusText() string {
	if in.Restarting {
		return fmt.Sprintf("restarting in %s (attempt %d)", in.RestartIn.Round(100*time.Millisecond), in.RestartAttempt)
	}
	return protocol.FormatStatus(in.Status)
}
