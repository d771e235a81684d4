package runtime

import (
	"syscall"
	"testing"
)

// TestExitFromText: a remote StopRunner's exit text reads back into an
// ExitStatus, so Ended and Summary name a non-zero exit after the Shutdown
// frame for a remote runner too. Before, the Client dropped it, and
// `remote run` and `remote stop` printed "ended by the Shutdown frame" for
// a runner that exited 5 (a verification trial), where the node's own
// report said "(exitcode=5)".
func TestExitFromText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want *ExitStatus
	}{
		{"", nil},
		{"exitcode=0", &ExitStatus{Code: 0}},
		{"exitcode=5", &ExitStatus{Code: 5}},
		{"signal=9 (killed)", &ExitStatus{Code: -1, Signal: syscall.SIGKILL}},
		{"wait failed: boom", nil},
		{"signal=0", nil},
		{"exitcode=x", nil},
	} {
		got := exitFromText(tc.in)
		if (got == nil) != (tc.want == nil) || got != nil && (got.Code != tc.want.Code || got.Signal != tc.want.Signal) {
			t.Errorf("exitFromText(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	for _, st := range []ExitStatus{{Code: 5}, {Code: -1, Signal: syscall.SIGTERM}} {
		if got := exitFromText(st.String()); got == nil || got.String() != st.String() {
			t.Errorf("round trip of %q: %+v", st.String(), got)
		}
	}
	r := &StopResult{EndedBy: "shutdown frame", Exit: exitFromText("exitcode=5")}
	if r.Ended() != "shutdown frame (exitcode=5)" {
		t.Errorf("Ended of a remote stop with exit 5: %q", r.Ended())
	}
}

// FuzzExitFromText: any text reads back without a panic, and what it reads
// renders as a text that reads back the same.
func FuzzExitFromText(f *testing.F) {
	for _, s := range []string{"", "exitcode=5", "signal=9 (killed)", "exitcode=-1", "signal=-3", "wait failed: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st := exitFromText(s)
		if st == nil {
			return
		}
		if again := exitFromText(st.String()); again == nil || *again != *st {
			t.Fatalf("%q read as %+v, whose text %q reads as %+v", s, st, st.String(), again)
		}
	})
}
