package cli

import (
	"fmt"
	"strings"

	"github.com/exo-actors/exo-actors/actors"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// ExitUnclean is the exit of `exo-actors node` whose graceful shutdown (a
// first SIGINT/SIGTERM, or a client's request) ran to its end but not cleanly
// (exo.ShutdownReport.Clean is false): DRAINING timed out and cut tasks
// short, CLOSING forced a runner (SIGKILL), a resource was left in error,
// or a request went unanswered. A supervisor script tells it from a clean
// stop (0) and from a second signal's forced shutdown (3).
const ExitUnclean = 4

// uncleanError is the error of a shutdown that was not clean: exit
// ExitUnclean.
type uncleanError struct{ msg string }

func (e *uncleanError) Error() string { return e.msg }

// saidError is an error whose text the command has printed already, as
// the last line of its stdout (a node's end line: "node N: shut down, not
// cleanly: …", "node N: shut itself down: …"): exitCode gives err's exit
// but prints nothing, so that the line is said once. Before, main printed
// it again on stderr ("exo-actors: node N: shut down …, not cleanly: …"; a
// newcomer's trial).
type saidError struct{ err error }

func (e *saidError) Error() string { return e.err.Error() }
func (e *saidError) Unwrap() error { return e.err }

// shutdownCutShort says what a shutdown that was not clean cut short, on
// one line: each phase of the node that did not end ok (with the tasks it
// cut short), the actors it forced and the requests that got no answer,
// e.g. "DRAINING timed out after 30s (1 task cut short); CLOSING forced
// after 3.01s; forced: node/runners/busy-ee2e17 (CLOSING)". Empty for a
// clean report.
func shutdownCutShort(rep exo.ShutdownReport) string {
	if rep.Clean() {
		return ""
	}
	var parts []string
	if rep.Root != nil {
		for _, p := range rep.Root.Phases {
			if p == nil || p.Outcome == exo.OutcomeOK {
				continue
			}
			s := fmt.Sprintf("%s %s after %s", p.Phase, p.Outcome, actors.RoundDuration(p.Duration))
			switch p.TasksFailed {
			case 0:
			case 1:
				s += " (1 task cut short)"
			default:
				s += fmt.Sprintf(" (%d tasks cut short)", p.TasksFailed)
			}
			parts = append(parts, s)
		}
	} else {
		parts = append(parts, "no report of the node")
	}
	if len(rep.Forced) > 0 {
		parts = append(parts, "forced: "+strings.Join(rep.Forced, ", "))
	}
	switch len(rep.Errors) {
	case 0:
	case 1:
		parts = append(parts, "1 error: "+oneLine(rep.Errors[0]))
	default:
		parts = append(parts, fmt.Sprintf("%d errors, the first: %s", len(rep.Errors), oneLine(rep.Errors[0])))
	}
	return strings.Join(parts, "; ")
}
