package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// checkNodeConfig finishes the check of a config parseNodeConfig read from
// path (c and parseErr, its results): it resolves the kinds' relative
// paths and checks their commands (checkKindCommands), and adds those
// faults to the parser's, so that the one error names every fault, the
// commands of kinds that passed the parser included.
func checkNodeConfig(c *nodeConfig, parseErr error, path string, lookPath func(string) (string, error)) error {
	var cf *configFaults
	if parseErr != nil && !errors.As(parseErr, &cf) {
		return parseErr // not JSON, or not an object: nothing more to check
	}
	if err := resolveKindPaths(c, path); err != nil { // nodeconfig_paths.go
		return err
	}
	if cf == nil {
		return checkKindCommands(c, lookPath)
	}
	return &configFaults{faults: append(cf.faults, kindCommandFaults(c, lookPath)...)}
}

// checkKindCommands checks, before the node starts, that every kind's
// command can be started: the lookup os/exec does when the node spawns it
// (a name without '/' in the node's own PATH; a path, which
// resolveKindPaths made absolute first: relative ones from the kind's dir,
// else the config file's directory), an executable regular file, and,
// for a script, an interpreter its #! line names that exists. A kind that
// could never start would otherwise be accepted and fail for good at each
// spawn (the error handler escalates a missing executable: no restart).
// Every broken kind is named in the one error, numbered when there are
// several. lookPath is exec.LookPath outside tests.
//
// The kind's own env PATH is not where the node looks (os/exec resolves the
// name with the node's PATH before the child's environment exists); a
// command found only there is refused with a hint to give its full path.
func checkKindCommands(c *nodeConfig, lookPath func(string) (string, error)) error {
	errs := kindCommandFaults(c, lookPath)
	if len(errs) == 0 {
		return nil
	}
	// Every broken kind at once: an operator who fixes one should not
	// learn of the next only at the next start.
	return errors.New(joinFaults(errs, "kinds cannot start"))
}

// kindCommandFaults is checkKindCommands' faults, one a kind, in the
// kinds' order.
func kindCommandFaults(c *nodeConfig, lookPath func(string) (string, error)) []string {
	names := make([]string, 0, len(c.kinds))
	for name := range c.kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []string
	for _, name := range names {
		spec := c.kinds[name].Spec
		if err := checkKindDir(name, spec.Dir, c.asWritten("kinds."+name+".dir")); err != nil {
			errs = append(errs, err.Error())
			continue // its command is taken from the dir: no second error
		}
		if spec.Builtin {
			continue
		}
		if err := checkCommand(name, spec.Command, spec.Dir, spec.Env, c.asWritten("kinds."+name+".command"), lookPath); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return errs
}

func checkCommand(kind, command, dir string, env []string, label string, lookPath func(string) (string, error)) error {
	key := fmt.Sprintf("kinds.%s.command", kind)
	what := fmt.Sprintf("kind %q: command %q (%s)", kind, command, label)
	if !strings.Contains(command, "/") {
		if found, err := lookPath(command); err == nil {
			return checkInterpreter(kind, what, found, dir, env, key)
		}
		if dir != "" {
			if fi, err := os.Stat(filepath.Join(dir, command)); err == nil && !fi.IsDir() {
				// A name without '/' is looked up in PATH only, never in
				// dir (a new user's trial wrote "tiny.py" with its dir).
				return fmt.Errorf("%s is not an executable in the node's PATH, which is where a command without '/' is looked up (not kinds.%s.dir); to run %q, set %s to \"./%s\", then start the node again",
					what, kind, filepath.Join(dir, command), key, command)
			}
		}
		if p, ok := proc.EnvPATH(env); ok {
			if found := proc.FindExecutable(command, p, dir); found != "" {
				return fmt.Errorf("%s is not in the node's PATH, only in the PATH that kinds.%s.env sets, which the node does not search: set %s to the full path %q", what, kind, key, found)
			}
		}
		return fmt.Errorf("%s is not an executable in the node's PATH; set %s to the runner's full path, or install it in the node's PATH, then start the node again", what, key)
	}
	path := command
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
		what += fmt.Sprintf(", that is %q from kinds.%s.dir,", path, kind)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist; set %s to the runner executable's path (or install the runner there), then start the node again", what, key)
	case err != nil:
		return fmt.Errorf("%s cannot be read (%v); fix %s or the file's permissions", what, errors.Unwrap(err), key)
	case fi.IsDir():
		return fmt.Errorf("%s is a directory; set %s to the runner executable", what, key)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable (mode %s); chmod +x it, or fix %s", what, fi.Mode().Perm(), key)
	}
	return checkInterpreter(kind, what, path, dir, env, key)
}

// checkInterpreter refuses a script whose #! interpreter is missing: its
// every spawn would fail with "no such file or directory", as if the
// script itself were missing (a trial's runner named a Python that was not
// installed). A relative interpreter is taken from dir, where the runner
// runs; a program run through env ("#!/usr/bin/env python3") is looked up
// in the runner's PATH: the kind's env's, else the node's.
func checkInterpreter(kind, what, path, dir string, env []string, key string) error {
	// The runner's environment: the node's, then the kind's env.
	i := proc.BadInterpreter(path, dir, append(os.Environ(), env...))
	if i == nil {
		return nil
	}
	fix := i.Fix
	if i.NoDir {
		fix = strings.Replace(fix, "give the runner the directory the path starts from (RunnerSpec.Dir)",
			fmt.Sprintf("set kinds.%s.dir to the directory the path starts from", kind), 1)
	} else if i.Missing {
		fix += fmt.Sprintf(" (or set %s to the interpreter and the script to its args)", key)
	}
	return fmt.Errorf("%s cannot run: %s; %s, then start the node again", what, i.Problem, fix)
}

// checkKindDir checks a kind's dir (label names its key, and the value
// the config wrote when it was relative), before its command: a runner started in
// a directory that does not exist fails with ENOENT, which os/exec reports
// as a missing executable (an operator trial: "executable \"node\" not
// found or not executable … check the runner spec's command and PATH",
// for a node on PATH and a dir that did not exist).
func checkKindDir(kind, dir, label string) error {
	if dir == "" {
		return nil
	}
	what := fmt.Sprintf("kind %q: dir %q (%s)", kind, dir, label)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s does not exist; create it, or set kinds.%s.dir to the runner's working directory, then start the node again", what, kind)
	case err != nil:
		return fmt.Errorf("%s cannot be read (%v); fix its permissions or kinds.%s.dir", what, errors.Unwrap(err), kind)
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory; set kinds.%s.dir to the runner's working directory", what, kind)
	}
	return nil
}
