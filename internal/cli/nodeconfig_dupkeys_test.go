package cli

import (
	"strings"
	"testing"
)

// TestParseNodeConfigDuplicateKeys: encoding/json merges a duplicate
// object key silently (two "kinds" objects become one map; a second scalar
// overrides the first), so a config edited in two places ran with a mix of
// both. The parser refuses any duplicate key, naming it and where it is.
func TestParseNodeConfigDuplicateKeys(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"kinds": {"echo": {"builtin": true}}, "kinds": {"llama": {"command": "x"}}}`,
			`duplicate key "kinds" at the top level: JSON would silently merge or override the two; keep one "kinds"`},
		{`{"kinds": {"echo": {"builtin": true}, "echo": {"command": "x"}}}`,
			`duplicate key "echo" in kinds: JSON would silently merge or override the two; keep one "echo"`},
		{`{"kinds": {"echo": {"builtin": true, "max_runners": 1, "max_runners": 4}}}`,
			`duplicate key "max_runners" in kinds.echo: JSON would silently merge or override the two; keep one "max_runners"`},
		{`{"kinds": {"echo": {"builtin": true}}, "timeouts": {"drain": "1s", "drain": "2s"}}`,
			`duplicate key "drain" in timeouts`},
		{`{"kinds": {"echo": {"builtin": true, "args": [{"a": 1, "a": 2}]}}}`, ``}, // a type error comes first
	} {
		_, err := parseNodeConfig(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", tc.in, err, tc.want)
		}
	}
	// The same keys in different objects are no duplicates.
	if _, err := parseNodeConfig(strings.NewReader(`{"kinds": {"a": {"builtin": true, "max_runners": 1}, "b": {"builtin": true, "max_runners": 1}}}`)); err != nil {
		t.Errorf("the same key in two kinds: %v", err)
	}
}

// TestParseNodeConfigDuplicateKeysAnyCase: encoding/json matches a field's
// key without regard to case, so "kinds" and "Kinds" (or "max_runners"
// and "Max_Runners") are the same field to it and are merged or
// overridden as silently as two "kinds". A kind name is a map key, matched
// exactly: "Echo" beside "echo" is no duplicate (its own check refuses it).
func TestParseNodeConfigDuplicateKeysAnyCase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"kinds": {"echo": {"builtin": true}}, "Kinds": {"llama": {"command": "x"}}}`,
			`duplicate key "Kinds" at the top level: JSON takes it for "kinds" (a field's key matches in any case) and would silently merge or override the two; keep one "kinds"`},
		{`{"kinds": {"echo": {"builtin": true, "max_runners": 1, "Max_Runners": 4}}}`,
			`duplicate key "Max_Runners" in kinds.echo: JSON takes it for "max_runners"`},
		{`{"kinds": {"echo": {"builtin": true}}, "timeouts": {"drain": "1s", "DRAIN": "2s"}}`,
			`duplicate key "DRAIN" in timeouts: JSON takes it for "drain"`},
	} {
		_, err := parseNodeConfig(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want one line with %q", tc.in, err, tc.want)
		}
	}
	_, err := parseNodeConfig(strings.NewReader(`{"kinds": {"echo": {"builtin": true}, "Echo": {"builtin": true}}}`))
	if err == nil || strings.Contains(err.Error(), "duplicate") || !strings.Contains(err.Error(), `kind "Echo": want 1-40 lowercase letters`) {
		t.Errorf(`kinds "echo" and "Echo": %v; want the kind name's error, not a duplicate`, err)
	}
}
