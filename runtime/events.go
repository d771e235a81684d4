package runtime

import "time"

// Event is something that happened to a runner or a task. The System
// delivers events as values: a type switch names the value types,
//
//	switch e := ev.(type) {
//	case exo.StatusChanged:
//		fmt.Println(e.RunnerID, e.From, "→", e.To)
//	case exo.RunnerFailed:
//		fmt.Println(e.Failure)
//	}
//
// Pointers to events implement Event too (the methods have value
// receivers), so a host may pass its own events around by pointer.
type Event interface {
	// EventKind returns the event's kind: one of the Kind constants, the
	// StreamEvent.Kind it travels under.
	EventKind() string
	// EventRunnerID returns the ID of the runner the event is about.
	EventRunnerID() string
	isEvent()
}

// EventHook receives every event (Config.Hook). It is called from actor
// goroutines, in the order each runner's actor produced its events: it must
// be safe for concurrent use, must not block, and must not call the System.
// A panic in it is recovered and counted (HookStats.Panics) and logged at
// error level with its stack; the node goes on.
type EventHook func(Event)

// Event kinds: the StreamEvent.Kind of each event type; Filter.Kinds takes
// them.
const (
	// KindProcessStarted: a ProcessStarted on TopicRunnerStatus.
	KindProcessStarted = "process_started"
	// KindStatusChanged: a StatusChanged on TopicRunnerStatus.
	KindStatusChanged = "status_changed"
	// KindProcessExited: a ProcessExited on TopicRunnerStatus.
	KindProcessExited = "process_exited"
	// KindRunnerFailed: a RunnerFailed on TopicRunnerStatus.
	KindRunnerFailed = "runner_failed"
	// KindRunnerStopped: a RunnerStopped on TopicRunnerStatus.
	KindRunnerStopped = "runner_stopped"
	// KindTaskStatus: a TaskStatusChanged on TopicTasks.
	KindTaskStatus = "task_status"
	// KindTaskAcknowledged: a TaskAcknowledged on TopicTasks.
	KindTaskAcknowledged = "task_acknowledged"
	// KindTaskChunk: a TaskChunk on TopicTasks.
	KindTaskChunk = "task_chunk"
	// KindTaskRetried: a TaskRetried on TopicTasks.
	KindTaskRetried = "task_retried"
	// KindHealthAlert: a HealthAlert on TopicAlerts.
	KindHealthAlert = "health_alert"
	// KindHealthChanged: a HealthChanged on TopicRunnerStatus.
	KindHealthChanged = "health_changed"
	// KindSupervisionDecision: a SupervisionDecision on TopicErrors.
	KindSupervisionDecision = "decision"
	// KindAlert: an Alert on TopicAlerts.
	KindAlert = "alert"
	// KindGap: a Gap event (StreamEvent.Gap set, Payload nil): a slow
	// subscriber lost events. Filters never hide it.
	KindGap = "gap"
)

// Stream topics: one event stream each.
const (
	// TopicRunnerStatus carries runner lifecycle events: ProcessStarted,
	// StatusChanged, ProcessExited, RunnerFailed, RunnerStopped, and the
	// health monitor's HealthChanged.
	TopicRunnerStatus = "runner-status"
	// TopicTasks carries task events: TaskStatusChanged, TaskAcknowledged,
	// TaskChunk, TaskRetried.
	TopicTasks = "tasks"
	// TopicErrors carries SupervisionDecision events (error records).
	TopicErrors = "errors"
	// TopicAlerts carries Alert events: things that need a person.
	TopicAlerts = "alerts"
)

// ProcessStarted: a runner's process started (each restart starts a new
// generation).
type ProcessStarted struct {
	RunnerID   string
	Generation uint64
	Pid        int
	At         time.Time
}

// StatusChanged: a runner's status changed, by the runner's own report or
// by the supervisor (Failed, Shutdown). Loading carries LayersLoaded of
// TotalLayers; Failed carries ErrorMessage and Diagnostics.
type StatusChanged struct {
	RunnerID     string
	Generation   uint64
	From, To     RunnerStatus
	LayersLoaded uint32
	TotalLayers  uint32
	ErrorMessage string
	Diagnostics  string
	At           time.Time
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
	Status     ExitStatus
	At         time.Time
}

// RunnerFailed: a runner failed; Failure says how and where it was
// detected. The error policy then decides (SupervisionDecision). The
// runner is Failure.RunnerID (or EventRunnerID(), as for every event).
type RunnerFailed struct {
	Failure *RunnerFailure
}

// RunnerStopped: a runner was stopped on request (StopRunner, Shutdown).
// The runner is Result.RunnerID (or EventRunnerID(), as for every event).
type RunnerStopped struct {
	Result StopResult
}

// TaskStatusChanged: a task's status changed: Pending on submit, Running
// when the runner says so, then exactly one terminal status with a Reason
// (but Complete).
type TaskStatusChanged struct {
	RunnerID string
	TaskID   string
	Status   TaskStatus
	Reason   string
	At       time.Time
}

// TaskAcknowledged: the runner acknowledged a task. Per task the order is
// TaskStatusChanged(Running) → (the runner's StatusChanged to Running) →
// TaskAcknowledged → TaskChunk… → TaskStatusChanged(terminal).
type TaskAcknowledged struct {
	RunnerID string
	TaskID   string
	At       time.Time
}

// TaskChunk: a task produced a chunk (an error chunk included). Attempt
// is the attempt it belongs to: 1, or 2 after a TaskRetried.
type TaskChunk struct {
	RunnerID string
	TaskID   string
	Attempt  int
	Chunk    Chunk
}

// TaskRetried: a Retryable task's runner crashed mid-task and the task was
// queued again as attempt Attempt (2). The Discarded chunks of the earlier
// attempt are void: the task's output is the new attempt's chunks alone.
// It comes before any TaskChunk of the new attempt.
type TaskRetried struct {
	RunnerID  string
	TaskID    string
	Attempt   int
	Reason    string
	Discarded int
	At        time.Time
}

// SupervisionDecision: the supervisor decided what to do about a runner's
// failure; Record is the error handler's record of it.
type SupervisionDecision struct {
	RunnerID   string
	Generation uint64
	Record     ErrorRecord
	// Cleaned lists what the runner released before it failed (process
	// group killed, process reaped, pipes closed, ...).
	Cleaned []string
	// Cleanup lists the steps of FORCE_CLEANUP, when the decision was
	// FORCE_CLEANUP, in order (kill; close the failed generation's
	// resources; reset the runner's resources in error); the follow-up
	// (Record.Action's Then) came after them.
	Cleanup []string
}

// Alert: something needs a person, e.g. a runner whose failure was
// escalated (CRITICAL); the node keeps serving its other runners.
type Alert struct {
	Severity Severity
	RunnerID string
	Message  string
	Record   ErrorRecord
	At       time.Time
}

// EventKind returns KindProcessStarted.
func (ProcessStarted) EventKind() string { return KindProcessStarted }

// EventKind returns KindStatusChanged.
func (StatusChanged) EventKind() string { return KindStatusChanged }

// EventKind returns KindProcessExited.
func (ProcessExited) EventKind() string { return KindProcessExited }

// EventKind returns KindRunnerFailed.
func (RunnerFailed) EventKind() string { return KindRunnerFailed }

// EventKind returns KindRunnerStopped.
func (RunnerStopped) EventKind() string { return KindRunnerStopped }

// EventKind returns KindTaskStatus.
func (TaskStatusChanged) EventKind() string { return KindTaskStatus }

// EventKind returns KindTaskAcknowledged.
func (TaskAcknowledged) EventKind() string { return KindTaskAcknowledged }

// EventKind returns KindTaskChunk.
func (TaskChunk) EventKind() string { return KindTaskChunk }

// EventKind returns KindTaskRetried.
func (TaskRetried) EventKind() string { return KindTaskRetried }

// EventKind returns KindSupervisionDecision.
func (SupervisionDecision) EventKind() string { return KindSupervisionDecision }

// EventKind returns KindAlert.
func (Alert) EventKind() string { return KindAlert }

// EventRunnerID returns the runner's ID.
func (e ProcessStarted) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner's ID.
func (e StatusChanged) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner's ID.
func (e ProcessExited) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner's ID.
func (e RunnerFailed) EventRunnerID() string {
	if e.Failure == nil {
		return ""
	}
	return e.Failure.RunnerID
}

// EventRunnerID returns the runner's ID.
func (e RunnerStopped) EventRunnerID() string { return e.Result.RunnerID }

// EventRunnerID returns the runner's ID.
func (e TaskStatusChanged) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner's ID.
func (e TaskAcknowledged) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner's ID.
func (e TaskChunk) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner the task ran on.
func (e TaskRetried) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner's ID.
func (e SupervisionDecision) EventRunnerID() string { return e.RunnerID }

// EventRunnerID returns the runner's ID.
func (e Alert) EventRunnerID() string { return e.RunnerID }

func (ProcessStarted) isEvent()      {}
func (StatusChanged) isEvent()       {}
func (ProcessExited) isEvent()       {}
func (RunnerFailed) isEvent()        {}
func (RunnerStopped) isEvent()       {}
func (TaskStatusChanged) isEvent()   {}
func (TaskAcknowledged) isEvent()    {}
func (TaskChunk) isEvent()           {}
func (TaskRetried) isEvent()         {}
func (SupervisionDecision) isEvent() {}
func (Alert) isEvent()               {}
