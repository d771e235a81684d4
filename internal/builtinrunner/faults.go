package builtinrunner

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// FaultKind names one fault knob.
type FaultKind string

// The fault knobs. The package documentation says when each acts.
const (
	FaultExit           FaultKind = "exit"            // exit:CODE
	FaultSignal         FaultKind = "signal"          // signal:NAME
	FaultHang           FaultKind = "hang"            // hang
	FaultHangProgress   FaultKind = "hang-progress"   // hang-progress
	FaultGarbage        FaultKind = "garbage"         // garbage
	FaultIgnoreShutdown FaultKind = "ignore-shutdown" // ignore-shutdown:DURATION or ignore-shutdown:forever
	FaultCrashLoading   FaultKind = "crash-loading"   // crash-loading:LAYERS (--fault only)
	FaultStallLoading   FaultKind = "stall-loading"   // stall-loading:LAYERS (--fault only)
	FaultCrashAfter     FaultKind = "crash-after"     // crash-after:TOKENS
	FaultTermination    FaultKind = "termination"     // termination:MESSAGE
)

// MarkerPrefix starts every fault marker line on stderr.
const MarkerPrefix = "exo-runner: fault "

// Marker returns the line (without newline) the runner prints on stderr just
// before the fault acts, e.g. "exo-runner: fault hang now".
func (k FaultKind) Marker() string { return MarkerPrefix + string(k) + " now" }

// ValidFaultForms lists the fault spec syntax, for error and help messages.
const ValidFaultForms = "exit:CODE (0-255), signal:NAME (e.g. KILL, SEGV, ABRT, TERM), hang, hang-progress, garbage, " +
	"ignore-shutdown:DURATION (e.g. 2s) or ignore-shutdown:forever, crash-loading:LAYERS, stall-loading:LAYERS, " +
	"crash-after:TOKENS, termination:MESSAGE"

// Fault is one parsed fault spec. The zero Fault injects nothing.
type Fault struct {
	Kind    FaultKind
	Code    int            // FaultExit: the exit code
	Signal  syscall.Signal // FaultSignal: the signal to die by
	Count   int            // layers (crash-loading, stall-loading) or tokens (crash-after)
	Delay   time.Duration  // FaultIgnoreShutdown, unless Forever
	Forever bool           // FaultIgnoreShutdown: never act on Shutdown
	Message string         // FaultTermination: the TerminationError text
}

// signals are the signals signal:NAME accepts: those whose default action
// ends the process.
var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT, "ILL": syscall.SIGILL,
	"TRAP": syscall.SIGTRAP, "ABRT": syscall.SIGABRT, "BUS": syscall.SIGBUS, "FPE": syscall.SIGFPE,
	"KILL": syscall.SIGKILL, "USR1": syscall.SIGUSR1, "SEGV": syscall.SIGSEGV, "USR2": syscall.SIGUSR2,
	"PIPE": syscall.SIGPIPE, "ALRM": syscall.SIGALRM, "TERM": syscall.SIGTERM,
}

// SignalName returns the name signal:NAME uses for sig ("SEGV"), or "" if
// the fault does not accept it.
func SignalName(sig syscall.Signal) string {
	for name, s := range signals {
		if s == sig {
			return name
		}
	}
	return ""
}

func signalNames() string {
	names := make([]string, 0, len(signals))
	for n := range signals {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// ParseFault parses a fault spec (see ValidFaultForms). The error names the
// spec and lists the valid forms.
func ParseFault(spec string) (Fault, error) {
	f, err := parseFault(spec)
	if err != nil {
		return Fault{}, fmt.Errorf("bad fault %q: %w; valid forms: %s", spec, err, ValidFaultForms)
	}
	return f, nil
}

func parseFault(spec string) (Fault, error) {
	name, arg, hasArg := strings.Cut(spec, ":")
	kind := FaultKind(name)
	noArg := func() (Fault, error) {
		if hasArg {
			return Fault{}, fmt.Errorf("%s takes no argument", kind)
		}
		return Fault{Kind: kind}, nil
	}
	needArg := func(what string) error {
		if !hasArg || arg == "" {
			return fmt.Errorf("%s needs %s after a colon", kind, what)
		}
		return nil
	}
	switch kind {
	case FaultHang, FaultHangProgress, FaultGarbage:
		return noArg()
	case FaultExit:
		if err := needArg("an exit code"); err != nil {
			return Fault{}, err
		}
		code, err := strconv.Atoi(arg)
		if err != nil || code < 0 || code > 255 {
			return Fault{}, fmt.Errorf("exit code %q is not an integer from 0 to 255", arg)
		}
		return Fault{Kind: kind, Code: code}, nil
	case FaultSignal:
		if err := needArg("a signal name"); err != nil {
			return Fault{}, err
		}
		sig, ok := signals[strings.TrimPrefix(strings.ToUpper(arg), "SIG")]
		if !ok {
			return Fault{}, fmt.Errorf("unknown signal %q (want one of %s)", arg, signalNames())
		}
		return Fault{Kind: kind, Signal: sig}, nil
	case FaultIgnoreShutdown:
		if err := needArg("a duration or \"forever\""); err != nil {
			return Fault{}, err
		}
		if arg == "forever" {
			return Fault{Kind: kind, Forever: true}, nil
		}
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return Fault{}, fmt.Errorf("%q is neither a non-negative Go duration nor \"forever\"", arg)
		}
		return Fault{Kind: kind, Delay: d}, nil
	case FaultCrashLoading, FaultStallLoading, FaultCrashAfter:
		what := "a number of layers"
		if kind == FaultCrashAfter {
			what = "a number of tokens"
		}
		if err := needArg(what); err != nil {
			return Fault{}, err
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return Fault{}, fmt.Errorf("count %q is not a non-negative integer", arg)
		}
		return Fault{Kind: kind, Count: n}, nil
	case FaultTermination:
		if err := needArg("a message"); err != nil {
			return Fault{}, err
		}
		return Fault{Kind: kind, Message: arg}, nil
	case "":
		return Fault{}, errors.New("empty fault name")
	default:
		return Fault{}, fmt.Errorf("unknown fault %q", name)
	}
}

// String returns the spec ParseFault reads back as f ("" for the zero Fault).
func (f Fault) String() string {
	switch f.Kind {
	case FaultExit:
		return fmt.Sprintf("%s:%d", f.Kind, f.Code)
	case FaultSignal:
		return fmt.Sprintf("%s:%s", f.Kind, SignalName(f.Signal))
	case FaultIgnoreShutdown:
		if f.Forever {
			return string(f.Kind) + ":forever"
		}
		return fmt.Sprintf("%s:%s", f.Kind, f.Delay)
	case FaultCrashLoading, FaultStallLoading, FaultCrashAfter:
		return fmt.Sprintf("%s:%d", f.Kind, f.Count)
	case FaultTermination:
		return fmt.Sprintf("%s:%s", f.Kind, f.Message)
	}
	return string(f.Kind)
}

// loadingOnly reports whether the fault acts during loading, so only --fault
// can give it.
func (f Fault) loadingOnly() bool {
	return f.Kind == FaultCrashLoading || f.Kind == FaultStallLoading
}
