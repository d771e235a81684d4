package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/internal/bench"
)

// TestBenchJSONHelpNamesEveryField: --json's help lists every top-level
// field of the object it prints (it named {commit, go, cpus, results}
// while the object also had dirty and quick).
func TestBenchJSONHelpNamesEveryField(t *testing.T) {
	usage := newBenchCmd(&env{}).Flags().Lookup("json").Usage
	rt := reflect.TypeOf(bench.Report{})
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if !strings.Contains(usage, name) {
			t.Errorf("--json help %q does not name the field %q", usage, name)
		}
	}
}
