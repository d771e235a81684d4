package actors

import (
	"time"

	"github.com/exo-actors/exo-actors/internal/proc"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Event is something that happened to a runner. Hooks receive them in the
// order the runner's actor produced them.
type Event interface{ eventRunnerID() string }

// EventHook receives every event. It is called from actor goroutines, so it
// must be safe for concurrent use and must not block. A panic in it is
// recovered, counted (HookStats.Panics) and logged; the node goes on.
type EventHook func(Event)

// ProcessStarted: a runner's process started.
type ProcessStarted struct {
	RunnerID   string
	Generation uint64
	Pid        int
	At         time.Time
}

// StatusChanged: a runner's status changed (from the runner's own report or
// from the supervisor: Failed, Shutdown).
type StatusChanged struct {
	RunnerID   string
	Generation uint64
	From, To   *exov1.RunnerStatus
	At         time.Time
}

// ProcessExited: a runner's process ended and was reaped. It is published
// once the node's stdout reader of the process has ended, so no
// StatusChanged the process reported follows it (the node's own Failed or
// Shutdown, made of the exit, do). The reader ends at the pipe's end, or at
// most Timeouts.Drain after the reap when a process outside the runner's
// group holds the pipe open (frames still in the pipe then are dropped).
// One per process, with one exception: when the runner actor panicked (a
// bug, KindActorPanic) and was stopped before the process's reap reached
// it, there is none.
type ProcessExited struct {
	RunnerID   string
	Generation uint64
	Pid        int
	Status     proc.ExitStatus
	At         time.Time
}

// RunnerFailed: a runner failed; Failure says how and where it was detected.
type RunnerFailed struct {
	Failure *RunnerFailure
}

// RunnerStopped: a runner was stopped on request.
type RunnerStopped struct {
	Result StopResult
}

func (e *ProcessStarted) eventRunnerID() string { return e.RunnerID }
func (e *StatusChanged) eventRunnerID() string  { return e.RunnerID }
func (e *ProcessExited) eventRunnerID() string  { return e.RunnerID }
func (e *RunnerFailed) eventRunnerID() string   { return e.Failure.RunnerID }
func (e *RunnerStopped) eventRunnerID() string  { return e.Result.RunnerID }

// EventRunnerID returns the ID of the runner an event is about.
func EventRunnerID(e Event) string { return e.eventRunnerID() }

// TaskAcknowledged: the runner acknowledged a task (exo's order per task is
// Running → runner status → TaskAcknowledged → chunks → terminal status).
type TaskAcknowledged struct {
	RunnerID string
	TaskID   string
	At       time.Time
}

func (e *TaskAcknowledged) eventRunnerID() string { return e.RunnerID }

// Event kinds: the Kind of the stream event each Event travels under (a
// Filter's Kinds match these). Package runtime documents each for hosts.
const (
	KindProcessStarted      = "process_started"
	KindStatusChanged       = "status_changed"
	KindProcessExited       = "process_exited"
	KindRunnerFailed        = "runner_failed"
	KindRunnerStopped       = "runner_stopped"
	KindTaskStatus          = "task_status"
	KindTaskAcknowledged    = "task_acknowledged"
	KindTaskChunk           = "task_chunk"
	KindTaskRetried         = "task_retried"
	KindSupervisionDecision = "decision"
	KindAlert               = "alert"
	KindHealthAlert         = "health_alert"
	KindHealthChanged       = "health_changed"
)

// EventKind returns the kind and the topic of the stream that carries e, or
// two empty strings for an event type the node does not publish.
func EventKind(e Event) (kind, topic string) {
	topic, kind, _ = topicOf(e)
	return kind, topic
}
