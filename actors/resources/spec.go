package resources

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultCloseTimeout bounds a Close (and a Reset) whose Spec sets no
// CloseTimeout and whose Config sets no DefaultCloseTimeout.
const DefaultCloseTimeout = 5 * time.Second

// Spec describes one resource to register.
type Spec struct {
	// Name identifies the resource on this node; it must be unique among the
	// registered resources.
	Name string
	// Kind says what the resource is, e.g. "process", "pipe", "tempdir",
	// "subscription", "listener". Informational.
	Kind string
	// DependsOn names resources this one needs: they close only after this
	// one has. Each must be registered already or in the same Register call.
	DependsOn []string
	// Owner is who the resource belongs to, usually a runner ID; empty for
	// resources of the node or host. CloseOwner closes one owner's resources.
	Owner string
	// Generation is the owner's generation (a runner's process generation),
	// so a restarted runner's resources are told apart from its previous
	// ones. Informational, and part of error messages.
	Generation uint64
	// Close releases the resource. It is required. It runs on a goroutine of
	// its own; ctx is cancelled when CloseTimeout passes (on the manager's
	// clock), after which the resource is in Error whatever Close returns
	// later. A panic in Close is recovered and counts as a failed close.
	Close func(ctx context.Context) error
	// CloseTimeout bounds Close and Reset; zero means the Config default
	// (5s unless configured). Negative is an error.
	CloseTimeout time.Duration
	// Reset, if set, tries to bring the resource back from Error to Active
	// (re-subscribe, reopen). It runs like Close: on its own goroutine,
	// bounded by CloseTimeout, panics recovered.
	Reset func(ctx context.Context) error
}

// State is where a resource is in its life.
//
//	Registered ─Activate─▶ Active
//	Registered, Active, Error ─cleanup reaches it─▶ Closing ─▶ Closed | Error (then removed)
//	Registered, Active ─ReportError─▶ Error ─Reset─▶ Resetting ─▶ Active | Error
type State int

// The states of a resource. The zero value is not a state.
const (
	// Registered: known to the manager, not yet reported in use.
	Registered State = iota + 1
	// Active: in use (Activate, or a successful Reset).
	Active
	// Resetting: its Reset function is running.
	Resetting
	// Closing: its Close function is running.
	Closing
	// Closed: Close returned nil within its timeout. Final.
	Closed
	// Error: Close failed or timed out (final), or the resource was reported
	// broken or a Reset failed (it can still be Reset or closed).
	Error
)

// String returns the state's name in lower case, e.g. "closing".
func (s State) String() string {
	switch s {
	case Registered:
		return "registered"
	case Active:
		return "active"
	case Resetting:
		return "resetting"
	case Closing:
		return "closing"
	case Closed:
		return "closed"
	case Error:
		return "error"
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// MarshalText implements encoding.TextMarshaler (JSON status output).
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Errors returned by the manager. Test with errors.Is; the messages name the
// resources concerned.
var (
	// ErrInvalidSpec: a Spec lacks a name or a Close function, or has a
	// negative timeout.
	ErrInvalidSpec = errors.New("invalid resource spec")
	// ErrDuplicate: a resource of that name is registered already.
	ErrDuplicate = errors.New("resource already registered")
	// ErrStillRegistered: the owner registered the name again, with a newer
	// generation, before the old generation's resources were closed. It wraps
	// ErrDuplicate.
	ErrStillRegistered = fmt.Errorf("%w by an older generation of its owner", ErrDuplicate)
	// ErrMissingDependency: a resource depends on a name that is not
	// registered.
	ErrMissingDependency = errors.New("missing dependency")
	// ErrCycle: the dependencies form a cycle; the error is a *CycleError.
	ErrCycle = errors.New("dependency cycle")
	// ErrUnknown: no resource of that name is registered.
	ErrUnknown = errors.New("unknown resource")
	// ErrBeingClosed: the resource is part of a cleanup in progress; it cannot
	// gain dependents, be activated or be reset any more.
	ErrBeingClosed = errors.New("resource is being closed")
	// ErrWrongState: the operation does not apply in the resource's state
	// (e.g. Reset of a resource that is not in Error).
	ErrWrongState = errors.New("operation not allowed in this state")
	// ErrNoReset: Reset of a resource whose Spec has no Reset function.
	ErrNoReset = errors.New("resource has no reset function")
	// ErrTimeout: a Close or Reset did not return within its timeout.
	ErrTimeout = errors.New("timed out")
	// ErrManagerStopped: the manager stopped before it could answer.
	ErrManagerStopped = errors.New("resource manager stopped")
)

// CycleError reports a dependency cycle. Path starts and ends with the same
// name: a → b → c → a.
type CycleError struct {
	Path []string
}

// Error returns e.g. "dependency cycle: a → b → c → a".
func (e *CycleError) Error() string {
	return ErrCycle.Error() + ": " + strings.Join(e.Path, " → ") + "; remove one of these dependencies"
}

// Is makes errors.Is(err, ErrCycle) true.
func (e *CycleError) Is(target error) bool { return target == ErrCycle }

// normalize validates s and returns a copy with defaults applied and
// DependsOn copied and de-duplicated.
func (s Spec) normalize(defaultTimeout time.Duration) (Spec, error) {
	switch {
	case s.Name == "":
		return s, fmt.Errorf("%w: empty name (kind %q, owner %q)", ErrInvalidSpec, s.Kind, s.Owner)
	case s.Close == nil:
		return s, fmt.Errorf("%w: resource %q has no Close function", ErrInvalidSpec, s.Name)
	case s.CloseTimeout < 0:
		return s, fmt.Errorf("%w: resource %q has a negative close timeout %s", ErrInvalidSpec, s.Name, s.CloseTimeout)
	}
	if s.CloseTimeout == 0 {
		s.CloseTimeout = defaultTimeout
	}
	deps := make([]string, 0, len(s.DependsOn))
	seen := make(map[string]bool, len(s.DependsOn))
	for _, d := range s.DependsOn {
		if d == "" {
			return s, fmt.Errorf("%w: resource %q depends on an empty name", ErrInvalidSpec, s.Name)
		}
		if !seen[d] {
			seen[d] = true
			deps = append(deps, d)
		}
	}
	s.DependsOn = deps
	return s, nil
}

// describe names a resource with its owner for messages, e.g.
// `resource "stdout" of runner r1 generation 2`.
func describe(name, owner string, gen uint64) string {
	switch {
	case owner == "":
		return fmt.Sprintf("resource %q", name)
	case gen == 0:
		return fmt.Sprintf("resource %q of %s", name, owner)
	default:
		return fmt.Sprintf("resource %q of %s generation %d", name, owner, gen)
	}
}

// actorName turns a resource name into a valid, readable part of an actor
// name: letters, digits, '.', '_' and '-' are kept, anything else becomes
// '_', and long names are cut. The caller appends a unique number.
func actorName(name string) string {
	const maxLen = 48
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= maxLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
