package runtime

// Conversions between the public types of this package and the actors'
// own. Hosts see only the types here; package actors stays free to change.
// Same-shaped structs convert directly (the compiler checks that their
// fields still match); the others are converted field by field, and
// convert_test.go fills every field of each actors type and checks that
// nothing is lost, so a field added there and not here fails the tests.

import (
	"io"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/proc"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func toNodeConfig(c Config) actors.NodeConfig {
	nc := actors.NodeConfig{
		Logger:              toLogrus(c.Logger),
		Clock:               c.Clock,
		RunnerClock:         c.RunnerClock,
		ErrorPolicy:         toErrorPolicy(c.ErrorPolicy),
		Timeouts:            actors.RunnerTimeouts(c.Timeouts),
		Tasks:               actors.TaskLimits(c.Tasks),
		BuiltinBinary:       c.BuiltinBinary,
		Env:                 c.Env,
		MaxFrameSize:        c.MaxFrameSize,
		DeadLetterThrottle:  c.DeadLetterThrottle,
		StreamBuffer:        c.StreamBuffer,
		Shutdown:            actors.ShutdownDeadlines(c.Shutdown),
		RequestTimeout:      c.RequestTimeout,
		Health:              toHealthConfig(c.Health),
		HookQueue:           c.HookQueue,
		HookSlow:            c.HookSlow,
		Retention:           actors.RetentionLimits(c.Retention),
		SkipRegistryPrewarm: c.SkipRegistryPrewarm,
		ReadWindow:          c.ReadWindow,
		ReadBatch:           c.ReadBatch,
	}
	if h := c.Hook; h != nil {
		nc.Hook = func(e actors.Event) {
			if ev := fromEvent(e); ev != nil {
				h(ev)
			}
		}
	}
	return nc
}

// toLogrus turns any logrus.FieldLogger into the *logrus.Logger the actors
// use: a *logrus.Logger as is; anything else (a *logrus.Entry with the
// host's fields) behind a logger that forwards every entry to it.
//
// A nil one, typed or not (a host's *logrus.Logger field never set), is
// nil: the default, as the field's zero value is.
func toLogrus(l logrus.FieldLogger) *logrus.Logger {
	switch l := l.(type) {
	case nil:
		return nil
	case *logrus.Logger:
		return l // nil if nil
	case *logrus.Entry:
		if l == nil {
			return nil
		}
	}
	fwd := logrus.New()
	fwd.Out = io.Discard
	fwd.Formatter = discardFormatter{}
	fwd.SetLevel(logrus.TraceLevel)
	if e, ok := l.(*logrus.Entry); ok && e.Logger != nil {
		fwd.SetLevel(e.Logger.GetLevel())
	}
	fwd.AddHook(forwardHook{to: l})
	return fwd
}

type discardFormatter struct{}

func (discardFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

// forwardHook hands every entry to a FieldLogger, with its fields.
type forwardHook struct{ to logrus.FieldLogger }

func (forwardHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h forwardHook) Fire(e *logrus.Entry) error {
	l := h.to.WithFields(e.Data)
	switch e.Level {
	case logrus.TraceLevel, logrus.DebugLevel:
		l.Debug(e.Message)
	case logrus.InfoLevel:
		l.Info(e.Message)
	case logrus.WarnLevel:
		l.Warn(e.Message)
	default: // Error, and Fatal or Panic: never exit or panic the host
		l.Error(e.Message)
	}
	return nil
}

func toErrorPolicy(p ErrorPolicy) errhandler.Config {
	c := errhandler.Config{
		Rand:         p.Rand,
		Backoff:      errhandler.BackoffConfig(p.Backoff),
		Intensity:    errhandler.Intensity(p.Intensity),
		HistoryLimit: p.HistoryLimit,
	}
	for _, r := range p.Rules {
		c.Rules = append(c.Rules, toRule(r))
	}
	return c
}

func toRule(r Rule) errhandler.Rule {
	return errhandler.Rule{Name: r.Name, Kind: errhandler.Kind(r.Kind), ExitCode: r.ExitCode, Signal: r.Signal,
		Component: r.Component, ShuttingDown: r.ShuttingDown, Severity: errhandler.Severity(r.Severity),
		Action: errhandler.Action(r.Action), Then: errhandler.Action(r.Then), Reason: r.Reason}
}

func toRunnerSpec(s RunnerSpec) actors.RunnerSpec { return actors.RunnerSpec(s) }

func toTaskSpec(t Task) actors.TaskSpec { return actors.TaskSpec(t) }

func toDecision(d Decision) errhandler.Decision {
	return errhandler.Decision{Rule: d.Rule, Severity: errhandler.Severity(d.Severity),
		Action: errhandler.Action(d.Action), Then: errhandler.Action(d.Then)}
}

func fromDecision(d errhandler.Decision) Decision {
	return Decision{Rule: d.Rule, Severity: Severity(d.Severity), Action: Action(d.Action), Then: Action(d.Then)}
}

func fromRecord(r errhandler.Record) ErrorRecord {
	return ErrorRecord{ID: r.ID, Time: r.Time, Component: r.Component, Operation: r.Operation, RunnerID: r.RunnerID,
		Generation: r.Generation, Kind: FailureKind(r.Kind), ExitCode: r.ExitCode, Signal: r.Signal,
		Decision: fromDecision(r.Decision), Note: r.Note, Attempt: r.Attempt, Delay: r.Delay, Message: r.Message,
		Causes: r.Causes, Cleanup: r.Cleanup, Resolution: Resolution(r.Resolution), ResolvedAt: r.ResolvedAt}
}

func toRecord(r ErrorRecord) errhandler.Record {
	return errhandler.Record{ID: r.ID, Time: r.Time, Component: r.Component, Operation: r.Operation, RunnerID: r.RunnerID,
		Generation: r.Generation, Kind: errhandler.Kind(r.Kind), ExitCode: r.ExitCode, Signal: r.Signal,
		Decision: toDecision(r.Decision), Note: r.Note, Attempt: r.Attempt, Delay: r.Delay, Message: r.Message,
		Causes: r.Causes, Cleanup: r.Cleanup, Resolution: errhandler.Resolution(r.Resolution), ResolvedAt: r.ResolvedAt}
}

func fromStats(s errhandler.Stats) ErrorStats {
	out := ErrorStats{Total: s.Total, Retries: s.Retries, SuccessesAfterRetry: s.SuccessesAfterRetry,
		IntensityExceeded: s.IntensityExceeded, Dropped: s.Dropped,
		ByKind: map[FailureKind]int{}, BySeverity: map[Severity]int{}, ByAction: map[Action]int{}}
	for k, v := range s.ByKind {
		out.ByKind[FailureKind(k)] = v
	}
	for k, v := range s.BySeverity {
		out.BySeverity[Severity(k)] = v
	}
	for k, v := range s.ByAction {
		out.ByAction[Action(k)] = v
	}
	return out
}

func fromFailure(f errhandler.Failure) Failure {
	return Failure{Kind: FailureKind(f.Kind), Component: f.Component, Operation: f.Operation, RunnerID: f.RunnerID,
		RunnerKind: f.RunnerKind, Generation: f.Generation, ExitCode: f.ExitCode, Signal: f.Signal, ShuttingDown: f.ShuttingDown,
		Message: f.Message, Cause: f.Cause}
}

func toFailure(f Failure) errhandler.Failure {
	return errhandler.Failure{Kind: errhandler.Kind(f.Kind), Component: f.Component, Operation: f.Operation,
		RunnerID: f.RunnerID, RunnerKind: f.RunnerKind, Generation: f.Generation, ExitCode: f.ExitCode, Signal: f.Signal,
		ShuttingDown: f.ShuttingDown, Message: f.Message, Cause: f.Cause}
}

func fromExit(e *proc.ExitStatus) *ExitStatus {
	if e == nil {
		return nil
	}
	out := ExitStatus(*e)
	return &out
}

func toExit(e *ExitStatus) *proc.ExitStatus {
	if e == nil {
		return nil
	}
	out := proc.ExitStatus(*e)
	return &out
}

func fromRunnerFailure(f *actors.RunnerFailure) *RunnerFailure {
	if f == nil {
		return nil
	}
	return &RunnerFailure{Failure: fromFailure(f.Failure), Source: DetectionSource(f.Source), Pid: f.Pid,
		Exit: fromExit(f.Exit), Termination: f.Termination, RunnerMessage: f.RunnerMessage, RunnerDiagnostics: f.RunnerDiagnostics,
		StderrTail: f.StderrTail, Uptime: f.Uptime, At: f.At,
		Cleaned: f.Cleaned, Hint: f.Hint}
}

func toRunnerFailure(f *RunnerFailure) *actors.RunnerFailure {
	if f == nil {
		return nil
	}
	return &actors.RunnerFailure{Failure: toFailure(f.Failure), Source: actors.DetectionSource(f.Source), Pid: f.Pid,
		Exit: toExit(f.Exit), Termination: f.Termination, RunnerMessage: f.RunnerMessage, RunnerDiagnostics: f.RunnerDiagnostics,
		StderrTail: f.StderrTail, Uptime: f.Uptime, At: f.At,
		Cleaned: f.Cleaned, Hint: f.Hint}
}

func fromRunnerInfo(in actors.RunnerInfo) RunnerInfo {
	out := RunnerInfo{ID: in.ID, Kind: in.Kind, Generation: in.Generation, Attempts: in.Attempts, Pid: in.Pid,
		Status: RunnerStatus(in.Status.GetKind()), LayersLoaded: in.Status.GetLayersLoaded(),
		TotalLayers: in.Status.GetTotalLayers(), StatusError: in.Status.GetErrorMessage(),
		StatusDiagnostics: in.Status.GetDiagnostics(), StatusSince: in.StatusSince, StaleDrops: in.StaleDrops,
		ProtocolErrors: in.ProtocolErrors, LifecycleErrors: in.LifecycleErrors, LastError: in.LastError, NextDelay: in.NextDelay,
		Restarting: in.Restarting, RestartIn: in.RestartIn, RestartAttempt: in.RestartAttempt}
	if in.LastRecord != nil {
		r := fromRecord(*in.LastRecord)
		out.LastRecord = &r
	}
	out.LastFailure = fromRunnerFailure(in.LastFailure)
	return out
}

func toRunnerInfo(in RunnerInfo) actors.RunnerInfo {
	out := actors.RunnerInfo{ID: in.ID, Kind: in.Kind, Generation: in.Generation, Attempts: in.Attempts, Pid: in.Pid,
		Status: &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind(in.Status), LayersLoaded: in.LayersLoaded,
			TotalLayers: in.TotalLayers, ErrorMessage: in.StatusError, Diagnostics: in.StatusDiagnostics},
		StatusSince: in.StatusSince, StaleDrops: in.StaleDrops, ProtocolErrors: in.ProtocolErrors, LifecycleErrors: in.LifecycleErrors,
		LastError: in.LastError, NextDelay: in.NextDelay, Restarting: in.Restarting, RestartIn: in.RestartIn,
		RestartAttempt: in.RestartAttempt}
	if in.LastRecord != nil {
		r := toRecord(*in.LastRecord)
		out.LastRecord = &r
	}
	out.LastFailure = toRunnerFailure(in.LastFailure)
	return out
}

func fromStopResult(r *actors.StopResult) *StopResult {
	if r == nil {
		return nil
	}
	out := &StopResult{RunnerID: r.RunnerID, Generation: r.Generation, EndedBy: r.EndedBy, Exit: fromExit(r.Exit),
		Total: r.Total, Failure: fromRunnerFailure(r.Failure), Resources: fromCloseReport(r.Resources), Complaint: r.Complaint}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, StopStep(s))
	}
	return out
}

func fromCloseReport(r *resources.CloseReport) *CloseReport {
	if r == nil {
		return nil
	}
	out := &CloseReport{Scope: r.Scope, Started: r.Started, Duration: r.Duration, Order: r.Order}
	for _, e := range r.Entries {
		ce := CloseEntry{Name: e.Name, Kind: e.Kind, Owner: e.Owner, Generation: e.Generation, Started: e.Started,
			Duration: e.Duration, Outcome: CloseOutcome(e.Outcome), Err: e.Err, StillRunning: e.StillRunning,
			Dependent: e.Dependent}
		if e.Failure != nil {
			f := fromFailure(*e.Failure)
			ce.Failure = &f
		}
		out.Entries = append(out.Entries, ce)
	}
	for _, f := range r.Failures {
		out.Failures = append(out.Failures, fromFailure(f))
	}
	return out
}

func fromTaskOutcome(o actors.TaskOutcome) TaskOutcome {
	return TaskOutcome{Status: TaskStatus(o.Status), Reason: o.Reason, Chunks: o.Chunks, Attempt: o.Attempt, At: o.At}
}

func fromChunk(c *exov1.ChunkGenerated) Chunk {
	out := Chunk{TaskID: c.GetTaskId(), Index: c.GetIndex()}
	if t := c.GetToken(); t != nil {
		out.Text, out.TokenID, out.FinishReason = t.GetText(), t.GetTokenId(), t.GetFinishReason()
	}
	if e := c.GetError(); e != nil {
		out.Error = e.GetErrorMessage()
	}
	return out
}

// publicChunk is the public form of a chunk event, boxed once
// (actors.TaskChunk.Public).
func publicChunk(e *actors.TaskChunk) any {
	return TaskChunk{RunnerID: e.RunnerID, TaskID: e.TaskID, Attempt: e.Attempt, Chunk: fromChunk(e.Chunk)}
}

// fromEvent converts an actors event; nil for a type this package does not
// know (a newer actors event not yet given a public type).
func fromEvent(e actors.Event) Event {
	switch e := e.(type) {
	case *actors.ProcessStarted:
		return ProcessStarted(*e)
	case *actors.StatusChanged:
		return StatusChanged{RunnerID: e.RunnerID, Generation: e.Generation, From: RunnerStatus(e.From.GetKind()),
			To: RunnerStatus(e.To.GetKind()), LayersLoaded: e.To.GetLayersLoaded(), TotalLayers: e.To.GetTotalLayers(),
			ErrorMessage: e.To.GetErrorMessage(), Diagnostics: e.To.GetDiagnostics(), At: e.At}
	case *actors.ProcessExited:
		return ProcessExited{RunnerID: e.RunnerID, Generation: e.Generation, Pid: e.Pid, Status: ExitStatus(e.Status), At: e.At}
	case *actors.RunnerFailed:
		return RunnerFailed{Failure: fromRunnerFailure(e.Failure)}
	case *actors.RunnerStopped:
		return RunnerStopped{Result: *fromStopResult(&e.Result)}
	case *actors.TaskStatusChanged:
		return TaskStatusChanged{RunnerID: e.RunnerID, TaskID: e.TaskID, Status: TaskStatus(e.Status), Reason: e.Reason, At: e.At}
	case *actors.TaskAcknowledged:
		return TaskAcknowledged(*e)
	case *actors.TaskChunk:
		// Converted once per event, shared by the hook and every
		// subscriber (the boxed value is immutable, like any interface
		// holding a struct).
		return e.Public(publicChunk).(Event)
	case *actors.TaskRetried:
		return TaskRetried(*e)
	case *actors.SupervisionDecision:
		return SupervisionDecision{RunnerID: e.RunnerID, Generation: e.Generation, Record: fromRecord(e.Record), Cleaned: e.Cleaned, Cleanup: e.Cleanup}
	case *actors.HealthAlert:
		return HealthAlert{Severity: Severity(e.Severity), RunnerID: e.RunnerID, Condition: e.Condition, Reason: e.Reason,
			Score: e.Score, State: string(e.State), At: e.At, Since: e.Since}
	case *actors.HealthChanged:
		return HealthChanged{RunnerID: e.RunnerID, Generation: e.Generation, From: HealthLevel(e.From), To: HealthLevel(e.To),
			Score: fromScore(e.Score), At: e.At}
	case *actors.Alert:
		return Alert{Severity: Severity(e.Severity), RunnerID: e.RunnerID, Message: e.Message, Record: fromRecord(e.Record), At: e.At}
	}
	return nil
}

func fromStreamEvent(e streams.Event) StreamEvent { return fromStreamEventAt(&e) }

// fromStreamEventAt is fromStreamEvent without copying the event in: the
// subscription's NextBatch converts every event it takes, a chunk event
// (the most frequent, tried first) without going through fromEvent's
// interface switch.
func fromStreamEventAt(e *streams.Event) StreamEvent {
	out := StreamEvent{Stream: e.Stream, Seq: e.Seq, RunnerID: e.RunnerID, TaskID: e.TaskID, Kind: e.Kind, At: e.At}
	if tc, ok := e.Payload.(*actors.TaskChunk); ok {
		out.Payload = tc.Public(publicChunk).(Event)
	} else if ev, ok := e.Payload.(actors.Event); ok {
		out.Payload = fromEvent(ev)
	}
	if e.Gap != nil {
		g := Gap(*e.Gap)
		out.Gap = &g
	}
	return out
}

func fromStreamStats(s streams.Stats) StreamStats {
	out := StreamStats{Topic: s.Topic, Offered: s.Offered, Published: s.Published, DeadLettered: s.DeadLettered,
		InFlight: s.InFlight, Matched: s.Matched, Delivered: s.Delivered, GapDropped: s.GapDropped,
		GapEvents: s.GapEvents, Buffered: s.Buffered, Discarded: s.Discarded, Subscribers: s.Subscribers,
		Joined: s.Joined, Left: s.Left, Abandoned: s.Abandoned, Restarts: s.Restarts, Closed: s.Closed, Stopped: s.Stopped}
	for _, ss := range s.PerSubscriber {
		out.PerSubscriber = append(out.PerSubscriber, fromSubStats(ss))
	}
	for _, ss := range s.Departed {
		out.Departed = append(out.Departed, fromSubStats(ss))
	}
	return out
}

func fromSubStats(s streams.SubStats) SubscriberStats {
	return SubscriberStats{ID: s.ID, PID: s.PID, Filter: Filter(s.Filter), JoinedAt: s.JoinedAt, LeftAt: s.LeftAt,
		Buffer: s.Buffer, Window: s.Window, Credit: s.Credit, Matched: s.Matched, Delivered: s.Delivered,
		Dropped: s.Dropped, GapEvents: s.GapEvents, Buffered: s.Buffered, GapPending: s.GapPending,
		Discarded: s.Discarded, Left: s.Left, Ended: s.Ended, Abandoned: s.Abandoned, Stalled: s.Stalled}
}

func fromSnapshot(s resources.Snapshot) ResourceSnapshot {
	out := ResourceSnapshot{At: s.At, Node: ResourceCounts(s.Node), Owners: map[string]ResourceCounts{}}
	for _, r := range s.Resources {
		ri := ResourceInfo{Name: r.Name, Kind: r.Kind, Owner: r.Owner, Generation: r.Generation, DependsOn: r.DependsOn,
			State: ResourceState(r.State), Registered: r.Registered, Errors: r.Errors, LastError: r.LastError,
			Resets: r.Resets, ResetFailures: r.ResetFailures, Closing: r.Closing}
		if r.LastReset != nil {
			rr := ResourceReset(*r.LastReset)
			ri.LastReset = &rr
		}
		out.Resources = append(out.Resources, ri)
	}
	for k, v := range s.Owners {
		out.Owners[k] = ResourceCounts(v)
	}
	for _, l := range s.Lingering {
		out.Lingering = append(out.Lingering, LingeringResourceOp(l))
	}
	return out
}

func fromShutdownReport(r actors.ShutdownReport) ShutdownReport {
	return ShutdownReport{Start: r.Start, PhaseStart: r.PhaseStart, PhaseDuration: r.PhaseDuration,
		PhaseDeadline: r.PhaseDeadline, PhaseCoordinated: r.PhaseCoordinated, Total: r.Total,
		Root: fromActorReport(r.Root), Forced: r.Forced, Errors: r.Errors}
}

func toShutdownReport(r ShutdownReport) actors.ShutdownReport {
	return actors.ShutdownReport{Start: r.Start, PhaseStart: r.PhaseStart, PhaseDuration: r.PhaseDuration,
		PhaseDeadline: r.PhaseDeadline, PhaseCoordinated: r.PhaseCoordinated, Total: r.Total,
		Root: toActorReport(r.Root), Forced: r.Forced, Errors: r.Errors}
}

func fromActorReport(r *actors.ActorReport) *ActorReport {
	if r == nil {
		return nil
	}
	out := &ActorReport{Name: r.Name}
	for i, p := range r.Phases {
		out.Phases[i] = fromPhaseReport(p)
	}
	for _, c := range r.Children {
		out.Children = append(out.Children, fromActorReport(c))
	}
	return out
}

func toActorReport(r *ActorReport) *actors.ActorReport {
	if r == nil {
		return nil
	}
	out := &actors.ActorReport{Name: r.Name}
	for i, p := range r.Phases {
		out.Phases[i] = toPhaseReport(p)
	}
	for _, c := range r.Children {
		out.Children = append(out.Children, toActorReport(c))
	}
	return out
}

func fromPhaseReport(p *actors.PhaseReport) *PhaseReport {
	if p == nil {
		return nil
	}
	out := &PhaseReport{Actor: p.Actor, Phase: Phase(p.Phase), Start: p.Start, Duration: p.Duration,
		Outcome: Outcome(p.Outcome), Note: p.Note, TasksDrained: p.TasksDrained, TasksFailed: p.TasksFailed, TasksUnfinished: p.TasksUnfinished,
		EventsDelivered: p.EventsDelivered}
	for _, c := range p.Children {
		out.Children = append(out.Children, fromPhaseReport(c))
	}
	return out
}

func toPhaseReport(p *PhaseReport) *actors.PhaseReport {
	if p == nil {
		return nil
	}
	out := &actors.PhaseReport{Actor: p.Actor, Phase: actors.Phase(p.Phase), Start: p.Start, Duration: p.Duration,
		Outcome: actors.Outcome(p.Outcome), Note: p.Note, TasksDrained: p.TasksDrained, TasksFailed: p.TasksFailed, TasksUnfinished: p.TasksUnfinished,
		EventsDelivered: p.EventsDelivered}
	for _, c := range p.Children {
		out.Children = append(out.Children, toPhaseReport(c))
	}
	return out
}

type resourceSpec = resources.Spec

func toFilter(f Filter) streams.Filter { return streams.Filter(f) }

func toSubscribeOptions(o SubscribeOptions) streams.SubscribeOptions {
	return streams.SubscribeOptions(o)
}

func filterFor(runnerID string) streams.Filter { return streams.Filter{RunnerID: runnerID} }

func subscribeDefaults() streams.SubscribeOptions { return streams.SubscribeOptions{} }

// stopSteps returns the steps of a node's answer to StopRunner: with their
// times (step_times) when the node sent them, else the names alone (an
// older node). Before, the times were never sent: Steps[].Started was the
// zero time over the network (a docs-only trial).
func stopSteps(r *exov1.GwRunnerStopped) []StopStep {
	names, times := r.GetSteps(), r.GetStepTimes()
	out := make([]StopStep, 0, len(names))
	for i, name := range names {
		s := StopStep{Name: name}
		if len(times) == len(names) {
			s.Started, s.Duration = times[i].GetStarted().AsTime(), times[i].GetDuration().AsDuration()
		}
		out = append(out, s)
	}
	return out
}
