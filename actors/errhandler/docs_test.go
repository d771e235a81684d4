package errhandler

import (
	"flag"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/docgen"
)

var update = flag.Bool("update", false, "rewrite the generated parts of docs/errors.md")

const errorsDoc = "../../docs/errors.md"

// TestErrorsDoc checks that the generated parts of docs/errors.md match the
// code. Run `go test ./actors/errhandler -run TestErrorsDoc -update` after
// changing DefaultRules or a default.
func TestErrorsDoc(t *testing.T) {
	docgen.Check(t, errorsDoc, "edit the code, then go test ./actors/errhandler -run TestErrorsDoc -update",
		"go test ./actors/errhandler -run TestErrorsDoc -update", *update,
		docgen.Region{Name: "table", Body: renderTable(DefaultRules())},
		docgen.Region{Name: "defaults", Body: renderDefaults()})
}

func renderTable(rules []Rule) string {
	var b strings.Builder
	b.WriteString("| # | Rule | Matches | Severity | Action | Why |\n")
	b.WriteString("|---|------|---------|----------|--------|-----|\n")
	for i, r := range rules {
		action := r.Action.String()
		if r.Action == ForceCleanup {
			action += " → " + r.Then.String()
		}
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s | %s |\n", i+1, r.Name, describeMatch(r), r.Severity, action, r.Reason)
	}
	return b.String()
}

func describeMatch(r Rule) string {
	var parts []string
	if r.Kind != "" {
		parts = append(parts, "`"+string(r.Kind)+"`")
	} else {
		parts = append(parts, "any kind")
	}
	if r.ExitCode != nil {
		parts = append(parts, fmt.Sprintf("exit code %d", *r.ExitCode))
	}
	if r.Signal != 0 {
		parts = append(parts, signalName(r.Signal))
	}
	if r.Component != "" {
		parts = append(parts, "component `"+r.Component+"`")
	}
	if r.ShuttingDown != nil {
		if *r.ShuttingDown {
			parts = append(parts, "shutting down")
		} else {
			parts = append(parts, "not shutting down")
		}
	}
	return strings.Join(parts, ", ")
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return fmt.Sprintf("signal %d (%s)", int(s), s)
}

func renderDefaults() string {
	var b strings.Builder
	b.WriteString("| Setting | Default |\n|---------|---------|\n")
	for _, row := range []struct {
		name  string
		value any
	}{
		{"`BackoffConfig.Base`, first nominal delay (`NoDelay` for none)", defaultBase},
		{"`BackoffConfig.Max`, cap of the nominal delay", defaultMax},
		{"`BackoffConfig.StablePeriod`, Ready time that starts the backoff over", defaultStablePeriod},
		{"`Intensity.MaxRestarts`, restarts allowed per window (negative: no limit)", defaultMaxRestarts},
		{"`Intensity.Window`", defaultIntensityWindow},
		{"`HistoryLimit`, records kept", defaultHistoryLimit},
	} {
		v := fmt.Sprint(row.value)
		if d, ok := row.value.(time.Duration); ok {
			v = d.String()
		}
		fmt.Fprintf(&b, "| %s | %s |\n", row.name, v)
	}
	return b.String()
}
