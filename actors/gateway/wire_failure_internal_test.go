package gateway

import (
	"errors"
	"reflect"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/actors/errhandler"
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
