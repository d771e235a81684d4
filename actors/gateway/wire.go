package gateway

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/proc"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Stream events on the wire. Every event type the node publishes (package
// actors: ProcessStarted … HealthChanged) has a message of its own in the
// GwEvent oneof, and EventToWire/DecodeEvents convert each both ways
// without losing a field (TestWireRoundTripLosesNoField). What does not
// survive as is: error values travel as their text and come back as
// errors.New(text) (errors.Is on the node's sentinels does not hold), and
// times come back as the same instant without a monotonic reading.

// EncodeEvents appends the wire form of evs to out. Consecutive events
// about the same runner and task carry their IDs once (same_ids), so a
// run of chunk events costs little more than the chunks.
func EncodeEvents(out []*exov1.GwEvent, evs []streams.Event) []*exov1.GwEvent {
	var enc encoder
	if n := len(out); n > 0 {
		enc.seed(out[n-1])
	}
	for i := range evs {
		out = append(out, enc.event(&evs[i]))
	}
	return out
}

// encoder remembers the IDs of the previous event of a GwDelivery.
type encoder struct {
	runner, task string
	any          bool
}

// seed makes w the previous event; w may itself carry same_ids, in which
// case the encoder cannot know its IDs and starts afresh.
func (e *encoder) seed(w *exov1.GwEvent) {
	if w.GetSameIds() {
		e.any = false
		return
	}
	e.runner, e.task, e.any = w.GetRunnerId(), w.GetTaskId(), true
}

func (e *encoder) event(ev *streams.Event) *exov1.GwEvent {
	w := EventToWire(ev)
	if e.same(ev) {
		w.RunnerId, w.TaskId, w.SameIds = "", "", true
	}
	return w
}

// same reports whether ev may travel with same_ids (its IDs are the
// previous event's), and makes ev the previous event.
func (e *encoder) same(ev *streams.Event) bool {
	if ev.Gap != nil {
		return false
	}
	if e.any && ev.RunnerID == e.runner && ev.TaskID == e.task {
		return true
	}
	e.runner, e.task, e.any = ev.RunnerID, ev.TaskID, true
	return false
}

// DecodeEvents appends the stream events of ws (the events of one
// GwDelivery of topic, in order) to dst.
func DecodeEvents(dst []streams.Event, topic string, ws []*exov1.GwEvent) []streams.Event {
	var runner, task string
	for _, w := range ws {
		ev := EventFromWire(topic, w)
		if w.GetSameIds() {
			ev.RunnerID, ev.TaskID = runner, task
			fillIDs(&ev)
		} else if ev.Gap == nil {
			runner, task = ev.RunnerID, ev.TaskID
		}
		dst = append(dst, ev)
	}
	return dst
}

// kindOf is the Kind a payload's type travels under, or "" for a type the
// node does not publish.
func kindOf(p any) string {
	if e, ok := p.(actors.Event); ok {
		k, _ := actors.EventKind(e)
		return k
	}
	return ""
}

// EventToWire turns one stream event into its wire form (with its own
// runner and task IDs: no same_ids). A payload of a type the node does not
// publish (tests publish strings) travels as text.
func EventToWire(ev *streams.Event) *exov1.GwEvent {
	w := &exov1.GwEvent{Seq: ev.Seq, RunnerId: ev.RunnerID, TaskId: ev.TaskID, Kind: ev.Kind, At: unixNano(ev.At)}
	if ev.Gap != nil {
		w.Gap = &exov1.GwGap{Dropped: ev.Gap.Dropped, FromSeq: ev.Gap.FromSeq, ToSeq: ev.Gap.ToSeq}
		if ev.Kind == streams.KindGap {
			w.Kind = ""
		}
		return w
	}
	switch p := ev.Payload.(type) {
	case nil:
		return w
	case *actors.TaskChunk:
		c := p.Chunk
		if c != nil && c.GetTaskId() == ev.TaskID && c.GetTaskId() != "" {
			// The chunk's task is the event's: do not send it twice. (A new
			// message: the payload is shared with other subscribers.)
			c = &exov1.ChunkGenerated{Index: c.GetIndex(), Chunk: c.Chunk}
		}
		w.Payload = &exov1.GwEvent_Chunk{Chunk: c}
		w.Attempt = int32(p.Attempt)
	case *actors.TaskStatusChanged:
		w.Payload = &exov1.GwEvent_TaskStatus{TaskStatus: &exov1.GwTaskStatus{Status: p.Status, Reason: p.Reason, At: ts(p.At)}}
	case *actors.ProcessStarted:
		w.Payload = &exov1.GwEvent_ProcessStarted{ProcessStarted: &exov1.GwProcessStarted{Generation: p.Generation, Pid: int64(p.Pid), At: ts(p.At)}}
	case *actors.StatusChanged:
		w.Payload = &exov1.GwEvent_StatusChanged{StatusChanged: &exov1.GwStatusChanged{Generation: p.Generation, From: p.From, To: p.To, At: ts(p.At)}}
	case *actors.ProcessExited:
		w.Payload = &exov1.GwEvent_ProcessExited{ProcessExited: &exov1.GwProcessExited{Generation: p.Generation, Pid: int64(p.Pid),
			Status: exitToWire(&p.Status), At: ts(p.At)}}
	case *actors.RunnerFailed:
		w.Payload = &exov1.GwEvent_RunnerFailed{RunnerFailed: &exov1.GwRunnerFailed{Failure: runnerFailureToWire(p.Failure)}}
	case *actors.RunnerStopped:
		w.Payload = &exov1.GwEvent_RunnerStopped{RunnerStopped: &exov1.GwRunnerStoppedEvent{Result: stopResultToWire(&p.Result)}}
	case *actors.TaskAcknowledged:
		w.Payload = &exov1.GwEvent_TaskAcknowledged{TaskAcknowledged: &exov1.GwTaskAcknowledged{At: ts(p.At)}}
	case *actors.TaskRetried:
		w.Payload = &exov1.GwEvent_TaskRetried{TaskRetried: &exov1.GwTaskRetried{Attempt: int64(p.Attempt), Reason: p.Reason,
			Discarded: int64(p.Discarded), At: ts(p.At)}}
	case *actors.SupervisionDecision:
		w.Payload = &exov1.GwEvent_Decision{Decision: &exov1.GwSupervisionDecision{Generation: p.Generation, Record: recordToWire(&p.Record),
			Cleaned: p.Cleaned, Cleanup: p.Cleanup}}
	case *actors.Alert:
		w.Payload = &exov1.GwEvent_Alert{Alert: &exov1.GwAlert{Severity: int32(p.Severity), Message: p.Message, Record: recordToWire(&p.Record), At: ts(p.At)}}
	case *actors.HealthAlert:
		w.Payload = &exov1.GwEvent_HealthAlert{HealthAlert: &exov1.GwHealthAlert{Severity: int32(p.Severity), Condition: p.Condition,
			Reason: p.Reason, Score: p.Score, State: string(p.State), At: ts(p.At), Since: ts(p.Since)}}
	case *actors.HealthChanged:
		w.Payload = &exov1.GwEvent_HealthChanged{HealthChanged: &exov1.GwHealthChanged{Generation: p.Generation, From: int32(p.From),
			To: int32(p.To), Score: scoreToWire(p.Score), At: ts(p.At)}}
	default:
		w.Payload = &exov1.GwEvent_Text{Text: fmt.Sprintf("%+v", p)}
		return w
	}
	if w.Kind == kindOf(ev.Payload) {
		w.Kind = ""
	}
	return w
}

// EventFromWire turns one wire event back into a stream event of topic:
// its Payload is the *actors event it was on the node (a text payload, from
// a node that sent one, stays a string). An event with same_ids gets its
// IDs from DecodeEvents.
func EventFromWire(topic string, w *exov1.GwEvent) streams.Event {
	ev := streams.Event{Stream: topic, Seq: w.GetSeq(), RunnerID: w.GetRunnerId(), TaskID: w.GetTaskId(), Kind: w.GetKind(), At: fromUnixNano(w.GetAt())}
	if g := w.GetGap(); g != nil {
		ev.Gap = &streams.Gap{Dropped: g.GetDropped(), FromSeq: g.GetFromSeq(), ToSeq: g.GetToSeq()}
		if ev.Kind == "" {
			ev.Kind = streams.KindGap
		}
		return ev
	}
	switch p := w.GetPayload().(type) {
	case *exov1.GwEvent_Chunk:
		ev.Payload = &actors.TaskChunk{Attempt: int(w.GetAttempt()), Chunk: p.Chunk}
	case *exov1.GwEvent_TaskStatus:
		m := p.TaskStatus
		ev.Payload = &actors.TaskStatusChanged{Status: m.GetStatus(), Reason: m.GetReason(), At: fromTS(m.GetAt())}
	case *exov1.GwEvent_ProcessStarted:
		m := p.ProcessStarted
		ev.Payload = &actors.ProcessStarted{Generation: m.GetGeneration(), Pid: int(m.GetPid()), At: fromTS(m.GetAt())}
	case *exov1.GwEvent_StatusChanged:
		m := p.StatusChanged
		ev.Payload = &actors.StatusChanged{Generation: m.GetGeneration(), From: m.GetFrom(), To: m.GetTo(), At: fromTS(m.GetAt())}
	case *exov1.GwEvent_ProcessExited:
		m := p.ProcessExited
		e := &actors.ProcessExited{Generation: m.GetGeneration(), Pid: int(m.GetPid()), At: fromTS(m.GetAt())}
		if x := exitFromWire(m.GetStatus()); x != nil {
			e.Status = *x
		}
		ev.Payload = e
	case *exov1.GwEvent_RunnerFailed:
		ev.Payload = &actors.RunnerFailed{Failure: runnerFailureFromWire(p.RunnerFailed.GetFailure())}
	case *exov1.GwEvent_RunnerStopped:
		ev.Payload = &actors.RunnerStopped{Result: stopResultFromWire(p.RunnerStopped.GetResult())}
	case *exov1.GwEvent_TaskAcknowledged:
		ev.Payload = &actors.TaskAcknowledged{At: fromTS(p.TaskAcknowledged.GetAt())}
	case *exov1.GwEvent_TaskRetried:
		m := p.TaskRetried
		ev.Payload = &actors.TaskRetried{Attempt: int(m.GetAttempt()), Reason: m.GetReason(), Discarded: int(m.GetDiscarded()), At: fromTS(m.GetAt())}
	case *exov1.GwEvent_Decision:
		m := p.Decision
		ev.Payload = &actors.SupervisionDecision{Generation: m.GetGeneration(), Record: recordFromWire(m.GetRecord()),
			Cleaned: m.GetCleaned(), Cleanup: m.GetCleanup()}
	case *exov1.GwEvent_Alert:
		m := p.Alert
		ev.Payload = &actors.Alert{Severity: errhandler.Severity(m.GetSeverity()), Message: m.GetMessage(), Record: recordFromWire(m.GetRecord()), At: fromTS(m.GetAt())}
	case *exov1.GwEvent_HealthAlert:
		m := p.HealthAlert
		ev.Payload = &actors.HealthAlert{Severity: errhandler.Severity(m.GetSeverity()), Condition: m.GetCondition(), Reason: m.GetReason(),
			Score: m.GetScore(), State: actors.AlertState(m.GetState()), At: fromTS(m.GetAt()), Since: fromTS(m.GetSince())}
	case *exov1.GwEvent_HealthChanged:
		m := p.HealthChanged
		ev.Payload = &actors.HealthChanged{Generation: m.GetGeneration(), From: health.Level(m.GetFrom()), To: health.Level(m.GetTo()),
			Score: scoreFromWire(m.GetScore()), At: fromTS(m.GetAt())}
	case *exov1.GwEvent_Text:
		ev.Payload = p.Text
		return ev
	default:
		return ev
	}
	if ev.Kind == "" {
		ev.Kind = kindOf(ev.Payload)
	}
	fillIDs(&ev)
	return ev
}

// fillIDs sets the runner and task IDs of ev's payload from the event's
// (the wire carries them once, in the envelope).
func fillIDs(ev *streams.Event) {
	r, t := ev.RunnerID, ev.TaskID
	switch p := ev.Payload.(type) {
	case *actors.TaskChunk:
		p.RunnerID, p.TaskID = r, t
		if p.Chunk != nil && p.Chunk.TaskId == "" {
			p.Chunk.TaskId = t
		}
	case *actors.TaskStatusChanged:
		p.RunnerID, p.TaskID = r, t
	case *actors.ProcessStarted:
		p.RunnerID = r
	case *actors.StatusChanged:
		p.RunnerID = r
	case *actors.ProcessExited:
		p.RunnerID = r
	case *actors.TaskAcknowledged:
		p.RunnerID, p.TaskID = r, t
	case *actors.TaskRetried:
		p.RunnerID, p.TaskID = r, t
	case *actors.SupervisionDecision:
		p.RunnerID = r
	case *actors.Alert:
		p.RunnerID = r
	case *actors.HealthAlert:
		p.RunnerID = r
	case *actors.HealthChanged:
		p.RunnerID = r
	}
	// RunnerFailed and RunnerStopped carry their runner inside (Failure,
	// Result), as on the node.
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func fromTS(t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.AsTime().Local()
}

func dur(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func errFrom(text string) error {
	if text == "" {
		return nil
	}
	return errors.New(text)
}

func exitToWire(x *proc.ExitStatus) *exov1.GwExitStatus {
	if x == nil {
		return nil
	}
	return &exov1.GwExitStatus{Code: int64(x.Code), Signal: int32(x.Signal), CoreDump: x.CoreDump, Err: errText(x.Err), Lifetime: dur(x.Lifetime)}
}

func exitFromWire(m *exov1.GwExitStatus) *proc.ExitStatus {
	if m == nil {
		return nil
	}
	return &proc.ExitStatus{Code: int(m.GetCode()), Signal: syscall.Signal(m.GetSignal()), CoreDump: m.GetCoreDump(),
		Err: errFrom(m.GetErr()), Lifetime: m.GetLifetime().AsDuration()}
}

func failureToWire(f *errhandler.Failure) *exov1.GwFailure {
	if f == nil {
		return nil
	}
	return &exov1.GwFailure{Kind: string(f.Kind), Component: f.Component, Operation: f.Operation, RunnerId: f.RunnerID, RunnerKind: f.RunnerKind,
		Generation: f.Generation, ExitCode: int64(f.ExitCode), Signal: int32(f.Signal), ShuttingDown: f.ShuttingDown,
		Message: f.Message, Cause: errText(f.Cause)}
}

func failureFromWire(m *exov1.GwFailure) errhandler.Failure {
	kind := m.GetRunnerKind()
	if kind == "" {
		// A node of an earlier release sends no runner_kind, and its texts
		// already name the kind's config key: without the kind the hint
		// would say it again with "kinds.<kind>.".
		kind = kindOfRunnerID(m.GetRunnerId())
	}
	return errhandler.Failure{Kind: errhandler.Kind(m.GetKind()), Component: m.GetComponent(), Operation: m.GetOperation(),
		RunnerID: m.GetRunnerId(), RunnerKind: kind, Generation: m.GetGeneration(), ExitCode: int(m.GetExitCode()), Signal: syscall.Signal(m.GetSignal()),
		ShuttingDown: m.GetShuttingDown(), Message: m.GetMessage(), Cause: errFrom(m.GetCause())}
}

// kindOfRunnerID is the kind an actors runner ID starts with ("echo" of
// "echo-25fb8c72427e": the kind, '-' and 12 hex digits); "" for an ID of
// another shape. Only for failures from a node that does not send the kind.
func kindOfRunnerID(id string) string {
	i := strings.LastIndexByte(id, '-')
	if i <= 0 || len(id)-i-1 != 12 {
		return ""
	}
	for _, c := range id[i+1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return ""
		}
	}
	return id[:i]
}

func runnerFailureToWire(f *actors.RunnerFailure) *exov1.GwRunnerFailure {
	if f == nil {
		return nil
	}
	return &exov1.GwRunnerFailure{Failure: failureToWire(&f.Failure), Source: string(f.Source), Pid: int64(f.Pid), Exit: exitToWire(f.Exit),
		Termination: f.Termination, RunnerMessage: f.RunnerMessage, RunnerDiagnostics: f.RunnerDiagnostics, StderrTail: f.StderrTail,
		Uptime: dur(f.Uptime), At: ts(f.At), Cleaned: f.Cleaned, Hint: f.Hint}
}

func runnerFailureFromWire(m *exov1.GwRunnerFailure) *actors.RunnerFailure {
	if m == nil {
		return nil
	}
	return &actors.RunnerFailure{Failure: failureFromWire(m.GetFailure()), Source: actors.DetectionSource(m.GetSource()), Pid: int(m.GetPid()),
		Exit: exitFromWire(m.GetExit()), Termination: m.GetTermination(), RunnerMessage: m.GetRunnerMessage(),
		RunnerDiagnostics: m.GetRunnerDiagnostics(), StderrTail: m.GetStderrTail(), Uptime: m.GetUptime().AsDuration(),
		At: fromTS(m.GetAt()), Cleaned: m.GetCleaned(), Hint: m.GetHint()}
}

func closeReportToWire(r *resources.CloseReport) *exov1.GwCloseReport {
	if r == nil {
		return nil
	}
	out := &exov1.GwCloseReport{Scope: r.Scope, Started: ts(r.Started), Duration: dur(r.Duration), Order: r.Order}
	for i := range r.Entries {
		e := &r.Entries[i]
		out.Entries = append(out.Entries, &exov1.GwCloseEntry{Name: e.Name, Kind: e.Kind, Owner: e.Owner, Generation: e.Generation,
			Started: ts(e.Started), Duration: dur(e.Duration), Outcome: int32(e.Outcome), Err: errText(e.Err),
			StillRunning: e.StillRunning, Dependent: e.Dependent, Failure: failureToWire(e.Failure)})
	}
	for i := range r.Failures {
		out.Failures = append(out.Failures, failureToWire(&r.Failures[i]))
	}
	return out
}

func closeReportFromWire(m *exov1.GwCloseReport) *resources.CloseReport {
	if m == nil {
		return nil
	}
	out := &resources.CloseReport{Scope: m.GetScope(), Started: fromTS(m.GetStarted()), Duration: m.GetDuration().AsDuration(), Order: m.GetOrder()}
	for _, e := range m.GetEntries() {
		ce := resources.CloseEntry{Name: e.GetName(), Kind: e.GetKind(), Owner: e.GetOwner(), Generation: e.GetGeneration(),
			Started: fromTS(e.GetStarted()), Duration: e.GetDuration().AsDuration(), Outcome: resources.Outcome(e.GetOutcome()),
			Err: errFrom(e.GetErr()), StillRunning: e.GetStillRunning(), Dependent: e.GetDependent()}
		if e.GetFailure() != nil {
			f := failureFromWire(e.GetFailure())
			ce.Failure = &f
		}
		out.Entries = append(out.Entries, ce)
	}
	for _, f := range m.GetFailures() {
		out.Failures = append(out.Failures, failureFromWire(f))
	}
	return out
}

func stopResultToWire(r *actors.StopResult) *exov1.GwStopResult {
	out := &exov1.GwStopResult{RunnerId: r.RunnerID, Generation: r.Generation, EndedBy: r.EndedBy, Exit: exitToWire(r.Exit),
		Total: dur(r.Total), Failure: runnerFailureToWire(r.Failure), Resources: closeReportToWire(r.Resources), Complaint: r.Complaint}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, &exov1.GwStopStep{Name: s.Name, Started: ts(s.Started), Duration: dur(s.Duration)})
	}
	return out
}

func stopResultFromWire(m *exov1.GwStopResult) actors.StopResult {
	out := actors.StopResult{RunnerID: m.GetRunnerId(), Generation: m.GetGeneration(), EndedBy: m.GetEndedBy(), Exit: exitFromWire(m.GetExit()),
		Total: m.GetTotal().AsDuration(), Failure: runnerFailureFromWire(m.GetFailure()), Resources: closeReportFromWire(m.GetResources()), Complaint: m.GetComplaint()}
	for _, s := range m.GetSteps() {
		out.Steps = append(out.Steps, actors.StopStep{Name: s.GetName(), Started: fromTS(s.GetStarted()), Duration: s.GetDuration().AsDuration()})
	}
	return out
}

func recordToWire(r *errhandler.Record) *exov1.GwErrorRecord {
	d := r.Decision
	return &exov1.GwErrorRecord{Id: r.ID, Time: ts(r.Time), Component: r.Component, Operation: r.Operation, RunnerId: r.RunnerID,
		Generation: r.Generation, Kind: string(r.Kind), ExitCode: int64(r.ExitCode), Signal: int32(r.Signal),
		Decision: &exov1.GwDecision{Rule: d.Rule, Severity: int32(d.Severity), Action: int32(d.Action), Then: int32(d.Then)},
		Note:     r.Note, Attempt: int64(r.Attempt), Delay: dur(r.Delay), Message: r.Message, Causes: r.Causes, Cleanup: r.Cleanup,
		Resolution: int32(r.Resolution), ResolvedAt: ts(r.ResolvedAt)}
}

func recordFromWire(m *exov1.GwErrorRecord) errhandler.Record {
	d := m.GetDecision()
	return errhandler.Record{ID: m.GetId(), Time: fromTS(m.GetTime()), Component: m.GetComponent(), Operation: m.GetOperation(),
		RunnerID: m.GetRunnerId(), Generation: m.GetGeneration(), Kind: errhandler.Kind(m.GetKind()), ExitCode: int(m.GetExitCode()),
		Signal: syscall.Signal(m.GetSignal()),
		Decision: errhandler.Decision{Rule: d.GetRule(), Severity: errhandler.Severity(d.GetSeverity()), Action: errhandler.Action(d.GetAction()),
			Then: errhandler.Action(d.GetThen())},
		Note: m.GetNote(), Attempt: int(m.GetAttempt()), Delay: m.GetDelay().AsDuration(), Message: m.GetMessage(), Causes: m.GetCauses(),
		Cleanup: m.GetCleanup(), Resolution: errhandler.Resolution(m.GetResolution()), ResolvedAt: fromTS(m.GetResolvedAt())}
}

func scoreToWire(s health.Score) *exov1.GwHealthScore {
	return &exov1.GwHealthScore{Value: s.Value, Level: int32(s.Level), Process: s.Components.Process, Status: s.Components.Status,
		Resources: s.Components.Resources, Errors: s.Components.Errors, Reason: s.Reason}
}

func scoreFromWire(m *exov1.GwHealthScore) health.Score {
	return health.Score{Value: m.GetValue(), Level: health.Level(m.GetLevel()), Reason: m.GetReason(),
		Components: health.Components{Process: m.GetProcess(), Status: m.GetStatus(), Resources: m.GetResources(), Errors: m.GetErrors()}}
}

// RunnerInfoToWire is the wire form of a runner's info (GwListRunners).
func RunnerInfoToWire(ri actors.RunnerInfo) *exov1.GwRunnerInfo {
	out := &exov1.GwRunnerInfo{Id: ri.ID, Kind: ri.Kind, Generation: ri.Generation, Attempts: int32(ri.Attempts),
		Pid: int32(ri.Pid), Status: ri.Status, StatusSince: ts(ri.StatusSince), LastError: ri.LastError,
		StaleDrops: ri.StaleDrops, ProtocolErrors: ri.ProtocolErrors, LifecycleErrors: ri.LifecycleErrors,
		NextDelay: dur(ri.NextDelay), Restarting: ri.Restarting, RestartIn: dur(ri.RestartIn), RestartAttempt: int64(ri.RestartAttempt)}
	if ri.LastRecord != nil {
		out.LastRecord = recordToWire(ri.LastRecord)
	}
	if ri.LastFailure != nil {
		out.LastFailure = runnerFailureToWire(ri.LastFailure)
	}
	return out
}

// RunnerInfoFromWire turns a GwRunnerInfo back into the node's RunnerInfo.
func RunnerInfoFromWire(m *exov1.GwRunnerInfo) actors.RunnerInfo {
	out := actors.RunnerInfo{ID: m.GetId(), Kind: m.GetKind(), Generation: m.GetGeneration(), Attempts: int(m.GetAttempts()),
		Pid: int(m.GetPid()), Status: m.GetStatus(), StatusSince: fromTS(m.GetStatusSince()), LastError: m.GetLastError(),
		StaleDrops: m.GetStaleDrops(), ProtocolErrors: m.GetProtocolErrors(), LifecycleErrors: m.GetLifecycleErrors(),
		NextDelay: m.GetNextDelay().AsDuration(), Restarting: m.GetRestarting(), RestartIn: m.GetRestartIn().AsDuration(),
		RestartAttempt: int(m.GetRestartAttempt())}
	if m.GetLastRecord() != nil {
		r := recordFromWire(m.GetLastRecord())
		out.LastRecord = &r
	}
	if m.GetLastFailure() != nil {
		out.LastFailure = runnerFailureFromWire(m.GetLastFailure())
	}
	return out
}
