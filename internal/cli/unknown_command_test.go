package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestUnknownSubcommandWithFlags: a misspelt subcommand followed by flags
// (of the subcommand meant, which its parent does not have) is reported
// as the unknown command, exit 2, for every command with subcommands.
// Before, cobra parsed the parent's flags first: `exo-actors cluster stats
// --cluster trial` said "unknown flag: --cluster" (a new user's trial),
// and `cluster stats --help` printed the cluster's help and exited 0.
func TestUnknownSubcommandWithFlags(t *testing.T) {
	code, stderr := runCLI(t, "cluster", "stats", "--cluster", "trial")
	const want = "exo-actors: unknown command \"stats\" for exo-actors cluster: its commands are shutdown, status (did you mean status?) (see 'exo-actors cluster --help')\n"
	if code != ExitUsage || stderr != want {
		t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, want)
	}

	var parents []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasAvailableSubCommands() {
			parents = append(parents, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot(&env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}))
	var paths []string
	for _, p := range parents {
		paths = append(paths, p.CommandPath())
	}
	for _, must := range []string{"exo-actors", "exo-actors cluster", "exo-actors remote"} {
		if !strings.Contains(","+strings.Join(paths, ",")+",", ","+must+",") {
			t.Fatalf("commands with subcommands %q lack %q", paths, must)
		}
	}
	for _, p := range parents {
		path := strings.Fields(p.CommandPath())[1:]
		want := `exo-actors: unknown command "nosuch"`
		if p.HasParent() {
			want += " for " + p.CommandPath() + ": its commands are "
		}
		for _, flags := range [][]string{
			{"--cluster", "trial"}, {"--no-such-flag"}, {"--node=127.0.0.1:1", "--timeout", "1s"}, {"--help"}, {"-h"},
		} {
			args := append(append(append([]string(nil), path...), "nosuch"), flags...)
			code, stderr := runCLI(t, args...)
			if code != ExitUsage || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("%q: exit %d, stderr %q; want %d and %q…", args, code, stderr, ExitUsage, want)
			}
		}
	}
	// A help flag before a real subcommand is no unknown command (a
	// review: `cluster --help status` said "unknown command \"status\"",
	// exit 2, where it printed help before).
	for _, args := range [][]string{{"cluster", "--help", "status"}, {"cluster", "-h", "status"}, {"remote", "--help", "run"}, {"--help", "cluster"}} {
		if code, stderr := runCLI(t, args...); code != ExitOK || stderr != "" {
			t.Errorf("%q: exit %d, stderr %q; want help, exit 0", args, code, stderr)
		}
	}
}

// TestUnknownCommandSuggestsTheNearest: a misspelt command, top level or
// a subcommand, is named with the nearest command, as a misspelt flag is
// (TestUnknownFlagSuggestsTheNearest); before, `exo-actors clster status`
// said only `unknown command "clster"` (a new user's trial).
func TestUnknownCommandSuggestsTheNearest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"clster", "status"}, "exo-actors: unknown command \"clster\" (did you mean cluster?) (see 'exo-actors --help')\n"},
		{[]string{"clster", "status", "--cluster", "trial"}, "exo-actors: unknown command \"clster\" (did you mean cluster?) (see 'exo-actors --help')\n"},
		{[]string{"--log-level", "warn", "remot"}, "exo-actors: unknown command \"remot\" (did you mean remote?) (see 'exo-actors --help')\n"},
		{[]string{"cluster", "stats"}, "exo-actors: unknown command \"stats\" for exo-actors cluster: its commands are shutdown, status (did you mean status?) (see 'exo-actors cluster --help')\n"},
		{[]string{"remote", "--node", "127.0.0.1:1", "stpo"}, "exo-actors: unknown command \"stpo\" for exo-actors remote: its commands are run, shutdown, status, stop (did you mean stop?) (see 'exo-actors remote --help')\n"},
		// Nothing near: no suggestion.
		{[]string{"zzzzzz"}, "exo-actors: unknown command \"zzzzzz\" (see 'exo-actors --help')\n"},
		{[]string{"remote", "nosuch"}, "exo-actors: unknown command \"nosuch\" for exo-actors remote: its commands are run, shutdown, status, stop (see 'exo-actors remote --help')\n"},
	} {
		code, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || stderr != tc.want {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, ExitUsage, tc.want)
		}
	}
}
