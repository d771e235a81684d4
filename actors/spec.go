package actors

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/internal/proc"
)

// RunnerSpec says how to start a runner.
type RunnerSpec struct {
	// Kind names what the runner is, e.g. "llama-3b"; it starts the runner's ID
	// ("llama-3b-4f9c2a"). Letters, digits and '-' only; required.
	Kind string
	// Builtin runs this project's own built-in runner (`exo-actors runner`)
	// with Args appended; Command must then be empty.
	Builtin bool
	// Command is the executable to run (path, or a name looked up in PATH);
	// a relative path is taken from Dir, else from the node process's
	// working directory.
	Command string
	// Args are the arguments, without the program name.
	Args []string
	// Env is added to the node's environment (KEY=VALUE).
	Env []string
	// Dir is the working directory; empty means the node process's. A
	// relative Dir is taken from the node process's working directory at
	// each start.
	Dir string
}

var kindRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// ErrInvalidSpec is wrapped by every error of Validate and CheckCommand.
var ErrInvalidSpec = errors.New("invalid runner spec")

// CheckCommand returns an error naming the command when Command does not
// exist, is a directory or is not executable: the same lookup os/exec does
// (a name without '/' in the node's PATH; a relative path from Dir). A
// Builtin spec has nothing to check.
func (s RunnerSpec) CheckCommand() error {
	if s.Dir != "" {
		// Checked first: a process started in a directory that does not
		// exist fails with ENOENT, which reads as a missing executable.
		switch fi, err := os.Stat(s.Dir); {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("%w: working directory %q (RunnerSpec.Dir) does not exist; create it, or set RunnerSpec.Dir to an existing directory", ErrInvalidSpec, s.Dir)
		case err != nil:
			return fmt.Errorf("%w: working directory %q (RunnerSpec.Dir) cannot be read (%v)", ErrInvalidSpec, s.Dir, errors.Unwrap(err))
		case !fi.IsDir():
			return fmt.Errorf("%w: working directory %q (RunnerSpec.Dir) is not a directory; set RunnerSpec.Dir to a directory", ErrInvalidSpec, s.Dir)
		}
	}
	if s.Builtin || strings.TrimSpace(s.Command) == "" {
		return nil
	}
	const fix = "set RunnerSpec.Command to an executable file (a path, or a name found in PATH)"
	if !strings.Contains(s.Command, "/") {
		if _, err := exec.LookPath(s.Command); err != nil {
			return fmt.Errorf("%w: command %q is not an executable in PATH; %s", ErrInvalidSpec, s.Command, fix)
		}
		return nil
	}
	path := s.Command
	if !filepath.IsAbs(path) && s.Dir != "" {
		path = filepath.Join(s.Dir, path)
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: command %q does not exist; %s", ErrInvalidSpec, path, fix)
	case err != nil:
		return fmt.Errorf("%w: command %q cannot be read (%v); %s", ErrInvalidSpec, path, errors.Unwrap(err), fix)
	case fi.IsDir():
		return fmt.Errorf("%w: command %q is a directory; %s", ErrInvalidSpec, path, fix)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%w: command %q is not executable (mode %s); chmod +x it, or %s", ErrInvalidSpec, path, fi.Mode().Perm(), fix)
	}
	return nil
}

// kindError says what is wrong with a runner kind's name, or nil.
func kindError(kind string) error {
	if kindRE.MatchString(kind) {
		return nil
	}
	return fmt.Errorf("kind %q: want 1-40 lowercase letters, digits or '-', starting with a letter or digit (e.g. \"llama-3b\")", kind)
}

// CheckKind returns an error wrapping ErrInvalidSpec for a kind name no
// spec may have (Validate's rule), or nil: a remote client checks it as a
// System does, before it asks a node that has no such kind.
func CheckKind(kind string) error {
	if err := kindError(kind); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	return nil
}

// Validate returns a clear error for a spec that cannot work.
func (s RunnerSpec) Validate() error {
	var errs []error
	if err := kindError(s.Kind); err != nil {
		errs = append(errs, err)
	}
	switch {
	case s.Builtin && s.Command != "":
		errs = append(errs, fmt.Errorf("both Builtin and Command %q are set: choose one", s.Command))
	case !s.Builtin && strings.TrimSpace(s.Command) == "":
		errs = append(errs, errors.New("no Command: set Command to the runner executable, or Builtin for the built-in runner"))
	}
	for _, e := range s.Env {
		if !strings.Contains(e, "=") || strings.HasPrefix(e, "=") {
			errs = append(errs, fmt.Errorf("env entry %q: want KEY=VALUE", e))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, OneLine(errs...))
	}
	return nil
}

// OneLine joins errs like errors.Join (errors.Is and errors.As find each),
// but on one line, separated by "; ". It returns nil when errs is empty.
func OneLine(errs ...error) error { return errjoin.OneLine(errs...) }

// newRunnerID returns "<kind>-<12 hex digits>": 48 random bits. A node
// never reuses the ID of a runner it keeps (the supervisor draws again),
// but IDs are drawn on each node alone, and a ClusterClient follows the
// runners of many nodes by ID: with 24 bits (6 hex digits, before), one
// spawn in about 4,000 took the ID of one of the 4,096 retired runners a
// client keeps; with 48 bits, about one in 7·10^10.
func newRunnerID(kind string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the kernel's RNG does not fail
	}
	return kind + "-" + hex.EncodeToString(b[:])
}

// RunnerTimeouts are the waits of a runner's life. Zero fields take the
// defaults listed; tests set them short.
type RunnerTimeouts struct {
	Handshake         time.Duration // for the Hello frame after start; 5s
	HeartbeatInterval time.Duration // asked of the runner in HelloAccepted; 500ms (CheckConflicts: the three below ≥ 2×)
	HeartbeatTimeout  time.Duration // no heartbeat at all → hang; 5s
	ProgressTimeout   time.Duration // Running, heartbeats but frozen counters → no progress; 30s
	LoadingStall      time.Duration // Idle (after Hello), Connected or Loading with no layer progress; 60s
	ExitGrace         time.Duration // after TerminationError or stdout EOF, wait for the exit before SIGKILL; 3s (above the Go SDK's 2s stop grace)
	StopGrace         time.Duration // after the Shutdown frame, before SIGTERM; 3s
	TermWait          time.Duration // after SIGTERM, before SIGKILL; 2s
	Drain             time.Duration // after the exit, for the pipe readers to finish; 1s
	StopDrain         time.Duration // StopRunner: for in-flight tasks to finish before the stop; 30s
	// FrameStall: a stdout frame that began stays incomplete while stdout
	// stays open (often a stray print whose first byte reads as a length):
	// the runner fails as garbage (not_a_runner before Hello); 1s. It must
	// stay below HeartbeatTimeout, or the stuck reader looks like a hang
	// (CheckConflicts); a zero FrameStall takes min(1s, HeartbeatTimeout/2).
	FrameStall time.Duration
}

func (t RunnerTimeouts) withDefaults() RunnerTimeouts {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Handshake, 5*time.Second)
	def(&t.HeartbeatInterval, 500*time.Millisecond)
	def(&t.HeartbeatTimeout, 5*time.Second)
	def(&t.ProgressTimeout, 30*time.Second)
	def(&t.LoadingStall, 60*time.Second)
	def(&t.ExitGrace, 3*time.Second)
	def(&t.StopGrace, 3*time.Second)
	def(&t.TermWait, 2*time.Second)
	def(&t.Drain, time.Second)
	def(&t.StopDrain, 30*time.Second)
	// A zero FrameStall stays below HeartbeatTimeout (CheckConflicts), so
	// a node with a short heartbeat timeout needs no frame stall of its own.
	def(&t.FrameStall, min(proc.DefaultFrameStall, t.HeartbeatTimeout/2))
	return t
}

// watchdogPeriod is how often hang, no-progress and stall are checked.
func (t RunnerTimeouts) watchdogPeriod() time.Duration {
	p := min(t.HeartbeatTimeout, t.ProgressTimeout, t.LoadingStall) / 4
	return max(p, 5*time.Millisecond)
}
