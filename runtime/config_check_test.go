package runtime_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// negativeMeans are the Config fields whose negative value is documented
// (NoDelay, no limit, keep none, no retries): New takes them.
var negativeMeans = map[string]bool{
	"ErrorPolicy.Intensity.MaxRestarts": true,
	"Retention.KeepRemoved":             true,
	"Health.Webhook.Retries":            true,
}

// TestNewRefusesEveryNegativeField sets each int and duration field of
// Config, one at a time, to a negative value: New must refuse it with an
// error naming the field (ErrInvalidConfig). Before, a negative Tasks.Queue,
// StreamBuffer, MaxFrameSize, shutdown deadline or timeout was taken as 0,
// the default, without a word. The walk is by reflection, so a field added
// to Config later is checked too.
func TestNewRefusesEveryNegativeField(t *testing.T) {
	var walk func(v reflect.Value, path string)
	seen := 0
	walk = func(v reflect.Value, path string) {
		for i := range v.NumField() {
			f, sf := v.Field(i), v.Type().Field(i)
			name := sf.Name
			if !sf.Anonymous {
				name = strings.TrimPrefix(path+"."+sf.Name, ".")
			} else {
				name = path
			}
			switch {
			case f.Kind() == reflect.Struct:
				walk(f, name)
			case f.Kind() == reflect.Int, f.Type() == reflect.TypeFor[time.Duration]():
				if negativeMeans[name] || sf.Name == "SkipRegistryPrewarm" {
					continue
				}
				seen++
				t.Run(name, func(t *testing.T) {
					cfg := config()
					field := reflect.ValueOf(&cfg).Elem().FieldByIndex(indexOf(t, reflect.TypeFor[exo.Config](), name))
					field.SetInt(-7)
					s, err := exo.New(cfg)
					if err == nil {
						_, _ = s.Shutdown(t.Context())
						t.Fatalf("New took %s = -7", name)
					}
					leaf := name[strings.LastIndex(name, ".")+1:]
					if !strings.Contains(err.Error(), leaf) {
						t.Errorf("New: %v\nwant the field %s named", err, leaf)
					}
					if !errors.Is(err, exo.ErrInvalidConfig) || !strings.Contains(err.Error(), name+" is ") {
						t.Errorf("New: %v\nwant ErrInvalidConfig naming %s", err, name)
					}
				})
			}
		}
	}
	walk(reflect.ValueOf(exo.Config{}), "")
	if seen < 40 {
		t.Errorf("walked %d fields; the walk lost its way", seen)
	}
}

// indexOf finds the field index path of a dotted name (embedded structs
// are not in the name: Health.Interval is Health.HealthSettings.Interval).
func indexOf(t *testing.T, typ reflect.Type, dotted string) []int {
	t.Helper()
	var idx []int
	for part := range strings.SplitSeq(dotted, ".") {
		sf, ok := typ.FieldByName(part)
		if !ok {
			t.Fatalf("no field %s in %s", part, typ)
		}
		idx = append(idx, sf.Index...)
		typ = sf.Type
	}
	return idx
}

// TestNewNamesEveryNegativeFieldAtOnce: a Config with several negative
// fields is refused once, naming each with what to write instead, so a
// host fixes them in one go.
func TestNewNamesEveryNegativeFieldAtOnce(t *testing.T) {
	cfg := config()
	cfg.Tasks.Queue = -1
	cfg.StreamBuffer = -1
	cfg.ErrorPolicy.Backoff.Base = -time.Second
	_, err := exo.New(cfg)
	for _, want := range []string{
		"Tasks.Queue is -1: it must not be negative; set 0 for its default",
		"StreamBuffer is -1",
		"ErrorPolicy.Backoff.Base is -1s: a negative base means nothing; set NoDelay (-1ns) for restarts without delay, or 0 for the default 500ms",
	} {
		if !errors.Is(err, exo.ErrInvalidConfig) || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New: %v\nwant ErrInvalidConfig with: %s", err, want)
		}
	}
	// The negatives that mean something are taken.
	cfg = config()
	cfg.ErrorPolicy.Backoff.Base = exo.NoDelay
	cfg.ErrorPolicy.Intensity.MaxRestarts = -1
	cfg.Retention.KeepRemoved = -1
	cfg.Health.Webhook.Retries = -1
	s, err := exo.New(cfg)
	if err != nil {
		t.Fatalf("New refused documented negatives: %v", err)
	}
	if _, err := s.Shutdown(t.Context()); err != nil {
		t.Error(err)
	}
}

// TestNewRefusesBadRulesAsInvalidConfig: a malformed error policy rule is
// refused with ErrInvalidConfig, as every field New refuses, in the terms
// a host sets it (Severity, ActionRetry …), never naming an internal
// package (a host's trial: "errhandler: invalid rule", outside
// ErrInvalidConfig).
func TestNewRefusesBadRulesAsInvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		rule exo.Rule
		want string
	}{
		{exo.Rule{Kind: exo.FailureKind("exit_nonzero"), Severity: exo.SeverityHigh, Action: exo.ActionRetry}, "without a Name: name every rule"},
		{exo.Rule{Name: "mine", Action: exo.ActionRetry}, `rule "mine": Severity is not set: set one of LOW, MEDIUM, HIGH, CRITICAL (SeverityLow … SeverityCritical in Go)`},
		{exo.Rule{Name: "mine", Severity: exo.SeverityHigh, Action: exo.ActionForceCleanup}, "Action FORCE_CLEANUP needs Then, what follows the cleanup"},
		{exo.Rule{Name: "mine", Severity: exo.SeverityHigh, Action: exo.ActionRetry, Then: exo.ActionSkip}, "Then is only for Action FORCE_CLEANUP"},
	} {
		cfg := exo.Config{}
		cfg.ErrorPolicy.Rules = []exo.Rule{tc.rule}
		sys, err := exo.New(cfg)
		if err == nil {
			_, _ = sys.Shutdown(t.Context())
			t.Errorf("%+v: New took it", tc.rule)
			continue
		}
		if !errors.Is(err, exo.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "errhandler") {
			t.Errorf("%+v: %v; want ErrInvalidConfig saying %q, no internal package", tc.rule, err, tc.want)
		}
	}
}
