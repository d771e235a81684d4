package cli

import (
	"errors"
	"os/exec"
	"testing"
)

// A node the demo shut down may exit 4 (its shutdown cut a task short, as
// the demo's faults make it do); a node that exits 4 without being asked,
// or exits 1 after a shutdown, is a problem. Before, every node exit but 0
// was (the chaos soak reported 20 "end of run" violations once nodes began
// to exit 4 after a client's unclean shutdown).
func TestUncleanAfterShutdown(t *testing.T) {
	exit := func(code string) error {
		err := exec.Command("/bin/sh", "-c", "exit "+code).Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("exit %s: %v", code, err)
		}
		return err
	}
	four, one := exit("4"), exit("1")
	for _, tc := range []struct {
		state demoNodeState
		err   error
		want  bool
	}{
		{nodeShutDown, four, true},
		{nodeShutDown, one, false},
		{nodeServing, four, false},
		{nodeShutDown, errors.New("wait: no child"), false},
	} {
		if got := uncleanAfterShutdown(tc.state, tc.err); got != tc.want {
			t.Errorf("state %v, %v: %v, want %v", tc.state, tc.err, got, tc.want)
		}
	}
}
