package conformance

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// checkCommand checks, before any case, that the runner command can be
// started the way os/exec will start it: a name without '/' is looked up
// in this process's PATH; a path (relative ones from dir, when set) must
// be an executable regular file; dir, when set, must be a directory. A
// command that is none of these would fail every case alike with
// "could not start the runner" (the trial: 17 identical failures for
// `conformance -- /no/such`).
func checkCommand(command, dir string) error {
	if dir != "" {
		switch fi, err := os.Stat(dir); {
		case err != nil:
			return fmt.Errorf("working directory %q: %v; give an existing directory", dir, innermost(err))
		case !fi.IsDir():
			return fmt.Errorf("working directory %q is not a directory", dir)
		}
	}
	if !strings.Contains(command, "/") {
		if _, err := exec.LookPath(command); err != nil {
			return fmt.Errorf("runner command %q is not an executable in PATH; give its full path after --, or install it in PATH", command)
		}
		return nil
	}
	path := command
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("runner command %q does not exist; give the runner executable's path after --", command)
	case err != nil:
		return fmt.Errorf("runner command %q cannot be read (%v); fix the path or the file's permissions", command, innermost(err))
	case fi.IsDir():
		return fmt.Errorf("runner command %q is a directory; give the runner executable after --", command)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("runner command %q is not executable (mode %s); chmod +x it, or give its interpreter first, e.g. -- /usr/bin/python3 %s", command, fi.Mode().Perm(), command)
	}
	return nil
}

// innermost returns the error at the bottom of err's chain of *exec.Error
// and *fs.PathError, which name the path again.
func innermost(err error) error {
	for {
		var ee *exec.Error
		var pe *fs.PathError
		switch {
		case errors.As(err, &ee) && ee.Err != nil:
			err = ee.Err
		case errors.As(err, &pe) && pe.Err != nil:
			err = pe.Err
		default:
			return err
		}
	}
}
