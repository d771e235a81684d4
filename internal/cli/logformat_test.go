package cli

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Log lines carry millisecond timestamps in both formats, and a duration
// field reads the same in both ("359.454697ms"). Before, both had whole
// seconds (time="2026-11-30T18:11:50Z") and JSON wrote durations as
// integer nanoseconds ("next_delay":359454697).
func TestLogTimestampsAndDurations(t *testing.T) {
	ms := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$`)
	var buf bytes.Buffer
	l, err := newLogger("info", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	entry := l.WithField("next_delay", 359454697*time.Nanosecond)
	entry.Info("runner failure: supervision decision")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if ts, _ := line["time"].(string); !ms.MatchString(ts) {
		t.Errorf("JSON time %q: want RFC 3339 with milliseconds", line["time"])
	}
	if line["next_delay"] != "359.454697ms" {
		t.Errorf("JSON next_delay %#v: want \"359.454697ms\"", line["next_delay"])
	}
	if d, ok := entry.Data["next_delay"].(time.Duration); !ok || d != 359454697 {
		t.Errorf("the entry's own field was changed: %#v", entry.Data["next_delay"])
	}

	buf.Reset()
	l, err = newLogger("info", "text", &buf)
	if err != nil {
		t.Fatal(err)
	}
	l.WithField("next_delay", 359454697*time.Nanosecond).Info("x")
	out := buf.String()
	m := regexp.MustCompile(`time="([^"]+)"`).FindStringSubmatch(out)
	if m == nil || !ms.MatchString(m[1]) {
		t.Errorf("text line %q: want time= with milliseconds", out)
	}
	if !strings.Contains(out, "next_delay=359.454697ms") {
		t.Errorf("text line %q: want next_delay=359.454697ms", out)
	}
}
