package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name         string
		value, floor float64
		goal         *float64
		cmp          string
		ratio        float64
		ok           bool
	}{
		{"at least, met", 95, 100, goal(0.9), AtLeast, 0.95, true},
		{"at least, exactly the goal", 90, 100, goal(0.9), AtLeast, 0.9, true},
		{"at least, missed", 89, 100, goal(0.9), AtLeast, 0.89, false},
		{"at most, met", 240, 100, goal(2.5), AtMost, 2.4, true},
		{"at most, exactly the goal", 250, 100, goal(2.5), AtMost, 2.5, true},
		{"at most, missed", 251, 100, goal(2.5), AtMost, 2.51, false},
		{"rounded to 3 decimals before the verdict", 1.2004, 1, goal(1.2), AtMost, 1.2, true},
		{"rounded up past the goal", 1.2006, 1, goal(1.2), AtMost, 1.201, false},
		{"no goal is ok", 3, 1, nil, "", 3, true},
		{"zero floor never meets a goal", 1, 0, goal(1.5), AtMost, 0, false},
		{"negative floor never meets a goal", 1, -1, goal(0.9), AtLeast, 0, false},
		{"unknown direction never meets a goal", 1, 1, goal(1), "~", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ratio, ok := Verdict(tc.value, tc.floor, tc.goal, tc.cmp)
			if ratio != tc.ratio || ok != tc.ok {
				t.Errorf("Verdict(%v, %v, %v %s) = %v, %v; want %v, %v", tc.value, tc.floor, deref(tc.goal), tc.cmp, ratio, ok, tc.ratio, tc.ok)
			}
		})
	}
}

func deref(g *float64) any {
	if g == nil {
		return nil
	}
	return *g
}

func sampleReport() *Report {
	return &Report{Commit: "abc1234", Dirty: true, Go: "go1.26.8", CPUs: 2, Quick: true, Results: []Result{
		newResult(RowEvents1Sub, 180000, 200000, "events/s", goal(0.9), AtLeast, "via the handle"),
		newResult(RowDispatchP50, 300, 100, "us", goal(2.5), AtMost, ""),
		newResult(RowDispatchP99, 900, 400, "us", nil, AtMost, "no goal"),
	}}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Commit  string `json:"commit"`
		Go      string `json:"go"`
		CPUs    int    `json:"cpus"`
		Results []map[string]any
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, buf.String())
	}
	if got.Commit != "abc1234" || got.Go != "go1.26.8" || got.CPUs != 2 || len(got.Results) != 3 {
		t.Fatalf("header or rows wrong: %+v", got)
	}
	for _, r := range got.Results {
		for _, k := range []string{"name", "value", "floor", "ratio", "goal", "unit", "ok"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %q", r["name"], k)
			}
		}
	}
	want := []struct {
		ratio float64
		goal  any
		ok    bool
	}{{0.9, 0.9, true}, {3, 2.5, false}, {2.25, nil, true}}
	for i, w := range want {
		r := got.Results[i]
		if r["ratio"] != w.ratio || r["goal"] != w.goal || r["ok"] != w.ok {
			t.Errorf("row %v: ratio %v goal %v ok %v; want %v %v %v", r["name"], r["ratio"], r["goal"], r["ok"], w.ratio, w.goal, w.ok)
		}
	}
	if _, ok := got.Results[2]["cmp"]; ok {
		t.Errorf("a row without a goal has a cmp: %v", got.Results[2])
	}
}

func TestWriteTable(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"commit abc1234 (uncommitted changes), go1.26.8, 2 CPUs",
		"events_1sub [1]", "180,000", "200,000", "0.900", "≥ 0.9",
		"dispatch_p50", "3.000", "≤ 2.5", "MISSED",
		"dispatch_p99 [2]", "(info)",
		"[1] events_1sub: via the handle", "[2] dispatch_p99: no goal",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(out, "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "events_1sub") && strings.Contains(l, "MISSED") {
			t.Errorf("a met goal is shown as missed: %q", l)
		}
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{
		1234567: "1,234,567", 12345: "12,345", 9999: "9999", 123.4: "123", 41.25: "41.2", 0.873: "0.87", -20000: "-20,000",
	} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestCheckOnly(t *testing.T) {
	if err := CheckOnly(nil); err != nil {
		t.Errorf("no --only: %v", err)
	}
	if err := CheckOnly(Names()); err != nil {
		t.Errorf("every row: %v", err)
	}
	err := CheckOnly([]string{RowRestart, "restrat"})
	if err == nil {
		t.Fatal("an unknown row was accepted")
	}
	for _, n := range append(Names(), `"restrat"`) {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not name %s", err, n)
		}
	}
}

func TestStatistics(t *testing.T) {
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
	xs := make([]float64, 100)
	for i := range xs {
		xs[i] = float64(100 - i) // 100 … 1
	}
	if got := percentile(xs, 50); got != 50 {
		t.Errorf("p50 of 1..100 = %v", got)
	}
	if got := percentile(xs, 99); got != 99 {
		t.Errorf("p99 of 1..100 = %v", got)
	}
	if got := percentile([]float64{7}, 99); got != 7 {
		t.Errorf("p99 of one sample = %v", got)
	}
	if got := best([]float64{3, 1, 2}); got != 1 {
		t.Errorf("best = %v", got)
	}
}
