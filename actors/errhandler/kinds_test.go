package errhandler_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/exo-actors/exo-actors/actors/errhandler"
)

// TestKindsListsEveryKind keeps Kinds in step with the constants of
// failure.go: a new kind left out of Kinds would be counted as "other" by
// the metrics and never pre-initialised.
func TestKindsListsEveryKind(t *testing.T) {
	src, err := os.ReadFile("failure.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, m := range regexp.MustCompile(`Kind[A-Za-z]+ Kind = "([a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		declared[m[1]] = true
	}
	listed := map[string]bool{}
	for _, k := range errhandler.Kinds() {
		if listed[string(k)] {
			t.Errorf("Kinds lists %q twice", k)
		}
		listed[string(k)] = true
		if !k.Known() {
			t.Errorf("%q: Known() = false", k)
		}
	}
	for k := range declared {
		if !listed[k] {
			t.Errorf("kind %q is declared in failure.go but missing from Kinds()", k)
		}
	}
	if len(listed) != len(declared) {
		t.Errorf("Kinds() has %d kinds, failure.go declares %d", len(listed), len(declared))
	}
	if errhandler.Kind("made_up").Known() {
		t.Error(`Kind("made_up").Known() = true`)
	}
}
