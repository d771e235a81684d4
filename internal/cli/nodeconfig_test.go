package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestParseNodeConfig(t *testing.T) {
	c, err := parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1"], "max_runners": 2},
		"llama": {"command": "/usr/bin/llama-runner", "env": ["MODEL=3b"]}},
		"tasks": {"in_flight": 2, "queue": 8, "ack_timeout": "3s"}, "max_message": 65536, "max_runners": 12,
		"cancel_tasks_on_client_loss": true, "session_timeout": "5s",
		"restarts": {"max": 3, "window": "20s", "backoff_base": "100ms", "backoff_max": "1s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.kinds) != 2 || c.kinds["echo"].MaxRunners != 2 || c.kinds["llama"].Spec.Command != "/usr/bin/llama-runner" ||
		c.tasks.InFlight != 2 || c.tasks.Queue != 8 || c.maxMessage != 65536 || c.maxRunners != 12 || !c.cancelOnLoss || c.sessionTimeout.String() != "5s" ||
		c.policy.Intensity.MaxRestarts != 3 || c.policy.Intensity.Window.String() != "20s" || c.policy.Backoff.Base.String() != "100ms" ||
		c.policy.Backoff.Max.String() != "1s" {
		t.Fatalf("parsed %+v", c)
	}
}

// max_message is a whole number of bytes or a size with a unit; KiB, MiB
// and GiB are powers of 1024, KB, MB and GB powers of 1000.
func TestParseNodeConfigMaxMessageSize(t *testing.T) {
	for in, want := range map[string]int{`65536`: 65536, `"4MiB"`: 4 << 20, `"0"`: 0, `0`: 0, `"2MB"`: 2e6, `"512KiB"`: 512 << 10, `null`: 0} {
		c, err := parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}}, "max_message": ` + in + `}`))
		if err != nil || c.maxMessage != want {
			t.Errorf("max_message %s: %v, %v; want %d", in, c, err, want)
		}
	}
}

func TestParseNodeConfigTimeouts(t *testing.T) {
	c, err := parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}},
		"timeouts": {"handshake": "10s", "heartbeat_interval": "1s", "heartbeat_timeout": "20s", "progress_timeout": "2m",
		"loading_stall": "5m", "exit_grace": "4s", "stop_grace": "6s", "term_wait": "3s", "drain": "2s", "stop_drain": "1m", "frame_stall": "2s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := c.timeouts
	if got.Handshake != 10*time.Second || got.HeartbeatInterval != time.Second || got.HeartbeatTimeout != 20*time.Second ||
		got.ProgressTimeout != 2*time.Minute || got.LoadingStall != 5*time.Minute || got.ExitGrace != 4*time.Second ||
		got.StopGrace != 6*time.Second || got.TermWait != 3*time.Second || got.Drain != 2*time.Second ||
		got.StopDrain != time.Minute || got.FrameStall != 2*time.Second {
		t.Fatalf("timeouts %+v", got)
	}
	c, err = parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}}, "timeouts": {"heartbeat_timeout": "30s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.timeouts.HeartbeatTimeout != 30*time.Second || c.timeouts.Handshake != 0 {
		t.Fatalf("a key left out must stay zero (the default): %+v", c.timeouts)
	}
}

func TestParseNodeConfigErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "empty config"},
		// A truncated file says so and where it ends (it said "bad
		// config: unexpected EOF").
		{`{`, "the JSON ends early (truncated JSON?) after byte 1: a value, array or object is not closed; check the end of the file"},
		{`{"kinds": {"echo": {"builtin": tr`, "the JSON ends early (truncated JSON?) after byte 33"},
		{`{"kinds": {}}`, "no runner kinds"},
		{`{"kinds": {"echo": {"builtin": true}}} {}`, "trailing data"},
		{`{"kinds": {"echo": {"bultin": true}}}`, `unknown field "bultin" in kinds.echo: the fields there are builtin, command, args, env, dir, max_runners (did you mean "builtin"?)`},
		{`{"kinds": {"echo": {"builtin": true, "max_runner": 2}}}`, `unknown field "max_runner" in kinds.echo: the fields there are builtin, command, args, env, dir, max_runners (did you mean "max_runners"?)`},
		{`{"kinds": {"echo": {"builtin": true}}, "sesion_timeout": "1s"}`, `unknown field "sesion_timeout" at the top level: the fields there are kinds, tasks, max_message, max_runners, cancel_tasks_on_client_loss, session_timeout, restarts, timeouts, health, retention, shutdown (did you mean "session_timeout"?)`},
		// A key allowed at the top level, misplaced in a kind as well: the
		// kind's is the unknown one (it was "at the top level … (did you
		// mean \"timeouts\"?)").
		{`{"kinds": {"echo": {"builtin": true, "timeouts": {"handshake": "5s"}}}, "timeouts": {"handshake": "5s"}}`, `unknown field "timeouts" in kinds.echo: the fields there are builtin, command, args, env, dir, max_runners`},
		// The same in the health and retention sections (a review).
		{`{"kinds": {"echo": {"builtin": true}}, "health": {"interval": "1s", "webhook": {"timeout": "1s", "interval": "1s"}}}`, `unknown field "interval" in health.webhook: the fields there are timeout, retries, retry_delay, queue`},
		{`{"kinds": {"echo": {"builtin": true}}, "health": {"webhook": {"timeout": "1s"}}, "timeouts": {"timeout": "1s"}}`, `unknown field "timeout" in timeouts: the fields there are handshake,`},
		{`{"kinds": {"echo": {"builtin": true}}, "health": {"interval": "1s"}, "retention": {"interval": "1s"}}`, `unknown field "interval" in retention: the fields there are keep_removed, removed_ttl`},
		{`{"kinds": {"echo": {"builtin": true}}, "tasks": {"inflight": 2}}`, `unknown field "inflight" in tasks: the fields there are in_flight, queue, ack_timeout (did you mean "in_flight"?)`},
		{`{"kinds": {"echo": {"builtin": true}}, "restarts": {"xyzzy": 2}}`, `unknown field "xyzzy" in restarts: the fields there are max, window, backoff_base, backoff_max`},
		{`{"kinds": {"Echo": {"builtin": true}}}`, `kind "Echo": want 1-40 lowercase`},
		{`{"kinds": {"echo": {}}}`, `kind "echo" (kinds.echo): no "command": set "command" to the runner executable, or "builtin": true for the built-in runner`},
		{`{"kinds": {"echo": {"builtin": true, "command": "/bin/sh"}}}`, `kind "echo" (kinds.echo): both "builtin": true and "command" "/bin/sh" are set: keep one`},
		{`{"kinds": {"echo": {"command": "x", "env": ["NOEQUALS"]}}}`, `kind "echo" (kinds.echo): "env" entry "NOEQUALS": want "KEY=VALUE"`},
		{`{"kinds": {"echo": {"command": "x", "max_runners": -1}}}`, "max_runners -1"},
		{`{"kinds": {"echo": {"command": 5}}}`, `kinds.echo.command: want a string, got a JSON number`},
		{`{"kinds": {"echo": {"command": "x"}, "nodejs": {"command": "node", "env": {"A": "1"}}}}`,
			`kinds.nodejs.env: want a list of "KEY=VALUE" strings, e.g. ["MODEL=3b"], got a JSON object`},
		{`{"kinds": {"echo": {"command": "x", "args": "--layers 2"}}}`, `kinds.echo.args: want a list of strings, e.g. ["--layers", "2"], got JSON string`},
		// Two kinds with type errors: both are named, zeta's env first,
		// as in the file (json reported only that one, TestNodeConfigNamesEveryFault).
		{`{"kinds": {"zeta": {"command": "x", "env": {"A": "1"}}, "alpha": {"command": 5}}}`,
			`kinds.zeta.env: want a list of "KEY=VALUE" strings, e.g. ["MODEL=3b"], got a JSON object`},
		{`{"kinds": {"echo": {"command": "x"}}, "timeouts": {"heartbeat_timeout": "abc"}}`, `timeouts.heartbeat_timeout: "abc" is not a duration (want e.g. "10s")`},
		{`{"kinds": {"echo": {"command": "x"}}, "timeouts": {"handshake": "0s"}}`, `timeouts.handshake: "0s": want a positive duration (e.g. "10s")`},
		{`{"kinds": {"echo": {"command": "x"}}, "timeouts": {"heartbeat": "10s"}}`, `unknown field "heartbeat" in timeouts: the fields there are handshake, heartbeat_interval, heartbeat_timeout, progress_timeout, loading_stall, exit_grace, stop_grace, term_wait, drain, stop_drain, frame_stall`},
		{`{"kinds": {"echo": {"command": "x"}}, "timeouts": 5}`, `timeouts: want a JSON object, got a JSON number`},
		// Not an object at all: the message names the document, not an
		// empty field (it read ": want a JSON object, got a JSON array").
		{`[]`, `the config must be a JSON object like {"kinds": {"echo": {"builtin": true}}}, got a JSON array`},
		{`"kinds"`, `the config must be a JSON object like {"kinds": {"echo": {"builtin": true}}}, got JSON string`},
		{`{"kinds": {"echo": {"command": "x"}}, "timeouts": {"handshake": 10}}`, `timeouts.handshake: want a duration string, e.g. "10s", got a JSON number`},
		{`{"kinds": {"echo": {"command": "x"}}, "session_timeout": 30}`, `session_timeout: want a duration string, e.g. "10s", got a JSON number`},
		{`{"kinds": {"echo": {"command": "x"}}, "max_message": -5}`, "max_message -5"},
		{`{"kinds": {"echo": {"command": "x"}}, "max_runners": -2}`, "max_runners -2: want 0 (the default, 256 live runners of all kinds), more, or -1 (no bound)"},
		{`{"kinds": {"echo": {"command": "x"}}, "tasks": {"queue": -1}}`, "tasks.queue -1: want 0 (default: 64) or more"},
		// The key named is the one set (before: "tasks: in_flight -3, queue
		// 0", a key the user never set, and no key path).
		{`{"kinds": {"echo": {"command": "x"}}, "tasks": {"in_flight": -3}}`, "tasks.in_flight -3: want 0 (default: 1) or more"},
		// max_message takes a size as rss_limit does (before: "want a
		// whole number, got JSON string" for "4MiB").
		{`{"kinds": {"echo": {"command": "x"}}, "max_message": "lots"}`, `max_message "lots": want a positive size like "8GiB", "512MiB" or a number of bytes`},
		{`{"kinds": {"echo": {"command": "x"}}, "max_message": "65MiB"}`, `max_message "65MiB" (68157440 bytes): want 0 (default 4 MiB) to 67108864 bytes (64MiB)`},
		{`{"kinds": {"echo": {"command": "x"}}, "max_message": 1.5}`, `max_message 1.5: want a whole number of bytes, or a size like "4MiB"`},
		{`{"kinds": {"echo": {"command": "x"}}, "max_message": true}`, `max_message true: want a whole number of bytes, or a size like "4MiB"`},
		{`{"kinds": {"echo": {"command": "x"}}, "tasks": {"ack_timeout": "soon"}}`, `tasks.ack_timeout "soon"`},
		{`{"kinds": {"echo": {"command": "x"}}, "session_timeout": "-1s"}`, `session_timeout "-1s"`},
		{`{"kinds": {"echo": {"command": "x"}}, "restarts": {"max": -2}}`, "restarts.max -2: want -1"},
		{`{"kinds": {"echo": {"command": "x"}}, "restarts": {"window": "often"}}`, `restarts.window "often"`},
		{`{"kinds": {"echo": {"command": "x"}}, "restarts": {"backoff_base": "0s"}}`, `restarts.backoff_base "0s"`},
		{`{"kinds": {"echo": {"command": "x"}}, "restarts": {"backoff_base": "10s", "backoff_max": "1s"}}`, `restarts.backoff_base 10s is above restarts.backoff_max 1s`},
		// The "shutdown" section (the trial: `{"shutdown":{"draining":"5s"}}` was an unknown field).
		{`{"kinds": {"echo": {"command": "x"}}, "shutdown": {"draining": "-5s"}}`, `shutdown.draining: "-5s": want a positive duration (e.g. "10s"), or leave the key out for the default`},
		{`{"kinds": {"echo": {"command": "x"}}, "shutdown": {"signaling": "0s"}}`, `shutdown.signaling: "0s": want a positive duration`},
		{`{"kinds": {"echo": {"command": "x"}}, "shutdown": {"closing": "soon"}}`, `shutdown.closing: "soon" is not a duration (want e.g. "10s")`},
		{`{"kinds": {"echo": {"command": "x"}}, "shutdown": {"draining": 5}}`, `shutdown.draining: want a duration string, e.g. "10s", got a JSON number`},
		{`{"kinds": {"echo": {"command": "x"}}, "shutdown": {"drain": "5s"}}`, `unknown field "drain" in shutdown: the fields there are signaling, draining, closing (did you mean "draining"?)`},
		{`{"kinds": {"echo": {"command": "x"}}, "shutdown": {"closing": "4s"}, "timeouts": {"stop_grace": "3s"}}`,
			`shutdown.closing (4s) must be at least timeouts.stop_grace (3s) + timeouts.term_wait (2s, the default) = 5s: the CLOSING deadline would SIGKILL a runner before its stop reaches SIGTERM and report it forced; raise shutdown.closing to 5s or more (or leave the key out for its default), or lower timeouts.stop_grace or timeouts.term_wait`},
	} {
		_, err := parseNodeConfig(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseNodeConfig(f *testing.F) {
	f.Add(`{"kinds": {"echo": {"builtin": true}}}`)
	f.Add(`{"kinds": {"a": {"command": "/x", "args": ["1"], "env": ["A=B"]}}, "tasks": {"queue": 3}}`)
	f.Add(`{"kinds": {"a-1": {"command": "x", "max_runners": 3}}, "max_message": 100, "session_timeout": "1s"}`)
	f.Add(`[]`)
	f.Add(`{"kinds": {"a": {"builtin": true}}, "kinds": {"b": {"builtin": true}}}`)
	f.Add(`{"kinds": {"a": {"builtin": true, "max_runner": 1}}, "tasks": {"x": 1}}`)
	f.Add(`{"kinds": {"a": {"builtin": true}}, "health": {"interval": "1s", "rss_limit": "1GiB", "cpu_limit": 2, "webhook": {"queue": 8, "retries": 0}}, "retention": {"keep_removed": 1}}`)
	f.Add(`{"kinds": {"a": {"builtin": true}}, "health": {"healthy": 0.5, "degraded": 0.6, "heartbeat_grace": "9s"}}`)
	f.Add(`{"kinds": {"a": {"builtin": true}}, "shutdown": {"signaling": "1s", "draining": "5s", "closing": "6s"}, "timeouts": {"stop_grace": "4s"}}`)
	f.Fuzz(func(t *testing.T, in string) {
		c, err := parseNodeConfig(strings.NewReader(in))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("a two-line error: %q", err)
			}
			return
		}
		if len(c.kinds) == 0 {
			t.Fatal("a config without kinds was accepted")
		}
		// What the parser accepts, the node accepts: its "health" passes
		// the monitor's own validation (no exit-1 surprise at start).
		if err := healthValidate(c); err != nil {
			t.Fatalf("accepted %q, but the monitor refuses it: %v", in, err)
		}
		// Its "shutdown" passes the node's own check too.
		if err := actors.ShutdownDeadlines(c.shutdown).CheckFits(actors.RunnerTimeouts(c.timeouts), nil); err != nil {
			t.Fatalf("accepted %q, but the node refuses its shutdown deadlines: %v", in, err)
		}
		for name, k := range c.kinds {
			if k.Spec.Kind != name || k.Spec.Validate() != nil || k.MaxRunners < 0 {
				t.Fatalf("kind %q accepted as %+v", name, k)
			}
		}
	})
}

func TestNodeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(`{"kinds": {"echo": {"comand": "x"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := testutil.WritePKI(dir, "a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := testutil.WritePKI(t.TempDir(), "b", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		// A key that cannot be loaded with its certificate is the node's,
		// as its certificate's own checks are (before: no "node a:").
		{[]string{"node", "--name", "a", "--config", good, "--tls-ca", a.CA, "--tls-cert", a.Cert, "--tls-key", b.Key},
			"exo-actors: node a: TLS certificate " + a.Cert + " / key " + b.Key + ": tls: private key does not match public key: the key is not the one"},
		{[]string{"node", "--name", "a"}, "--config is required"},
		{[]string{"node", "--name", "a", "--config", ""}, `--config "" is empty (a variable that expanded to nothing?)`},
		{[]string{"node", "--config", good}, "--name is required"},
		{[]string{"node", "--name", "bad name!", "--config", good}, `--name "bad name!": want 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. --name node-a)`},
		{[]string{"node", "--name", "a", "--config", filepath.Join(dir, "missing.json")}, "no such file"},
		{[]string{"node", "--name", "a", "--config", bad}, `unknown field "comand"`},
		{[]string{"node", "--name", "a", "--config", good, "--listen", "localhost"}, "want HOST:PORT"},
		{[]string{"node", "--name", "a", "--config", good, "--listen", "localhost:1"}, "must be an IP address"},
		{[]string{"node", "--name", "a", "--config", good, "--tls-ca", "ca.pem"}, "TLS needs all three of --tls-ca, --tls-cert and --tls-key, but --tls-cert and --tls-key are missing"},
		{[]string{"node", "--name", "a", "--config", good, "--tls-ca", "ca.pem", "--tls-key", "k.pem"}, "but --tls-cert is missing; give it, or none of the three for plaintext"},
		{[]string{"node", "--name", "a", "--config", good, "--tls-require-client-cert"}, "needs --tls-ca"},
		{[]string{"node", "--name", "a", "--config", good, "--ui", "0.0.0.0:8080"}, "--ui-allow-remote"},
		{[]string{"node", "--name", "a", "--config", good, "--ui", "8080"}, "want host:port"},
		{[]string{"node", "--name", "a", "--config", good, "--ui-actions"}, "need --ui ADDR"},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := Main(tc.args, strings.NewReader(""), &stdout, &stderr); code != ExitUsage {
				t.Fatalf("exit code %d, want %d; stderr %s", code, ExitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "\n") != 1 {
				t.Fatalf("stderr %q: want one line with %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestNodeRefusesUnstartableCommand: a kind whose command can never start
// is refused when the node starts, naming the kind, the command and the
// config key, instead of failing for good at each spawn.
func TestNodeRefusesUnstartableCommand(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noInterp := filepath.Join(dir, "runner.py")
	if err := os.WriteFile(noInterp, []byte("#!/no/such/python9\nprint()\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ghost-runner-x7"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A script whose #! names an interpreter relative to the kind's dir
	// (a virtualenv's python, say) runs there: the check takes it from dir.
	if err := os.WriteFile(filepath.Join(bin, "venv-runner"), []byte("#!./ghost-runner-x7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	crlf := filepath.Join(dir, "crlf.sh")
	if err := os.WriteFile(crlf, []byte("#!/bin/sh\r\necho\r\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The env form: env starts, then exits 127 at each spawn; a new
	// user's trial saw such a node start, and its runner fail for good
	// with env's "use -[v]S to pass options in shebang lines".
	envCRLF := filepath.Join(dir, "env-crlf.py")
	if err := os.WriteFile(envCRLF, []byte("#!/usr/bin/env python9\r\nprint()\r\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	envMissing := filepath.Join(dir, "env-missing.py")
	if err := os.WriteFile(envMissing, []byte("#!/usr/bin/env ghost-runner-x7\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, kind string
		want       []string
	}{
		{"missing", `{"command": "/no/such/runner"}`, []string{`kind "ghost": command "/no/such/runner" (kinds.ghost.command) does not exist`, "set kinds.ghost.command to the runner executable's path"}},
		{"not in PATH", `{"command": "no-such-runner-x7"}`, []string{`command "no-such-runner-x7" (kinds.ghost.command) is not an executable in the node's PATH`, "full path"}},
		{"only in the kind's PATH", `{"command": "ghost-runner-x7", "env": ["PATH=` + bin + `"]}`, []string{"only in the PATH that kinds.ghost.env sets", `to the full path "` + filepath.Join(bin, "ghost-runner-x7") + `"`}},
		{"not executable", `{"command": "` + plain + `"}`, []string{"is not executable (mode ", "chmod +x it, or fix kinds.ghost.command"}},
		{"a directory", `{"command": "` + bin + `"}`, []string{"is a directory; set kinds.ghost.command"}},
		{"a script whose interpreter is missing", `{"command": "` + noInterp + `"}`, []string{"cannot run: its #! line names /no/such/python9, which does not exist; install it, or fix the script's #! line (or set kinds.ghost.command to the interpreter and the script to its args), then start the node again"}},
		// Each #! problem ends with its own fix (before, a CRLF line
		// ended "install it, or fix the script's #! line", and a relative
		// interpreter without a dir did not say that setting dir helps).
		{"a script with Windows line endings", `{"command": "` + crlf + `"}`, []string{`cannot run: its #! line names "/bin/sh\r", which does not exist: the line ends in a carriage return (the script has Windows line endings); convert the script to Unix line endings, e.g. with dos2unix, so that its #! line names /bin/sh, then start the node again`}},
		{"env, Windows line endings and a missing program", `{"command": "` + envCRLF + `", "env": ["PATH=/usr/bin:/bin"]}`, []string{`cannot run: its #! line runs "python9\r" through /usr/bin/env, which finds no such program: the line ends in a carriage return (the script has Windows line endings); converted, its #! line runs python9 through /usr/bin/env, which finds no python9 in the runner's PATH (/usr/bin:/bin); convert the script to Unix line endings, e.g. with dos2unix, so that its #! line runs python9, and install python9, add its directory to the runner's PATH, or fix the script's #! line (or set kinds.ghost.command to the interpreter and the script to its args), then start the node again`}},
		// env looks the program up in the runner's PATH: the kind's env's.
		{"env, a program not in the runner's PATH", `{"command": "` + envMissing + `", "env": ["PATH=/usr/bin:/bin"]}`, []string{"finds no ghost-runner-x7 in the runner's PATH (/usr/bin:/bin)"}},
		{"a relative interpreter without dir", `{"command": "` + filepath.Join(bin, "venv-runner") + `"}`, []string{"cannot run: its #! line names ./ghost-runner-x7, which does not exist (a relative interpreter is taken from the runner's directory, and a runner without one runs in its supervisor's: ", "; give the #! line the interpreter's absolute path, or set kinds.ghost.dir to the directory the path starts from, then start the node again"}},
		{"a relative interpreter missing from dir", `{"command": "` + filepath.Join(bin, "venv-runner") + `", "dir": "` + dir + `"}`, []string{"cannot run: its #! line names ./ghost-runner-x7, which does not exist (a relative interpreter is taken from the runner's directory: " + filepath.Join(dir, "ghost-runner-x7") + ")"}},
		{"a bare name that is in dir", `{"command": "runner.py", "dir": "` + dir + `"}`, []string{`is not an executable in the node's PATH, which is where a command without '/' is looked up (not kinds.ghost.dir); to run "` + noInterp + `", set kinds.ghost.command to "./runner.py", then start the node again`}},
		{"relative from dir", `{"command": "./nope", "dir": "` + dir + `"}`, []string{`that is "` + filepath.Join(dir, "nope") + `" from kinds.ghost.dir`, "does not exist"}},
		{"dir missing", `{"command": "sh", "dir": "/no/such/dir"}`, []string{`kind "ghost": dir "/no/such/dir" (kinds.ghost.dir) does not exist`, "create it, or set kinds.ghost.dir"}},
		{"dir is a file", `{"command": "sh", "dir": "` + plain + `"}`, []string{`(kinds.ghost.dir) is not a directory`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}, "ghost": ` + tc.kind + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			err = checkKindCommands(c, exec.LookPath)
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v: want one line", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want %q", err, w)
				}
			}
		})
	}
	// Several broken kinds are named at once, numbered, in one line
	// (before, only the first: the operator learned of the next at the
	// next start).
	c, err := parseNodeConfig(strings.NewReader(`{"kinds": {"a": {"command": "/no/such/runner"}, "b": {"builtin": true},
		"c": {"command": "sh", "dir": "/no/such/dir"}, "d": {"command": "` + noInterp + `"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	err = checkKindCommands(c, exec.LookPath)
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v: want one line", err)
	}
	for _, w := range []string{`3 kinds cannot start: (1) kind "a": command "/no/such/runner"`, ` (2) kind "c": dir "/no/such/dir"`, ` (3) kind "d": command "` + noInterp + `"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q: want %q", err, w)
		}
	}
	// "then start the node again" once, at the end (a review).
	if n := strings.Count(err.Error(), "start the node again"); n != 1 || !strings.HasSuffix(err.Error(), "; fix them, then start the node again") {
		t.Errorf("error %q: want one closing \"fix them, then start the node again\"", err)
	}

	// Startable commands pass: a path, a name in PATH, a path relative to dir.
	c, err = parseNodeConfig(strings.NewReader(`{"kinds": {"a": {"command": "/bin/sh"}, "b": {"command": "sh"},
		"c": {"command": "./ghost-runner-x7", "dir": "` + bin + `"}, "d": {"builtin": true},
		"e": {"command": "./venv-runner", "dir": "` + bin + `"},
		"f": {"command": "` + envMissing + `", "env": ["PATH=/usr/bin:` + bin + `"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkKindCommands(c, exec.LookPath); err != nil {
		t.Fatal(err)
	}

	// The node refuses to start (exit 2), before it listens.
	conf := filepath.Join(dir, "ghost.json")
	if err := os.WriteFile(conf, []byte(`{"kinds":{"ghost":{"command":"/no/such/runner"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"node", "--name", "a", "--config", conf, "--listen", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr); code != ExitUsage {
		t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, ExitUsage, stdout.String(), stderr.String())
	}
	if want := `kind "ghost": command "/no/such/runner" (kinds.ghost.command) does not exist`; !strings.Contains(stderr.String(), want) || stdout.Len() != 0 {
		t.Fatalf("stdout %q stderr %q: want only %q", stdout.String(), stderr.String(), want)
	}
}

// TestNodeConfigErrorLine: a config mistake prints one line that says
// where it is and points to the config's documentation, not to --help
// (which does not describe the config).
func TestNodeConfigErrorLine(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "typo.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true, "max_runner": 2}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"node", "--name", "a", "--config", conf}, strings.NewReader(""), &stdout, &stderr); code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
	want := "exo-actors: --config " + conf + `: unknown field "max_runner" in kinds.echo: the fields there are builtin, command, args, env, dir, max_runners (did you mean "max_runners"?) (see docs/remote.md, "The node config")` + "\n"
	if stderr.String() != want {
		t.Fatalf("stderr %q\nwant   %q", stderr.String(), want)
	}
}
