package gateway

import (
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestFailureCrossesTheWireWhole: every field of a failure a node sends
// reaches the client, so its text there is the node's (a field the wire
// dropped, the runner's kind, left a remote client's advice naming
// "kinds.<kind>.command" where the node's named the kind's key). A field
// added to errhandler.Failure and not to the wire fails here.
func TestFailureCrossesTheWireWhole(t *testing.T) {
	f := errhandler.Failure{Kind: errhandler.KindExecNotFound, Component: "runner", Operation: "spawn",
		RunnerID: "llama-0123456789ab", RunnerKind: "llama", Generation: 3, ExitCode: 127, Signal: syscall.SIGKILL,
		ShuttingDown: true, Message: "executable \"/no/such\" not found", Cause: errors.New("no such file or directory")}
	v := reflect.ValueOf(f)
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).IsExported() && v.Field(i).IsZero() {
			t.Fatalf("field %s is unset in the test's failure: set it, and carry it on the wire", v.Type().Field(i).Name)
		}
	}
	got := failureFromWire(failureToWire(&f))
	if got.Cause == nil || got.Cause.Error() != f.Cause.Error() {
		t.Errorf("cause %v, want %v", got.Cause, f.Cause)
	}
	got.Cause, f.Cause = nil, nil
	if !reflect.DeepEqual(got, f) {
		t.Errorf("across the wire:\n got %+v\nwant %+v", got, f)
	}
	if got.Error() != f.Error() {
		t.Errorf("text across the wire %q, want %q", got.Error(), f.Error())
	}
}

// TestFailureFromAnOlderNodeNamesItsKind: a node of an earlier release
// sends no runner_kind, and its message already names the kind's config
// key; the client takes the kind from the runner's ID, so the hint is not
// appended a second time with "kinds.<kind>.".
func TestFailureFromAnOlderNodeNamesItsKind(t *testing.T) {
	old := &exov1.GwFailure{Kind: string(errhandler.KindExecNotFound), Component: "runner", RunnerId: "llama-0123456789ab", Generation: 1,
		Message: `executable "/no/such" not found or not executable (no such file or directory); check the runner's command and PATH (RunnerSpec.Command; on a node, kinds.llama.command in its config)`}
	f := failureFromWire(old)
	if f.RunnerKind != "llama" {
		t.Errorf("RunnerKind %q, want llama from the ID", f.RunnerKind)
	}
	if s := f.Error(); strings.Contains(s, "<kind>") || strings.Count(s, "kinds.llama.command") != 1 {
		t.Errorf("text %q: want kinds.llama.command once, no placeholder", s)
	}
	old.RunnerId = "custom"
	if f := failureFromWire(old); f.RunnerKind != "" {
		t.Errorf("ID of another shape: RunnerKind %q, want none", f.RunnerKind)
	}
}
