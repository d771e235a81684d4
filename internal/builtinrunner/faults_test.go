package builtinrunner

import (
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseFault(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Fault
		str  string // String(), when it differs from spec
	}{
		{spec: "exit:3", want: Fault{Kind: FaultExit, Code: 3}},
		{spec: "exit:0", want: Fault{Kind: FaultExit}},
		{spec: "exit:255", want: Fault{Kind: FaultExit, Code: 255}},
		{spec: "signal:KILL", want: Fault{Kind: FaultSignal, Signal: syscall.SIGKILL}},
		{spec: "signal:SEGV", want: Fault{Kind: FaultSignal, Signal: syscall.SIGSEGV}},
		{spec: "signal:sigabrt", want: Fault{Kind: FaultSignal, Signal: syscall.SIGABRT}, str: "signal:ABRT"},
		{spec: "signal:SIGTERM", want: Fault{Kind: FaultSignal, Signal: syscall.SIGTERM}, str: "signal:TERM"},
		{spec: "hang", want: Fault{Kind: FaultHang}},
		{spec: "hang-progress", want: Fault{Kind: FaultHangProgress}},
		{spec: "garbage", want: Fault{Kind: FaultGarbage}},
		{spec: "ignore-shutdown:1.5s", want: Fault{Kind: FaultIgnoreShutdown, Delay: 1500 * time.Millisecond}},
		{spec: "ignore-shutdown:0s", want: Fault{Kind: FaultIgnoreShutdown}},
		{spec: "ignore-shutdown:forever", want: Fault{Kind: FaultIgnoreShutdown, Forever: true}},
		{spec: "crash-loading:2", want: Fault{Kind: FaultCrashLoading, Count: 2}},
		{spec: "stall-loading:0", want: Fault{Kind: FaultStallLoading}},
		{spec: "crash-after:5", want: Fault{Kind: FaultCrashAfter, Count: 5}},
		{spec: "termination:disk: full", want: Fault{Kind: FaultTermination, Message: "disk: full"}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := ParseFault(tc.spec)
			if err != nil {
				t.Fatalf("ParseFault(%q): %v", tc.spec, err)
			}
			if got != tc.want {
				t.Fatalf("ParseFault(%q) = %+v, want %+v", tc.spec, got, tc.want)
			}
			want := tc.str
			if want == "" {
				want = tc.spec
			}
			if s := got.String(); s != want {
				t.Fatalf("String() = %q, want %q", s, want)
			}
		})
	}
}

func TestParseFaultErrors(t *testing.T) {
	for _, tc := range []struct{ spec, why string }{
		{"", "empty fault name"},
		{"explode", `unknown fault "explode"`},
		{"exit", "exit needs an exit code"},
		{"exit:", "exit needs an exit code"},
		{"exit:256", `exit code "256" is not an integer from 0 to 255`},
		{"exit:-1", "is not an integer from 0 to 255"},
		{"exit:x", "is not an integer"},
		{"signal:WINCH", `unknown signal "WINCH"`},
		{"signal", "signal needs a signal name"},
		{"hang:5", "hang takes no argument"},
		{"garbage:", "garbage takes no argument"},
		{"ignore-shutdown", "needs a duration"},
		{"ignore-shutdown:-1s", "neither a non-negative Go duration"},
		{"ignore-shutdown:soon", "neither a non-negative Go duration"},
		{"crash-loading:-2", "not a non-negative integer"},
		{"crash-after", "needs a number of tokens"},
		{"termination:", "termination needs a message"},
		{"EXIT:3", `unknown fault "EXIT"`},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := ParseFault(tc.spec)
			if err == nil {
				t.Fatalf("ParseFault(%q) succeeded, want an error", tc.spec)
			}
			msg := err.Error()
			for _, want := range []string{"bad fault " + quote(tc.spec), tc.why, "valid forms: " + ValidFaultForms} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
		})
	}
}

func quote(s string) string { return `"` + s + `"` }

// FuzzParseFault checks that ParseFault never panics and that String is its
// inverse: parse(format(parse(s))) == parse(s).
func FuzzParseFault(f *testing.F) {
	for _, s := range []string{"exit:3", "signal:segv", "hang", "hang-progress", "garbage",
		"ignore-shutdown:forever", "ignore-shutdown:1m30s", "crash-loading:2", "stall-loading:1",
		"crash-after:7", "termination:bye: now", "exit:", ":", "signal:SIG", "ignore-shutdown:1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := ParseFault(spec)
		if err != nil {
			// One line that names the spec, quoted, and lists the valid forms.
			if msg := err.Error(); !strings.HasPrefix(msg, "bad fault "+strconv.Quote(spec)+": ") ||
				!strings.HasSuffix(msg, "valid forms: "+ValidFaultForms) || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error %q does not name %q on one line with the valid forms", msg, spec)
			}
			return
		}
		again, err := ParseFault(got.String())
		if err != nil {
			t.Fatalf("ParseFault(%q) = %+v, but its String %q does not parse: %v", spec, got, got.String(), err)
		}
		if again != got {
			t.Fatalf("round trip of %q: %+v → %q → %+v", spec, got, got.String(), again)
		}
	})
}

func TestFaultMarker(t *testing.T) {
	if got := FaultHang.Marker(); got != "exo-runner: fault hang now" {
		t.Fatalf("Marker() = %q", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"defaults", DefaultConfig(), ""},
		{"zero value", Config{}, ""},
		{"negative layers", Config{Layers: -1}, "layers -1"},
		{"negative delay", Config{TokenDelay: -time.Second}, "token delay"},
		{"negative hello delay", Config{HelloDelay: -time.Second}, "hello delay -1s: want zero or more"},
		{"loading fault in range", Config{Layers: 4, Fault: Fault{Kind: FaultStallLoading, Count: 3}}, ""},
		{"loading fault never fires", Config{Layers: 4, Fault: Fault{Kind: FaultCrashLoading, Count: 4}}, "never fires with 4 layers"},
		{"bad fault value", Config{Fault: Fault{Kind: FaultExit, Code: 300}}, "exit code"},
		{"unknown fault", Config{Fault: Fault{Kind: "boom"}}, "unknown fault"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
