package actors

import (
	"fmt"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
)

// ErrConflictingTimeouts is wrapped by the error StartNode returns for
// timeouts that each look fine but that the node's watchdogs would fight:
// a heartbeat interval too close to the heartbeat timeout, a health
// monitor heartbeat limit below two heartbeat intervals, a CLOSING
// deadline shorter than a runner's stop escalation.
var ErrConflictingTimeouts = health.ErrConflictingTimeouts

// ErrInvalidConfig is wrapped by StartNode's error for a NodeConfig value
// that cannot work (health settings, a BuiltinBinary that is no
// executable, the HTTP settings); runtime.ErrInvalidConfig is this one.
var ErrInvalidConfig = health.ErrInvalidConfig

// timeoutRule is one relation two RunnerTimeouts fields must keep: field
// ≥ factor × other, or (below) field < other.
type timeoutRule struct {
	field, other string
	factor       time.Duration // ≥ factor × other; 0 with below
	below        bool          // field < other
	why          string
}

// timeoutRules are the relations of RunnerTimeouts the runner actor needs,
// read from what it does with them (runner.go onFrame and onTimer):
//
//   - the watchdog fails a runner whose last frame is older than
//     HeartbeatTimeout; a runner that heartbeats on time shows an age up to
//     HeartbeatInterval (plus scheduling) before each beat, so one late
//     heartbeat must not reach the timeout: HeartbeatTimeout ≥ 2 ×
//     HeartbeatInterval;
//   - progress counters (tokens, tasks) and loaded layers arrive in the
//     heartbeats, so ProgressTimeout and LoadingStall below two intervals
//     would judge a runner that makes progress as frozen between two
//     heartbeats;
//   - a stdout frame stuck mid-way is ended as garbage after FrameStall;
//     meanwhile no frame arrives, so FrameStall must stay below
//     HeartbeatTimeout or the stuck frame reads as a hang.
var timeoutRules = []timeoutRule{
	{field: "HeartbeatTimeout", other: "HeartbeatInterval", factor: 2,
		why: "a runner that heartbeats on time would be judged hung after a single late heartbeat"},
	{field: "ProgressTimeout", other: "HeartbeatInterval", factor: 2,
		why: "progress counters arrive with the heartbeats, so a Running runner making progress would be judged frozen between two of them"},
	{field: "LoadingStall", other: "HeartbeatInterval", factor: 2,
		why: "loaded layers arrive with the heartbeats, so a Loading runner making progress would be judged stalled between two of them"},
	{field: "FrameStall", other: "HeartbeatTimeout", below: true,
		why: "a stdout frame stuck mid-way would be judged a hang before it is judged garbage"},
}

// durationField returns the field of t named name.
func (t *RunnerTimeouts) durationField(name string) *time.Duration {
	switch name {
	case "Handshake":
		return &t.Handshake
	case "HeartbeatInterval":
		return &t.HeartbeatInterval
	case "HeartbeatTimeout":
		return &t.HeartbeatTimeout
	case "ProgressTimeout":
		return &t.ProgressTimeout
	case "LoadingStall":
		return &t.LoadingStall
	case "ExitGrace":
		return &t.ExitGrace
	case "StopGrace":
		return &t.StopGrace
	case "TermWait":
		return &t.TermWait
	case "Drain":
		return &t.Drain
	case "StopDrain":
		return &t.StopDrain
	case "FrameStall":
		return &t.FrameStall
	}
	panic("actors: no RunnerTimeouts field " + name)
}

// CheckConflicts returns an error wrapping ErrConflictingTimeouts for the
// first pair of timeouts (after the defaults) that the runner's watchdog
// would fight, e.g. "Timeouts.HeartbeatTimeout (2s) must be at least 2 ×
// Timeouts.HeartbeatInterval (1.5s): …; raise … or lower …". name turns a
// RunnerTimeouts field name ("HeartbeatTimeout") into the name the reader
// knows (a node config's "timeouts.heartbeat_timeout"); nil means
// "Timeouts.<field>", as NodeConfig and runtime.Config have it. A value
// the caller left zero is shown as the default it took. StartNode refuses
// what this refuses.
func (t RunnerTimeouts) CheckConflicts(name func(field string) string) error {
	if name == nil {
		name = func(f string) string { return "Timeouts." + f }
	}
	eff := t.withDefaults()
	show := func(f string) string {
		v := *eff.durationField(f)
		if *t.durationField(f) <= 0 {
			return fmt.Sprintf("%s (%s, the default)", name(f), v)
		}
		return fmt.Sprintf("%s (%s)", name(f), v)
	}
	for _, r := range timeoutRules {
		a, b := *eff.durationField(r.field), *eff.durationField(r.other)
		switch {
		case r.below && a >= b:
			return fmt.Errorf("%w: %s must be below %s: %s; lower %s or raise %s",
				ErrConflictingTimeouts, show(r.field), show(r.other), r.why, name(r.field), name(r.other))
		case !r.below && a < r.factor*b:
			return fmt.Errorf("%w: %s must be at least %d × %s: %s; raise %s to %s or more, or lower %s to %s or less",
				ErrConflictingTimeouts, show(r.field), r.factor, show(r.other), r.why,
				name(r.field), r.factor*b, name(r.other), a/r.factor)
		}
	}
	return nil
}

// checkShutdownFits refuses a CLOSING deadline the caller set shorter than
// a runner's stop escalation (Shutdown frame, StopGrace, SIGTERM,
// TermWait, SIGKILL): the deadline's FORCE_CLEANUP would SIGKILL every
// runner that needs the SIGTERM step, and report it forced. t has its
// defaults; d is as the caller set it (a zero Closing adapts, see
// shutdownDeadlines).
func checkShutdownFits(d ShutdownDeadlines, t, raw RunnerTimeouts) error {
	return d.checkFits(t, raw, nil)
}

// CheckFits returns an error wrapping ErrConflictingTimeouts when d's
// Closing, as the caller set it, is shorter than a runner's stop escalation
// under the timeouts t (zero fields: their defaults): StopGrace + TermWait.
// name turns "Shutdown.Closing", "Timeouts.StopGrace" and
// "Timeouts.TermWait" into the names the reader knows (a node config's
// "shutdown.closing"); nil keeps them. As health.Config.CheckHeartbeat,
// the error says how to get the default by name: nil (the Go API) "leave
// it 0", a naming function (a config file) "leave the key out".
// StartNode refuses what this refuses.
func (d ShutdownDeadlines) CheckFits(t RunnerTimeouts, name func(field string) string) error {
	return d.checkFits(t.withDefaults(), t, name)
}

func (d ShutdownDeadlines) checkFits(t, raw RunnerTimeouts, name func(string) string) error {
	need := t.StopGrace + t.TermWait
	if d.Closing <= 0 || d.Closing >= need {
		return nil
	}
	unset := "leave the key out"
	if name == nil {
		name, unset = func(f string) string { return f }, "leave it 0"
	}
	show := func(f string) string {
		if *raw.durationField(f) <= 0 {
			return fmt.Sprintf("%s (%s, the default)", name("Timeouts."+f), *t.durationField(f))
		}
		return fmt.Sprintf("%s (%s)", name("Timeouts."+f), *t.durationField(f))
	}
	closing := name("Shutdown.Closing")
	return fmt.Errorf("%w: %s (%s) must be at least %s + %s = %s: the CLOSING deadline would SIGKILL a runner before its stop reaches SIGTERM and report it forced; raise %s to %s or more (or %s for its default), or lower %s or %s",
		ErrConflictingTimeouts, closing, d.Closing, show("StopGrace"), show("TermWait"), need, closing, need, unset, name("Timeouts.StopGrace"), name("Timeouts.TermWait"))
}

// shutdownDeadlines is d with its defaults, a zero Closing made long
// enough for a runner's whole stop escalation and the drain of its pipes
// (StopGrace + TermWait + Drain) when that is longer than the default.
func shutdownDeadlines(d ShutdownDeadlines, t RunnerTimeouts) ShutdownDeadlines {
	return d.Effective(t)
}

// Effective returns the deadlines a node with these settings and the
// runners' timeouts t uses: d's zero fields take their defaults, and a zero
// Closing covers a runner's whole stop escalation and the drain of its
// pipes (StopGrace + TermWait + Drain) when that is longer than 15s.
func (d ShutdownDeadlines) Effective(t RunnerTimeouts) ShutdownDeadlines {
	t = t.withDefaults()
	out := d.withDefaults()
	if d.Closing <= 0 {
		out.Closing = max(out.Closing, t.StopGrace+t.TermWait+t.Drain)
	}
	return out
}

// checkTimeouts refuses the timeouts of c that the node's watchdogs would
// fight: pairs of RunnerTimeouts (CheckConflicts), health heartbeat
// settings against the runners' heartbeat interval
// (health.Config.CheckHeartbeat), a CLOSING deadline shorter than the
// stop escalation (checkShutdownFits). StartNode runs it first.
func checkTimeouts(c NodeConfig) error {
	if err := c.Timeouts.CheckConflicts(nil); err != nil {
		return err
	}
	t := c.Timeouts.withDefaults()
	if !c.Health.Disabled {
		if err := c.Health.CheckHeartbeat(t.HeartbeatInterval, nil); err != nil {
			return err
		}
	}
	return checkShutdownFits(c.Shutdown, t, c.Timeouts)
}
