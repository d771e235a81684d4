package cli

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemoFlagBoundsNameTheFlagAndRange: each of the demo's size and
// duration flags outside its range is a usage error (exit 2, nothing
// started) that names the flag, the value given and the range it wants.
// The bounds were added after --layers 1000000 loaded for 17 h; until
// this test only the code held them.
func TestDemoFlagBoundsNameTheFlagAndRange(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--tokens", "0"}, "--tokens 0: want 1 to 100000 tokens per task"},
		{[]string{"--tokens", "100001"}, "--tokens 100001: want 1 to 100000 tokens per task"},
		{[]string{"--layers", "0"}, "--layers 0: want 1 to 1000 layers per runner"},
		{[]string{"--layers", "1000000"}, "--layers 1000000: want 1 to 1000 layers per runner"},
		{[]string{"--token-delay", "-1ms"}, "--token-delay -1ms: want 0 or more (e.g. 25ms)"},
		{[]string{"--layer-delay", "-1s"}, "--layer-delay -1s: want 0 or more (e.g. 60ms)"},
		{[]string{"--runners", "33"}, "--runners 33"},
		{[]string{"--nodes", "17"}, "--nodes 17: want 1 (one process) to 16"},
		{[]string{"--nodes", "2", "--tasks", "0"}, "--tasks 0: want 1 to 100000"},
		{[]string{"--nodes", "2", "--tasks", "100001"}, "--tasks 100001: want 1 to 100000"},
		{[]string{"--nodes", "2", "--duration", "0s"}, "--duration 0s: want more than 0 and at most 1h"},
		{[]string{"--nodes", "2", "--duration", "2h"}, "--duration 2h0m0s: want more than 0 and at most 1h"},
		{[]string{"--nodes", "2", "--runners", "9"}, "--runners 9: with --nodes > 1 want 1 to 8 runners per node"},
		{[]string{"--nodes", "2", "--tokens", "5"}, "--tokens works only with --nodes 1"},
		{[]string{"--tasks", "5"}, "--tasks needs --nodes 2 or more"},
	} {
		args := append([]string{"demo"}, c.args...)
		var stdout, stderr bytes.Buffer
		code := Main(args, strings.NewReader(""), &stdout, &stderr)
		if code != ExitUsage || !strings.HasPrefix(stderr.String(), "exo-actors: "+c.want) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d and %q…", args, code, stdout.String(), stderr.String(), ExitUsage, c.want)
		}
	}
}

// TestClusterSummaryCountsLines: the summary's faults line lists the
// kinds in key order ("none" for none), and the page line appears only
// when the web page's buttons acted, with its own counts.
func TestClusterSummaryCountsLines(t *testing.T) {
	for _, c := range []struct {
		faults, page map[string]int
		want         []string
		absent       string
	}{
		{nil, nil, []string{"faults   none; nodes killed 0, restarted 0\n"}, "page "},
		{map[string]int{"kill": 2, "hang": 1}, map[string]int{"stop": 1, "crash": 3},
			[]string{"faults   hang 1, kill 2; nodes killed 0, restarted 0\n",
				"page     crash 3, stop 1 (the web page's buttons: not in the counts above)\n"}, ""},
	} {
		var out bytes.Buffer
		d := &clusterDemo{e: &env{stdout: &out}}
		d.sum.FaultsInjected = c.faults
		d.sum.PageActions = c.page
		d.printSummary()
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("summary lacks %q:\n%s", w, out.String())
			}
		}
		if c.absent != "" && strings.Contains(out.String(), c.absent) {
			t.Errorf("summary has %q with no page actions:\n%s", c.absent, out.String())
		}
	}
}
