package gateway

import (
	"fmt"
	"strings"
	"testing"
)

// TestEndedSessionsAreBounded: the gateway keeps why the last endedKeep
// sessions ended, forgets the oldest first, and a key that ends again
// moves to the newest.
func TestEndedSessionsAreBounded(t *testing.T) {
	var e endedSessions
	e.add("k0", "first")
	for i := 1; i < endedKeep; i++ {
		e.add(fmt.Sprint("k", i), "x")
	}
	e.add("k0", "again") // k0 is now the newest; k1 the oldest
	e.add("new", "y")
	if len(e.whyOf) != endedKeep || len(e.order) != endedKeep {
		t.Fatalf("%d reasons, %d keys; want %d each", len(e.whyOf), len(e.order), endedKeep)
	}
	if e.why("k0") != "again" || !strings.Contains(e.why("k1"), "no session") || e.why("new") != "y" {
		t.Fatalf("k0 %q, k1 %q, new %q; want again, forgotten, y", e.why("k0"), e.why("k1"), e.why("new"))
	}
}
