package runtime

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// filled returns a T with every exported field, recursively, set to a
// non-zero value.
func filled[T any]() T {
	var v T
	fill(reflect.ValueOf(&v).Elem(), map[reflect.Type]bool{})
	return v
}

var (
	errType    = reflect.TypeFor[error]()
	timeType   = reflect.TypeFor[time.Time]()
	chunkType  = reflect.TypeFor[exov1.ChunkGenerated]()
	eventType  = reflect.TypeFor[actors.Event]()
	clockType  = reflect.TypeFor[clock.Clock]()
	sourceType = reflect.TypeFor[rand.Source]()
)

// fill sets v non-zero; a struct type already being filled further up
// (Children of a report) is left zero, which zeroPaths skips the same way.
func fill(v reflect.Value, busy map[reflect.Type]bool) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.Unix(1e9, 0)))
		return
	case v.Type() == chunkType:
		v.Set(reflect.ValueOf(exov1.ChunkGenerated{TaskId: "t", Index: 1,
			Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "x", TokenId: 1, FinishReason: "stop"}}}))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	case reflect.Pointer:
		if busy[v.Type().Elem()] {
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), busy)
		v.Set(p)
	case reflect.Slice:
		if busy[elemStruct(v.Type())] {
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), busy)
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), busy)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, busy)
		fill(e, busy)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		busy[v.Type()] = true
		defer delete(busy, v.Type())
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), busy)
			}
		}
	case reflect.Func:
		v.Set(reflect.MakeFunc(v.Type(), func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, v.Type().NumOut())
			for i := range out {
				out[i] = reflect.Zero(v.Type().Out(i))
			}
			return out
		}))
	case reflect.Interface:
		switch v.Type() {
		case errType:
			v.Set(reflect.ValueOf(errors.New("x")))
		case clockType:
			v.Set(reflect.ValueOf(clock.Real()))
		case sourceType:
			v.Set(reflect.ValueOf(rand.NewPCG(1, 2)))
		case eventType:
			v.Set(reflect.ValueOf(&actors.ProcessStarted{RunnerID: "x", Generation: 1, Pid: 1, At: time.Unix(1e9, 0)}))
		case reflect.TypeFor[any]():
			v.Set(reflect.ValueOf("x"))
		case reflect.TypeFor[logrus.FieldLogger]():
			v.Set(reflect.ValueOf(logrus.NewEntry(logrus.New())))
		}
	}
}

// elemStruct returns the struct type a slice holds (through one pointer).
func elemStruct(t reflect.Type) reflect.Type {
	t = t.Elem()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// zeroPaths lists the exported fields of v, recursively, that are zero.
func zeroPaths(v reflect.Value, path string, out *[]string) {
	zeroPathsIn(v, path, out, map[reflect.Type]bool{})
}

func zeroPathsIn(v reflect.Value, path string, out *[]string, busy map[reflect.Type]bool) {
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice) && busy[elemStruct(v.Type())] {
		return // a recursive field (Children): fill left it empty
	}
	if v.Type() == timeType {
		if v.Interface().(time.Time).IsZero() {
			*out = append(*out, path)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			*out = append(*out, path)
			return
		}
		if v.Kind() == reflect.Pointer {
			zeroPathsIn(v.Elem(), path, out, busy)
		}
	case reflect.Slice:
		if v.Len() == 0 {
			*out = append(*out, path)
			return
		}
		zeroPathsIn(v.Index(0), path+"[0]", out, busy)
	case reflect.Array:
		for i := range v.Len() {
			zeroPathsIn(v.Index(i), path+"[i]", out, busy)
		}
	case reflect.Map:
		if v.Len() == 0 {
			*out = append(*out, path)
			return
		}
		it := v.MapRange()
		it.Next()
		zeroPathsIn(it.Value(), path+"[k]", out, busy)
	case reflect.Struct:
		if !strings.HasPrefix(v.Type().PkgPath(), "github.com/exo-actors/") {
			if v.IsZero() {
				*out = append(*out, path)
			}
			return // another module's type: its fields are its own
		}
		busy[v.Type()] = true
		defer delete(busy, v.Type())
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				zeroPathsIn(v.Field(i), path+"."+f.Name, out, busy)
			}
		}
	case reflect.Func:
		if v.IsNil() {
			*out = append(*out, path)
		}
	default:
		if v.IsZero() {
			*out = append(*out, path)
		}
	}
}

func checkAllSet(t *testing.T, name string, v any, allowZero ...string) {
	t.Helper()
	var zero []string
	zeroPaths(reflect.ValueOf(v), name, &zero)
	allowed := map[string]bool{}
	for _, a := range allowZero {
		allowed[name+"."+a] = true
	}
	for _, z := range zero {
		if !allowed[z] {
			t.Errorf("%s is zero after the conversion: a field is not converted", z)
		}
	}
}

// TestConversionsLoseNoField fills every field of each actors type and
// checks every field of its public counterpart is set, and the other way
// round where runtime converts back.
func TestConversionsLoseNoField(t *testing.T) {
	// actors → runtime.
	checkAllSet(t, "RunnerFailure", *fromRunnerFailure(ptr(filled[actors.RunnerFailure]())))
	checkAllSet(t, "RunnerInfo", fromRunnerInfo(filled[actors.RunnerInfo]()))
	checkAllSet(t, "StopResult", *fromStopResult(ptr(filled[actors.StopResult]())), "Resources.Entries[0].Failure.Cause")
	checkAllSet(t, "ErrorRecord", fromRecord(filled[errhandler.Record]()))
	checkAllSet(t, "ErrorStats", fromStats(filled[errhandler.Stats]()))
	checkAllSet(t, "TaskOutcome", fromTaskOutcome(filled[actors.TaskOutcome]()))
	checkAllSet(t, "Chunk", fromChunk(ptr(filled[exov1.ChunkGenerated]())), "Error")
	se := filled[streams.Event]()
	se.Payload = ptr(filled[actors.StatusChanged]())
	checkAllSet(t, "StreamEvent", fromStreamEvent(se))
	checkAllSet(t, "StreamStats", fromStreamStats(filled[streams.Stats]()))
	checkAllSet(t, "ResourceSnapshot", fromSnapshot(filled[resources.Snapshot]()))
	checkAllSet(t, "ShutdownReport", fromShutdownReport(filled[actors.ShutdownReport]()))
	for _, e := range []actors.Event{
		ptr(filled[actors.ProcessStarted]()), ptr(filled[actors.StatusChanged]()), ptr(filled[actors.ProcessExited]()),
		ptr(filled[actors.RunnerFailed]()), ptr(filled[actors.RunnerStopped]()), ptr(filled[actors.TaskStatusChanged]()),
		ptr(filled[actors.TaskAcknowledged]()), ptr(filled[actors.TaskChunk]()), ptr(filled[actors.SupervisionDecision]()),
		ptr(filled[actors.Alert]()),
	} {
		ev := fromEvent(e)
		if ev == nil {
			t.Errorf("%T has no public event type", e)
			continue
		}
		kind, _ := actors.EventKind(e)
		if ev.EventKind() != kind {
			t.Errorf("%T: public kind %q, actors kind %q", e, ev.EventKind(), kind)
		}
		checkAllSet(t, reflect.TypeOf(ev).Name(), ev, "Chunk.Error", "Result.Resources.Entries[0].Failure.Cause")
	}
	errChunk := fromChunk(&exov1.ChunkGenerated{TaskId: "t", Index: 3, Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: "boom"}}})
	if errChunk.Error != "boom" || errChunk.Index != 3 {
		t.Errorf("error chunk: %+v", errChunk)
	}

	// runtime → actors.
	cfg := filled[Config]()
	checkAllSet(t, "NodeConfig", toNodeConfig(cfg), "ErrorPolicy.Clock")
	checkAllSet(t, "RunnerFailure→", *toRunnerFailure(ptr(filled[RunnerFailure]())))
	checkAllSet(t, "RunnerInfo→", toRunnerInfo(filled[RunnerInfo]()))
	checkAllSet(t, "ShutdownReport→", toShutdownReport(filled[ShutdownReport]()))
	checkAllSet(t, "ErrorRecord→", toRecord(filled[ErrorRecord]()))
}

// TestActorsFieldsHaveCounterparts: every exported field of an actors type
// that runtime converts has a field of the same name in its public type,
// or a documented replacement. A field added in actors fails here until
// runtime carries it.
func TestActorsFieldsHaveCounterparts(t *testing.T) {
	replaced := map[string]string{
		"RunnerInfo.Status":            "Status, LayersLoaded, TotalLayers, StatusError, StatusDiagnostics",
		"NodeConfig.Hook":              "Hook (wrapped: converts each event)",
		"ErrorPolicy.Clock":            "Config.Clock (always)",
		"errhandler.Config.Clock":      "Config.Clock (always)",
		"ResourceSnapshot.Lingering":   "Lingering",
		"StreamStats.check":            "",
		"ResourceInfo.LastReset":       "LastReset",
		"StatusChanged.From":           "From",
		"StatusChanged.To":             "To, LayersLoaded, TotalLayers, ErrorMessage, Diagnostics",
		"TaskChunk.Chunk":              "Chunk (exov1.ChunkGenerated → Chunk)",
		"RunnerFailure.Failure":        "Failure",
		"errhandler.Config.Rules":      "Rules",
		"errhandler.Config.Backoff":    "Backoff",
		"errhandler.Config.Intensity":  "Intensity",
		"errhandler.Config.Rand":       "Rand",
		"errhandler.Config.HistoryLim": "HistoryLimit",
	}
	pairs := []struct {
		name          string
		actors, local any
	}{
		{"NodeConfig", actors.NodeConfig{}, Config{}},
		{"errhandler.Config", errhandler.Config{}, ErrorPolicy{}},
		{"Rule", errhandler.Rule{}, Rule{}},
		{"Failure", errhandler.Failure{}, Failure{}},
		{"RunnerFailure", actors.RunnerFailure{}, RunnerFailure{}},
		{"RunnerInfo", actors.RunnerInfo{}, RunnerInfo{}},
		{"StopResult", actors.StopResult{}, StopResult{}},
		{"CloseReport", resources.CloseReport{}, CloseReport{}},
		{"CloseEntry", resources.CloseEntry{}, CloseEntry{}},
		{"Record", errhandler.Record{}, ErrorRecord{}},
		{"Decision", errhandler.Decision{}, Decision{}},
		{"Stats", errhandler.Stats{}, ErrorStats{}},
		{"TaskSpec", actors.TaskSpec{}, Task{}},
		{"TaskOutcome", actors.TaskOutcome{}, TaskOutcome{}},
		{"StreamEvent", streams.Event{}, StreamEvent{}},
		{"StreamStats", streams.Stats{}, StreamStats{}},
		{"SubStats", streams.SubStats{}, SubscriberStats{}},
		{"ResourceSnapshot", resources.Snapshot{}, ResourceSnapshot{}},
		{"ResourceInfo", resources.ResourceInfo{}, ResourceInfo{}},
		{"ShutdownReport", actors.ShutdownReport{}, ShutdownReport{}},
		{"ActorReport", actors.ActorReport{}, ActorReport{}},
		{"PhaseReport", actors.PhaseReport{}, PhaseReport{}},
		{"StatusChanged", actors.StatusChanged{}, StatusChanged{}},
		{"ProcessExited", actors.ProcessExited{}, ProcessExited{}},
		{"RunnerFailed", actors.RunnerFailed{}, RunnerFailed{}},
		{"RunnerStopped", actors.RunnerStopped{}, RunnerStopped{}},
		{"TaskStatusChanged", actors.TaskStatusChanged{}, TaskStatusChanged{}},
		{"TaskChunk", actors.TaskChunk{}, TaskChunk{}},
		{"SupervisionDecision", actors.SupervisionDecision{}, SupervisionDecision{}},
		{"Alert", actors.Alert{}, Alert{}},
	}
	for _, p := range pairs {
		at, lt := reflect.TypeOf(p.actors), reflect.TypeOf(p.local)
		var missing []string
		for i := range at.NumField() {
			f := at.Field(i)
			if !f.IsExported() {
				continue
			}
			if _, ok := lt.FieldByName(f.Name); ok {
				continue
			}
			if _, ok := replaced[p.name+"."+f.Name]; ok {
				continue
			}
			missing = append(missing, f.Name)
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s (%s) has fields runtime does not carry: %s; add them to %s and convert.go", p.name, at, strings.Join(missing, ", "), lt)
		}
	}
}

// TestKindConstantsMatchActors: the documented kind and topic constants
// are the strings the node publishes.
func TestKindConstantsMatchActors(t *testing.T) {
	for _, c := range []struct{ local, actors string }{
		{KindProcessStarted, actors.KindProcessStarted}, {KindStatusChanged, actors.KindStatusChanged},
		{KindProcessExited, actors.KindProcessExited}, {KindRunnerFailed, actors.KindRunnerFailed},
		{KindRunnerStopped, actors.KindRunnerStopped}, {KindTaskStatus, actors.KindTaskStatus},
		{KindTaskAcknowledged, actors.KindTaskAcknowledged}, {KindTaskChunk, actors.KindTaskChunk},
		{KindSupervisionDecision, actors.KindSupervisionDecision}, {KindAlert, actors.KindAlert},
		{KindGap, streams.KindGap},
		{TopicRunnerStatus, actors.TopicRunnerStatus}, {TopicTasks, actors.TopicTasks},
		{TopicErrors, actors.TopicErrors}, {TopicAlerts, actors.TopicAlerts},
		{string(FailureExecNotFound), string(errhandler.KindExecNotFound)},
		{string(FailureNodeFault), string(errhandler.KindNodeFault)},
		{string(FailureNodeLost), string(errhandler.KindNodeLost)},
		{string(FailureActorPanic), string(errhandler.KindActorPanic)},
		{string(SourcePanic), string(actors.SourcePanic)},
		{string(SourceNodeKill), string(actors.SourceNodeKill)},
	} {
		if c.local != c.actors {
			t.Errorf("runtime says %q, actors %q", c.local, c.actors)
		}
	}
	if NoDelay != errhandler.NoDelay {
		t.Errorf("NoDelay %v, errhandler %v", NoDelay, errhandler.NoDelay)
	}
	for s := StatusUnknown; s <= StatusFailed; s++ {
		if want := exov1.RunnerStatusKind(s).String(); !strings.HasSuffix(strings.ReplaceAll(want, "_", ""), strings.ToUpper(s.String())) && s != StatusUnknown {
			t.Errorf("RunnerStatus %d is %s, exo says %s", int(s), s, want)
		}
	}
	for s := TaskPending; s <= TaskCancelled; s++ {
		if got, want := s.String(), actors.TaskStatusName(exov1.TaskStatus(s)); got != want {
			t.Errorf("TaskStatus %d is %s, actors say %s", int(s), got, want)
		}
	}
}

// TestFieldLoggerGetsEveryLine: a *logrus.Entry as Config.Logger receives
// the node's lines with the host's fields.
func TestFieldLoggerGetsEveryLine(t *testing.T) {
	base := logrus.New()
	base.Out = discard{}
	base.SetLevel(logrus.InfoLevel)
	var got []*logrus.Entry
	base.AddHook(hookFunc(func(e *logrus.Entry) { got = append(got, e) }))
	l := toLogrus(base.WithField("service", "host"))
	l.WithField("runner_id", "r1").Info("hello")
	l.Debug("not at info")
	if len(got) != 1 || got[0].Message != "hello" || got[0].Data["service"] != "host" || got[0].Data["runner_id"] != "r1" {
		t.Fatalf("forwarded entries: %+v", got)
	}
	if toLogrus(base) != base {
		t.Error("a *logrus.Logger is not used as is")
	}
	_ = context.Background()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

type hookFunc func(*logrus.Entry)

func (hookFunc) Levels() []logrus.Level       { return logrus.AllLevels }
func (h hookFunc) Fire(e *logrus.Entry) error { h(e); return nil }

func ptr[T any](v T) *T { return &v }
