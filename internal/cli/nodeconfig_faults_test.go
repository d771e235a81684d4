package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeConfigNamesEveryFault: a config with several faults names them
// all in the one error, the wrong JSON types and unknown fields (json
// reports only the first) with the checks' faults and the kinds' commands,
// each key in the dotted notation of every config error (kinds.x.env, not
// kinds[x].env). Before, a new user's kind x with "command": "/no/such" and
// "env": {"A": "b"} was told only `kinds[x].env: …`.
func TestNodeConfigNamesEveryFault(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "two.json")
	if err := os.WriteFile(cfg, []byte(`{"kinds": {"x": {"command": "/no/such", "env": {"A": "b"}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stderr := runCLI(t, "node", "--name", "n", "--listen", "127.0.0.1:0", "--config", cfg)
	want := "exo-actors: --config " + cfg + `: 2 faults in the config: (1) kinds.x.env: want a list of "KEY=VALUE" strings, e.g. ["MODEL=3b"], got a JSON object` +
		` (2) kind "x": command "/no/such" (kinds.x.command) does not exist; set kinds.x.command to the runner executable's path (or install the runner there); fix them, then start the node again` +
		` (see docs/remote.md, "The node config")` + "\n"
	if code != ExitUsage || stderr != want {
		t.Errorf("exit %d, stderr\n%q\nwant %d and\n%q", code, stderr, ExitUsage, want)
	}

	in := `{"kinds": {"zeta": {"command": "x", "env": {"A": "1"}}, "alpha": {"command": 5}, "Bad": {"builtin": true}, "echo": {"builtin": true, "max_runner": 1}},` +
		` "tasks": {"queue": -1, "in_flight": "2"}, "timeouts": {"handshake": 10}, "sesion_timeout": "1s", "restarts": {"max": -2}}`
	_, err := parseNodeConfig(strings.NewReader(in))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{
		"9 faults in the config: (1) ",
		`kinds.zeta.env: want a list of "KEY=VALUE" strings`,
		`kinds.alpha.command: want a string, got a JSON number`,
		`unknown field "max_runner" in kinds.echo`,
		`tasks.in_flight: want a whole number, got JSON string`,
		`timeouts.handshake: want a duration string, e.g. "10s", got a JSON number`,
		`unknown field "sesion_timeout" at the top level`,
		`kind "Bad": want 1-40 lowercase`,
		"tasks.queue -1: want 0 (default: 64) or more",
		"restarts.max -2: want -1",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%s", w, err)
		}
	}
	for in, want := range map[string]string{
		`{"kinds": []}`:       `kinds: want a JSON object, got a JSON array`,
		`{"kinds": {"a": 5}}`: `kinds.a: want a JSON object, got a JSON number`,
		`{"kinds": {"a": {"args": ["x", 1], "builtin": true}}}`: `kinds.a.args: want a list of strings, e.g. ["--layers", "2"], got JSON number in the list`,
		// The check of a value of the wrong type saw the zero json left
		// there: `(2) health.healthy 0: want a score in (0, 1]`, a value
		// nobody wrote; and "a float64" named Go's type (an SRE's trial).
		`{"kinds": {"a": {"builtin": true}}, "health": {"healthy": "0.8"}}`: `health.healthy: want a number, e.g. 0.5, got JSON string`,
		`{"kinds": {"a": {"builtin": true}}, "health": {"cpu_limit": "2", "interval": "-1s"}}`: `2 faults in the config: (1) health.cpu_limit: want a number, e.g. 0.5, got JSON string ` +
			`(2) health.interval: "-1s": want a positive duration (e.g. "10s"), or leave the key out for the default; fix them, then start the node again`,
	} {
		if _, err := parseNodeConfig(strings.NewReader(in)); err == nil || err.Error() != want {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
	// A wrong-typed key that is not what checkKind reads hides none of its
	// faults; a fault elsewhere hides no "no runner kinds" (a review).
	for in, want := range map[string]string{
		`{"kinds": {"x": {"env": {"A": "1"}}}}`: `2 faults in the config: (1) kinds.x.env: want a list of "KEY=VALUE" strings, e.g. ["MODEL=3b"], got a JSON object (2) kind "x" (kinds.x): no "command"`,
		`{"kinds": null, "max_runners": "a"}`:   `2 faults in the config: (1) max_runners: want a whole number, got JSON string (2) no runner kinds`,
	} {
		if _, err := parseNodeConfig(strings.NewReader(in)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: error %v, want it to begin %q", in, err, want)
		}
	}
	// "command": 5 is left out of the kind: its "no command" would be a
	// consequence, not a second fault.
	if strings.Contains(err.Error(), `kind "alpha" (kinds.alpha): no "command"`) || strings.Contains(err.Error(), "kinds[") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error: %s", err)
	}
}
