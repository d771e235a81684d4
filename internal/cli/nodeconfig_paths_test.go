package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeConfigRelativePaths: a kind's relative dir is taken from the
// config file's directory, and a relative command with a '/' from the
// kind's dir, else from the config file's directory, whatever the node's
// working directory. Before, both were taken from the node's working
// directory: the same config meant other files when the node was started
// from elsewhere (systemd starts it in /).
func TestNodeConfigRelativePaths(t *testing.T) {
	base := t.TempDir() // the config file's directory; the test runs elsewhere
	for _, d := range []string{"work", "bin", "work/bin"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"bin/runner", "work/bin/runner"} {
		if err := os.WriteFile(filepath.Join(base, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	c, err := parseNodeConfig(strings.NewReader(`{"kinds": {
		"a": {"command": "./bin/runner"},
		"b": {"command": "./bin/runner", "dir": "work"},
		"c": {"command": "sh", "dir": "./work/../work", "args": ["x/y.py"]},
		"d": {"command": "/bin/sh", "dir": "/tmp"},
		"e": {"builtin": true, "dir": "work"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := resolveKindPaths(c, filepath.Join(base, "node.json")); err != nil {
		t.Fatal(err)
	}
	for kind, want := range map[string][2]string{
		"a": {filepath.Join(base, "bin/runner"), ""},
		"b": {filepath.Join(base, "work/bin/runner"), filepath.Join(base, "work")},
		"c": {"sh", filepath.Join(base, "work")},
		"d": {"/bin/sh", "/tmp"},
		"e": {"", filepath.Join(base, "work")},
	} {
		if s := c.kinds[kind].Spec; s.Command != want[0] || s.Dir != want[1] {
			t.Errorf("kind %s: command %q, dir %q; want %q, %q", kind, s.Command, s.Dir, want[0], want[1])
		}
	}
	if args := c.kinds["c"].Spec.Args; len(args) != 1 || args[0] != "x/y.py" {
		t.Errorf("args %q: want them as written (the runner reads them from its dir)", args)
	}
	if err := checkKindCommands(c, exec.LookPath); err != nil {
		t.Fatalf("every command and dir exists from the config's directory: %v", err)
	}

	// The node says which file it looked for and what the config wrote.
	conf := filepath.Join(base, "missing.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"js": {"command": "sh", "dir": "models"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"node", "--name", "a", "--config", conf, "--listen", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr); code != ExitUsage {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitUsage, stderr.String())
	}
	want := `kind "js": dir "` + filepath.Join(base, "models") + `" (kinds.js.dir, "models" in the config, relative to the config file's directory) does not exist`
	if !strings.Contains(stderr.String(), want) {
		t.Fatalf("stderr %q\nwant %q", stderr.String(), want)
	}

	// A relative command is named with what it was taken from: the kind's
	// dir when it has one (before, every relative path was said to be
	// "relative to its directory", the config file's, which is wrong for a
	// command taken from the kind's dir).
	if err := os.WriteFile(conf, []byte(`{"kinds": {"a": {"command": "./bin/nope"}, "b": {"command": "./bin/nope", "dir": "work"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"node", "--name", "a", "--config", conf, "--listen", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr); code != ExitUsage {
		t.Fatalf("exit %d, want %d; stderr %s", code, ExitUsage, stderr.String())
	}
	for _, want := range []string{
		`kind "a": command "` + filepath.Join(base, "bin/nope") + `" (kinds.a.command, "./bin/nope" in the config, relative to the config file's directory) does not exist`,
		`kind "b": command "` + filepath.Join(base, "work/bin/nope") + `" (kinds.b.command, "./bin/nope" in the config, relative to kinds.b.dir) does not exist`,
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q\nwant %q", stderr.String(), want)
		}
	}
}
