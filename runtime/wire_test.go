package runtime

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// wireEvents is one filled value of every event type the node publishes,
// by type name. TestEveryEventTypeHasAWireForm fails when package actors
// gains an event type that is not here.
func wireEvents() map[string]actors.Event {
	return map[string]actors.Event{
		"ProcessStarted":      ptr(filled[actors.ProcessStarted]()),
		"StatusChanged":       ptr(filled[actors.StatusChanged]()),
		"ProcessExited":       ptr(filled[actors.ProcessExited]()),
		"RunnerFailed":        ptr(filled[actors.RunnerFailed]()),
		"RunnerStopped":       ptr(filled[actors.RunnerStopped]()),
		"TaskStatusChanged":   ptr(filled[actors.TaskStatusChanged]()),
		"TaskAcknowledged":    ptr(filled[actors.TaskAcknowledged]()),
		"TaskChunk":           ptr(filled[actors.TaskChunk]()),
		"TaskRetried":         ptr(filled[actors.TaskRetried]()),
		"SupervisionDecision": ptr(filled[actors.SupervisionDecision]()),
		"Alert":               ptr(filled[actors.Alert]()),
		"HealthAlert":         ptr(filled[actors.HealthAlert]()),
		"HealthChanged":       ptr(filled[actors.HealthChanged]()),
	}
}

// streamEventOf wraps e the way the node's streams do: the event's runner
// and task are the payload's, its kind and topic the payload type's.
func streamEventOf(e actors.Event, seq uint64) streams.Event {
	kind, topic := actors.EventKind(e)
	se := streams.Event{Stream: topic, Seq: seq, RunnerID: actors.EventRunnerID(e), Kind: kind, At: time.Unix(1e9, 7), Payload: e}
	if f := reflect.ValueOf(e).Elem().FieldByName("TaskID"); f.IsValid() {
		se.TaskID = f.String()
	}
	return se
}

// overTheWire sends evs as a node's relay does (packed into one
// GwDelivery, through its bytes) and decodes them as a client does; it
// checks that the message form (GwDelivery.events) decodes the same.
func overTheWire(t *testing.T, topic string, evs []streams.Event) []streams.Event {
	t.Helper()
	var p gateway.Packer
	p.Add(evs)
	b, err := proto.Marshal(&exov1.GwDelivery{CallId: 1, Topic: topic, Packed: p.Take(), Events: gateway.EncodeEvents(nil, evs)})
	if err != nil {
		t.Fatal(err)
	}
	var d exov1.GwDelivery
	if err := proto.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	got, err := gateway.UnpackEvents(nil, d.GetTopic(), d.GetPacked())
	if err != nil {
		t.Fatal(err)
	}
	msgs := gateway.DecodeEvents(nil, d.GetTopic(), d.GetEvents())
	for i := range min(len(got), len(msgs)) {
		var diffs []string
		diffValues(reflect.ValueOf(fromStreamEvent(got[i])), reflect.ValueOf(fromStreamEvent(msgs[i])), "packed vs events", &diffs)
		for _, d := range diffs {
			t.Errorf("event %d: %s", i+1, d)
		}
	}
	if len(got) != len(msgs) {
		t.Errorf("packed: %d events, events: %d", len(got), len(msgs))
	}
	return got
}

// TestWireRoundTripLosesNoField: every event type, with every field set
// (recursively), arrives on a remote client's subscription as the value a
// local subscription gets, field for field. Errors arrive as their text
// and times as the same instant; the second event of a delivery travels
// with same_ids.
func TestWireRoundTripLosesNoField(t *testing.T) {
	evs := wireEvents()
	// A chunk of the event's own task: the wire leaves its task_id out.
	same := filled[actors.TaskChunk]()
	same.Chunk.TaskId = same.TaskID
	evs["TaskChunk (task_id once)"] = &same
	names := make([]string, 0, len(evs))
	for n := range evs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		e := evs[name]
		se := streamEventOf(e, 41)
		se2 := streamEventOf(e, 42)
		got := overTheWire(t, se.Stream, []streams.Event{se, se2})
		if len(got) != 2 {
			t.Fatalf("%s: %d events came back, want 2", name, len(got))
		}
		for i, want := range []streams.Event{se, se2} {
			if _, text := got[i].Payload.(string); text {
				t.Errorf("%s travels as text: %q", name, got[i].Payload)
				continue
			}
			if reflect.TypeOf(got[i].Payload) != reflect.TypeOf(want.Payload) {
				t.Errorf("%s came back as %T", name, got[i].Payload)
				continue
			}
			local, remote := fromStreamEvent(want), fromStreamEvent(got[i])
			checkAllSet(t, name, local.Payload, "Chunk.Error", "Result.Resources.Entries[0].Failure.Cause")
			var diffs []string
			diffValues(reflect.ValueOf(local), reflect.ValueOf(remote), "StreamEvent", &diffs)
			for _, d := range diffs {
				t.Errorf("%s (event %d of the delivery): %s", name, i+1, d)
			}
		}
	}
}

// TestGapAndTextOverTheWire: a Gap keeps its counts, and a payload of a
// type the node does not publish still arrives (as text).
func TestGapAndTextOverTheWire(t *testing.T) {
	in := []streams.Event{
		{Stream: "tasks", Kind: streams.KindGap, At: time.Unix(1e9, 0), Gap: &streams.Gap{Dropped: 3, FromSeq: 4, ToSeq: 6}},
		{Stream: "tasks", Seq: 7, RunnerID: "r", TaskID: "t", Kind: "custom", At: time.Unix(1e9, 0), Payload: "hello"},
	}
	got := overTheWire(t, "tasks", in)
	if len(got) != 2 || got[0].Gap == nil || *got[0].Gap != *in[0].Gap || got[0].Kind != streams.KindGap {
		t.Fatalf("gap came back as %+v", got)
	}
	if got[1].Payload != "hello" || got[1].Kind != "custom" || got[1].RunnerID != "r" || got[1].TaskID != "t" || got[1].Seq != 7 {
		t.Errorf("text event came back as %+v", got[1])
	}
}

// TestEveryEventTypeHasAWireForm: every type of package actors that is an
// Event (it has the eventRunnerID method) is in wireEvents, so the round
// trip above covers it. A new event type fails here until it has a
// message in gateway.proto's GwEvent and a case in actors/gateway/wire.go.
func TestEveryEventTypeHasAWireForm(t *testing.T) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob("../actors/*.go")
	if err != nil || len(paths) == 0 {
		t.Fatalf("the source of package actors: %v (%d files)", err, len(paths))
	}
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	known := wireEvents()
	var found []string
	{
		for _, f := range files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv == nil || fd.Name.Name != "eventRunnerID" {
					continue
				}
				typ := fd.Recv.List[0].Type
				if s, ok := typ.(*ast.StarExpr); ok {
					typ = s.X
				}
				name := typ.(*ast.Ident).Name
				found = append(found, name)
				if _, ok := known[name]; !ok {
					t.Errorf("actors.%s is an event type with no wire form: add a message to GwEvent's payload in messages/exo/v1/gateway.proto, "+
						"cases to actors/gateway/wire.go (EventToWire, EventFromWire, fillIDs) and the type to wireEvents here", name)
				}
			}
		}
	}
	if len(found) < len(known) {
		t.Errorf("found %d event types in ../actors (%v), wireEvents has %d: did the method eventRunnerID change its name?", len(found), found, len(known))
	}
	for name, e := range known {
		w := gateway.EventToWire(ptr(streamEventOf(e, 1)))
		if _, text := w.GetPayload().(*exov1.GwEvent_Text); text || w.GetPayload() == nil {
			t.Errorf("%s has no typed wire form: %v", name, w)
		}
	}
}

var errIface = reflect.TypeFor[error]()

// diffValues lists where a and b differ: times by instant, errors by text,
// everything else field by field.
func diffValues(a, b reflect.Value, path string, out *[]string) {
	if a.IsValid() != b.IsValid() {
		*out = append(*out, path+": one side is missing")
		return
	}
	if !a.IsValid() {
		return
	}
	if a.Type() != b.Type() {
		*out = append(*out, path+": types "+a.Type().String()+" and "+b.Type().String())
		return
	}
	if a.Type() == timeType {
		if ta, tb := a.Interface().(time.Time), b.Interface().(time.Time); !ta.Equal(tb) {
			*out = append(*out, path+": "+ta.String()+" became "+tb.String())
		}
		return
	}
	if a.Type() == errIface {
		ea, _ := a.Interface().(error)
		eb, _ := b.Interface().(error)
		if (ea == nil) != (eb == nil) || (ea != nil && ea.Error() != eb.Error()) {
			*out = append(*out, path+": error changed")
		}
		return
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				*out = append(*out, path+": nil on one side")
			}
			return
		}
		diffValues(a.Elem(), b.Elem(), path, out)
	case reflect.Struct:
		if !strings.HasPrefix(a.Type().PkgPath(), "github.com/exo-actors/") {
			if !reflect.DeepEqual(a.Interface(), b.Interface()) {
				*out = append(*out, path+": differs")
			}
			return
		}
		for i := range a.NumField() {
			if f := a.Type().Field(i); f.IsExported() {
				diffValues(a.Field(i), b.Field(i), path+"."+f.Name, out)
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			*out = append(*out, path+": length changed")
			return
		}
		for i := range a.Len() {
			diffValues(a.Index(i), b.Index(i), path+"[i]", out)
		}
	case reflect.Map:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, path+": differs")
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, path+": differs")
		}
	}
}

// TestRunnerInfoOverTheWire: a remote Runners call returns every field a
// local one does (Restarting and the rest included, which WaitReady needs).
func TestRunnerInfoOverTheWire(t *testing.T) {
	in := filled[actors.RunnerInfo]()
	b, err := proto.Marshal(gateway.RunnerInfoToWire(in))
	if err != nil {
		t.Fatal(err)
	}
	var m exov1.GwRunnerInfo
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var diffs []string
	diffValues(reflect.ValueOf(fromRunnerInfo(in)), reflect.ValueOf(fromRunnerInfo(gateway.RunnerInfoFromWire(&m))), "RunnerInfo", &diffs)
	for _, d := range diffs {
		t.Error(d)
	}
}
