package proc_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// A start that fails for want of file descriptors says so and what to do.
func TestStartErrorOutOfFiles(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE} {
		err := &proc.StartError{Path: "/bin/runner", Err: fmt.Errorf("stdin pipe: %w", os.NewSyscallError("pipe2", errno))}
		got := err.Error()
		for _, want := range []string{`start "/bin/runner"`, errno.Error(), "open-file limit", "ulimit -n", "fewer runners"} {
			if !strings.Contains(got, want) {
				t.Errorf("%v: %q lacks %q", errno, got, want)
			}
		}
	}
	// The forked child's EBADF is its dup3 past the open-file limit (Go
	// moves the descriptors above the highest one open): out of files too.
	child := &proc.StartError{Path: "/bin/runner", Err: &fs.PathError{Op: "fork/exec", Path: "/bin/runner", Err: syscall.EBADF}}
	if !child.OutOfFiles() || !strings.Contains(child.Error(), "ulimit -n") {
		t.Errorf("the child's EBADF: OutOfFiles %v, %q", child.OutOfFiles(), child.Error())
	}
	if (&proc.StartError{Path: "/bin/runner", Err: syscall.EBADF}).OutOfFiles() {
		t.Error("an EBADF not from the forked child counts as out of files")
	}
	other := (&proc.StartError{Path: "/bin/runner", Err: syscall.EPERM}).Error()
	if strings.Contains(other, "ulimit") {
		t.Errorf("EPERM: %q speaks of the file limit", other)
	}
}

// A script whose #! interpreter is missing fails its exec with ENOENT, as
// if the script itself were missing; the error names the interpreter (a
// trial's runner had a #! of a Python that was not installed, and the
// node said only "no such file or directory").
func TestStartErrorNamesAMissingInterpreter(t *testing.T) {
	dir := t.TempDir()
	s := proc.NewSpawner()
	defer s.Close()
	for _, tc := range []struct{ shebang, want string }{
		{"#!/no/such/python9\n", `could not be started: its #! line names /no/such/python9, which does not exist; install it, or fix the script's #! line`},
	} {
		script := filepath.Join(dir, "runner.py")
		if err := os.WriteFile(script, []byte(tc.shebang+"print('hi')\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := s.Start(proc.Spec{Path: script, Env: os.Environ()}, 1, func(any) {}, proc.Options{})
		var se *proc.StartError
		if !errors.As(err, &se) || !se.NotFound || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want a StartError saying %q", tc.shebang, err, tc.want)
		}
	}
	// A script that is missing itself says so, not an interpreter.
	_, err := s.Start(proc.Spec{Path: filepath.Join(dir, "nosuch.py")}, 1, func(any) {}, proc.Options{})
	if err == nil || strings.Contains(err.Error(), "#!") {
		t.Errorf("missing script: %v", err)
	}
}

// MissingInterpreter reads the #! line as the kernel does: a relative
// interpreter is taken from the runner's directory (where the child
// execs), the interpreter ends at the first space or tab (so a Windows
// line ending is part of its name), and an interpreter that is there but
// cannot be run is named as such. A review found a relative interpreter
// taken from the node's directory (a false refusal of #!venv/bin/python
// with the kind's dir) and a CRLF line passed as fine.
func TestMissingInterpreterReadsTheLineAsTheKernelDoes(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "venv", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "venv", "bin", "python"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, shebang, dir, want string
	}{
		{"absolute, there", "#!/bin/sh\n", "", ""},
		{"absolute, with an argument", "#! /bin/sh -e\n", "", ""},
		{"absolute, missing", "#!/no/such/python9 -u\n", "", "its #! line names /no/such/python9, which does not exist"},
		{"relative, there in dir", "#!venv/bin/python\n", dir, ""},
		{"relative, missing in dir", "#!venv/bin/python9\n", dir, "its #! line names venv/bin/python9, which does not exist (a relative interpreter is taken from the runner's directory: " + filepath.Join(dir, "venv/bin/python9") + ")"},
		{"windows line ending", "#!/bin/sh\r\n", "", `its #! line names "/bin/sh\r", which does not exist: the line ends in a carriage return (the script has Windows line endings); convert the script to Unix line endings, e.g. with dos2unix, so that its #! line names /bin/sh`},
		{"no interpreter", "#!  \n", "", "its #! line names no interpreter; write the interpreter's path after the #!"},
		{"absolute, missing: the fix", "#!/no/such/python9\n", "", "; install it, or fix the script's #! line"},
		{"relative, missing in dir: the fix", "#!venv/bin/python9\n", dir, "; install it there, or give the #! line the interpreter's absolute path"},
		{"not executable", "#!" + filepath.Join(dir, "plain") + "\n", "", "which is not an executable file"},
		{"a directory", "#!" + dir + "\n", "", "which is not an executable file"},
		{"no #! line", "print('hi')\n", "", ""},
		// Without a dir the child runs in this process's directory, where a
		// relative interpreter is looked for; the fix names both ways out.
		{"relative, no dir", "#!venv/bin/python9\n", "", "its #! line names venv/bin/python9, which does not exist (a relative interpreter is taken from the runner's directory, and a runner without one runs in its supervisor's: "},
		{"relative, no dir: the fix", "#!venv/bin/python9\n", "", "; give the #! line the interpreter's absolute path, or give the runner the directory the path starts from (RunnerSpec.Dir)"},
		// Through env: env looks the program up in PATH (here this
		// process's); the kernel hands env one argument, spaces and a
		// carriage return included.
		{"env, there", "#!/usr/bin/env sh\n", "", ""},
		{"env -S, not judged", "#!/usr/bin/env -S sh -e\n", "", ""},
		{"env, missing", "#!/usr/bin/env python9\n", "", "its #! line runs python9 through /usr/bin/env, which finds no python9 in the runner's PATH ("},
		{"env, missing: the fix", "#!/usr/bin/env python9\n", "", "; install python9, add its directory to the runner's PATH, or fix the script's #! line"},
		{"env, relative program in dir", "#!/usr/bin/env venv/bin/python\n", dir, ""},
		{"env, options in the name", "#!/usr/bin/env sh -e\n", "", `its #! line hands /usr/bin/env "sh -e" as one program name (the kernel passes everything after the interpreter as one argument); write #!/usr/bin/env -S sh -e, or the interpreter's absolute path and its options after the #!`},
		{"env, windows line ending", "#!/usr/bin/env sh\r\n", "", `its #! line runs "sh\r" through /usr/bin/env, which finds no such program: the line ends in a carriage return (the script has Windows line endings); convert the script to Unix line endings, e.g. with dos2unix, so that its #! line runs sh`},
		// One fix for both: the line ending and what the converted line
		// still names wrong (a new user's trial needed two restarts).
		{"windows line ending and missing", "#!/no/such/python9\r\n", "", `its #! line names "/no/such/python9\r", which does not exist: the line ends in a carriage return (the script has Windows line endings); converted, its #! line names /no/such/python9, which does not exist; convert the script to Unix line endings, e.g. with dos2unix, so that its #! line names /no/such/python9, and install it, or fix the script's #! line`},
		{"windows line ending after an argument", "#!/bin/sh -e\r\n", "", `its #! line hands /bin/sh the argument "-e\r": the line ends in a carriage return`},
		// env -S splits its argument, a carriage return as a blank: such a
		// line runs, and is not refused (a review).
		{"env -S, windows line ending", "#!/usr/bin/env -S sh -e\r\n", "", ""},
		// Nothing but blanks before the carriage return: the fix says
		// what the converted line is, not an empty name (a review).
		{"windows line ending after a blank", "#!/bin/sh \r\n", "", `; convert the script to Unix line endings, e.g. with dos2unix, so that the line hands /bin/sh no argument`},
		{"env, windows line ending after a blank", "#!/usr/bin/env \r\n", "", `; convert the script to Unix line endings, e.g. with dos2unix, and name the program after /usr/bin/env`},
		{"env, a blank before the carriage return", "#!/usr/bin/env sh \r\n", "", `, so that its #! line runs sh`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script := filepath.Join(dir, "runner.py")
			if err := os.WriteFile(script, []byte(tc.shebang+"print('hi')\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			got := proc.MissingInterpreter("runner.py", dir)
			if tc.dir == "" {
				got = proc.MissingInterpreter(script, "")
			}
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("MissingInterpreter(%q) = %q; want %q", tc.shebang, got, tc.want)
			}
		})
	}
}
