package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunnerUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"runner", "--fault", "explode"}, `--fault: bad fault "explode": unknown fault "explode"; valid forms: exit:CODE`},
		{[]string{"runner", "--fault", "exit:300"}, `exit code "300" is not an integer from 0 to 255`},
		{[]string{"runner", "--fault", "stall-loading:3", "--layers", "2"}, "never fires with 2 layers"},
		{[]string{"runner", "--layers", "0"}, "--layers 0: want at least 1"},
		{[]string{"runner", "--warmup-delay", "-1ms"}, "warmup delay -1ms"},
		{[]string{"runner", "--token-delay", "soon"}, `--token-delay "soon" is not a duration: want a number with a unit`},
		{[]string{"runner", "extra"}, "takes no arguments"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != ExitUsage {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, ExitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not contain %q", stderr.String(), tc.want)
			}
			if stdout.Len() != 0 {
				t.Fatalf("stdout %q: the runner's stdout is for frames only", stdout.String())
			}
		})
	}
}

func TestRunnerHelpListsFaults(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"runner", "--help"}, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Fatalf("exit code %d; stderr: %s", code, stderr.String())
	}
	for _, want := range []string{"--fault", "ignore-shutdown:forever", "exo-runner: fault KIND now", "--layer-delay"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("runner --help does not mention %q", want)
		}
	}
}
