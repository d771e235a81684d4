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

// nodeShutdownHint ends the line of a node's shutdown that was not clean:
// for each of the node's phases that passed its deadline, the config key
// that sets it and its value, e.g. "raise shutdown.draining in the node
// config (30s, the default) to give tasks longer". Empty when no phase
// passed its deadline.
func nodeShutdownHint(rep exo.ShutdownReport, set exo.ShutdownDeadlines, t exo.RunnerTimeouts) string {
	if rep.Root == nil {
		return ""
	}
	eff := actors.ShutdownDeadlines(set).Effective(actors.RunnerTimeouts(t))
	var hints []string
	for _, p := range rep.Root.Phases {
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
		}
		v := now.String()
		if was <= 0 {
			v += ", the default"
		}
		hints = append(hints, fmt.Sprintf("raise shutdown.%s in the node config (%s)%s", key, v, why))
	}
	return strings.Join(hints, "; ")
}
