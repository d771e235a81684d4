package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/exo-actors/exo-actors/internal/suggest"
)

// configDoc is where the node config is described; config errors point there
// (exo-actors --help does not describe it).
const configDoc = `docs/remote.md, "The node config"`

// configErrorf is a usage error in the --config file: it points to the
// config's documentation instead of --help.
func configErrorf(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...), SeeAlso: configDoc}
}

// jsonKeys returns the JSON keys of a struct type's fields.
func jsonKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); k != "" && k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

// unknownFieldError explains json's `unknown field "x"`: where the field is
// (e.g. kinds.echo), the fields allowed there, and the closest one.
func unknownFieldError(data []byte, field string) error {
	where, allowed := locateField(data, field)
	if where != "" {
		where = "in " + where
	} else {
		where = "at the top level"
	}
	return errors.New(unknownFieldAt(field, where, allowed))
}

// unknownFieldAt is the text for an unknown field where ("in kinds.echo",
// "at the top level"), with the fields allowed there and the closest.
func unknownFieldAt(field, where string, allowed []string) string {
	msg := fmt.Sprintf("unknown field %q %s", field, where)
	if len(allowed) > 0 {
		msg += fmt.Sprintf(": the fields there are %s", strings.Join(allowed, ", "))
		if s := closest(field, allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
	}
	return msg
}

// locateField finds the object that holds field: "" for the top level,
// "kinds.NAME", "tasks" or "restarts", with the keys allowed there.
func locateField(data []byte, field string) (string, []string) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return "", nil
	}
	// A key allowed where it is found is not the unknown one: a config
	// with "timeouts" at the top level and inside a kind too was told
	// `unknown field "timeouts" at the top level: the fields there are …
	// timeouts … (did you mean "timeouts"?)`.
	if _, ok := top[field]; ok && !slices.Contains(jsonKeys(reflect.TypeOf(nodeFile{})), field) {
		return "", jsonKeys(reflect.TypeOf(nodeFile{}))
	}
	if raw, ok := top["kinds"]; ok {
		var kinds map[string]map[string]json.RawMessage
		if json.Unmarshal(raw, &kinds) == nil {
			names := make([]string, 0, len(kinds))
			for n := range kinds {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if _, ok := kinds[n][field]; ok && !slices.Contains(jsonKeys(reflect.TypeOf(nodeKind{})), field) {
					return "kinds." + n, jsonKeys(reflect.TypeOf(nodeKind{}))
				}
			}
		}
	}
	f := reflect.TypeOf(nodeFile{})
	if where, keys := locateHealthField(top, field); where != "" { // nodeconfig_health.go
		return where, keys
	}
	for _, sec := range []struct{ key, field string }{{"tasks", "Tasks"}, {"restarts", "Restarts"}, {"timeouts", "Timeouts"}, {"shutdown", "Shutdown"}} {
		var obj map[string]json.RawMessage
		if raw, ok := top[sec.key]; ok && json.Unmarshal(raw, &obj) == nil {
			sf, _ := f.FieldByName(sec.field)
			if _, ok := obj[field]; ok && !slices.Contains(jsonKeys(sf.Type), field) {
				return sec.key, jsonKeys(sf.Type)
			}
		}
	}
	return "", nil
}

// closest returns the allowed name nearest to field, or "" (suggest.Closest).
func closest(field string, allowed []string) string { return suggest.Closest(field, allowed) }

// unknownFieldName extracts x from json's `json: unknown field "x"`.
func unknownFieldName(err error) (string, bool) {
	s, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	var name string
	if json.NewDecoder(bytes.NewReader([]byte(s))).Decode(&name) != nil {
		return "", false
	}
	return name, true
}

// typeError explains json's type mismatch in the config's own terms: the
// key with its kind (kinds.NAME.env, the notation of every config error,
// not json's "kinds.env", which drops the map key) and the form wanted (a
// list of "KEY=VALUE" strings, not []string).
func typeError(data []byte, te *json.UnmarshalTypeError) error {
	field := te.Field
	if rest, ok := strings.CutPrefix(field, "kinds."); ok {
		if name := kindAt(data, te.Offset); name != "" {
			field = "kinds." + name + "." + rest
		}
	}
	return typeErrorAt(field, te)
}

// typeErrorAt is typeError for the value at field, a dotted config key
// ("" for the document itself).
func typeErrorAt(field string, te *json.UnmarshalTypeError) error {
	want := "a " + te.Type.String()
	switch {
	case strings.HasSuffix(field, ".env") && te.Type.Kind() == reflect.Slice:
		want = `a list of "KEY=VALUE" strings, e.g. ["MODEL=3b"]`
	case te.Type.Kind() == reflect.Slice && te.Type.Elem().Kind() == reflect.String:
		want = `a list of strings, e.g. ["--layers", "2"]`
	case te.Type.Kind() == reflect.String && durationKey(field):
		want = `a duration string, e.g. "10s"`
	case te.Type.Kind() == reflect.String:
		want = `a string`
	case te.Type.Kind() == reflect.Bool:
		want = "true or false"
	case te.Type.Kind() == reflect.Int:
		want = "a whole number"
	case te.Type.Kind() == reflect.Float64:
		want = "a number, e.g. 0.5"
	case te.Type.Kind() == reflect.Struct, te.Type.Kind() == reflect.Pointer, te.Type.Kind() == reflect.Map:
		want = "a JSON object"
	}
	got := te.Value
	if got == "object" || got == "array" || got == "number" {
		got = "a JSON " + got
	} else {
		got = "JSON " + got
	}
	if field == "" {
		// The document itself ("[]"): it read ": want a JSON object".
		return fmt.Errorf(`the config must be a JSON object like {"kinds": {"echo": {"builtin": true}}}, got %s`, got)
	}
	return fmt.Errorf("%s: want %s, got %s", field, want, got)
}

// durationKey reports whether the config key holds a Go duration
// string ("10s"): a number there gets the form to write, not only "a
// string" (the next try, "10", would fail again for its missing unit).
func durationKey(field string) bool {
	switch field {
	case "session_timeout", "tasks.ack_timeout", "restarts.window", "restarts.backoff_base", "restarts.backoff_max":
		return true
	}
	return strings.HasPrefix(field, "timeouts.") || strings.HasPrefix(field, "shutdown.") || healthDurationKey(field) // nodeconfig_health.go
}

// kindAt returns the name of the kind under "kinds" whose value holds
// byte offset at of data (where json met a type error), or "". json
// reports the first type error in the file, so the kind is found by
// where the error is, not by trying each kind: with two kinds in error,
// trying them by name named the wrong one.
func kindAt(data []byte, at int64) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		if key != "kinds" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return ""
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return ""
		}
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return ""
			}
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				return ""
			}
			if at <= dec.InputOffset() { // the kinds come in order: the first to end at or past at holds it
				s, _ := name.(string)
				return s
			}
		}
		return ""
	}
	return ""
}
