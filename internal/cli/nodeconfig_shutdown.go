package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// nodeShutdown is the config's "shutdown" section: the deadline of each
// phase of the node's own shutdown (exo.Config.Shutdown, exo.ShutdownDeadlines),
// each a Go duration string; a key left out keeps its default (signaling
// 2s, draining 30s, closing 15s or the runners' stop_grace + term_wait +
// drain when longer). They bound the shutdown a first SIGINT/SIGTERM
// starts and the one a client asks for (remote shutdown,
// Client.ShutdownNode); a cluster's stepped shutdown carries its own.
type nodeShutdown struct {
	Signaling string `json:"signaling"` // ShutdownDeadlines.Signaling
	Draining  string `json:"draining"`  // ShutdownDeadlines.Draining
	Closing   string `json:"closing"`   // ShutdownDeadlines.Closing
}

// parseNodeShutdown checks the "shutdown" section against the runners'
// timeouts t (as the file set them) and turns it into
// exo.ShutdownDeadlines; errors name the JSON key (shutdown.KEY).
func parseNodeShutdown(s *nodeShutdown, t exo.RunnerTimeouts) (exo.ShutdownDeadlines, error) {
	var out exo.ShutdownDeadlines
	if s == nil {
		return out, nil
	}
	for _, f := range []struct {
		key, v string
		to     *time.Duration
	}{
		{"signaling", s.Signaling, &out.Signaling},
		{"draining", s.Draining, &out.Draining},
		{"closing", s.Closing, &out.Closing},
	} {
		if err := parseDurationKey("shutdown."+f.key, f.v, f.to); err != nil {
			return out, err
		}
	}
	if err := actors.ShutdownDeadlines(out).CheckFits(actors.RunnerTimeouts(t), configKey); err != nil {
		return out, errors.New(strings.TrimPrefix(err.Error(), actors.ErrConflictingTimeouts.Error()+": "))
	}
	return out, nil
}

// cutShortWithHint is the end of the line of a shutdown that was not
// clean: what it cut short (shutdownCutShort) and, after "; ", what to
// change (shutdownHint; known as there). Empty for a clean shutdown. The
// node's own line and remote shutdown's line for it are built here.
func cutShortWithHint(rep exo.ShutdownReport, set exo.ShutdownDeadlines, t exo.RunnerTimeouts, known bool) string {
	cut := shutdownCutShort(rep) // shutdown_clean.go
	if cut == "" {
		return ""
	}
	if h := shutdownHint(rep, set, t, known); h != "" {
		cut += "; " + h
	}
	return cut
}

// shutdownHint ends the line of a node's shutdown that was not clean
// with what to change. A phase that reached the deadline it ran with
// (ShutdownReport.PhaseDeadline, within deadlineSlack) names the setting
// of that deadline: the node config's key and its value, e.g. "raise
// shutdown.draining in the node config (30s, the default) to let tasks
// finish", or, when a cluster-wide shutdown's coordinator gave it
// (PhaseCoordinated), `cluster shutdown --phase-timeout`. A phase cut
// short before its deadline names no deadline, which could not help: a
// CLOSING whose runners were forced by their own stop escalation (they
// ignored the Shutdown frame: SIGTERM after timeouts.stop_grace, SIGKILL
// after timeouts.term_wait) names those runners and timeouts; a resource
// that failed to close gets no hint. Empty when there is nothing to say.
//
// known says set and t are the node's settings. A client (remote
// shutdown) does not know them (known false): it names each deadline by
// the value the phase ran with (ShutdownReport.PhaseDeadline) and the
// timeouts without a value, and never says "the default", which it cannot
// tell.
func shutdownHint(rep exo.ShutdownReport, set exo.ShutdownDeadlines, t exo.RunnerTimeouts, known bool) string {
	if rep.Root == nil {
		return ""
	}
	eff := actors.ShutdownDeadlines(set).Effective(actors.RunnerTimeouts(t))
	var hints []string
	coordinated := false
	for i, p := range rep.Root.Phases { // indexed by phase, as PhaseDeadline
		if p == nil || p.Outcome == exo.OutcomeOK || p.Outcome == exo.OutcomeFailed {
			continue
		}
		var key, why string
		var was, now time.Duration
		switch p.Phase {
		case exo.PhaseSignaling:
			key, was, now, why = "signaling", set.Signaling, eff.Signaling, ""
		case exo.PhaseDraining:
			key, was, now, why = "draining", set.Draining, eff.Draining, " to let tasks finish"
		case exo.PhaseClosing:
			key, was, now, why = "closing", set.Closing, eff.Closing, " to let runners exit by themselves"
			if h := stopEscalationHint(rep.Root, t, known); h != "" {
				hints = append(hints, h)
			}
		}
		used := rep.PhaseDeadline[i]
		if used <= 0 { // a report that does not say: the node's own
			used = now
		}
		if max(p.Duration, rep.PhaseDuration[i])+deadlineSlack < used {
			continue // cut short before its deadline: a longer one would not help
		}
		if rep.PhaseCoordinated[i] {
			if !coordinated {
				coordinated = true
				hints = append(hints, fmt.Sprintf("the cluster's shutdown gave each phase %s: give it longer with cluster shutdown --phase-timeout", actors.RoundDuration(used)))
			}
			continue
		}
		v := now.String()
		switch {
		case !known:
			v = actors.RoundDuration(used).String()
		case was <= 0:
			v += ", the default"
		}
		hints = append(hints, fmt.Sprintf("raise shutdown.%s in the node config (%s)%s", key, v, why))
	}
	return strings.Join(hints, "; ")
}

// deadlineSlack is how far below its deadline a phase's measured duration
// may be and still count as having reached it: its timers fire no earlier
// than the deadline, but the report's durations are other clock readings,
// and the printed ones are rounded.
const deadlineSlack = 20 * time.Millisecond

// stopEscalationHint names the runners of root's CLOSING that their own
// stop escalation forced (the report's note "ended by SIGTERM" or "ended
// by SIGKILL": they did not exit on the Shutdown frame, long before any
// CLOSING deadline), and the timeouts that escalated. A runner that SIGTERM
// ended ignored only its frame: "runner busy-ee2e17 did not exit on its
// Shutdown frame: its stop sent SIGTERM after timeouts.stop_grace (3s, the
// default); make the runner exit when it reads the frame, or raise
// timeouts.stop_grace if it needs longer". One that SIGKILL ended ignored
// SIGTERM too, for timeouts.term_wait: it hangs or blocks SIGTERM, and no
// longer stop_grace can help it, so that is not suggested: "runner
// hang-0c27ef ignored its Shutdown frame for timeouts.stop_grace (3s, the
// default) and SIGTERM too for timeouts.term_wait (2s, the default), so
// its stop sent SIGKILL; a runner that ignores SIGTERM hangs or blocks it:
// fix the runner (a longer timeouts.stop_grace cannot help)".
// known says t is the node's own config (a client's report has no
// timeouts: then the keys are named without values). Empty when there
// are none.
func stopEscalationHint(root *exo.ActorReport, t exo.RunnerTimeouts, known bool) string {
	var termed, killed, unframed []string
	for _, stage := range root.Children {
		if stage.Name != "runners" {
			continue
		}
		for _, r := range stage.Children {
			p := r.Phases[exo.PhaseClosing]
			if p == nil || p.Outcome != exo.OutcomeForced {
				continue
			}
			switch {
			case strings.HasSuffix(p.Note, actors.StopNoteNoFrame):
				unframed = append(unframed, r.Name)
			case strings.HasPrefix(p.Note, actors.StopNoteSIGKILL):
				killed = append(killed, r.Name)
			case strings.HasPrefix(p.Note, actors.StopNoteSIGTERM):
				termed = append(termed, r.Name)
			}
			// Otherwise the node forced it (a deadline, ForceKill).
		}
	}
	eff := t.WithDefaults()
	show := func(key string, set, v time.Duration) string {
		if !known { // a client's: the node's value is not on the wire
			return "timeouts." + key
		}
		if set <= 0 {
			return fmt.Sprintf("timeouts.%s (%s, the default)", key, v)
		}
		return fmt.Sprintf("timeouts.%s (%s)", key, v)
	}
	grace, wait := show("stop_grace", t.StopGrace, eff.StopGrace), show("term_wait", t.TermWait, eff.TermWait)
	var hints []string
	if len(termed) > 0 {
		who, its := runnersNamed(termed)
		hints = append(hints, fmt.Sprintf("%s did not exit on %s Shutdown frame: %s stop sent SIGTERM after %s; make the runner exit when it reads the frame, or raise timeouts.stop_grace if it needs longer",
			who, its, its, grace))
	}
	if len(killed) > 0 {
		who, its := runnersNamed(killed)
		hints = append(hints, fmt.Sprintf("%s ignored %s Shutdown frame for %s and SIGTERM too for %s, so %s stop sent SIGKILL; a runner that ignores SIGTERM hangs or blocks it: fix the runner (a longer timeouts.stop_grace cannot help)",
			who, its, grace, wait, its))
	}
	if len(unframed) > 0 {
		who, its := runnersNamed(unframed)
		hints = append(hints, fmt.Sprintf("%s had not finished %s handshake, so %s stop began at SIGTERM, which it ignored for %s, and sent SIGKILL; a runner must exit on SIGTERM before its Hello too",
			who, its, its, wait))
	}
	return strings.Join(hints, "; ")
}

// runnersNamed says "runner a-1", "its", or for several "runners a-1, b-2,
// c-3, 2 more", "their".
func runnersNamed(ids []string) (who, its string) {
	if len(ids) == 1 {
		return "runner " + ids[0], "its"
	}
	shown := ids
	if len(shown) > 3 {
		shown = append(shown[:3:3], fmt.Sprintf("%d more", len(ids)-3))
	}
	return "runners " + strings.Join(shown, ", "), "their"
}
