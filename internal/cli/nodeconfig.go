package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/actors/gateway"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// nodeFile is the JSON configuration of `exo-actors node --config FILE`:
// the runner kinds the node may start (the only commands it ever runs for
// a peer) and its limits. See docs/remote.md.
type nodeFile struct {
	Kinds map[string]nodeKind `json:"kinds"`
	Tasks *struct {
		InFlight   int    `json:"in_flight"`
		Queue      int    `json:"queue"`
		AckTimeout string `json:"ack_timeout"`
	} `json:"tasks"`
	MaxMessage              sizeSetting    `json:"max_message"`
	MaxRunners              int            `json:"max_runners"`
	CancelTasksOnClientLoss bool           `json:"cancel_tasks_on_client_loss"`
	SessionTimeout          string         `json:"session_timeout"`
	Restarts                *nodeRestarts  `json:"restarts"`
	Timeouts                *nodeTimeouts  `json:"timeouts"`
	Health                  *nodeHealth    `json:"health"`    // nodeconfig_health.go
	Retention               *nodeRetention `json:"retention"` // nodeconfig_health.go
	Shutdown                *nodeShutdown  `json:"shutdown"`  // nodeconfig_shutdown.go
}

// nodeRestarts is the "restarts" section: the restart intensity and the
// backoff of the node's error handler (exo.ErrorPolicy).
type nodeRestarts struct {
	Max         int    `json:"max"`          // restarts allowed per runner within window (0: default 5; -1: no limit)
	Window      string `json:"window"`       // e.g. "60s" (default)
	BackoffBase string `json:"backoff_base"` // first delay, e.g. "500ms" (default)
	BackoffMax  string `json:"backoff_max"`  // cap, e.g. "30s" (default)
}

// nodeKind is one entry of "kinds". A relative Dir, and a relative
// Command with a '/', are made absolute by resolveKindPaths (from the config
// file's directory; the command from Dir when set).
type nodeKind struct {
	Builtin    bool     `json:"builtin"`
	Command    string   `json:"command"`
	Args       []string `json:"args"`
	Env        []string `json:"env"`
	Dir        string   `json:"dir"`
	MaxRunners int      `json:"max_runners"`
}

// nodeConfig is a parsed, checked node configuration.
type nodeConfig struct {
	kinds          map[string]exo.RemoteKind
	tasks          exo.TaskLimits
	maxMessage     int
	maxRunners     int // node-wide; 0: the default, -1: no bound
	cancelOnLoss   bool
	sessionTimeout time.Duration
	policy         exo.ErrorPolicy
	timeouts       exo.RunnerTimeouts
	health         healthConfigOf        // "health" and "retention" (nodeconfig_health.go)
	shutdown       exo.ShutdownDeadlines // "shutdown" (nodeconfig_shutdown.go)
	// resolved holds the values of the kinds' relative paths as the file
	// wrote them, and what they were taken relative to, by key
	// (kinds.K.dir, kinds.K.command), once resolveKindPaths made them
	// absolute: error texts show both.
	resolved map[string]resolvedPath
}

// maxConfigSize bounds a node config file.
const maxConfigSize = 1 << 20

// parseNodeConfig parses and checks a node configuration. Every error is
// one line naming the field and what to do. A file that is not JSON (or
// not one object) gets that error alone; otherwise every fault found is
// reported in the one error (a *configFaults), the kinds' and the JSON
// types' included, and the config is returned too, with the kinds that
// passed, for the checks of their commands (node.go) to add theirs.
func parseNodeConfig(r io.Reader) (*nodeConfig, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("config larger than %d bytes", maxConfigSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f nodeFile
	var faults []string
	add := func(err error) { faults = append(faults, err.Error()) }
	if err := dec.Decode(&f); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		_, unknown := unknownFieldName(err)
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, se)
		case errors.As(err, &te) && te.Field == "":
			return nil, typeError(data, te) // not an object: nothing else to check
		case errors.As(err, &te) || unknown:
			// json went on past it, but names only the first: every one
			// is found by walking the document.
			if faults = decodeFaults(data, reflect.TypeFor[nodeFile]()); len(faults) == 0 {
				if te != nil {
					add(typeError(data, te))
				} else {
					name, _ := unknownFieldName(err)
					add(unknownFieldError(data, name))
				}
			}
		case errors.Is(err, io.ErrUnexpectedEOF):
			// A JSON value not closed: it said "bad config: unexpected EOF"
			// with no position (trial-sre7's trunc.json).
			return nil, fmt.Errorf("the JSON ends early (truncated JSON?) after byte %d: a value, array or object is not closed; check the end of the file", len(data))
		case errors.Is(err, io.EOF):
			return nil, errors.New(`empty config: want a JSON object like {"kinds": {"echo": {"builtin": true}}}`)
		default:
			return nil, fmt.Errorf("bad config: %v", err)
		}
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	decoded := len(faults) // the type and unknown-key faults; the checks' follow
	if err := duplicateKey(data); err != nil {
		add(err)
	}
	if len(f.Kinds) == 0 && !slices.ContainsFunc(faults, func(s string) bool { return strings.HasPrefix(s, "kinds") }) { // a "kinds" of the wrong type is a fault already
		add(errors.New(`no runner kinds: "kinds" must name at least one, e.g. {"kinds": {"echo": {"builtin": true}}}`))
	}
	maxMessage, err := f.MaxMessage.bytes("max_message")
	if err != nil {
		add(err)
	}
	c := &nodeConfig{kinds: map[string]exo.RemoteKind{}, maxMessage: int(maxMessage), maxRunners: f.MaxRunners, cancelOnLoss: f.CancelTasksOnClientLoss}
	if f.MaxRunners < -1 {
		add(fmt.Errorf("max_runners %d: want 0 (the default, %d live runners of all kinds), more, or -1 (no bound)", f.MaxRunners, gateway.DefaultMaxRunners))
	}
	names := make([]string, 0, len(f.Kinds))
	for name := range f.Kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := checkKind(name, f.Kinds[name]); err != nil {
			// The kind's first fault (the later checks overlap it), but
			// not when the kind, or its command or builtin, had the wrong
			// JSON type: left out of f, that is the cause ("command": 5
			// is no "command"). Another key of the wrong type (env) hides
			// nothing checkKind says (a review: a missing command went
			// unsaid behind an env object).
			if !slices.ContainsFunc(faults, func(s string) bool {
				return strings.HasPrefix(s, "kinds."+name+":") || strings.HasPrefix(s, "kinds."+name+".command") ||
					strings.HasPrefix(s, "kinds."+name+".builtin")
			}) {
				add(err)
			}
			continue
		}
		k := f.Kinds[name]
		spec := exo.RunnerSpec{Kind: name, Builtin: k.Builtin, Command: k.Command, Args: k.Args, Env: k.Env, Dir: k.Dir}
		c.kinds[name] = exo.RemoteKind{Spec: spec, MaxRunners: k.MaxRunners}
	}
	if err == nil && (maxMessage < 0 || maxMessage > 64<<20) {
		add(fmt.Errorf("max_message %s: want 0 (default 4 MiB) to %d bytes (64MiB)", f.MaxMessage.written(maxMessage), 64<<20))
	}
	if t := f.Tasks; t != nil {
		if t.InFlight < 0 {
			add(fmt.Errorf("tasks.in_flight %d: want 0 (default: 1) or more", t.InFlight))
		}
		if t.Queue < 0 {
			add(fmt.Errorf("tasks.queue %d: want 0 (default: 64) or more", t.Queue))
		}
		c.tasks.InFlight, c.tasks.Queue = t.InFlight, t.Queue
		if t.AckTimeout != "" {
			d, err := time.ParseDuration(t.AckTimeout)
			if err != nil || d <= 0 {
				add(fmt.Errorf("tasks.ack_timeout %q: want a positive duration like \"5s\"", t.AckTimeout))
			}
			c.tasks.AckTimeout = d
		}
	}
	if f.SessionTimeout != "" {
		d, err := time.ParseDuration(f.SessionTimeout)
		switch hb := exo.DefaultClientHeartbeat; {
		case err != nil || d <= 0:
			add(fmt.Errorf("session_timeout %q: want a positive duration like \"2s\"", f.SessionTimeout))
		case d < 2*hb:
			add(fmt.Errorf("session_timeout (%s) must be at least 2 × the clients' heartbeat (%s): a client that pings on time would be dropped after a single late ping; raise session_timeout to %s or more, or leave it out for the default 2s", d, hb, 2*hb))
		}
		c.sessionTimeout = d
	}
	if r := f.Restarts; r != nil {
		if r.Max < -1 {
			add(fmt.Errorf("restarts.max %d: want -1 (no limit), 0 (default 5) or more", r.Max))
		}
		c.policy.Intensity.MaxRestarts = r.Max
		for _, d := range []struct {
			name, v string
			to      *time.Duration
		}{{"window", r.Window, &c.policy.Intensity.Window}, {"backoff_base", r.BackoffBase, &c.policy.Backoff.Base},
			{"backoff_max", r.BackoffMax, &c.policy.Backoff.Max}} {
			if d.v == "" {
				continue
			}
			v, err := time.ParseDuration(d.v)
			if err != nil || v <= 0 {
				add(fmt.Errorf("restarts.%s %q: want a positive duration like \"500ms\"", d.name, d.v))
				continue
			}
			*d.to = v
		}
		if b, m := c.policy.Backoff.Base, c.policy.Backoff.Max; b > 0 && m > 0 && b > m {
			add(fmt.Errorf("restarts.backoff_base %s is above restarts.backoff_max %s: the first restart's delay cannot exceed the cap; lower backoff_base or raise backoff_max", b, m))
		}
	}
	// health and shutdown are checked against the timeouts: not when
	// those are in error (their faults would be measured against values
	// the config did not mean).
	if c.timeouts, err = parseNodeTimeouts(f.Timeouts); err != nil {
		add(err)
	} else {
		if c.health, err = parseNodeHealth(f.Health, f.Retention, c.timeouts); err != nil {
			add(err)
		}
		if c.shutdown, err = parseNodeShutdown(f.Shutdown, c.timeouts); err != nil {
			add(err)
		}
	}
	if len(faults) > 0 {
		return c, &configFaults{faults: withoutEchoes(faults, decoded)}
	}
	return c, nil
}

// withoutEchoes drops the faults a check found in a key whose value had
// the wrong JSON type (a fault among the first decoded): the check saw the
// zero value json left there, which nobody wrote ("healthy": "0.8" also
// said `health.healthy 0: want a score in (0, 1]`; an SRE's trial).
func withoutEchoes(faults []string, decoded int) []string {
	var typed []string // keys with a type fault, e.g. "health.healthy"
	for _, f := range faults[:decoded] {
		if key, _, ok := strings.Cut(f, ": want "); ok && !strings.ContainsAny(key, " ") {
			typed = append(typed, key)
		}
	}
	out := faults[:decoded:decoded]
	for _, f := range faults[decoded:] {
		if !slices.ContainsFunc(typed, func(k string) bool { return strings.HasPrefix(f, k+" ") || strings.HasPrefix(f, k+":") }) {
			out = append(out, f)
		}
	}
	return out
}

// checkKind checks one kind: its keys (checkKindKeys), the spec
// (RunnerSpec.Validate) and its max_runners; the first fault.
func checkKind(name string, k nodeKind) error {
	if err := checkKindKeys(name, k); err != nil {
		return err
	}
	spec := exo.RunnerSpec{Kind: name, Builtin: k.Builtin, Command: k.Command, Args: k.Args, Env: k.Env, Dir: k.Dir}
	if err := spec.Validate(); err != nil {
		msg := strings.TrimPrefix(err.Error(), "invalid runner spec: ")
		msg = strings.TrimPrefix(msg, fmt.Sprintf("kind %q: ", name))
		return fmt.Errorf("kind %q: %s", name, oneLine(msg))
	}
	if k.MaxRunners < 0 {
		return fmt.Errorf("kind %q: max_runners %d: want 0 (no bound) or more", name, k.MaxRunners)
	}
	return nil
}

// checkKindKeys checks a kind in the config's own terms (its JSON keys),
// before RunnerSpec.Validate, whose texts name the Go fields.
func checkKindKeys(name string, k nodeKind) error {
	at := fmt.Sprintf("kind %q (kinds.%s)", name, name)
	switch {
	case k.Builtin && k.Command != "":
		return fmt.Errorf(`%s: both "builtin": true and "command" %q are set: keep one`, at, k.Command)
	case !k.Builtin && strings.TrimSpace(k.Command) == "":
		return fmt.Errorf(`%s: no "command": set "command" to the runner executable, or "builtin": true for the built-in runner`, at)
	}
	for _, e := range k.Env {
		if !strings.Contains(e, "=") || strings.HasPrefix(e, "=") {
			return fmt.Errorf(`%s: "env" entry %q: want "KEY=VALUE"`, at, e)
		}
	}
	return nil
}

// sizeSetting is a size in the config: a whole number of bytes, or a
// string with a unit, as rss_limit takes ("4MiB", parseBytes). Checked by
// bytes, which names the key.
type sizeSetting struct{ raw json.RawMessage }

func (s *sizeSetting) UnmarshalJSON(b []byte) error {
	s.raw = append(json.RawMessage(nil), b...)
	return nil
}

// written is the size as the config wrote it, for errors: the number, or
// the string and the bytes it makes ("65MiB" (68157440 bytes)).
func (s sizeSetting) written(n int64) string {
	if raw := strings.TrimSpace(string(s.raw)); strings.HasPrefix(raw, `"`) {
		return fmt.Sprintf("%s (%d bytes)", raw, n)
	}
	return fmt.Sprint(n)
}

// bytes returns the size (0 when absent or null); key names it in errors.
func (s sizeSetting) bytes(key string) (int64, error) {
	raw := strings.TrimSpace(string(s.raw))
	switch {
	case raw == "" || raw == "null":
		return 0, nil
	case strings.HasPrefix(raw, `"`):
		var text string
		if err := json.Unmarshal(s.raw, &text); err != nil {
			return 0, fmt.Errorf("%s %s: %v", key, raw, err)
		}
		if strings.TrimSpace(text) == "0" {
			return 0, nil // as the number 0: the default
		}
		n, err := parseBytes(text)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %v", key, text, err)
		}
		return int64(min(n, 1<<62)), nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf(`%s %s: want a whole number of bytes, or a size like "4MiB"`, key, oneLine(raw))
	}
	return n, nil
}
