package runtime

import (
	"fmt"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/errjoin"
)

// ErrInvalidConfig is wrapped by the error New returns for a Config value
// that cannot work: a negative count, size or duration where 0 takes the
// default (a negative value used to be taken silently as 0, so a host that
// computed -1 got the default without a word; the error names every such
// field, its value and what to write instead), a health setting no
// default explains (weights, thresholds), a malformed Health.Webhook.URL
// or Health.HTTP.Addr, a BuiltinBinary that is not an executable file.
// Timeouts that fight wrap ErrConflictingTimeouts instead; an HTTP
// address in use or not of this host wraps the system's error.
var ErrInvalidConfig = actors.ErrInvalidConfig

// checkNegatives returns an error wrapping ErrInvalidConfig that names every
// field of c set below 0 where a negative value means nothing. The fields
// whose negative value does mean something are left alone:
// ErrorPolicy.Backoff.Base (NoDelay), ErrorPolicy.Intensity.MaxRestarts (no
// limit), Retention.KeepRemoved (keep none), Health.Webhook.Retries (none).
// The health monitor checks the rest of its settings (thresholds, weights,
// their order) when the node starts.
func (c Config) checkNegatives() error {
	d, n := durField, intField
	t, k := c.Timeouts, c.Tasks
	fields := []negField{
		d("Timeouts.Handshake", t.Handshake), d("Timeouts.HeartbeatInterval", t.HeartbeatInterval),
		d("Timeouts.HeartbeatTimeout", t.HeartbeatTimeout), d("Timeouts.ProgressTimeout", t.ProgressTimeout),
		d("Timeouts.LoadingStall", t.LoadingStall), d("Timeouts.ExitGrace", t.ExitGrace),
		d("Timeouts.StopGrace", t.StopGrace), d("Timeouts.TermWait", t.TermWait), d("Timeouts.Drain", t.Drain),
		d("Timeouts.StopDrain", t.StopDrain), d("Timeouts.FrameStall", t.FrameStall),
		n("Tasks.InFlight", k.InFlight), n("Tasks.Queue", k.Queue), d("Tasks.AckTimeout", k.AckTimeout),
		d("Tasks.CancelWait", k.CancelWait), n("Tasks.DedupMemory", k.DedupMemory), n("Tasks.HandleChunks", k.HandleChunks),
		d("Shutdown.Signaling", c.Shutdown.Signaling), d("Shutdown.Draining", c.Shutdown.Draining),
		d("Shutdown.Closing", c.Shutdown.Closing),
	}
	fields = append(fields, c.ErrorPolicy.negFields("ErrorPolicy")...)
	fields = append(fields,
		n("MaxFrameSize", c.MaxFrameSize), d("DeadLetterThrottle", c.DeadLetterThrottle), n("StreamBuffer", c.StreamBuffer),
		d("RequestTimeout", c.RequestTimeout), n("HookQueue", c.HookQueue), d("HookSlow", c.HookSlow),
		d("Retention.RemovedTTL", c.Retention.RemovedTTL), n("ReadWindow", c.ReadWindow), n("ReadBatch", c.ReadBatch),
		d("Health.Webhook.Timeout", c.Health.Webhook.Timeout), d("Health.Webhook.RetryDelay", c.Health.Webhook.RetryDelay),
		n("Health.Webhook.Queue", c.Health.Webhook.Queue), n("Health.HTTP.ReadyRunners", c.Health.HTTP.ReadyRunners),
		d("Health.HTTP.WriteTimeout", c.Health.HTTP.WriteTimeout),
	)
	h := c.Health.HealthSettings
	fields = append(fields, d("Health.Interval", h.Interval), d("Health.HeartbeatGrace", h.HeartbeatGrace),
		d("Health.HeartbeatLimit", h.HeartbeatLimit), d("Health.ProcInterval", h.ProcInterval), n("Health.TrendSamples", h.TrendSamples),
		d("Health.ErrorWindow", h.ErrorWindow), n("Health.ErrorBudget", h.ErrorBudget), n("Health.UnhealthyChecks", h.UnhealthyChecks),
		n("Health.MaxRecoveries", h.MaxRecoveries), d("Health.RecoveryWindow", h.RecoveryWindow), n("Health.History", h.History))
	errs := negativeErrors(fields, "Config's field comment names it")
	errs = append(errs, c.ErrorPolicy.baseError("ErrorPolicy"))
	return invalidConfig(errs)
}

// checkNegatives is Config.checkNegatives for a ClusterConfig: its
// durations (Refresh, Poll, Reconcile) and its Policy's fields, named as
// the host writes them (ClusterConfig.Policy.Intensity.Window). A negative
// value used to be taken as the default without a word (a new user's
// trial).
func (c ClusterConfig) checkNegatives() error {
	d := durField
	fields := []negField{d("ClusterConfig.Refresh", c.Refresh), d("ClusterConfig.Poll", c.Poll), d("ClusterConfig.Reconcile", c.Reconcile)}
	fields = append(fields, c.Policy.negFields("ClusterConfig.Policy")...)
	errs := negativeErrors(fields, "ClusterConfig's and ErrorPolicy's field comments name it")
	errs = append(errs, c.Policy.baseError("ClusterConfig.Policy"))
	return invalidConfig(errs)
}

// negField is a field whose negative value means nothing: a count, a size
// or a time.Duration (dur).
type negField struct {
	name string
	v    int64
	dur  bool
}

func durField(name string, v time.Duration) negField { return negField{name, int64(v), true} }
func intField(name string, v int) negField           { return negField{name, int64(v), false} }

// negativeErrors names each field below 0, its value and what to write
// instead; defaults says where the defaults are written.
func negativeErrors(fields []negField, defaults string) []error {
	var errs []error
	for _, f := range fields {
		if f.v >= 0 {
			continue
		}
		v := fmt.Sprint(f.v)
		if f.dur {
			v = time.Duration(f.v).String()
		}
		errs = append(errs, fmt.Errorf("%s is %s: it must not be negative; set 0 for its default (%s)", f.name, v, defaults))
	}
	return errs
}

// negFields are the fields of p whose negative value means nothing, named
// under prefix (ErrorPolicy, ClusterConfig.Policy). Backoff.Base is
// baseError's; Intensity.MaxRestarts may be negative (no limit).
func (p ErrorPolicy) negFields(prefix string) []negField {
	d := durField
	return []negField{
		intField(prefix+".HistoryLimit", p.HistoryLimit), d(prefix+".Backoff.Max", p.Backoff.Max),
		d(prefix+".Backoff.StablePeriod", p.Backoff.StablePeriod),
		d(prefix+".Intensity.Window", p.Intensity.Window),
	}
}

// baseError refuses a negative Backoff.Base other than NoDelay; nil if it
// is fine.
func (p ErrorPolicy) baseError(prefix string) error {
	if b := p.Backoff.Base; b < 0 && b != NoDelay {
		return fmt.Errorf("%s.Backoff.Base is %s: a negative base means nothing; set NoDelay (-1ns) for restarts without delay, or 0 for the default 500ms", prefix, b)
	}
	return nil
}

// invalidConfig joins errs (nils left out) in one line wrapping
// ErrInvalidConfig; nil when there is none.
func invalidConfig(errs []error) error {
	err := errjoin.OneLine(errs...)
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
}
