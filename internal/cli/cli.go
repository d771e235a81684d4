package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/logbridge"
	"github.com/exo-actors/exo-actors/internal/protocol"
)

// Exit codes of the exo-actors command.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 3
)

// shutdownSignals returns the signals that begin the graceful shutdown of
// a node or a demo: SIGINT, SIGTERM and SIGHUP. SIGHUP among them: a node
// whose terminal or SSH session closed was killed silently (Go's default
// for SIGHUP), its runners left to their stdin EOF (an operator's trial).
// But not when this process started with SIGHUP ignored (nohup): catching
// it would undo the ignore, and the node would shut down at logout (a
// review). Call it before any signal.Notify of SIGHUP.
func shutdownSignals() []os.Signal {
	if signal.Ignored(syscall.SIGHUP) {
		return []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	}
	return []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}
}

// forces says whether sig, after a first signal, forces the shutdown:
// SIGINT and SIGTERM do, SIGHUP never (a closing SSH session sends it
// twice: bash forwards one to its jobs and the kernel one to the
// foreground group; the second forced the shutdown: a review).
func forces(sig os.Signal) bool { return sig != syscall.SIGHUP }

// firstSignalLine is the line of the signal that began a graceful
// shutdown, saying what forces it.
func firstSignalLine(sig os.Signal) string {
	return fmt.Sprintf("== %s: graceful shutdown (%s)\n", sig, forceHint(sig))
}

// unforcingLine is the line of a second signal that does not force the
// shutdown under way (SIGHUP).
func unforcingLine(sig os.Signal) string {
	return fmt.Sprintf("== %s during the shutdown: it goes on gracefully (%s)\n", sig, forceHint(sig))
}

// forceHint says what forces a shutdown begun (or noted) on sig.
func forceHint(sig os.Signal) string {
	if forces(sig) {
		return "send it again to force"
	}
	return "SIGINT or SIGTERM forces it"
}

// Version is the exo-actors version; release builds set it with -ldflags.
var Version = "0.1.0-dev"

// UsageError marks an error as the caller's mistake in calling a command: the
// command exits 2 and prints the message on one line.
type UsageError struct {
	Err error
	// SeeAlso is where the fix is described; empty: 'exo-actors --help'.
	SeeAlso string
}

func (e *UsageError) Error() string { return e.Err.Error() }

// flagError is every command's FlagErrorFunc: a usage error, and for an
// unknown flag the nearest one the command has ("unknown flag: --nodes
// (did you mean --node?)"), as the config's fields are suggested.
func flagError(c *cobra.Command, err error) error {
	var bad *pflag.InvalidValueError
	if errors.As(err, &bad) {
		return &UsageError{Err: errors.New(badFlagValue(bad.GetFlag(), bad.GetValue(), bad.Unwrap()))}
	}
	rest, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return &UsageError{Err: err}
	}
	name, _, _ := strings.Cut(rest, "=")
	var names []string
	add := func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	}
	c.Flags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	if s := closest(name, names); s != "" && s != name {
		return &UsageError{Err: fmt.Errorf("%w (did you mean --%s?)", err, s)}
	}
	return &UsageError{Err: err}
}
func (e *UsageError) Unwrap() error { return e.Err }

// badFlagValue says, for a flag value that did not parse, which flag, the
// value, and what the flag wants, in words: pflag's own text quoted Go's
// parser (`invalid argument "abc" for "--runners" flag: strconv.ParseInt:
// parsing "abc": invalid syntax`; an operator's trial). The example is
// the flag's default when it has one.
func badFlagValue(f *pflag.Flag, value string, cause error) string {
	name := "--" + f.Name
	// eg is an example: the flag's default when it has one, else fallback
	// (none when "").
	eg := func(fallback string) string {
		if d := f.DefValue; d != "" && d != "0" && d != "0s" {
			return fmt.Sprintf(", e.g. %s %s, its default", name, d)
		}
		if fallback == "" {
			return ""
		}
		return fmt.Sprintf(", e.g. %s %s", name, fallback)
	}
	var num *strconv.NumError
	outOfRange := errors.As(cause, &num) && errors.Is(num.Err, strconv.ErrRange)
	switch t := f.Value.Type(); {
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		if outOfRange {
			return fmt.Sprintf("%s %q is out of range for a whole number%s", name, value, eg(""))
		}
		want := "give one in digits"
		if strings.HasPrefix(t, "uint") {
			want = "give one in digits, 0 or more"
		}
		return fmt.Sprintf("%s %q is not a whole number: %s%s", name, value, want, eg(""))
	case strings.HasPrefix(t, "float"):
		if outOfRange {
			return fmt.Sprintf("%s %q is out of range for a number%s", name, value, eg(""))
		}
		return fmt.Sprintf("%s %q is not a number: give digits, with a decimal point if need be%s", name, value, eg("1.5"))
	case t == "duration":
		const units = "a number with a unit (ns, us, ms, s, m or h)"
		if strings.Contains(cause.Error(), "missing unit") {
			return fmt.Sprintf("%s %q has no unit: want %s, e.g. %s %ss", name, value, units, name, value)
		}
		return fmt.Sprintf("%s %q is not a duration: want %s%s", name, value, units, eg("500ms"))
	case t == "bool":
		return fmt.Sprintf("%s %q is not true or false: give %s alone for true, or %s=true or %s=false", name, value, name, name, name)
	}
	return fmt.Sprintf("%s %q: %v", name, value, cause)
}

func usageErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// env is what every command gets: its streams and the configured logger.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	logLevel  string
	logFormat string
	logger    *logrus.Logger
}

// Main runs the exo-actors command line with args (without the program name)
// and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	actors.Version = Version // exo_build_info and the webhook's User-Agent
	root := newRoot(e)
	if err := unknownCommand(root, args); err != nil {
		return exitCode(err, stderr)
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if cmd != nil && cmd != root {
		// A usage error of a subcommand points at its own help, which
		// lists its flags ('exo-actors --help' lists only the commands).
		var ue *UsageError
		if errors.As(err, &ue) && ue.SeeAlso == "" {
			ue.SeeAlso = "'" + cmd.CommandPath() + " --help'"
		} else if ue == nil && err != nil && isCobraUsage(err) {
			err = &UsageError{Err: err, SeeAlso: "'" + cmd.CommandPath() + " --help'"}
		}
	}
	return exitCode(err, stderr)
}

// unknownCommand refuses a first positional argument that names no
// subcommand of the command it was given to: the root, `cluster`,
// `remote`, any command with subcommands (none takes arguments). Their
// Args checks do so too, but cobra parses the flags first and skips the
// check for --help: `exo-actors cluster stats --cluster x` said "unknown
// flag: --cluster" (a flag of `cluster status`, not of `cluster`; a new
// user's trial) and `exo-actors nosuch --help` printed the root's help
// and exited 0. So the flags are skipped here without being set, an
// unknown one with its value as pflag skips it.
func unknownCommand(root *cobra.Command, args []string) error {
	// --help and -h are known to Find only once each command has them (a
	// review: without, `cluster --help status` read --help as taking a
	// value, and status as an unknown command).
	var initHelp func(c *cobra.Command)
	initHelp = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		for _, sub := range c.Commands() {
			initHelp(sub)
		}
	}
	initHelp(root)
	cmd, rest, err := root.Find(args)
	if err != nil || !cmd.HasAvailableSubCommands() {
		return nil // cobra reports its own errors; a subcommand checks its args
	}
	cmd.InitDefaultHelpFlag()
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.ParseErrorsAllowlist.UnknownFlags = true
	skip := func(f *pflag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.AddFlag(&pflag.Flag{Name: f.Name, Shorthand: f.Shorthand, NoOptDefVal: f.NoOptDefVal, Value: ignoredValue(f.Value.Type())})
		}
	}
	cmd.Flags().VisitAll(skip)
	cmd.InheritedFlags().VisitAll(skip)
	_ = fs.Parse(rest) // an error is Execute's to report; a positional before it is still one
	if pos := fs.Args(); len(pos) > 0 {
		for _, c := range cmd.Commands() {
			if c.Name() == pos[0] || c.HasAlias(pos[0]) {
				return nil // a command after all: Execute finds it
			}
		}
		return unknownSubcommand(cmd, pos[0])
	}
	return nil
}

// ignoredValue is a flag value that takes anything and keeps nothing:
// unknownCommand's flags, which only say which flags take a value.
type ignoredValue string

func (v ignoredValue) String() string   { return "" }
func (v ignoredValue) Set(string) error { return nil }
func (v ignoredValue) Type() string     { return string(v) }

// unknownSubcommand is the usage error for name given to cmd, which has
// subcommands: it names cmd's commands (but the root's, listed by
// 'exo-actors --help') and the nearest of them, as flagError names the
// nearest flag ("did you mean cluster?").
func unknownSubcommand(cmd *cobra.Command, name string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if cmd.HasParent() {
		msg += fmt.Sprintf(" for %s: its commands are %s", cmd.CommandPath(), strings.Join(names, ", "))
	}
	if s := closest(name, names); name != "" && s != "" && s != name {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	err := &UsageError{Err: errors.New(msg)}
	if cmd.HasParent() {
		err.SeeAlso = "'" + cmd.CommandPath() + " --help'"
	}
	return err
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	if se := (*saidError)(nil); errors.As(err, &se) { // shutdown_clean.go
		return exitCode(se.err, io.Discard)
	}
	var ue *UsageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		see := "'exo-actors --help'"
		if ue != nil && ue.SeeAlso != "" {
			see = ue.SeeAlso
		}
		fmt.Fprintf(stderr, "exo-actors: %s (see %s)\n", oneLine(err.Error()), see)
		return ExitUsage
	}
	var ie *interruptedError
	if errors.As(err, &ie) {
		fmt.Fprintf(stderr, "exo-actors: %s\n", oneLine(err.Error()))
		return ExitInterrupted
	}
	var ce *uncleanError // shutdown_clean.go
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "exo-actors: %s\n", oneLine(err.Error()))
		return ExitUnclean
	}
	fmt.Fprintf(stderr, "exo-actors: %s\n", oneLine(err.Error()))
	return ExitFailure
}

// isCobraUsage recognises the usage errors cobra produces itself (it has no
// typed errors for them).
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument", "invalid argument", "accepts ", "requires at least", "requires at most"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

type interruptedError struct{ msg string }

func (e *interruptedError) Error() string { return e.msg }

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "exo-actors",
		Short: "Supervise LLM runner processes as actors",
		Long: "exo-actors supervises runners (worker processes that load a model and stream tokens)\n" +
			"as actors under a supervision tree, with coordinated three-phase shutdown.",
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownSubcommand(cmd, args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := emptyOffFlag(cmd.Flags()); err != nil { // listflag.go
				return err
			}
			l, err := newLogger(e.logLevel, e.logFormat, e.stderr)
			if err != nil {
				return err
			}
			e.logger = l
			slog.SetDefault(logbridge.NewSlog(l))
			return nil
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetIn(e.stdin)
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(flagError)
	pf := root.PersistentFlags()
	pf.StringVar(&e.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	pf.StringVar(&e.logFormat, "log-format", "text", "log format: text or json")

	root.AddCommand(newVersionCmd(e), newRunnerCmd(e), newDemoCommand(e), newBenchCmd(e), newBenchChildCmd(e), newStatusCmd(e),
		newClusterCmd(e), newClusterMemberCmd(e), newNodeCmd(e), newRemoteCmd(e), newBenchRemoteClientCmd(e),
		newBenchFailoverClientCmd(e))
	root.AddCommand(newConformanceCmd(e))
	root.AddCommand(newChaosCmd(e))
	for _, c := range root.Commands() {
		c.SetFlagErrorFunc(flagError)
	}
	return root
}

// newLogger builds the one logrus logger everything logs through.
func newLogger(level, format string, w io.Writer) (*logrus.Logger, error) {
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, usageErrorf("bad --log-level %q: want trace, debug, info, warn or error", level)
	}
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(lv)
	f := newLogFormatter(format) // logformat.go
	if f == nil {
		return nil, usageErrorf("bad --log-format %q: want json or text", format)
	}
	l.SetFormatter(f)
	return l, nil
}

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the exo-actors version and the runner protocol versions it speaks",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintf(e.stdout, "exo-actors %s\n%s\n", Version, protocolRange())
			return nil
		},
	}
}

// protocolRange is version's second line: the runner protocol versions
// this build negotiates (a runner's Hello range must contain one).
func protocolRange() string {
	if protocol.MinVersion == protocol.MaxVersion {
		return fmt.Sprintf("runner protocol version %d", protocol.MinVersion)
	}
	return fmt.Sprintf("runner protocol versions %d to %d", protocol.MinVersion, protocol.MaxVersion)
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasAvailableSubCommands() {
		// `exo-actors remote nosuch`: a subcommand misspelt, not an
		// argument (it read "takes no arguments"; a new user's trial).
		return unknownSubcommand(cmd, args[0])
	}
	return usageErrorf("%s takes no arguments, got %q", cmd.CommandPath(), args[0])
}
