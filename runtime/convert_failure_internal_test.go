package runtime

import (
	"errors"
	"reflect"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/actors/errhandler"
)

// TestFailureConvertsWhole: the public Failure carries every field of the
// actors' one, so its Error is theirs (a host's text once named
// "kinds.<kind>.command" where the node's named the runner's kind). A field
// added to errhandler.Failure and not to Failure fails here.
func TestFailureConvertsWhole(t *testing.T) {
	f := errhandler.Failure{Kind: errhandler.KindExecNotFound, Component: "runner", Operation: "spawn",
		RunnerID: "llama-0123456789ab", RunnerKind: "llama", Generation: 3, ExitCode: 127, Signal: syscall.SIGKILL,
		ShuttingDown: true, Message: "executable \"/no/such\" not found", Cause: errors.New("no such file or directory")}
	v := reflect.ValueOf(f)
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).IsExported() && v.Field(i).IsZero() {
			t.Fatalf("field %s is unset in the test's failure: set it, and convert it", v.Type().Field(i).Name)
		}
	}
	pub := fromFailure(f)
	if got := toFailure(pub); !reflect.DeepEqual(got, f) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, f)
	}
	if pub.Error() != f.Error() {
		t.Errorf("public text %q, want %q", pub.Error(), f.Error())
	}
}
