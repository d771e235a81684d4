package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// nodeHealth is the config's "health" section: the node's health monitor
// (exo.HealthSettings) and its alert webhook's limits, one key per field;
// durations are Go duration strings ("10s"); a key left out keeps its
// default (docs/operations.md, "Health configuration").
type nodeHealth struct {
	Disabled          bool         `json:"disabled"`            // HealthSettings.Disabled
	Interval          string       `json:"interval"`            // HealthSettings.Interval
	Healthy           *float64     `json:"healthy"`             // HealthSettings.Healthy
	Degraded          *float64     `json:"degraded"`            // HealthSettings.Degraded
	HeartbeatGrace    string       `json:"heartbeat_grace"`     // HealthSettings.HeartbeatGrace
	HeartbeatLimit    string       `json:"heartbeat_limit"`     // HealthSettings.HeartbeatLimit
	RSSLimit          string       `json:"rss_limit"`           // HealthSettings.RSSLimit: "8GiB", "512MiB", or bytes
	CPULimit          *float64     `json:"cpu_limit"`           // HealthSettings.CPULimit (share of one core)
	ProcInterval      string       `json:"proc_interval"`       // HealthSettings.ProcInterval
	ErrorWindow       string       `json:"error_window"`        // HealthSettings.ErrorWindow
	ErrorBudget       int          `json:"error_budget"`        // HealthSettings.ErrorBudget
	UnhealthyChecks   int          `json:"unhealthy_checks"`    // HealthSettings.UnhealthyChecks
	MaxRecoveries     int          `json:"max_recoveries"`      // HealthSettings.MaxRecoveries
	RecoveryWindow    string       `json:"recovery_window"`     // HealthSettings.RecoveryWindow
	NodeShutdownShare *float64     `json:"node_shutdown_share"` // HealthSettings.NodeShutdownShare
	Webhook           *nodeWebhook `json:"webhook"`
}

// nodeWebhook is "health.webhook": the limits of the alert webhook whose
// URL --alert-webhook gives (exo.WebhookConfig).
type nodeWebhook struct {
	Timeout    string `json:"timeout"`     // WebhookConfig.Timeout
	Retries    *int   `json:"retries"`     // WebhookConfig.Retries (0: none)
	RetryDelay string `json:"retry_delay"` // WebhookConfig.RetryDelay
	Queue      int    `json:"queue"`       // WebhookConfig.Queue
}

// nodeRetention is the config's "retention" section (exo.RetentionLimits):
// how long, and how many, removed runners stay listed (and their alerts
// and metric series held).
type nodeRetention struct {
	KeepRemoved *int   `json:"keep_removed"` // RetentionLimits.KeepRemoved (0: none)
	RemovedTTL  string `json:"removed_ttl"`  // RetentionLimits.RemovedTTL
}

// healthConfigOf is what the "health" and "retention" sections set.
type healthConfigOf struct {
	settings  exo.HealthSettings
	webhook   exo.WebhookConfig // Timeout, Retries, RetryDelay, Queue only
	retention exo.RetentionLimits
}

// parseNodeHealth checks the "health" and "retention" sections; errors
// name the JSON key (health.KEY). timeouts are the node's runner timeouts
// (the default heartbeat_limit is half their heartbeat timeout).
func parseNodeHealth(h *nodeHealth, r *nodeRetention, timeouts exo.RunnerTimeouts) (healthConfigOf, error) {
	var out healthConfigOf
	if r != nil {
		if r.KeepRemoved != nil {
			if *r.KeepRemoved < 0 {
				return out, fmt.Errorf("retention.keep_removed %d: want 0 (keep none) or more", *r.KeepRemoved)
			}
			out.retention.KeepRemoved = *r.KeepRemoved
			if out.retention.KeepRemoved == 0 {
				out.retention.KeepRemoved = -1 // RetentionLimits: negative keeps none, 0 is the default
			}
		}
		if err := parseDurationKey("retention.removed_ttl", r.RemovedTTL, &out.retention.RemovedTTL); err != nil {
			return out, err
		}
	}
	if h == nil {
		return out, nil
	}
	s := &out.settings
	s.Disabled = h.Disabled
	for _, d := range []struct {
		key, v string
		to     *time.Duration
	}{
		{"interval", h.Interval, &s.Interval},
		{"heartbeat_grace", h.HeartbeatGrace, &s.HeartbeatGrace},
		{"heartbeat_limit", h.HeartbeatLimit, &s.HeartbeatLimit},
		{"proc_interval", h.ProcInterval, &s.ProcInterval},
		{"error_window", h.ErrorWindow, &s.ErrorWindow},
		{"recovery_window", h.RecoveryWindow, &s.RecoveryWindow},
	} {
		if err := parseDurationKey("health."+d.key, d.v, d.to); err != nil {
			return out, err
		}
	}
	for _, f := range []struct {
		key    string
		v      *float64
		to     *float64
		lo, hi float64
		want   string
	}{
		{"healthy", h.Healthy, &s.Healthy, 0, 1, "a score in (0, 1], default 0.8"},
		{"degraded", h.Degraded, &s.Degraded, 0, 1, "a score in (0, 1], default 0.5"},
		{"cpu_limit", h.CPULimit, &s.CPULimit, 0, math.Inf(1), "0 (off) or a positive share of one core, e.g. 1.5"},
		{"node_shutdown_share", h.NodeShutdownShare, &s.NodeShutdownShare, 0, 1, "0 (off) or a share in (0, 1], e.g. 0.5"},
	} {
		if f.v == nil {
			continue
		}
		v := *f.v
		bad := math.IsNaN(v) || v < f.lo || v > f.hi
		if (f.key == "healthy" || f.key == "degraded") && v == 0 {
			bad = true
		}
		if bad {
			return out, fmt.Errorf("health.%s %g: want %s", f.key, v, f.want)
		}
		*f.to = v
	}
	for _, f := range []struct {
		key string
		v   int
		to  *int
	}{
		{"error_budget", h.ErrorBudget, &s.ErrorBudget},
		{"unhealthy_checks", h.UnhealthyChecks, &s.UnhealthyChecks},
		{"max_recoveries", h.MaxRecoveries, &s.MaxRecoveries},
	} {
		if f.v < 0 {
			return out, fmt.Errorf("health.%s %d: want 1 or more (0 or left out: the default)", f.key, f.v)
		}
		*f.to = f.v
	}
	if h.RSSLimit != "" {
		n, err := parseBytes(h.RSSLimit)
		if err != nil {
			return out, fmt.Errorf("health.rss_limit %q: %v", h.RSSLimit, err)
		}
		s.RSSLimit = n
	}
	// Cross-field checks, on the values in force (defaults included).
	healthy, degraded := orFloat(s.Healthy, 0.8), orFloat(s.Degraded, 0.5)
	if degraded >= healthy {
		return out, fmt.Errorf("health: degraded %g must be below healthy %g (defaults 0.5 and 0.8)", degraded, healthy)
	}
	// The monitor's own rules against the runners' heartbeat interval
	// and between the grace and the limit (their defaults included), in
	// this file's key names: left to exo.New they came out as exit 1 with
	// Go field names.
	hc := health.Config{HeartbeatGrace: s.HeartbeatGrace, HeartbeatLimit: s.HeartbeatLimit}
	if err := hc.CheckHeartbeat(timeouts.WithDefaults().HeartbeatInterval, configKey); err != nil {
		return out, errors.New(strings.TrimPrefix(err.Error(), health.ErrConflictingTimeouts.Error()+": "))
	}
	if w := h.Webhook; w != nil {
		wh := &out.webhook
		if err := parseDurationKey("health.webhook.timeout", w.Timeout, &wh.Timeout); err != nil {
			return out, err
		}
		if err := parseDurationKey("health.webhook.retry_delay", w.RetryDelay, &wh.RetryDelay); err != nil {
			return out, err
		}
		if w.Retries != nil {
			if *w.Retries < 0 || *w.Retries > 100 {
				return out, fmt.Errorf("health.webhook.retries %d: want 0 (no retry) to 100", *w.Retries)
			}
			wh.Retries = *w.Retries
			if wh.Retries == 0 {
				wh.Retries = -1 // WebhookConfig: negative means none, 0 is the default
			}
		}
		if w.Queue < 0 || w.Queue > 1<<20 {
			return out, fmt.Errorf("health.webhook.queue %d: want 1 to %d (0 or left out: the default 64)", w.Queue, 1<<20)
		}
		wh.Queue = w.Queue
	}
	return out, nil
}

// configKey names a setting as the config does, for the checks that name
// settings by their Go names (health.Config.CheckHeartbeat,
// ShutdownDeadlines.CheckFits): "Health.HeartbeatGrace" →
// "health.heartbeat_grace", "Shutdown.Closing" → "shutdown.closing" (the
// JSON key of the nodeHealth or nodeShutdown field of that name),
// "Timeouts.HeartbeatInterval" → "timeouts.heartbeat_interval"
// (timeoutKey). A name it does not know stays as it is.
func configKey(name string) string {
	if f, ok := strings.CutPrefix(name, "Timeouts."); ok {
		return timeoutKey(f)
	}
	for _, sec := range []struct {
		prefix, key string
		typ         reflect.Type
	}{
		{"Health.", "health.", reflect.TypeFor[nodeHealth]()},
		{"Shutdown.", "shutdown.", reflect.TypeFor[nodeShutdown]()},
	} {
		if f, ok := strings.CutPrefix(name, sec.prefix); ok {
			if sf, ok := sec.typ.FieldByName(f); ok {
				return sec.key + sf.Tag.Get("json")
			}
		}
	}
	return name
}

// parseDurationKey parses the duration string v of key into *to; "" leaves
// it (the default).
func parseDurationKey(key, v string, to *time.Duration) error {
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf(`%s: %q is not a duration (want e.g. "10s")`, key, v)
	}
	if d <= 0 {
		return fmt.Errorf(`%s: %q: want a positive duration (e.g. "10s"), or leave the key out for the default`, key, v)
	}
	*to = d
	return nil
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// byteUnits are the suffixes parseBytes accepts, longest first.
var byteUnits = []struct {
	suffix string
	mult   uint64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}

// parseBytes reads a size: a whole number of bytes, or a number with a
// unit (KiB, MiB, GiB, TiB; KB, MB, GB, TB; B), e.g. "8GiB", "1.5GiB".
func parseBytes(s string) (uint64, error) {
	num, mult := strings.TrimSpace(s), uint64(1)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
		return 0, fmt.Errorf(`want a positive size like "8GiB", "512MiB" or a number of bytes`)
	}
	b := v * float64(mult)
	if b > 1<<62 {
		return 0, fmt.Errorf(`too large: want at most 4EiB`)
	}
	if b < 1 {
		return 0, fmt.Errorf(`want at least 1 byte`)
	}
	return uint64(b), nil
}

// nodeHealthConfig is the node's exo.HealthConfig: the endpoints and the
// webhook URL of the flags (node_http.go), the webhook's sender named by
// --name, and the config's "health" section (nc.health).
func nodeHealthConfig(o nodeOptions, nc *nodeConfig) exo.HealthConfig {
	hc := o.http.healthConfig()
	hc.HealthSettings = nc.health.settings
	w := nc.health.webhook
	hc.Webhook.Timeout, hc.Webhook.Retries, hc.Webhook.RetryDelay, hc.Webhook.Queue = w.Timeout, w.Retries, w.RetryDelay, w.Queue
	hc.Webhook.Node = o.name
	return hc
}

// locateHealthField finds field in the "health", "health.webhook" or
// "retention" section of the config's top-level object, with the keys
// allowed there (unknownFieldError); "" when it is in none of them. A
// section where the field is allowed is not where it is unknown (as in
// locateField).
func locateHealthField(top map[string]json.RawMessage, field string) (string, []string) {
	in := func(obj map[string]json.RawMessage, t reflect.Type) ([]string, bool) {
		keys := jsonKeys(t)
		_, ok := obj[field]
		return keys, ok && !slices.Contains(keys, field)
	}
	var h map[string]json.RawMessage
	if raw, ok := top["health"]; ok && json.Unmarshal(raw, &h) == nil {
		if keys, ok := in(h, reflect.TypeOf(nodeHealth{})); ok {
			return "health", keys
		}
		var w map[string]json.RawMessage
		if raw, ok := h["webhook"]; ok && json.Unmarshal(raw, &w) == nil {
			if keys, ok := in(w, reflect.TypeOf(nodeWebhook{})); ok {
				return "health.webhook", keys
			}
		}
	}
	var r map[string]json.RawMessage
	if raw, ok := top["retention"]; ok && json.Unmarshal(raw, &r) == nil {
		if keys, ok := in(r, reflect.TypeOf(nodeRetention{})); ok {
			return "retention", keys
		}
	}
	return "", nil
}

// healthDurationKey reports whether the key (as json names it in a type
// error, e.g. "health.interval") holds a duration string.
func healthDurationKey(field string) bool {
	switch field {
	case "health.interval", "health.heartbeat_grace", "health.heartbeat_limit", "health.proc_interval",
		"health.error_window", "health.recovery_window", "health.webhook.timeout", "health.webhook.retry_delay",
		"retention.removed_ttl":
		return true
	}
	return false
}
