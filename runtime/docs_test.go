package runtime

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
)

// TestOperationsDocDefaults reads every default in docs/operations.md's
// configuration tables and compares it with the code's, and fails when a
// field of RunnerTimeouts, TaskLimits or ShutdownDeadlines is not documented.
func TestOperationsDocDefaults(t *testing.T) {
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	code := map[string]any{
		"StreamBuffer":       actors.DefaultStreamBuffer,
		"MaxFrameSize":       actors.DefaultMaxFrameSize,
		"DeadLetterThrottle": actors.DefaultDeadLetterThrottle,
		"RequestTimeout":     actors.DefaultRequestTimeout,
	}
	addFields := func(prefix string, v any) {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			code[prefix+rv.Type().Field(i).Name] = rv.Field(i).Interface()
		}
	}
	addFields("Timeouts.", RunnerTimeouts{}.WithDefaults())
	addFields("Tasks.", TaskLimits{}.WithDefaults())
	addFields("Shutdown.", ShutdownDeadlines{}.WithDefaults())
	pol := ErrorPolicy{}.WithDefaults()
	addFields("ErrorPolicy.", pol.Backoff)
	addFields("ErrorPolicy.", pol.Intensity)
	code["ErrorPolicy.HistoryLimit"] = pol.HistoryLimit

	documented := map[string]string{}
	section := ""
	pair := regexp.MustCompile("`([A-Za-z]+)` ([0-9][0-9.]*(?: ?(?:ms|s|m|h|µs|minutes?|MiB))?)")
	for _, line := range strings.Split(string(doc), "\n") {
		switch {
		case strings.HasPrefix(line, "### Runner timeouts"):
			section = "Timeouts."
		case strings.HasPrefix(line, "## Configuration"):
			section = ""
		case strings.HasPrefix(line, "## "):
			section = "-"
		}
		if section == "-" || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			continue
		}
		name := strings.Trim(strings.Fields(cells[0])[0], "`")
		value := strings.TrimSpace(cells[1])
		if ps := pair.FindAllStringSubmatch(cells[1]+" "+strings.Join(cells[2:], " "), -1); section == "" && len(ps) > 0 {
			for _, p := range ps {
				documented[name+"."+p[1]] = p[2]
			}
			continue
		}
		documented[section+name] = value
	}
	checked := 0
	for key, want := range code {
		got, ok := documented[key]
		if !ok {
			t.Errorf("docs/operations.md does not document the default of %s (code: %v)", key, want)
			continue
		}
		if !sameDefault(got, want) {
			t.Errorf("docs/operations.md says %s defaults to %q; the code says %v", key, got, want)
		}
		checked++
	}
	if checked < 20 {
		t.Errorf("only %d defaults compared; the table format changed?", checked)
	}
}

// sameDefault compares a documented value ("3s", "1 minute", "4 MiB",
// "1024") with the code's.
func sameDefault(doc string, code any) bool {
	doc = strings.TrimSpace(doc)
	switch c := code.(type) {
	case time.Duration:
		doc = strings.NewReplacer(" minutes", "m", " minute", "m", " ", "").Replace(doc)
		d, err := time.ParseDuration(doc)
		return err == nil && d == c
	case int:
		if n, ok := strings.CutSuffix(doc, " MiB"); ok {
			v, err := strconv.Atoi(n)
			return err == nil && v<<20 == c
		}
		return doc == strconv.Itoa(c)
	}
	return doc == fmt.Sprint(code)
}
