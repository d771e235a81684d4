package errhandler_test

import (
	"os/exec"
	"syscall"
	"testing"

	eh "github.com/exo-actors/exo-actors/actors/errhandler"
)

func TestFromProcessState(t *testing.T) {
	cases := []struct {
		script string
		want   eh.Failure
		rule   string
	}{
		{"exit 0", eh.Failure{Kind: eh.KindExitZero}, "exit-zero"},
		{"exit 3", eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 3}, "exit-nonzero"},
		{"exit 127", eh.Failure{Kind: eh.KindExitNonZero, ExitCode: 127}, "exit-127"},
		{"kill -KILL $$", eh.Failure{Kind: eh.KindSignal, ExitCode: -1, Signal: syscall.SIGKILL}, "sigkill"},
		{"kill -SEGV $$", eh.Failure{Kind: eh.KindSignal, ExitCode: -1, Signal: syscall.SIGSEGV}, "sigsegv"},
	}
	h := newHandler(t, eh.Config{})
	for _, tc := range cases {
		cmd := exec.Command("/bin/sh", "-c", tc.script)
		_ = cmd.Run() // the outcome is in ProcessState
		if cmd.ProcessState == nil {
			t.Fatalf("%q did not run", tc.script)
		}
		got := eh.FromProcessState(cmd.ProcessState)
		if got != tc.want {
			t.Errorf("%q: %+v, want %+v", tc.script, got, tc.want)
		}
		if d := h.Classify(got); d.Rule != tc.rule {
			t.Errorf("%q: rule %q, want %q", tc.script, d.Rule, tc.rule)
		}
	}
}
